/**
 * Kernel errno and signal names for op statuses: what a simulated syscall or CPU
 * access returned when the kernel failed it (assembly/errno.ts). A status word is
 * 0 (success), an errno, or STATUS_SIGNAL | signo.
 *
 * @example
 * ```ts
 * import { statusOutcome, ERRNO_NAMES } from "./errno.ts";
 * console.log(statusOutcome(14), statusOutcome(256 | 11), ERRNO_NAMES.includes("EPERM")); // { errno: 'EFAULT' } { signal: 'SIGSEGV' } true
 * ```
 */
import * as abi from "../../assembly/abi.ts";

/** The errnos refsim's ops can return, with the kernel's numbers. */
export const ERRNOS: Readonly<Record<string, number>> = {
  EPERM: abi.EPERM,
  ENOENT: abi.ENOENT,
  EINTR: abi.EINTR,
  EAGAIN: abi.EAGAIN,
  ENOMEM: abi.ENOMEM,
  EACCES: abi.EACCES,
  EFAULT: abi.EFAULT,
  EBUSY: abi.EBUSY,
  EEXIST: abi.EEXIST,
  EINVAL: abi.EINVAL,
  ENOSPC: abi.ENOSPC,
  EOPNOTSUPP: abi.EOPNOTSUPP,
  EREMOTEIO: abi.EREMOTEIO,
};

/** The signals a CPU access can raise. */
export const SIGNALS: Readonly<Record<string, number>> = { SIGBUS: abi.SIGBUS, SIGSEGV: abi.SIGSEGV };

export const ERRNO_NAMES = Object.keys(ERRNOS);
export const SIGNAL_NAMES = Object.keys(SIGNALS);

const ERRNO_BY_NUMBER = new Map(Object.entries(ERRNOS).map(([k, v]) => [v, k]));
const SIGNAL_BY_NUMBER = new Map(Object.entries(SIGNALS).map(([k, v]) => [v, k]));

/** What an op's kernel status says: { errno } or { signal }, {} for success. */
export interface KernelOutcome {
  errno?: string;
  signal?: string;
}

/** Decode a status word (the core's and the model's alike). */
export function statusOutcome(status: number): KernelOutcome {
  if (status === 0) return {};
  if ((status & abi.STATUS_SIGNAL) !== 0) {
    const signo = status & ~abi.STATUS_SIGNAL;
    return { signal: SIGNAL_BY_NUMBER.get(signo) ?? `signal ${signo}` };
  }
  return { errno: ERRNO_BY_NUMBER.get(status) ?? `errno ${status}` };
}

/** One op's result and, when the kernel failed it, its errno or signal. */
export interface OpOutcome extends KernelOutcome {
  result: number;
}

/** "EFAULT" or "SIGSEGV": the outcome's one name ("none" for success). */
export function outcomeName(o: KernelOutcome): string {
  return o.errno ?? o.signal ?? "none";
}
