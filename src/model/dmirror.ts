/**
 * The test_hmm devices (struct dmirror_device, lib/test_hmm.c): fake GPUs of one
 * kind each, which mirror processes through their open files (mirror.ts) and read
 * and write their memory through hmm_range_fault. A device's own memory comes in
 * chunks (dmirror_allocate_chunk): a pgmap of its kind owned by the device, one
 * driver of DMIRROR_CHUNK_PAGES frames, made at the first allocation that finds
 * no free page (the module's init chunk is made lazily; the free list is one per
 * chunk, newest chunk first). E5's large allocations take PMD-aligned blocks of
 * chunks made for them (free_folios), small ones pages of the others (free_pages).
 * A device-coherent device never gets a large folio: its chunk is its fixed spm
 * range, which its small init chunk holds (see the core's header for what that
 * leaves unmodelled). Twin of assembly/dmirror.ts.
 *
 * @example
 * ```ts
 * import { DmirrorDevices } from "./dmirror.ts";
 * import { KIND_DEVICE_COHERENT } from "../../assembly/abi.ts";
 * const d = new DmirrorDevices();
 * console.log(d.create(KIND_DEVICE_COHERENT), d.kind(0)); // 0 2
 * ```
 */
import { MAX_DMIRROR_DEVICES, DMIRROR_CHUNK_PAGES, DMIRROR_OWNER_BASE, HMM_DMIRROR_FLAG_FAIL_ALLOC, KIND_DEVICE_COHERENT } from "../../assembly/abi.ts";
import { registerDriver, driverPadding, type Driver } from "./memremap.ts";
import { allocDevicePage, allocDeviceFolio } from "./driver.ts";
import type { Frame } from "./frames.ts";
import type { Machine } from "./machine.ts";

/** The device model's counters (ST_DMIRROR_FAULTS, ST_HMM_FAULT_PAGES, ST_MIRROR_*, ST_DEVICE_PAGES). */
export class DmirrorCounters {
  /** Fault rounds of READ / WRITE (cmd->faults++). */
  faults = 0;
  /** Pages hmm_do_fault ran handle_mm_fault on. */
  faultPages = 0;
  /** Pages the device copied through its pt. */
  devicePages = 0;
  mirrorEntries = 0;
  mirrorInvalidated = 0;
}

export class DmirrorDevices {
  readonly kinds: number[] = [];
  /** devmem_count per device: chunks made since its last RELEASE. */
  readonly chunks: number[] = [];
  /** Pages per chunk, per device. */
  readonly chunkPages: number[] = [];
  /** The mirror each device page's data was migrated for (rpage->zone_device_data), by pfn. */
  readonly pageMirror = new Map<number, number>();
  /** Drivers made as large chunks (dmirror_allocate_chunk with is_large), by id. */
  readonly largeChunks = new Set<number>();
  get count(): number { return this.kinds.length; }
  get full(): boolean { return this.kinds.length >= MAX_DMIRROR_DEVICES; }
  valid(dev: number): boolean { return Number.isInteger(dev) && dev >= 0 && dev < this.kinds.length; }
  kind(dev: number): number { return this.kinds[dev]; }
  /** dmirror_device_init (the caller checked kind, chunk and room). */
  create(kind: number, chunk = DMIRROR_CHUNK_PAGES): number {
    this.kinds.push(kind);
    this.chunks.push(0);
    this.chunkPages.push(chunk);
    return this.kinds.length - 1;
  }
}

/** pagemap.owner of device dev's chunks. */
export function dmirrorOwner(dev: number): number { return DMIRROR_OWNER_BASE + dev; }

/** The test_hmm device a driver is a chunk of, or -1. */
export function dmirrorOfDriver(d: Driver): number { return d.owner >= DMIRROR_OWNER_BASE ? d.owner - DMIRROR_OWNER_BASE : -1; }

/** A live chunk of dev (not removed by a RELEASE). */
export function isLiveChunk(d: Driver, dev: number): boolean { return d.owner === dmirrorOwner(dev) && d.state === "live"; }

/** dmirror_allocate_chunk (as the core): false when the machine has no room for one more chunk. */
function allocateChunk(m: Machine, dev: number, large: boolean): boolean {
  const kind = m.dmirrors.kind(dev);
  const pages = m.dmirrors.chunkPages[dev];
  if (m.devices.driverSlotsLeft < 1 || m.devices.framesLeft < pages + driverPadding(m, kind)) return false;
  const d = registerDriver(m, kind, pages);
  d.owner = dmirrorOwner(dev);
  if (large) m.dmirrors.largeChunks.add(d.id);
  m.dmirrors.chunks[dev]++;
  return true;
}

/** dmirror_devmem_alloc_page (as the core): a free page of dev's chunks, newest first, else a new chunk's. */
export function dmirrorAllocPage(m: Machine, dev: number): Frame | null {
  for (let pass = 0; pass < 2; pass++) {
    const drivers = m.devices.drivers;
    for (let i = drivers.length - 1; i >= 0; i--) {
      const d = drivers[i];
      if (isLiveChunk(d, dev) && !m.dmirrors.largeChunks.has(d.id) && d.free.length > 0) return allocDevicePage(m, d, null);
    }
    if (pass === 0 && !allocateChunk(m, dev, false)) return null;
  }
  return null;
}

/** dmirror_devmem_alloc_page(is_large) (as the core): a free folio of dev's large chunks, else a new large chunk's. */
export function dmirrorAllocFolio(m: Machine, dev: number): Frame | null {
  // device-coherent: the spm range is the init chunk's; a second memremap_pages of it fails (as the core)
  if (m.dmirrors.kind(dev) === KIND_DEVICE_COHERENT) return null;
  for (let pass = 0; pass < 2; pass++) {
    const drivers = m.devices.drivers;
    for (let i = drivers.length - 1; i >= 0; i--) {
      const d = drivers[i];
      if (!isLiveChunk(d, dev) || !m.dmirrors.largeChunks.has(d.id)) continue;
      const head = allocDeviceFolio(m, d, null);
      if (head) return head;
    }
    if (pass === 0 && !allocateChunk(m, dev, true)) return null;
  }
  return null;
}

/** The one-shot FAIL_ALLOC of the mirror a large device page was migrated for, cleared (as the core's dmirrorTakeFailAlloc). */
export function dmirrorTakeFailAlloc(m: Machine, page: Frame): boolean {
  if (!page.driver || dmirrorOfDriver(page.driver) < 0) return false;
  const f = m.mirrors.live(m.dmirrors.pageMirror.get(page.pfn) ?? -1);
  if (!f || (f.flags & HMM_DMIRROR_FLAG_FAIL_ALLOC) === 0) return false;
  f.flags &= ~HMM_DMIRROR_FLAG_FAIL_ALLOC;
  return true;
}

/** dmirror_devmem_fault's xa_erase on the mirror the page was migrated for (as the core). */
export function dmirrorFaultErase(m: Machine, page: Frame, vpn: number): void {
  if (!page.driver || dmirrorOfDriver(page.driver) < 0) return;
  const f = m.mirrors.live(m.dmirrors.pageMirror.get(page.pfn) ?? -1);
  if (f) m.mirrors.erase(f, vpn);
}
