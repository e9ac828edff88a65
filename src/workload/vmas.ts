/**
 * The VMAs a generator believes each address space has, kept as the core keeps them (a list sorted by
 * start per mm, assembly/mm.ts) so that a generator's ops match what the core will do: munmap trims,
 * splits or drops every VMA the range touches (the core's unmapRange, __split_vma), mmap with a hint
 * takes the lowest gap (get_unmapped_area), fork copies the list (dup_mmap). One tracker for the
 * workload generator (src/workload/mix.ts) and the explorer's (src/explore/generate.ts). Flat arrays
 * indexed by VMA number, as mix runs at the core's speed; they grow when a generator needs more.
 *
 * @example
 * ```ts
 * import { VmaTracker } from "./vmas.ts";
 * const t = new VmaTracker(2, 8);
 * t.insert(0, 100, 110, 0, -1, 0);
 * t.unmapRange(0, 103, 105); // splits it: [100, 103) and [105, 110)
 * console.log(t.count[0], t.unmappedArea(0, 2, 100), t.unmappedArea(0, 3, 100)); // 2 103 110 (the hole is 2 pages)
 * ```
 */
import type { Prng } from "./prng.ts";

export class VmaTracker {
  /** Per address space (slot): the first VMA (-1: none) and how many. */
  head: Int32Array;
  count: Int32Array;
  /** Per VMA: its pages [start, end), vm_flags, file (-1: anonymous), file page offset, the next in its list. */
  start: Int32Array;
  end: Int32Array;
  flags: Int32Array;
  file: Int32Array;
  pgoff: Int32Array;
  next: Int32Array;
  #free: Int32Array;
  #freeTop: number;
  /**
   * Per slot, its VMAs in list order, rebuilt by pick() after the list changed (#stale): reads
   * and writes pick a VMA far more often than mmap, munmap, fork and exit change one, and a walk
   * of the list to the k-th VMA was a dependent load per step.
   */
  #order: Int32Array[];
  #stale: Uint8Array;

  constructor(slots: number, vmas: number) {
    this.head = new Int32Array(slots).fill(-1);
    this.count = new Int32Array(slots);
    this.start = new Int32Array(vmas);
    this.end = new Int32Array(vmas);
    this.flags = new Int32Array(vmas);
    this.file = new Int32Array(vmas);
    this.pgoff = new Int32Array(vmas);
    this.next = new Int32Array(vmas);
    this.#free = new Int32Array(vmas);
    this.#freeTop = vmas;
    for (let i = 0; i < vmas; i++) this.#free[i] = vmas - 1 - i;
    this.#order = Array.from({ length: slots }, () => new Int32Array(8));
    this.#stale = new Uint8Array(slots);
  }

