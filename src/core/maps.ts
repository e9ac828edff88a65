/**
 * An address space's VMAs as /proc/PID/maps shows them (show_map_vma): range,
 * protection, shared or private, the file and offset. Engine.maps and Model.maps
 * build their lists from the same raw words, so both show the same thing.
 *
 * @example
 * ```ts
 * import { vmaInfo } from "./maps.ts";
 * console.log(vmaInfo(0x10000, 0x10002, 1 | 2 | 8, -1, 0x10000, false).prot); // "rw"
 * ```
 */
import * as abi from "../../assembly/abi.ts";
import { PAGE_SIZE, type Prot } from "./ops.ts";

export interface VmaInfo {
  /** First byte and one past the last (vm_start, vm_end). */
  start: number;
  end: number;
  prot: Prot | "w";
  shared: boolean;
  /** The mapped file's id; null for anonymous memory and for shmem (shared anonymous) mappings. */
  file: number | null;
  /** A shared anonymous mapping (its own shmem file, shmem_zero_setup). */
  shmem: boolean;
  /** vm_pgoff in bytes: the file offset of `start` (anonymous memory: the address it was first mapped at). */
  offset: number;
  /** MADV_HUGEPAGE was given (VM_HUGEPAGE). */
  hugepage: boolean;
}

/** One VMA from its raw fields (start/end/pgoff in pages, VM_* flags). */
export function vmaInfo(start: number, end: number, flags: number, file: number, pgoff: number, shmem: boolean): VmaInfo {
  const r = (flags & abi.VM_READ) !== 0;
  const w = (flags & abi.VM_WRITE) !== 0;
  return {
    start: start * PAGE_SIZE,
    end: end * PAGE_SIZE,
    prot: r ? (w ? "rw" : "r") : w ? "w" : "none",
    shared: (flags & abi.VM_SHARED) !== 0,
    file: file < 0 || shmem ? null : file,
    shmem,
    offset: pgoff * PAGE_SIZE,
    hugepage: (flags & abi.VM_HUGEPAGE) !== 0,
  };
}
