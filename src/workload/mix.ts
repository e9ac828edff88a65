/**
 * mix: a random stream of every op kind, in settable ratios, that the core always
 * accepts. The generator keeps its own model of what exists: live mms and their
 * VMAs (a replica of the core's VMA list surgery for mmap, munmap and fork),
 * files, drivers and GUP handles, and it reads back what it cannot know (mm ids
 * from mm_new and fork, the address mmap(-1) picked, file, driver and BO ids, GUP
 * handles). Its frame use is bounded from above op by op and re-read from the
 * target's counters when the bound gets near capacity; under memory pressure it
 * only unmaps, exits, drops caches and unpins until there is room again.
 *
 * What each op kind does here:
 *  - mm_new, fork (the child), exit: processes come and go (at most maxProcesses
 *    live; mm ids are never reused, so new ones are paced over the budget);
 *  - mmap: anonymous private or file (shared or private) mappings, read-only
 *    sometimes, at a random free spot of the process's arena or at -1
 *    (get_unmapped_area); munmap: a whole VMA, part of one (trim or split) or any
 *    range of the arena; madvise_dontneed: part of one VMA;
 *  - read, write: one page of a random VMA (writes only where VM_WRITE);
 *  - file_new, drop_cache; driver_new (either kind, paced);
 *  - migrate_to_device: part of an anonymous VMA into a new BO (paced), sometimes
 *    followed at once by a second range into the same BO; migrate_to_ram: part of
 *    any VMA;
 *  - gup: FOLL_GET, FOLL_PIN or FOLL_PIN|FOLL_LONGTERM, with FOLL_WRITE where the
 *    VMA allows; unpin: a random live handle;
 *  - madvise_pageout: part of one VMA; truncate: a range of a file (unmapped from
 *    every mapping, out of the page cache); dma_write: a device writes through a
 *    live GUP handle;
 *  - evict_bo: a range is migrated into a new BO and the driver evicts that BO at
 *    once (migrate_device_range): later the generator cannot know whether a BO is
 *    still live (it is freed with its last page), so it never names an old one;
 *  - driver_teardown: memunmap_pages of a live driver, after evicting its pages or
 *    not (off by default: it ends the driver, and E2+ rightly reports a hang for
 *    pages still in use);
 *  - check (quiesce check) and teardown (every mm exits; off by default).
 * Not generated: fault_begin / fault_end (the core rejects them unless the PTE is
 * a device-private entry, which the generator cannot observe) and files on
 * fsdax / devdax / p2pdma drivers (a fault there is rejected when the driver has
 * no free page, and per-driver free pages are not visible to it).
 *
 * The run: setup (2 mms, a file, a driver), the random loop, the drain (unpin
 * every handle, exit every mm, drop every page cache) and a quiesce check.
 *
 * Capacity with the defaults: at most 12 live mms with 24 VMAs each (288 VMAs),
 * 12 * (arena + maxMapPages)/512 + ... = 84 pte tables, up to 16 files of 1..256
 * pages, up to 4 drivers of 1024 device pages, 256 GUP handles; system frames are
 * watched at run time (the default footprint stays under about 40000).
 *
 * @example
 * ```ts
 * import { Engine } from "../core/engine.ts";
 * import { runMix } from "./mix.ts";
 * const e = await Engine.create({ scheme: "E2" });
 * const a = runMix(e, { ratios: { fork: 2, gup: 8 } }, 11, 30_000);
 * const b = runMix(await Engine.create({ scheme: "E2" }), { ratios: { fork: 2, gup: 8 } }, 11, 30_000);
 * console.log(a.streamHash === b.streamHash, a.stats.ops.gup > 0); // true true
 * ```
 */
import {
  VM_READ, VM_WRITE, VM_SHARED, VM_ANON, VM_FILE, FOLL_WRITE, FOLL_PIN, FOLL_LONGTERM,
  KIND_DEVICE_PRIVATE, KIND_DEVICE_COHERENT,
} from "../../assembly/abi.ts";
import {
  Session, Pacer, resolveParams, defaultsOf, need, usageOf, MAP_BASE, DEFAULT_SEED, DEFAULT_BUDGET,
  type Spec, type WorkloadDef, type WorkloadSummary,
} from "./common.ts";
import type { OpTarget } from "./target.ts";
import { VmaTracker } from "./vmas.ts";
import { Weights } from "./prng.ts";

