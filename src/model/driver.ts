/**
 * A ZONE_DEVICE driver and its buffer objects (BOs): it allocates pages of its
 * pgmaps (memremap.ts) into BOs and gets them back through page_free. A BO's
 * count is its number of live device pages (amdkfd: svm_migrate_get_vram_page
 * takes a BO ref, svm_migrate_page_free drops it); it is freed when that count
 * reaches zero. The driver's own allocations (OP_DRIVER_ALLOC) and the one
 * waiting for memory are here too.
 */
import { KIND_P2PDMA, PGMAP_REF_PER_ALLOC, FOLIO_NR } from "../../assembly/abi.ts";
import { folioPut } from "./refcount.ts";
import type { Driver } from "./memremap.ts";
import type { Frame } from "./frames.ts";
import type { Machine } from "./machine.ts";

export class BufferObject {
  /** Live device pages holding a reference on the BO (svm_range_bo_ref). */
  pages = 0;
  state: "live" | "freed" = "live";
  /** A check already reported this BO as leaked. */
  leakReported = false;
  /** The driver's own allocations (OP_DRIVER_ALLOC), released by OP_DRIVER_FREE. */
  held = false;
  constructor(readonly id: number, readonly driver: number) {}
}

export class Devices {
  readonly drivers: Driver[] = [];
  /** BOs by id - 1; id 0 means "none". */
  readonly bos: BufferObject[] = [];
  /** Device frames given to pgmaps so far. */
  framesUsed = 0;

  constructor(
    readonly frameCapacity: number,
    readonly driverCapacity: number,
    readonly boCapacity: number,
  ) {}

  get framesLeft(): number { return this.frameCapacity - this.framesUsed; }
  get driverSlotsLeft(): number { return this.driverCapacity - this.drivers.length; }
  get boSlotsLeft(): number { return this.boCapacity - this.bos.length; }

  driver(d: number): Driver | undefined {
    return d >= 0 && d < this.drivers.length ? this.drivers[d] : undefined;
  }

  bo(b: number): BufferObject | undefined {
    return b > 0 ? this.bos[b - 1] : undefined;
  }

  /** A BO that exists and is not freed. */
  liveBo(b: number): BufferObject | undefined {
    const bo = this.bo(b);
    return bo && bo.state === "live" ? bo : undefined;
  }
}

/** A new buffer object owned by driver d, holding no pages yet. */
export function createBo(m: Machine, d: Driver): BufferObject {
  const bo = new BufferObject(m.devices.bos.length + 1, d.id);
  m.devices.bos.push(bo);
  m.counters.bosCreated++;
  m.counters.liveBos++;
  return bo;
}

/**
 * Driver allocation of a device page for BO bo (svm_migrate_get_vram_page), or
 * for no BO (p2pmem): E0 get_page (1->2), E1 lock only (stays 1), E2+
 * zone_device_page_init (0->1, plus a pgmap ref, which fails once memunmap_pages
 * has begun). The page sits one above its free trigger. Null if none is free.
 */
export function allocDevicePage(m: Machine, d: Driver, bo: BufferObject | null): Frame | null {
  const f = d.free.pop();
  if (!f) return null;
  f.refcount = m.rules.freeAt(f.kind) + 1;
  const staleAnon = f.anon; // a stale mapping survives the free when the era does not clear it (S15)
  f.clearFlags();
  f.allocated = true;
  f.anon = staleAnon;
  f.content = 0;
  if (m.rules.pgmapRef === PGMAP_REF_PER_ALLOC && f.kind !== KIND_P2PDMA) {
    if (d.state === "live") d.pgmapRef++; // percpu_ref_tryget_many
    else f.noPgmapRef = true; // the tryget failed: WARN, and nothing ties the pgmap to this page (S20)
  }
  f.owner = bo ? bo.id : 0;
  if (bo) bo.pages++; // svm_range_bo_ref
  m.counters.deviceAllocated++;
  m.counters.noteAlloc();
  return f;
}

/** dax_associate_entry for a new block: a DAX page joins a file at whatever count it has (no reference). */
export function allocDaxPage(m: Machine, d: Driver): Frame | null {
  const f = d.free.pop();
  if (!f) return null;
  f.clearFlags(); // the count is left as it is: idle for a clean block, higher if a pin outlived a truncate
  f.allocated = true;
  f.content = 0;
  m.counters.noteAlloc();
  return f;
}

/** dax_disassociate_entry + freeing the block: the DAX page goes back to the device's free pool. */
export function freeDaxPage(m: Machine, f: Frame): void {
  f.clearFlags(); // the count stays: a pin that outlives this still counts
  f.owner = 0;
  f.driver!.free.push(f);
  m.counters.noteFree();
}

