// refsim's own rejection of bad input (the batch stops, the engine untouched), as opposed
// to a kernel failure (errno.ts), which is the op's result. The dispatcher (ops.ts) and
// the fault path's room checks (fault.ts) reject through fail(); runBatch copies the
// error to the host's error block.
import { ERR_NONE } from "./abi";

/** The rejection of the current op: its ERR_* code (ERR_NONE: none), the field at fault and a detail. */
export let errCode: i32 = ERR_NONE;
export let errField: i32 = -1;
export let errDetail: i32 = 0;

/** Reject the op: remember the error and the field at fault; returns -1. */
export function fail(code: i32, field: i32, detail: i32 = 0): i32 {
  errCode = code;
  errField = field;
  errDetail = detail;
  return -1;
}

/** A new batch: nothing rejected yet (only fail() sets the code, and the batch stops there). */
export function clearRejection(): void {
  errCode = ERR_NONE;
}