export const MIX_KINDS = [
  "mm_new", "mmap", "munmap", "read", "write", "fork", "exit", "madvise_dontneed", "file_new", "driver_new",
  "migrate_to_device", "migrate_to_ram", "gup", "unpin", "check", "drop_cache", "teardown", "madvise_pageout",
  "truncate", "dma_write", "evict_bo", "driver_teardown",
] as const;
export type MixKind = (typeof MIX_KINDS)[number];

// Each kind's index in MIX_KINDS (the weights are drawn in that order; test/workload.test.ts's
// pinned streams fail if one is wrong).
const K_MM_NEW = 0;
const K_MMAP = 1;
const K_MUNMAP = 2;
const K_READ = 3;
const K_WRITE = 4;
const K_FORK = 5;
const K_EXIT = 6;
const K_MADVISE_DONTNEED = 7;
const K_FILE_NEW = 8;
const K_DRIVER_NEW = 9;
const K_MIGRATE_TO_DEVICE = 10;
const K_MIGRATE_TO_RAM = 11;
const K_GUP = 12;
const K_UNPIN = 13;
const K_CHECK = 14;
const K_DROP_CACHE = 15;
const K_TEARDOWN = 16;
const K_MADVISE_PAGEOUT = 17;
const K_TRUNCATE = 18;
const K_DMA_WRITE = 19;
const K_EVICT_BO = 20;
const K_DRIVER_TEARDOWN = 21;

export interface MixParams {
  ratios: Record<MixKind, number>;
  maxProcesses: number;
  maxVmas: number;
  arenaPages: number;
  maxMapPages: number;
  hintRatio: number;
  fileRatio: number;
  sharedRatio: number;
  readOnlyRatio: number;
  maxFiles: number;
  maxFilePages: number;
  maxDrivers: number;
  driverPages: number;
  maxMigratePages: number;
  boReuse: number;
  maxPins: number;
}

export const MIX_SPEC: Spec<MixParams> = {
  ratios: {
    default: {
      mm_new: 0.5, mmap: 6, munmap: 3, read: 30, write: 30, fork: 0.5, exit: 0.5, madvise_dontneed: 3,
      file_new: 0.1, driver_new: 0.05, migrate_to_device: 3, migrate_to_ram: 3, gup: 4, unpin: 4, check: 0.01,
      drop_cache: 0.3, teardown: 0, madvise_pageout: 2, truncate: 0.3, dma_write: 2, evict_bo: 0.5, driver_teardown: 0,
    },
    min: 0,
    doc: "relative frequency of each op kind (an op that cannot be issued right then is replaced by another draw)",
  },
  maxProcesses: { default: 12, min: 1, integer: true, doc: "live mms at most" },
  maxVmas: { default: 24, min: 2, integer: true, doc: "VMAs per mm at most" },
  arenaPages: { default: 2048, min: 16, integer: true, doc: "pages of the address window each mm maps into" },
  maxMapPages: { default: 128, min: 1, integer: true, doc: "longest mmap, in pages" },
  hintRatio: { default: 0.2, min: 0, max: 1, doc: "fraction of mmaps that let the core choose the address (vpn -1, get_unmapped_area)" },
  fileRatio: { default: 0.3, min: 0, max: 1, doc: "fraction of mmaps that map a file" },
  sharedRatio: { default: 0.5, min: 0, max: 1, doc: "fraction of file mappings that are MAP_SHARED" },
  readOnlyRatio: { default: 0.1, min: 0, max: 1, doc: "fraction of mappings without VM_WRITE" },
  maxFiles: { default: 16, min: 1, integer: true, doc: "files created at most (ids are never reused)" },
  maxFilePages: { default: 256, min: 1, integer: true, doc: "a new file has 1..maxFilePages pages" },
  maxDrivers: { default: 4, min: 1, integer: true, doc: "drivers registered at most, each device-private or device-coherent at random" },
  driverPages: { default: 1024, min: 1, integer: true, doc: "device pages per driver" },
  maxMigratePages: { default: 32, min: 1, integer: true, doc: "longest migrate_to_device / migrate_to_ram / madvise range" },
  boReuse: { default: 0.3, min: 0, max: 1, doc: "probability that a migrate_to_device is followed at once by a second range into the same BO" },
  maxPins: { default: 256, min: 1, integer: true, doc: "live GUP handles at most" },
};

