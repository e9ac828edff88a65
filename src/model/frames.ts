/**
 * Page frames (struct page) as objects, and the buddy allocator for system RAM.
 * pfn 0 is the shared zero page; 1..systemPages are system RAM; device frames
 * (ZONE_DEVICE pgmaps, see device.ts) follow. Free system pfns sit on a LIFO
 * stack that pops in ascending order at first, so pfn numbering matches the core.
 *
 * @example
 * ```ts
 * import { Frames } from "./frames.ts";
 * import { Counters } from "./stats.ts";
 * const frames = new Frames(4, 0, new Counters());
 * const a = frames.allocSystem();
 * const b = frames.allocSystem();
 * frames.freeSystem(a);
 * console.log(a.pfn, b.pfn, frames.allocSystem().pfn); // 1 2 1
 * ```
 */
import { KIND_SYSTEM } from "../../assembly/abi.ts";
import type { Counters } from "./stats.ts";
import type { Driver } from "./device.ts";

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
  }

  /** A frame a reference may be taken on: allocated, or early-freed but not yet torn down. */
  get usable(): boolean {
    return this.allocated || (this.earlyFreed && !this.gone);
  }
}

export class Frames {
  /** Every frame by pfn: the zero page, system RAM, then device frames. */
  readonly all: Frame[];
  readonly systemPages: number;
  /** Free system pfns; the top of the stack is the next page handed out. */
  readonly #buddy: number[] = [];

  constructor(systemPages: number, devicePages: number, private readonly counters: Counters) {
    this.systemPages = systemPages;
    this.all = Array.from({ length: 1 + systemPages + devicePages }, (_, pfn) => new Frame(pfn));
    for (let i = 0; i < systemPages; i++) this.#buddy.push(systemPages - i);
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