  /** Twice the VMAs: every array copied, the new numbers free (lowest first, as at construction). */
  #grow(): void {
    const n = this.start.length;
    const m = Math.max(8, 2 * n);
    const wider = (a: Int32Array): Int32Array => { const b = new Int32Array(m); b.set(a); return b; };
    this.start = wider(this.start); this.end = wider(this.end); this.flags = wider(this.flags);
    this.file = wider(this.file); this.pgoff = wider(this.pgoff); this.next = wider(this.next);
    const free = new Int32Array(m);
    for (let i = 0; i < m - n; i++) free[i] = m - 1 - i;
    this.#free = free;
    this.#freeTop = m - n;
  }

  /** Add the VMA [start, end) to `slot`'s list, in start order. */
  insert(slot: number, start: number, end: number, flags: number, file: number, pgoff: number): void {
    if (this.#freeTop === 0) this.#grow();
    const v = this.#free[--this.#freeTop];
    this.start[v] = start; this.end[v] = end; this.flags[v] = flags; this.file[v] = file; this.pgoff[v] = pgoff;
    let prev = -1;
    let cur = this.head[slot];
    while (cur >= 0 && this.start[cur] < start) { prev = cur; cur = this.next[cur]; }
    this.next[v] = cur;
    if (prev < 0) this.head[slot] = v;
    else this.next[prev] = v;
    this.count[slot]++;
    this.#stale[slot] = 1;
  }

  #unlink(slot: number, v: number, prev: number): void {
    if (prev < 0) this.head[slot] = this.next[v];
    else this.next[prev] = this.next[v];
    this.#free[this.#freeTop++] = v;
    this.count[slot]--;
    this.#stale[slot] = 1;
  }

  /** Trim VMA v to [start, end); a file VMA's offset follows its start. */
  #setRange(v: number, start: number, end: number): void {
    if (this.file[v] >= 0) this.pgoff[v] += start - this.start[v];
    this.start[v] = start;
    this.end[v] = end;
  }

  /** The core's unmapRange: trim, split or drop every VMA [start, end) touches. */
  unmapRange(slot: number, start: number, end: number): void {
    let prev = -1;
    let v = this.head[slot];
    while (v >= 0) {
      const next = this.next[v];
      const vs = this.start[v];
      const ve = this.end[v];
      if (ve <= start) { prev = v; v = next; continue; }
      if (vs >= end) break;
      const zs = Math.max(vs, start);
      const ze = Math.min(ve, end);
      if (zs === vs && ze === ve) {
        this.#unlink(slot, v, prev);
      } else if (zs === vs) {
        this.#setRange(v, ze, ve);
        prev = v;
      } else if (ze === ve) {
        this.#setRange(v, vs, zs);
        prev = v;
      } else {
        const tailPgoff = this.pgoff[v] + (ze - vs);
        this.#setRange(v, vs, zs);
        this.insert(slot, ze, ve, this.flags[v], this.file[v], tailPgoff);
        break;
      }
      v = next;
    }
  }

  /** Whether any VMA of `slot` overlaps [start, end). */
  overlaps(slot: number, start: number, end: number): boolean {
    for (let v = this.head[slot]; v >= 0; v = this.next[v]) if (this.start[v] < end && start < this.end[v]) return true;
    return false;
  }

  /** The core's get_unmapped_area: the lowest gap of n pages at or above `base`. */
  unmappedArea(slot: number, n: number, base: number): number {
    let cand = base;
    for (let v = this.head[slot]; v >= 0; v = this.next[v]) {
      if (this.end[v] > cand) {
        if (this.start[v] >= cand + n) break;
        cand = this.end[v];
      }
    }
    return cand;
  }

  /** A VMA of `slot` (which has one) chosen by `rng`, each as likely. */
  pick(slot: number, rng: Prng): number {
    const k = rng.below(this.count[slot]);
    if (this.#stale[slot] !== 0) this.#reorder(slot);
    return this.#order[slot][k];
  }

  /** #order[slot] from the list: the k-th VMA of the list is #order[slot][k], and -1 ends it (as the list's end). */
  #reorder(slot: number): void {
    let o = this.#order[slot];
    if (o.length <= this.count[slot]) o = this.#order[slot] = new Int32Array(Math.max(2 * o.length, this.count[slot] + 1));
    let i = 0;
    for (let v = this.head[slot]; v >= 0; v = this.next[v]) o[i++] = v;
    o[i] = -1;
    this.#stale[slot] = 0;
  }

  /** Fork: `to` (empty) gets a copy of every VMA of `from`. */
  copy(from: number, to: number): void {
    for (let v = this.head[from]; v >= 0; v = this.next[v]) this.insert(to, this.start[v], this.end[v], this.flags[v], this.file[v], this.pgoff[v]);
  }

  /** Exit: `slot` has no VMAs any more. */
  drop(slot: number): void {
    let v = this.head[slot];
    while (v >= 0) {
      const next = this.next[v];
      this.#free[this.#freeTop++] = v;
      v = next;
    }
    this.head[slot] = -1;
    this.count[slot] = 0;
    this.#stale[slot] = 1;
  }

  /**
   * The range a random munmap takes in `slot` (which has a VMA): half the time a whole VMA, 3 in 10 a
   * part of one (trimming or splitting it), else any range of up to 2 * maxPages pages in the arena
   * [base, base + span), holes and all.
   */
  munmapRange(slot: number, rng: Prng, base: number, span: number, maxPages: number): [number, number] {
    const mode = rng.below(10);
    if (mode < 5) {
      const v = this.pick(slot, rng);
      return [this.start[v], this.end[v]];
    }
    if (mode < 8) {
      const v = this.pick(slot, rng);
      const len = this.end[v] - this.start[v];
      const a = rng.below(len);
      const start = this.start[v] + a;
      return [start, start + 1 + rng.below(len - a)];
    }
    const start = base + rng.below(span);
    return [start, Math.min(base + span, start + 1 + rng.below(2 * maxPages))];
  }
}
