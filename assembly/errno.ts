// A kernel failure of a simulated syscall (an errno) or of a CPU access (a signal)
// is a result of the op, not a rejection: the op ran, made exactly the changes the
// kernel makes before it fails, and the batch goes on. runBatch lists the index
// and status word of each op that failed this way for the host (refsim's own bad
// input is fail() in reject.ts, which stops the batch instead).
import { STATUS_SIGNAL, ST_KERNEL_ERRNO, SIGBUS } from "./abi";
import { bump } from "./stats";

/** The current op's status: 0, an errno, or STATUS_SIGNAL | signo. */
export let opStatus: i32 = 0;
let listBase: usize = 0; // [op index in batch, status] per failed op of the last batch
let listCap: i32 = 0;
export let statusCount: i32 = 0;

export function initErrno(batchCap: i32): void {
  listCap = batchCap;
  listBase = heap.alloc(<usize>batchCap << 3);
}

/** The syscall returns -errno (the raw syscall convention), which the op returns. */
export function kfail(errno: i32): i32 {
  opStatus = errno;
  return -errno;
}

/** The access raises signal signo (force_sig_fault); the op returns 0. */
export function ksignal(signo: i32): i32 {
  opStatus = STATUS_SIGNAL | signo;
  return 0;
}

/**
 * A fault the kernel ran for itself raised SIGBUS (handle_mm_fault returned VM_FAULT_SIGBUS):
 * no signal reaches the process; the caller turns it into its errno. True if one was taken back.
 */
export function takeSigbus(): bool {
  if (opStatus != (STATUS_SIGNAL | SIGBUS)) return false;
  opStatus = 0;
  return true;
}

/** A new batch: no failed op yet. */
export function resetStatuses(): void {
  statusCount = 0;
  opStatus = 0;
}

/** runBatch, after op i ran with a status: list it and clear the status for the next op. */
export function noteStatus(i: i32): void {
  if (statusCount < listCap) {
    const p = listBase + (<usize>statusCount << 3);
    store<i32>(p, i);
    store<i32>(p, opStatus, 4);
    statusCount++;
  }
  bump(ST_KERNEL_ERRNO);
  opStatus = 0;
}

/** Where the [index, status] pairs of the last batch start. */
export function statusListPtr(): usize { return listBase; }