const NAME = "mix";
const RW = VM_READ | VM_WRITE;
const GUP_FLAGS = [0, FOLL_WRITE, FOLL_PIN, FOLL_PIN | FOLL_WRITE, FOLL_PIN | FOLL_LONGTERM, FOLL_PIN | FOLL_LONGTERM | FOLL_WRITE];
const FREEING: readonly MixKind[] = ["munmap", "exit", "madvise_dontneed", "drop_cache", "unpin", "migrate_to_device", "truncate"];

export function runMix(target: OpTarget, params?: Partial<MixParams>, seed = DEFAULT_SEED, budget = DEFAULT_BUDGET): WorkloadSummary {
  const p = resolveParams(NAME, MIX_SPEC, params);
  const s = new Session(NAME, target, seed, budget);
  const cap = s.capacity;
  const maxP = p.maxProcesses;
  const maxV = p.maxVmas;
  const span = p.arenaPages + p.maxMapPages; // addresses a mm can use: [MAP_BASE, MAP_BASE + span)
  const T = Math.ceil(span / 512) + 1;
  need(p.maxMapPages <= p.arenaPages, NAME, "maxMapPages", `must not exceed arenaPages (${p.arenaPages})`);
  need(MAP_BASE % (1 << 18) + span <= 1 << 18, NAME, "arenaPages", "the arena must fit one pmd table (2^18 pages)");
  need(s.usage.mms + 1 <= cap.processes, NAME, "maxProcesses", `no mm id is left (capacity.processes)`);
  need(maxP * maxV + 1 <= cap.vmas, NAME, "maxVmas", `maxProcesses * maxVmas = ${maxP * maxV} VMAs (+1) exceed capacity.vmas (${cap.vmas})`);
  need(maxP * T + 3 <= cap.pteTables, NAME, "maxProcesses", `needs ${maxP * T + 3} pte tables, capacity.pteTables is ${cap.pteTables}`);
  need(maxP + T + 3 <= cap.pmdTables, NAME, "maxProcesses", `needs ${maxP + T + 3} pmd tables, capacity.pmdTables is ${cap.pmdTables}`);
  need(p.maxPins <= cap.gupHandles - s.usage.gupLive, NAME, "maxPins", `exceeds the ${cap.gupHandles - s.usage.gupLive} free GUP handles (capacity.gupHandles)`);
  need(p.maxFilePages <= cap.filePages, NAME, "maxFilePages", `exceeds capacity.filePages (${cap.filePages})`);
  need(p.driverPages <= cap.devicePages, NAME, "driverPages", `exceeds capacity.devicePages (${cap.devicePages})`);
  const low = Math.max(64, 4 * p.maxMigratePages + 16); // free system frames kept in hand
  need(cap.systemPages - s.usage.systemLive >= 4 * low, NAME, "maxMigratePages", `too few free system frames (${cap.systemPages - s.usage.systemLive}) for this mix`);
  const ratioKeys = MIX_KINDS;
  const weights = ratioKeys.map((k) => p.ratios[k]);
  need(weights.some((w) => w > 0), NAME, "ratios", "at least one ratio must be above 0");
  // Under memory pressure only freeing kinds are drawn: by their ratios, or evenly if all of theirs are 0.
  let freeingWeights = ratioKeys.map((k, i) => (FREEING.includes(k) ? weights[i] : 0));
  if (!freeingWeights.some((w) => w > 0)) freeingWeights = ratioKeys.map((k) => (FREEING.includes(k) ? 1 : 0));

  const weightsDraw = new Weights(weights);
  const freeingDraw = new Weights(freeingWeights);
  const enc = s.enc;
  const rng = s.rng;

  // ---- address spaces (slots) and their VMAs: a list sorted by start, as in the core (./vmas.ts)
  const slotMm = new Int32Array(maxP).fill(-1);
  const liveList = new Int32Array(maxP); // live slots, unordered
  const slotPos = new Int32Array(maxP);
  let nLive = 0;
  const vt = new VmaTracker(maxP, (maxP + 1) * (maxV + 1));
  const addSlot = (mm: number): number => {
    let slot = 0;
    while (slotMm[slot] >= 0) slot++;
    slotMm[slot] = mm;
    slotPos[slot] = nLive;
    liveList[nLive++] = slot;
    return slot;
  };
  const dropSlot = (slot: number): void => {
    vt.drop(slot);
    slotMm[slot] = -1;
    const at = slotPos[slot];
    const last = liveList[--nLive];
    liveList[at] = last;
    slotPos[last] = at;
  };
  const randomSlot = (): number => (nLive === 0 ? -1 : liveList[rng.below(nLive)]);
  /** A live slot with at least one VMA (a few tries), or -1. */
  const slotWithVma = (): number => {
    for (let t = 0; t < 4; t++) {
      const slot = randomSlot();
      if (slot >= 0 && vt.count[slot] > 0) return slot;
    }
    for (let i = 0; i < nLive; i++) if (vt.count[liveList[i]] > 0) return liveList[i];
    return -1;
  };

  // ---- files, drivers, handles
  const fileId = new Int32Array(p.maxFiles);
  const fileLen = new Int32Array(p.maxFiles);
  let nFiles = 0;
  let filePagesUsed = 0;
  const drvId = new Int32Array(p.maxDrivers); // live drivers (torn-down ones are removed)
  let nDrv = 0;
  let drvCreated = 0;
  let devicePagesUsed = 0;
  const handles = new Int32Array(p.maxPins);
  let nHandles = 0;
  const collect = (): void => {
    while (enc.ready > 0) {
      const h = enc.take();
      if (h > 0) handles[nHandles++] = h; // 0 pages or -errno: no handle
    }
  };
  const handlesOut = (): number => nHandles + enc.pending + enc.ready;

  // ---- system frames: an upper bound on use, re-read from the counters when near capacity
  let sysUsed = s.usage.systemLive;
  let pressure = false;
  let mismatches = 0;
  const resync = (): void => {
    sysUsed = usageOf(enc.stats()).systemLive;
  };
  /** Room for an op that needs `needFree` free frames and may allocate `alloc`. */
  const room = (needFree: number, alloc: number): boolean => {
    if (cap.systemPages - sysUsed - alloc < Math.max(needFree, low)) {
      resync();
      if (cap.systemPages - sysUsed - alloc < Math.max(needFree, low)) {
        pressure = true;
        return false;
      }
    }
    sysUsed += alloc;
    return true;
  };

  const mmPacer = new Pacer(cap.processes - s.usage.mms - 2, budget);
  const filePacer = new Pacer(Math.min(p.maxFiles, cap.files - s.usage.files) - 1, budget);
  const drvPacer = new Pacer(Math.min(p.maxDrivers, cap.drivers - s.usage.drivers) - 1, budget);
  const boPacer = new Pacer(cap.bufferObjects - 1 - s.usage.bos, budget);
  need(filePacer.slots >= 0, NAME, "maxFiles", "no file slot is left (capacity.files)");
  need(drvPacer.slots >= 0, NAME, "maxDrivers", "no driver slot is left (capacity.drivers)");

  const newFile = (): boolean => {
    const len = 1 + rng.below(p.maxFilePages);
    if (nFiles === p.maxFiles || filePagesUsed + len > cap.filePages) return false;
    fileId[nFiles] = enc.result(enc.fileNew(len));
    fileLen[nFiles++] = len;
    filePagesUsed += len;
    return true;
  };
  const newDriver = (): boolean => {
    if (drvCreated === p.maxDrivers || devicePagesUsed + p.driverPages > cap.devicePages) return false;
    const kind = rng.chance(0.5) ? KIND_DEVICE_PRIVATE : KIND_DEVICE_COHERENT;
    drvId[nDrv++] = enc.result(enc.driverNew(kind, p.driverPages));
    drvCreated++;
    devicePagesUsed += p.driverPages;
    return true;
  };

  // ---- one op of each kind; false if it cannot be issued right now
  const doMmap = (): boolean => {
    const slot = randomSlot();
    if (slot < 0 || vt.count[slot] >= maxV) return false;
    let n = 1 + rng.below(p.maxMapPages);
    let flags = rng.chance(p.readOnlyRatio) ? VM_READ : RW;
    let file = -1;
    let pgoff = 0;
    if (nFiles > 0 && rng.chance(p.fileRatio)) {
      const f = rng.below(nFiles);
      if (n > fileLen[f]) n = fileLen[f];
      file = fileId[f];
      pgoff = rng.below(fileLen[f] - n + 1);
      flags |= VM_FILE | (rng.chance(p.sharedRatio) ? VM_SHARED : 0);
    } else {
      flags |= VM_ANON;
    }
    if (rng.chance(p.hintRatio)) {
      const predicted = vt.unmappedArea(slot, n, MAP_BASE);
      if (predicted + n > MAP_BASE + span) return false;
      const got = enc.result(enc.mmap(slotMm[slot], -1, n, flags, file, pgoff));
      if (got !== predicted) mismatches++;
      vt.insert(slot, got, got + n, flags, file, pgoff);
      return true;
    }
    for (let t = 0; t < 3; t++) {
      const start = MAP_BASE + rng.below(p.arenaPages - n + 1);
      if (vt.overlaps(slot, start, start + n)) continue;
      enc.mmap(slotMm[slot], start, n, flags, file, pgoff);
      vt.insert(slot, start, start + n, flags, file, pgoff);
      return true;
    }
    return false;
  };
  const doMunmap = (): boolean => {
    const slot = slotWithVma();
    if (slot < 0 || vt.count[slot] >= maxV) return false; // a split needs a spare VMA
    const [start, end] = vt.munmapRange(slot, rng, MAP_BASE, span, p.maxMapPages);
    enc.munmap(slotMm[slot], start, end - start);
    vt.unmapRange(slot, start, end);
    return true;
  };
  /** A random sub-range of at most `max` pages of VMA v: [start, start + n) as rangeStart / rangeLen. */
  let rangeStart = 0;
  let rangeLen = 0;
  const subRange = (v: number, max: number): void => {
    const len = vt.end[v] - vt.start[v];
    rangeLen = 1 + rng.below(Math.min(max, len));
    rangeStart = vt.start[v] + rng.below(len - rangeLen + 1);
  };
  const doAccess = (write: boolean): boolean => {
    const slot = slotWithVma();
    if (slot < 0) return false;
    const v = vt.pick(slot, rng);
    const vpn = vt.start[v] + rng.below(vt.end[v] - vt.start[v]);
    if (write && (vt.flags[v] & VM_WRITE) !== 0) {
      if (!room(2, 2)) return false;
      enc.write(slotMm[slot], vpn, rng.u32() | 0);
    } else {
      if (!room(2, 1)) return false;
      enc.read(slotMm[slot], vpn);
    }
    return true;
  };
  const doFork = (): boolean => {
    if (nLive >= maxP || !mmPacer.allow(s.done)) return false;
    const parent = randomSlot();
    if (parent < 0) return false;
    collect();
    const out = handlesOut();
    if (!room(out + 2, out)) return false; // copy_present_page for each maybe-pinned page
    const child = enc.result(enc.fork(slotMm[parent]));
    mmPacer.take();
    const c = addSlot(child);
    vt.copy(parent, c);
    return true;
  };
  const doExit = (): boolean => {
    const slot = randomSlot();
    if (slot < 0 || (nLive === 1 && mmPacer.left <= 0)) return false; // keep a process while no new one can come
    enc.exit(slotMm[slot]);
    dropSlot(slot);
    return true;
  };
  const doMmNew = (): boolean => {
    // paced, except that a machine without processes may always start one while ids remain
    if (nLive >= maxP || mmPacer.left <= 0 || (nLive > 0 && !mmPacer.allow(s.done))) return false;
    addSlot(enc.result(enc.mmNew()));
    mmPacer.take();
    return true;
  };
  const anonVma = (slot: number): number => {
    for (let t = 0; t < 4; t++) {
      const v = vt.pick(slot, rng);
      if ((vt.flags[v] & VM_ANON) !== 0) return v;
    }
    return -1;
  };
  const doMigrateToDevice = (evictAtOnce = false): boolean => {
    if (nDrv === 0 || !boPacer.allow(s.done)) return false;
    const slot = slotWithVma();
    if (slot < 0) return false;
    const v = anonVma(slot);
    if (v < 0) return false;
    const d = drvId[rng.below(nDrv)];
    subRange(v, p.maxMigratePages);
    const seq = enc.migrateToDevice(slotMm[slot], rangeStart, rangeLen, d, 0);
    boPacer.take();
    const reuse = rng.chance(p.boReuse);
    if (!reuse && !evictAtOnce) return true;
    // The BO is certainly live only until some op could free its last page: use it at once.
    const bo = enc.result(seq);
    if (reuse) {
      const slot2 = slotWithVma();
      const v2 = slot2 < 0 ? -1 : anonVma(slot2);
      if (v2 >= 0) {
        subRange(v2, p.maxMigratePages);
        enc.migrateToDevice(slotMm[slot2], rangeStart, rangeLen, d, bo);
      }
    }
    if (evictAtOnce) {
      if (!room(p.driverPages, 2 * p.maxMigratePages)) return true; // migrate_device_range wants room for the whole driver
      enc.evictBo(bo);
    }
    return true;
  };
  const doMigrateToRam = (): boolean => {
    const slot = slotWithVma();
    if (slot < 0) return false;
    subRange(vt.pick(slot, rng), p.maxMigratePages);
    if (!room(rangeLen, rangeLen)) return false;
    enc.migrateToRam(slotMm[slot], rangeStart, rangeLen);
    return true;
  };
  const doDontneed = (): boolean => {
    const slot = slotWithVma();
    if (slot < 0) return false;
    subRange(vt.pick(slot, rng), 4 * p.maxMigratePages);
    enc.madviseDontneed(slotMm[slot], rangeStart, rangeLen);
    return true;
  };
  const doGup = (): boolean => {
    const slot = slotWithVma();
    if (slot < 0 || handlesOut() >= p.maxPins) return false;
    const v = vt.pick(slot, rng);
    const vpn = vt.start[v] + rng.below(vt.end[v] - vt.start[v]);
    let flags = GUP_FLAGS[rng.below(GUP_FLAGS.length)];
    if ((vt.flags[v] & VM_WRITE) === 0) flags &= ~FOLL_WRITE;
    if (!room(3, 3)) return false;
    enc.gup(slotMm[slot], vpn, flags);
    enc.want();
    return true;
  };
  const doUnpin = (): boolean => {
    collect();
    if (nHandles === 0) return false;
    const i = rng.below(nHandles);
    enc.unpin(handles[i]);
    handles[i] = handles[--nHandles];
    return true;
  };
  const doPageout = (): boolean => {
    const slot = slotWithVma();
    if (slot < 0) return false;
    subRange(vt.pick(slot, rng), 4 * p.maxMigratePages);
    enc.madvisePageout(slotMm[slot], rangeStart, rangeLen);
    return true;
  };
  const doTruncate = (): boolean => {
    if (nFiles === 0) return false;
    const f = rng.below(nFiles);
    const index = rng.below(fileLen[f]);
    enc.truncate(fileId[f], index, 1 + rng.below(Math.min(p.maxMigratePages, fileLen[f] - index)));
    return true;
  };
  const doDmaWrite = (): boolean => {
    collect();
    if (nHandles === 0) return false;
    enc.dmaWrite(handles[rng.below(nHandles)], rng.u32() | 0);
    return true;
  };
  const doDriverTeardown = (): boolean => {
    if (nDrv === 0) return false;
    const i = rng.below(nDrv);
    const evict = rng.chance(0.5);
    if (evict && !room(p.driverPages, p.driverPages)) return false;
    enc.driverTeardown(drvId[i], evict);
    drvId[i] = drvId[--nDrv];
    return true;
  };
  const doTeardown = (): boolean => {
    if (mmPacer.left <= 0) return false; // the run could not go on without a process
    enc.teardown();
    while (nLive > 0) dropSlot(liveList[0]);
    return true;
  };

  const issue = (kind: number): boolean => {
    switch (kind) { // the index into MIX_KINDS (a number switch: a string one cost a tenth of the run)
      case K_MM_NEW: return doMmNew();
      case K_MMAP: return doMmap();
      case K_MUNMAP: return doMunmap();
      case K_READ: return doAccess(false);
      case K_WRITE: return doAccess(true);
      case K_FORK: return doFork();
      case K_EXIT: return doExit();
      case K_MADVISE_DONTNEED: return doDontneed();
      case K_FILE_NEW:
        if (!filePacer.allow(s.done) || !newFile()) return false;
        filePacer.take();
        return true;
      case K_DRIVER_NEW:
        if (!drvPacer.allow(s.done) || !newDriver()) return false;
        drvPacer.take();
        return true;
      case K_MIGRATE_TO_DEVICE: return doMigrateToDevice();
      case K_MIGRATE_TO_RAM: return doMigrateToRam();
      case K_GUP: return doGup();
      case K_UNPIN: return doUnpin();
      case K_CHECK: enc.check(); return true;
      case K_DROP_CACHE:
        if (nFiles === 0) return false;
        enc.dropCache(fileId[rng.below(nFiles)]);
        return true;
      case K_TEARDOWN: return doTeardown();
      case K_MADVISE_PAGEOUT: return doPageout();
      case K_TRUNCATE: return doTruncate();
      case K_DMA_WRITE: return doDmaWrite();
      case K_EVICT_BO: return doMigrateToDevice(true);
      case K_DRIVER_TEARDOWN: return doDriverTeardown();
    }
    return false;
  };

  // ---- setup: two processes, a file, a driver
  const reserve = (): number => handlesOut() + nLive + nFiles + 1;
  s.needBudget(4 + 2 + 2 + 1 + 2);
  addSlot(enc.result(enc.mmNew()));
  addSlot(enc.result(enc.mmNew()));
  newFile();
  newDriver();

  while (s.fits(2, reserve())) {
    if (pressure) {
      // free memory until the counters show room again
      let freed = false;
      for (let t = 0; t < 8 && !freed; t++) freed = issue(rng.draw(freeingDraw));
      if (!freed) {
        s.note = "stopped early: system frames are exhausted and nothing is left to free";
        break;
      }
      resync();
      if (cap.systemPages - sysUsed >= 2 * low) pressure = false;
      continue;
    }
    let ok = false;
    for (let t = 0; t < 8 && !ok; t++) ok = issue(rng.draw(weightsDraw));
    if (!ok && !pressure) ok = doMmNew() || doMmap() || doAccess(false);
    if (!ok && !pressure) {
      s.note = "stopped early: no op could be issued (no address space left: mm ids used up?)";
      break;
    }
  }
  // A step takes up to 2 ops, so the loop can end with one op of the budget left: a
  // check (one op, the mix's own) spends it, and the run is exactly the budget.
  if (!s.note && s.fits(1, reserve())) enc.check();
  // ---- drain
  enc.flush();
  collect();
  for (let i = 0; i < nHandles; i++) enc.unpin(handles[i]);
  nHandles = 0;
  while (nLive > 0) {
    enc.exit(slotMm[liveList[0]]);
    dropSlot(liveList[0]);
  }
  for (let f = 0; f < nFiles; f++) enc.dropCache(fileId[f]);
  enc.check();
  if (mismatches > 0) s.note = `${s.note ? s.note + "; " : ""}mmap(-1) returned another address than get_unmapped_area predicts ${mismatches} times`;
  return s.finish();
}

export const mix: WorkloadDef<MixParams> = {
  name: NAME,
  describe: "a random stream of every op kind in settable ratios (processes, mappings, faults, fork, files, drivers, migration, GUP pins, checks), tracked so that the core never rejects an op",
  needs: "maxProcesses*maxVmas+1 VMAs (289), maxProcesses*((arenaPages+maxMapPages)/512+1)+3 pte tables (87), up to maxFiles files (16) of up to maxFilePages pages, up to maxDrivers*driverPages device pages (4096), maxPins GUP handles (256); system frames watched at run time; mm ids, files, drivers and BOs paced over the budget",
  spec: MIX_SPEC,
  defaults: defaultsOf(MIX_SPEC),
  run: runMix,
};
