/**
 * Address spaces (struct mm_struct) and their VMAs (struct vm_area_struct), kept
 * per mm as an array sorted by start. VMA bounds are vpns, end exclusive. Ids are
 * handed out in order and never reused; VMA slots are a machine-wide budget.
 *
 * @example
 * ```ts
 * import { AddressSpaces } from "./mm.ts";
 * import { VM_READ, VM_WRITE, VM_ANON } from "../../assembly/abi.ts";
 * const spaces = new AddressSpaces(4, 16);
 * const mm = spaces.create();
 * const start = mm.unmappedArea(8, 1 << 27);
 * spaces.insertVma(mm, start, start + 8, VM_READ | VM_WRITE | VM_ANON, -1, 0);
 * console.log(start.toString(16), mm.findVma(start + 3)?.end.toString(16)); // 10000 10008
 * ```
 */
import { VM_SHARED, VM_ANON } from "../../assembly/abi.ts";
import { PageTables } from "./pgtable.ts";

/** Where mmap without an address starts looking (get_unmapped_area), as a vpn. */
export const MMAP_BASE = 0x10000;

export class Vma {
  constructor(
    public start: number,
    public end: number,
    public flags: number,
    /** File id, -1 for anonymous memory. */
    readonly file: number,
    /** Page index of `start`: the file offset for a file VMA, the start address for an anonymous one. */
    public pgoff: number,
  ) {}

  /** vma->vm_mm: the id of the address space the vma belongs to. */
  mm = -1;

  /** vma->anon_vma != NULL (anon_vma_prepare ran: an anonymous page went into this vma; 6.1 mm/rmap.c). */
  anonVma = false;

  /** is_cow_mapping: private (and so copy-on-write). */
  get cow(): boolean { return (this.flags & VM_SHARED) === 0; }
  get anon(): boolean { return (this.flags & VM_ANON) !== 0; }
  /** linear_page_index: file offset (pages) of vpn. */
  fileIndex(vpn: number): number { return this.pgoff + (vpn - this.start); }
}

export class Mm {
  alive = true;
  /** VMAs in start order. */
  readonly vmas: Vma[] = [];
  /** Live FOLL_PIN pins taken through this mm (MMF_HAS_PINNED). */
  pinned = 0;
  readonly tables = new PageTables();

  constructor(readonly id: number) {}

  /** find_vma proper: the first vma ending above vpn (it may start above vpn). */
  findVmaAfter(vpn: number): Vma | undefined {
    return this.vmas.find((v) => v.end > vpn);
  }

  /** The vma containing vpn. */
  findVma(vpn: number): Vma | undefined {
    for (const v of this.vmas) {
      if (vpn < v.start) return undefined;
      if (vpn < v.end) return v;
    }
    return undefined;
  }

  /** True when [start, end) touches any vma. */
  overlaps(start: number, end: number): boolean {
    return this.vmas.some((v) => v.start < end && start < v.end);
  }

  /** get_unmapped_area: lowest gap of npages at or above MMAP_BASE, or 0 if none fits below limit. */
  unmappedArea(npages: number, limit: number): number {
    let cand = MMAP_BASE;
    for (const v of this.vmas) {
      if (v.end > cand) {
        if (v.start >= cand + npages) break;
        cand = v.end;
      }
    }
    return cand + npages <= limit ? cand : 0;
  }
}

export class AddressSpaces {
  /** Every mm ever created, by id. */
  readonly all: Mm[] = [];
  /** The live ones, in id order (what loops over "every valid mm" visit). */
  readonly alive: Mm[] = [];
  vmasUsed = 0;
  /** get_file / fput of a VMA's file (the machine releases a shmem file with its last VMA). */
  fileRef: (file: number, delta: number) => void = () => {};

  constructor(readonly mmCapacity: number, readonly vmaCapacity: number) {}

  get mmSlotsLeft(): number { return this.mmCapacity - this.all.length; }
  get vmaSlotsLeft(): number { return this.vmaCapacity - this.vmasUsed; }

  /** The live mm with this id. */
  live(id: number): Mm | undefined {
    const mm = id >= 0 && id < this.all.length ? this.all[id] : undefined;
    return mm && mm.alive ? mm : undefined;
  }

  /** A fresh, empty address space (mm_alloc). */
  create(): Mm {
    const mm = new Mm(this.all.length);
    this.all.push(mm);
    this.alive.push(mm);
    return mm;
  }

  /** The mm is gone (after exit_mmap). */
  kill(mm: Mm): void {
    mm.alive = false;
    this.alive.splice(this.alive.indexOf(mm), 1);
  }

  /** vma_link: insert a new vma in start order (the caller checked overlap and space). */
  insertVma(mm: Mm, start: number, end: number, flags: number, file: number, pgoff: number): Vma {
    const v = new Vma(start, end, flags, file, pgoff);
    v.mm = mm.id;
    let i = 0;
    while (i < mm.vmas.length && mm.vmas[i].start < start) i++;
    mm.vmas.splice(i, 0, v);
    this.vmasUsed++;
    if (file >= 0) this.fileRef(file, 1); // vma_link / __split_vma / dup_mmap: get_file
    return v;
  }

  /** Remove vma v from mm and free its slot. */
  removeVma(mm: Mm, v: Vma): void {
    mm.vmas.splice(mm.vmas.indexOf(v), 1);
    this.vmasUsed--;
    if (v.file >= 0) this.fileRef(v.file, -1); // remove_vma: fput
  }
}

/** Set vma v to [start, end), pgoff in step with start (linear_page_index, file and anonymous alike). */
export function setVmaRange(v: Vma, start: number, end: number): void {
  v.pgoff = v.pgoff + (start - v.start);
  v.start = start;
  v.end = end;
}

/** __split_vma: v keeps [start, at), a new VMA [at, end) with the same flags and file is returned. */
export function splitVma(spaces: AddressSpaces, mm: Mm, v: Vma, at: number): Vma {
  const end = v.end;
  v.end = at;
  const w = spaces.insertVma(mm, at, end, v.flags, v.file, v.pgoff + (at - v.start));
  w.anonVma = v.anonVma; // __split_vma: anon_vma_clone
  return w;
}

/** is_mergeable_vma for adjacent a, b (flags compared by the caller): same file, b's pgoff continuing a's. */
export function vmaMergeable(a: Vma, b: Vma): boolean {
  return a.file === b.file && a.pgoff + (a.end - a.start) === b.pgoff;
}

/** vma_merge: a absorbs the adjacent b. */
export function mergeVmas(spaces: AddressSpaces, mm: Mm, a: Vma, b: Vma): void {
  a.end = b.end;
  a.anonVma ||= b.anonVma; // is_mergeable_anon_vma: one may be unset; the merged vma keeps the other's
  spaces.removeVma(mm, b);
}

/** A piece moves to the neighbour: left ends and right starts at `at`. */
export function moveVmaBoundary(left: Vma, right: Vma, at: number): void {
  left.end = at;
  setVmaRange(right, at, right.end);
}
