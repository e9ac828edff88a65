// Op records as the fast-path tests write them (mm 0 unless told): what test/zap-page,
// test/zap-copy-runs and test/fastpath-walk share.
import * as abi from "../../assembly/abi.ts";

/** A private anonymous read-write VMA's flags. */
export const ANON = abi.VM_READ | abi.VM_WRITE | abi.VM_ANON;

export const mmNew = [abi.OP_MM_NEW];
export const mmap = (vpn: number, n: number, flags = ANON, mm = 0) => [abi.OP_MMAP, mm, vpn, n, flags, -1, 0];
export const write = (vpn: number, value: number, mm = 0) => [abi.OP_WRITE, mm, vpn, value];
export const read = (vpn: number, mm = 0) => [abi.OP_READ, mm, vpn];
export const dontneed = (vpn: number, n: number, mm = 0) => [abi.OP_MADV_DONTNEED, mm, vpn, n];
