// refsim's own rejection of bad input (the core's reject.ts): the op is refused, the machine
// untouched; a kernel failure is an op result instead (errno.ts). The dispatcher (ops.ts) and
// the fault path's room checks (fault.ts) reject; Model turns a Rejection into a RefsimError.

/**
 * An op the core would reject: [code, field, detail] as in the core's error block.
 * Thrown (not an Error, so no stack is captured) and turned into a RefsimError by Model.
 */
export class Rejection {
  constructor(readonly code: number, readonly field: number, readonly detail = 0) {}
}

/** Reject the op (the core's fail()). */
export function reject(code: number, field: number, detail = 0): never {
  throw new Rejection(code, field, detail);
}