/** svm_range_bo_unref n times: the BO is freed with its last page. */
export function boUnref(m: Machine, bo: BufferObject, n: number): void {
  bo.pages -= n;
  if (bo.pages === 0 && bo.state === "live") {
    bo.state = "freed";
    m.counters.bosFreed++;
    m.counters.liveBos--;
  }
}

/** Every page of the 2 MiB block at pfn blk is on its driver's free list. */
function blockFree(m: Machine, blk: number): boolean {
  for (let i = 0; i < FOLIO_NR; i++) {
    const f = m.frames.all[blk + i];
    if (f.allocated || f.gone || f.earlyFreed) return false;
  }
  return true;
}

/** The first free 2 MiB-aligned block of driver d, or -1. */
function freeBlock(m: Machine, d: Driver): number {
  for (let blk = Math.ceil(d.base / FOLIO_NR) * FOLIO_NR; blk + FOLIO_NR <= d.base + d.size; blk += FOLIO_NR) {
    if (blockFree(m, blk)) return blk;
  }
  return -1;
}

/** Would an allocation of this order fit in driver d now? */
export function driverCanAlloc(m: Machine, d: Driver, order: number): boolean {
  return order === 0 ? d.free.length > 0 : freeBlock(m, d) >= 0;
}

/** zone_device_folio_init(order 9) for bo: a free aligned block becomes one folio at refcount 1; null if none. */
export function allocDeviceFolio(m: Machine, d: Driver, bo: BufferObject | null): Frame | null {
  const blk = freeBlock(m, d);
  if (blk < 0) return null;
  const kept = d.free.filter((f) => f.pfn < blk || f.pfn >= blk + FOLIO_NR);
  d.free.length = 0;
  d.free.push(...kept);
  for (let i = 0; i < FOLIO_NR; i++) {
    const f = m.frames.all[blk + i];
    f.refcount = 0;
    f.mapcount = 0;
    f.clearFlags();
    f.allocated = true;
    f.head = i === 0;
    f.tail = i !== 0;
    f.content = 0;
    f.owner = bo ? bo.id : 0;
  }
  const head = m.frames.all[blk];
  head.refcount = m.rules.freeAt(head.kind) + 1;
  head.entireMapcount = 0;
  head.pincount = 0;
  if (m.rules.pgmapRef === PGMAP_REF_PER_ALLOC) {
    if (d.state === "live") d.pgmapRef += FOLIO_NR; // percpu_ref_tryget_many
    else head.noPgmapRef = true;
  }
  if (bo) bo.pages += FOLIO_NR;
  m.counters.deviceAllocated += FOLIO_NR;
  m.frames.noteLargeAlloc(FOLIO_NR);
  return head;
}

/** The driver's own allocation of order 0 or 9 for bo; null if nothing fits now. */
export function driverAllocFolio(m: Machine, d: Driver, bo: BufferObject, order: number): Frame | null {
  const f = order === 0 ? allocDevicePage(m, d, bo) : allocDeviceFolio(m, d, bo);
  if (f) f.driverHeld = true;
  return f;
}

/** The allocation waiting on driver d's memory runs as soon as a free returns some. */
export function servePending(m: Machine, d: Driver): void {
  if (!d.pending || d.state !== "live") return;
  if (driverAllocFolio(m, d, d.pending.bo, d.pending.order)) d.pending = null;
}

/** OP_DRIVER_FREE: cancel the BO's blocked allocation, or put the driver's reference on each of its folios. */
export function driverFreeBo(m: Machine, bo: BufferObject): void {
  const d = m.devices.drivers[bo.driver];
  if (d.pending && d.pending.bo === bo) {
    d.pending = null;
    if (bo.pages === 0 && bo.state === "live") {
      bo.state = "freed";
      m.counters.bosFreed++;
      m.counters.liveBos--;
    }
  }
  for (let pfn = d.base; pfn < d.base + d.size; pfn++) {
    const f = m.frames.all[pfn];
    if (!f.driverHeld || f.owner !== bo.id) continue;
    f.driverHeld = false;
    folioPut(m, f, 1, -1, -1); // the driver's folio_put
  }
}

/** The allocated frames of driver d (of BO b if b > 0), in pfn order, for migrate_device_range. */
export function allocatedPagesOf(m: Machine, d: Driver, b: number): Frame[] {
  const out: Frame[] = [];
  for (let pfn = d.base; pfn < d.base + d.size; pfn++) {
    const f = m.frames.all[pfn];
    if (f.driverHeld || f.tail) continue; // the driver's own folios are not evicted
    if (f.allocated && (b === 0 || f.owner === b)) out.push(f);
  }
  return out;
}
