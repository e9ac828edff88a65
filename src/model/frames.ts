/**
 * Page frames (struct page) as objects, and the buddy allocator for system RAM.
 * pfn 0 is the shared zero page; 1..systemPages are system RAM; device frames
 * (ZONE_DEVICE pgmaps, see memremap.ts) follow. Free system pfns sit on a LIFO
 * stack that pops in ascending order at first, so pfn numbering matches the core.
 *
 * @example
 * ```ts
 * import { Frames } from "./frames.ts";
 * import { Counters } from "./stats.ts";
 * const frames = new Frames(4, 0, 0, new Counters());
 * const a = frames.allocSystem();
 * const b = frames.allocSystem();
 * frames.freeSystem(a);
 * console.log(a.pfn, b.pfn, frames.allocSystem().pfn); // 1 2 1
 * ```
 */
import { KIND_SYSTEM, FOLIO_NR } from "../../assembly/abi.ts";
import type { Counters } from "./stats.ts";
import type { Driver } from "./memremap.ts";

export class Frame {
  /** The memory type (KIND_*), fixed when the frame's pgmap is registered. */
  kind = KIND_SYSTEM;
  /** _refcount (kernel value, not biased). */
  refcount = 0;
  /** page_mapcount() (the kernel stores it minus one). */
  mapcount = 0;
  /** In use: not on the buddy or a driver free list (PG_ALLOCATED). */
  allocated = false;
  /** folio_test_anon. */
  anon = false;
  /** PageAnonExclusive. */
  anonExclusive = false;
  /** In a file's page cache, which holds one reference. */
  pageCache = false;
  /** The devmap owner still holds its allocation reference (PG_OWNER_REF). */
  ownerRef = false;
  /** A leak of this frame was already reported by a check. */
  leakReported = false;
  /** Handed back (page_free) while still mapped; its mappings may still be zapped. */
  earlyFreed = false;
  /** struct page torn down by memunmap_pages while something still referenced it. */
  gone = false;
  /** folio_lock (held by an in-flight fault in the trylock era). */
  locked = false;
  /** Allocated after memunmap_pages began: zone_device_page_init's pgmap tryget failed. */
  noPgmapRef = false;
  /** A truncate waits for this DAX page to go idle. */
  truncateWait = false;
  /** A hang on this frame was already reported by a check. */
  hangReported = false;
  /** page->index: the vpn of an anon page, the file offset of a cache page. */
  index = 0;
  /** One data word (i32), so reads can be checked against writes. */
  content = 0;
  /** Op that last removed a holder (names the cause of a leak); -1 none. */
  lastOp = -1;
  /** zone_device_data: a BO id (> 0), a file as -(file + 1) for DAX/p2pmem pages, or 0. */
  owner = 0;
  /** The pgmap (driver) a device frame belongs to. */
  driver: Driver | null = null;
  /** First page of a large folio (PG_HEAD): it holds the folio's refcount. */
  head = false;
  /** Any other page of a large folio (PG_TAIL). */
  tail = false;
  /** folio->_entire_mapcount (on the head): PMD mappings. */
  entireMapcount = 0;
  /** folio->_pincount (on the head): FOLL_PIN pins of a large folio. */
  pincount = 0;
  /** A device folio the driver allocated for itself (OP_DRIVER_ALLOC): its reference is the driver's. */
  driverHeld = false;

  constructor(readonly pfn: number) {}

  /** Clear every page flag; only the kind stays (setFlags(pfn, kind) in the core). */
  clearFlags(): void {
    this.allocated = false;
    this.anon = false;
    this.anonExclusive = false;
    this.pageCache = false;
    this.ownerRef = false;
    this.leakReported = false;
    this.earlyFreed = false;
    this.gone = false;
    this.locked = false;
    this.noPgmapRef = false;
    this.truncateWait = false;
    this.hangReported = false;
    this.head = false;
    this.tail = false;
    this.driverHeld = false;
  }

  /** Part of a large folio. */
  get large(): boolean {
    return this.head || this.tail;
  }

  /** A frame a reference may be taken on: allocated, or early-freed but not yet torn down. */
  get usable(): boolean {
    return this.allocated || (this.earlyFreed && !this.gone);
  }
}

/** The pfn range system RAM needs: small pages, then the 2 MiB-aligned THP pool (as the core). */
export function systemFramesFor(small: number, huge: number): number {
  if (huge === 0) return small;
  const base = Math.floor((small + FOLIO_NR) / FOLIO_NR) * FOLIO_NR; // first aligned pfn above small
  return base - 1 + huge * FOLIO_NR;
}

export class Frames {
  /** Every frame by pfn: the zero page, system RAM (small pages, a gap, the THP pool), then device frames. */
  readonly all: Frame[];
  /** System RAM pfns 1..systemPages (the THP pool included). */
  readonly systemPages: number;
  /** Free system pfns; the top of the stack is the next page handed out. */
  readonly #buddy: number[] = [];
  /** First pfn of the THP pool (0: none) and its free blocks (block numbers, pfn / FOLIO_NR). */
  readonly hugeBase: number;
  readonly #hugeFree: number[] = [];
  /** Large folios allocated now. */
  #largeLive = 0;

