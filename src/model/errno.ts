/**
 * A kernel failure of a simulated syscall (an errno) or of a CPU access (a
 * signal) is a result of the op, as in assembly/errno.ts: the op returns, the
 * batch goes on, and Model lists the op's status for the host.
 *
 * @example
 * ```ts
 * import { Model } from "./model.ts";
 * import { kfail } from "./errno.ts";
 * import { EFAULT } from "../../assembly/abi.ts";
 * const m = Model.create().machine;
 * console.log(kfail(m, EFAULT), m.opStatus); // -14 14
 * ```
 */
import { STATUS_SIGNAL, SIGBUS } from "../../assembly/abi.ts";
import type { Machine } from "./machine.ts";

/** The syscall returns -errno (the raw syscall convention), which the op returns. */
export function kfail(m: Machine, errno: number): number {
  m.opStatus = errno;
  return -errno;
}

/** The access raises signal signo (force_sig_fault); the op returns 0. */
export function ksignal(m: Machine, signo: number): number {
  m.opStatus = STATUS_SIGNAL | signo;
  return 0;
}

/**
 * A fault the kernel ran for itself raised SIGBUS (handle_mm_fault returned VM_FAULT_SIGBUS):
 * no signal reaches the process; the caller turns it into its errno. True if one was taken back.
 */
export function takeSigbus(m: Machine): boolean {
  if (m.opStatus !== (STATUS_SIGNAL | SIGBUS)) return false;
  m.opStatus = 0;
  return true;
}
