/**
 * ZONE_DEVICE pgmaps (mm/memremap.c): memremap_pages registers a pgmap over
 * device frames, free_zone_device_folio hands a freed page or folio to the
 * driver's page_free / folio_free, pgmap references are taken and put per era,
 * and memunmap_pages tears a pgmap down, each era in its own way (spec §3.4,
 * §4.8). The driver side (free list, buffer objects, allocations) is in
 * driver.ts. DAX and p2pmem pages belong to files instead (zone_device_data
 * names the file).
 *
 * @example
 * ```ts
 * import { Model } from "./model.ts";
 * const m = Model.create({ scheme: "E2" });
 * const gpu = m.driverNew("device-private", 8);
 * console.log(m.driver(gpu)); // { state: 'live', pgmapRef: 1, freePages: 8, pages: 8 }
 * ```
 */
import {
  KIND_DEVICE_PRIVATE, KIND_DEVICE_COHERENT, KIND_P2PDMA, V_DOUBLE_FREE, V_EARLY_FREE, V_UAF,
  PGMAP_REF_PER_PAGE, PGMAP_REF_BULK, PGMAP_REF_PER_ALLOC, FOLIO_NR,
} from "../../assembly/abi.ts";
import { boUnref, servePending, type BufferObject } from "./driver.ts";
import type { Frame } from "./frames.ts";
import type { Machine } from "./machine.ts";

export type DriverState = "live" | "dying" | "gone";

export class Driver {
  /** Free pages, a LIFO stack: the top is handed out next (lowest pfn first at the start). */
  readonly free: Frame[] = [];
  /** live; dying while memunmap_pages waits for pgmap references; gone once struct pages are removed. */
  state: DriverState = "live";
  /** dev_pagemap.ref (a percpu_ref, modelled as one count). */
  pgmapRef = 0;
  /** A check already reported this driver's memunmap_pages as hung. */
  hangReported = false;
  /** A blocked OP_DRIVER_ALLOC waiting for memory: its order and BO, served by the next free. */
  pending: { order: number; bo: BufferObject } | null = null;
  /** pgmap->owner: the driver's own id, or DMIRROR_OWNER_BASE + the test_hmm device of a chunk. */
  owner: number;
  constructor(readonly id: number, readonly kind: number, readonly base: number, readonly size: number) { this.owner = id; }
}

/** Does this driver's pgmap take a reference per allocated page (E2+ private/coherent)? */
function perAllocRefs(m: Machine, kind: number): boolean {
  return m.rules.pgmapRef === PGMAP_REF_PER_ALLOC && (kind === KIND_DEVICE_PRIVATE || kind === KIND_DEVICE_COHERENT);
}

/** Frames skipped so that an E5 device-private pgmap starts 2 MiB-aligned (as the core). */
export function driverPadding(m: Machine, kind: number): number {
  if (!m.rules.deviceFolios || kind !== KIND_DEVICE_PRIVATE) return 0;
  const next = m.frames.systemPages + 1 + m.devices.framesUsed;
  return (FOLIO_NR - (next % FOLIO_NR)) % FOLIO_NR;
}

/** memremap_pages: register n device frames of `kind`; free pages idle at the era's count. */
export function registerDriver(m: Machine, kind: number, n: number): Driver {
  const devs = m.devices;
  devs.framesUsed += driverPadding(m, kind);
  const base = m.frames.systemPages + 1 + devs.framesUsed;
  const d = new Driver(devs.drivers.length, kind, base, n);
  // percpu_ref_init holds one ref; E0 adds one per struct page, E1 bulk base refs,
  // E2+ none for private/coherent (pagemap_range skips percpu_ref_get_many).
  d.pgmapRef = perAllocRefs(m, kind) ? 1 : 1 + n;
  const idle = m.rules.idleCount(kind);
  for (let pfn = base; pfn < base + n; pfn++) {
    const f = m.frames.all[pfn];
    f.refcount = idle; // memmap_init_zone_device: 1 before 6.1, 0 after for private/coherent
    f.mapcount = 0;
    f.clearFlags();
    f.kind = kind;
    f.driver = d;
  }
  for (let pfn = base + n - 1; pfn >= base; pfn--) d.free.push(m.frames.all[pfn]);
  devs.framesUsed += n;
  devs.drivers.push(d);
  return d;
}

/** percpu_ref_put_many on the pgmap; the last one lets a waiting memunmap_pages finish. */
function pgmapPut(m: Machine, d: Driver, n: number): void {
  d.pgmapRef -= n;
  if (d.pgmapRef === 0 && d.state === "dying") completeTeardown(m, d);
}

/**
 * free_zone_device_folio -> pgmap->ops->page_free: clear mapping and
 * PageAnonExclusive, return the page to its driver's free list at the idle count
 * (unless the pgmap is being torn down), drop the BO reference (the BO is freed
 * with its last page) and, in E2+, the page's pgmap reference.
 */