  constructor(smallPages: number, hugePages: number, devicePages: number, private readonly counters: Counters) {
    this.systemPages = systemFramesFor(smallPages, hugePages);
    this.all = Array.from({ length: 1 + this.systemPages + devicePages }, (_, pfn) => new Frame(pfn));
    for (let i = 0; i < smallPages; i++) this.#buddy.push(smallPages - i);
    this.hugeBase = hugePages === 0 ? 0 : this.systemPages + 1 - hugePages * FOLIO_NR;
    for (let i = 0; i < hugePages; i++) this.#hugeFree.push(this.hugeBase / FOLIO_NR + hugePages - 1 - i);
  }

  /** Live-frame accounting for a large folio of n pages coming into use / going back (a device folio's). */
  noteLargeAlloc(n: number): void {
    for (let i = 0; i < n; i++) this.counters.noteAlloc();
    this.#largeLive++;
  }

  /** A large folio was split into small ones. */
  noteSplitLarge(): void {
    this.#largeLive--;
  }

  noteLargeFree(n: number): void {
    for (let i = 0; i < n; i++) this.counters.noteFree();
    this.#largeLive--;
  }

  /** Any large folio allocated (fork and zap look for PTE batches only then). */
  get hasLarge(): boolean {
    return this.#largeLive > 0;
  }

  get freeHugeFolios(): number {
    return this.#hugeFree.length;
  }

  /** compound_head: the frame holding f's folio refcount. */
  folioOf(f: Frame): Frame {
    return f.tail ? this.all[f.pfn - (f.pfn % FOLIO_NR)] : f;
  }

  /** folio_mapcount of a large folio: its PMD mappings plus every page's PTEs. */
  folioMapcount(head: Frame): number {
    let n = head.entireMapcount;
    for (let i = 0; i < FOLIO_NR; i++) n += this.all[head.pfn + i].mapcount;
    return n;
  }

  /** vma_alloc_folio(order 9): a zeroed THP at refcount 1, or undefined when the pool is empty. */
  allocHuge(): Frame | undefined {
    const block = this.#hugeFree.pop();
    if (block === undefined) return undefined;
    const first = block * FOLIO_NR;
    for (let i = 0; i < FOLIO_NR; i++) {
      const f = this.all[first + i];
      f.refcount = 0;
      f.mapcount = 0;
      f.clearFlags();
      f.allocated = true;
      f.kind = KIND_SYSTEM;
      f.head = i === 0;
      f.tail = i !== 0;
      f.content = 0;
      f.index = 0;
      this.counters.noteAlloc();
    }
    const head = this.all[first];
    head.refcount = 1;
    head.entireMapcount = 0;
    head.pincount = 0;
    this.#largeLive++;
    return head;
  }

  /** free_unref_folios for a THP: the block goes back to the pool. */
  freeHuge(head: Frame): void {
    for (let i = 0; i < FOLIO_NR; i++) {
      this.all[head.pfn + i].clearFlags();
      this.counters.noteFree();
    }
    this.#hugeFree.push(head.pfn / FOLIO_NR);
    this.#largeLive--;
    this.counters.thpFreed++;
  }

  /** __split_folio_to_order(0): each page keeps its own mappings' references; unmapped pages go to the buddy. */
  splitFolioPages(head: Frame): void {
    for (let i = 0; i < FOLIO_NR; i++) {
      const f = this.all[head.pfn + i];
      f.refcount = f.mapcount;
      if (f.mapcount === 0) {
        f.clearFlags();
        this.#buddy.push(f.pfn);
        this.counters.noteFree();
      } else {
        f.head = false;
        f.tail = false;
      }
    }
    head.entireMapcount = 0;
    head.pincount = 0;
    this.#largeLive--;
  }

  get freeSystemPages(): number {
    return this.#buddy.length;
  }

  isDevice(pfn: number): boolean {
    return pfn > this.systemPages;
  }

  /** alloc_pages(order 0): a zeroed system page at refcount 1 (callers check space first). */
  allocSystem(): Frame {
    const pfn = this.#buddy.pop();
    if (pfn === undefined) throw new Error("model: system page allocated with the buddy allocator empty");
    const f = this.all[pfn];
    f.refcount = 1;
    f.mapcount = 0;
    f.clearFlags();
    f.allocated = true;
    f.kind = KIND_SYSTEM;
    f.content = 0;
    f.index = 0;
    this.counters.noteAlloc();
    return f;
  }

  /** free_unref_folios: return a system page to the buddy allocator. */
  freeSystem(f: Frame): void {
    f.clearFlags();
    this.#buddy.push(f.pfn);
    this.counters.noteFree();
  }
}