export function pageFree(m: Machine, f: Frame, mm: number, vpn: number): void {
  if (!f.allocated) {
    m.log.record(V_DOUBLE_FREE, f.pfn, mm, vpn, f.refcount, f.mapcount, 0);
    return;
  }
  if (f.head) {
    folioFree(m, f, mm, vpn);
    return;
  }
  const d = f.driver!;
  const hadPgmapRef = !f.noPgmapRef;
  const gone = f.gone;
  // Before 7ab0ad0e74f8 page->mapping survived the free: a reused page still looked anon (S15).
  const keepAnon = !m.rules.clearMappingOnFree && f.anon;
  let earlyFreed = false;
  if (f.mapcount > 0) {
    m.log.record(V_EARLY_FREE, f.pfn, mm, vpn, f.refcount, f.mapcount, 0);
    earlyFreed = true; // its mappings are still there to be zapped
  }
  f.clearFlags(); // mapping, anon, exclusive, owner-ref all cleared
  f.gone = gone;
  f.anon = keepAnon;
  f.earlyFreed = earlyFreed;
  if (d.state === "live") {
    f.refcount = m.rules.idleCount(f.kind); // E1 set_page_count(page, 1); E2+ stays 0
    d.free.push(f);
  }
  m.counters.devicePageFree++;
  m.counters.noteFree();
  const bo = m.devices.bo(f.owner);
  f.owner = 0;
  if (bo) boUnref(m, bo, 1); // svm_range_bo_unref
  servePending(m, d); // a blocked allocation on another CPU takes the memory at once
  if (m.rules.pgmapRef === PGMAP_REF_PER_ALLOC && hadPgmapRef && f.kind !== KIND_P2PDMA) pgmapPutAfterFree(m, f, d, 1, mm, vpn);
}

/**
 * percpu_ref_put_many at the end of free_zone_device_folio: through the pgmap saved
 * before ->folio_free (2026 fix), or read from the folio afterwards, which fails
 * when the driver has re-initialised the page as a tail of a new folio (S18).
 */
function pgmapPutAfterFree(m: Machine, f: Frame, d: Driver, nr: number, mm: number, vpn: number): void {
  if (!m.rules.folioFreePgmapSaved && f.tail) {
    m.log.record(V_UAF, f.pfn, mm, vpn, f.refcount, f.mapcount, 13); // folio->pgmap of a re-initialised page
    return;
  }
  pgmapPut(m, d, nr);
}

/** free_zone_device_folio of a large device folio -> ->folio_free: all its pages back, BO refs, then pgmap refs. */
function folioFree(m: Machine, head: Frame, mm: number, vpn: number): void {
  const d = head.driver!;
  const bo = m.devices.bo(head.owner);
  for (let i = 0; i < FOLIO_NR; i++) {
    const f = m.frames.all[head.pfn + i];
    const gone = f.gone;
    f.clearFlags();
    f.gone = gone;
    f.owner = 0;
    if (d.state === "live") {
      f.refcount = m.rules.idleCount(f.kind);
      d.free.push(f);
    }
  }
  m.frames.noteLargeFree(FOLIO_NR);
  m.counters.devicePageFree++;
  if (bo) boUnref(m, bo, FOLIO_NR);
  servePending(m, d);
  pgmapPutAfterFree(m, head, d, FOLIO_NR, mm, vpn);
}

/** E0 __put_page of a ZONE_DEVICE page whose count reached 0: drop its pgmap reference. */
export function pgmapPutPage(m: Machine, f: Frame): void {
  if (m.rules.pgmapRef === PGMAP_REF_PER_PAGE) pgmapPut(m, f.driver!, 1);
}

/** memunmap_pages has run for this frame's pgmap (E0: its base references are gone). */
export function pgmapKilled(f: Frame): boolean {
  return f.driver !== null && f.driver.state !== "live";
}

/**
 * memunmap_pages: kill the pgmap ref and wait for it to drain.
 * E0: put_page on every pfn (a mapped page reaches 2->1 and goes to page_free while
 *     still mapped; idle pages 1->0 drop their pgmap refs), then wait.
 * E1: percpu_ref_put_many of the bulk base refs: nothing waits for pages in use.
 * E2+: wait until every allocated page has been freed.
 * Returns the driver state afterwards (0 live, 1 dying: still waiting, 2 gone).
 */
export function memunmapPages(m: Machine, d: Driver): number {
  d.state = "dying";
  const mode = m.rules.pgmapRef;
  if (mode === PGMAP_REF_PER_PAGE) {
    for (let pfn = d.base; pfn < d.base + d.size; pfn++) putPageAtTeardown(m, m.frames.all[pfn]);
  }
  const drop = mode === PGMAP_REF_BULK || d.kind === KIND_P2PDMA ? 1 + d.size : 1;
  pgmapPut(m, d, drop);
  return DRIVER_STATES.indexOf(d.state);
}

const DRIVER_STATES: DriverState[] = ["live", "dying", "gone"];

/** memunmap_pages' E0 put_page(pfn): free_devmap_managed_page at the trigger, __put_page at 0. */
function putPageAtTeardown(m: Machine, f: Frame): void {
  const r = f.refcount - 1; // a plain decrement: not counted as an atomic, never a violation
  f.refcount = r;
  if (r === m.rules.freeAt(f.kind) && f.allocated) pageFree(m, f, -1, -1);
  if (r === 0) pgmapPutPage(m, f);
}

/** The pgmap drained: struct pages go away; whatever still points at them dangles. */
function completeTeardown(m: Machine, d: Driver): void {
  d.state = "gone";
  for (let pfn = d.base; pfn < d.base + d.size; pfn++) {
    const f = m.frames.all[pfn];
    if (f.allocated || f.refcount > 0 || f.mapcount > 0 || f.earlyFreed) {
      const wasAllocated = f.allocated;
      f.allocated = false;
      f.gone = true;
      if (wasAllocated) m.counters.noteFree();
    }
  }
}

/** A driver still waiting in memunmap_pages, reported once as a hang by the check. */
export function hangingDriver(d: Driver): boolean {
  if (d.state !== "dying" || d.hangReported) return false;
  d.hangReported = true;
  return true;
}
