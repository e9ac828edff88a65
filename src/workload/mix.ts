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
 *    live GUP handle taken with FOLL_PIN | FOLL_WRITE (as a driver pins what a device writes);
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
 * every handle, exit every mm, drop every page cache) and a quiesce check. On an
 * Engine (RunOptions generator "auto") all of it runs inside the core
 * (assembly/workload_mix.ts), which reproduces this class's draws, its encoder's
 * flushes and the results it reads back: the same stream; generator "js" and any
 * other target run this class.
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
  Session, Pacer, resolveParams, defaultsOf, need, usageOf, coreEngine, runInCore, MAP_BASE, DEFAULT_SEED, DEFAULT_BUDGET,
  type Spec, type WorkloadDef, type WorkloadSummary, type RunOptions,
} from "./common.ts";
import type { Engine } from "../core/engine.ts";
import type { OpTarget } from "./target.ts";
import { VmaTracker } from "./vmas.ts";
import { Weights } from "./prng.ts";
import {
  K_MM_NEW, K_MMAP, K_MUNMAP, K_READ, K_WRITE, K_FORK, K_EXIT, K_MADVISE_DONTNEED, K_FILE_NEW, K_DRIVER_NEW, K_MIGRATE_TO_DEVICE, K_MIGRATE_TO_RAM, K_GUP, K_UNPIN, K_CHECK, K_DROP_CACHE, K_TEARDOWN, K_MADVISE_PAGEOUT, K_TRUNCATE, K_DMA_WRITE, K_EVICT_BO, K_DRIVER_TEARDOWN,
} from "../../assembly/workload_mix_kinds.ts";

export const MIX_KINDS = [
  "mm_new", "mmap", "munmap", "read", "write", "fork", "exit", "madvise_dontneed", "file_new", "driver_new",
  "migrate_to_device", "migrate_to_ram", "gup", "unpin", "check", "drop_cache", "teardown", "madvise_pageout",
  "truncate", "dma_write", "evict_bo", "driver_teardown",
] as const;
export type MixKind = (typeof MIX_KINDS)[number];

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

/**
 * The generator: one method per op kind, as src/explore/generate.ts has them. A class
 * rather than closures inside runMix: its methods are compiled once per process, where
 * closures made anew on every run were re-optimized on every run (V8's --trace-opt:
 * 37 TurboFan compilations in each later run of a bench round), a cost of about a
 * quarter of a 500 k-op run's CPU time.
 */
class MixGenerator {
  readonly p: MixParams;
  readonly s: Session;
  readonly cap: Session["capacity"];
  readonly enc: Session["enc"];
  readonly rng: Session["rng"];
  readonly maxP: number;
  readonly maxV: number;
  /** addresses a mm can use: [MAP_BASE, MAP_BASE + span) */
  readonly span: number;
  /** free system frames kept in hand */
  readonly low: number;
  readonly weights: Weights;
  readonly freeingWeights: Weights;

  // ---- address spaces (slots) and their VMAs: a list sorted by start, as in the core (./vmas.ts)
  readonly slotMm: Int32Array;
  readonly liveList: Int32Array; // live slots, unordered
  readonly slotPos: Int32Array;
  nLive = 0;
  readonly vt: VmaTracker;

  // ---- files, drivers, handles
  readonly fileId: Int32Array;
  readonly fileLen: Int32Array;
  nFiles = 0;
  filePagesUsed = 0;
  readonly drvId: Int32Array; // live drivers (torn-down ones are removed)
  nDrv = 0;
  drvCreated = 0;
  devicePagesUsed = 0;
  readonly handles: Int32Array;
  /** 1 where handles[i] was taken with FOLL_PIN | FOLL_WRITE: only those are written by a device (dmaWrite). */
  readonly handleWrites: Uint8Array;
  /** That bit for each GUP whose handle the encoder has not returned yet, in issue order (a ring of maxPins). */
  readonly wantWrites: Uint8Array;
  wantHead = 0;
  wantCount = 0;
  nHandles = 0;

  // ---- system frames: an upper bound on use, re-read from the counters when near capacity
  sysUsed: number;
  pressure = false;
  mismatches = 0;

  readonly mmPacer: Pacer;
  readonly filePacer: Pacer;
  readonly drvPacer: Pacer;
  readonly boPacer: Pacer;

  /** The last subRange(): [rangeStart, rangeStart + rangeLen). */
  rangeStart = 0;
  rangeLen = 0;

  constructor(target: OpTarget, params: Partial<MixParams> | undefined, seed: number, budget: number) {
    const p = (this.p = resolveParams(NAME, MIX_SPEC, params));
    const s = (this.s = new Session(NAME, target, seed, budget));
    const cap = (this.cap = s.capacity);
    const maxP = (this.maxP = p.maxProcesses);
    const maxV = (this.maxV = p.maxVmas);
    const span = (this.span = p.arenaPages + p.maxMapPages);
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
    const low = (this.low = Math.max(64, 4 * p.maxMigratePages + 16));
    need(cap.systemPages - s.usage.systemLive >= 4 * low, NAME, "maxMigratePages", `too few free system frames (${cap.systemPages - s.usage.systemLive}) for this mix`);
    const weights = MIX_KINDS.map((k) => p.ratios[k]);
    need(weights.some((w) => w > 0), NAME, "ratios", "at least one ratio must be above 0");
    // Under memory pressure only freeing kinds are drawn: by their ratios, or evenly if all of theirs are 0.
    let freeing = MIX_KINDS.map((k, i) => (FREEING.includes(k) ? weights[i] : 0));
    if (!freeing.some((w) => w > 0)) freeing = MIX_KINDS.map((k) => (FREEING.includes(k) ? 1 : 0));
    this.weights = new Weights(weights);
    this.freeingWeights = new Weights(freeing);
    this.enc = s.enc;
    this.rng = s.rng;

    this.slotMm = new Int32Array(maxP).fill(-1);
    this.liveList = new Int32Array(maxP);
    this.slotPos = new Int32Array(maxP);
    this.vt = new VmaTracker(maxP, (maxP + 1) * (maxV + 1));
    this.fileId = new Int32Array(p.maxFiles);
    this.fileLen = new Int32Array(p.maxFiles);
    this.drvId = new Int32Array(p.maxDrivers);
    this.handles = new Int32Array(p.maxPins);
    this.handleWrites = new Uint8Array(p.maxPins);
    this.wantWrites = new Uint8Array(p.maxPins);
    this.sysUsed = s.usage.systemLive;

    this.mmPacer = new Pacer(cap.processes - s.usage.mms - 2, budget);
    this.filePacer = new Pacer(Math.min(p.maxFiles, cap.files - s.usage.files) - 1, budget);
    this.drvPacer = new Pacer(Math.min(p.maxDrivers, cap.drivers - s.usage.drivers) - 1, budget);
    this.boPacer = new Pacer(cap.bufferObjects - 1 - s.usage.bos, budget);
    need(this.filePacer.slots >= 0, NAME, "maxFiles", "no file slot is left (capacity.files)");
    need(this.drvPacer.slots >= 0, NAME, "maxDrivers", "no driver slot is left (capacity.drivers)");
  }

  // ---- bookkeeping
  addSlot(mm: number): number {
    let slot = 0;
    while (this.slotMm[slot] >= 0) slot++;
    this.slotMm[slot] = mm;
    this.slotPos[slot] = this.nLive;
    this.liveList[this.nLive++] = slot;
    return slot;
  }
  dropSlot(slot: number): void {
    this.vt.drop(slot);
    this.slotMm[slot] = -1;
    const at = this.slotPos[slot];
    const last = this.liveList[--this.nLive];
    this.liveList[at] = last;
    this.slotPos[last] = at;
  }
  randomSlot(): number {
    return this.nLive === 0 ? -1 : this.liveList[this.rng.below(this.nLive)];
  }
  /** A live slot with at least one VMA (a few tries), or -1. */
  slotWithVma(): number {
    for (let t = 0; t < 4; t++) {
      const slot = this.randomSlot();
      if (slot >= 0 && this.vt.count[slot] > 0) return slot;
    }
    for (let i = 0; i < this.nLive; i++) if (this.vt.count[this.liveList[i]] > 0) return this.liveList[i];
    return -1;
  }
  collect(): void {
    const enc = this.enc;
    while (enc.ready > 0) {
      const h = enc.take();
      const write = this.wantWrites[this.wantHead];
      this.wantHead = (this.wantHead + 1) % this.wantWrites.length;
      this.wantCount--;
      if (h > 0) { // 0 pages or -errno: no handle
        this.handleWrites[this.nHandles] = write;
        this.handles[this.nHandles++] = h;
      }
    }
  }
  handlesOut(): number {
    return this.nHandles + this.enc.pending + this.enc.ready;
  }
  /** Ops the drain needs, kept back from the budget. */
  reserve(): number {
    return this.handlesOut() + this.nLive + this.nFiles + 1;
  }
  resync(): void {
    this.sysUsed = usageOf(this.enc.stats()).systemLive;
  }
  /** Room for an op that needs `needFree` free frames and may allocate `alloc`. */
  room(needFree: number, alloc: number): boolean {
    const total = this.cap.systemPages;
    if (total - this.sysUsed - alloc < Math.max(needFree, this.low)) {
      this.resync();
      if (total - this.sysUsed - alloc < Math.max(needFree, this.low)) {
        this.pressure = true;
        return false;
      }
    }
    this.sysUsed += alloc;
    return true;
  }
  newFile(): boolean {
    const len = 1 + this.rng.below(this.p.maxFilePages);
    if (this.nFiles === this.p.maxFiles || this.filePagesUsed + len > this.cap.filePages) return false;
    this.fileId[this.nFiles] = this.enc.result(this.enc.fileNew(len));
    this.fileLen[this.nFiles++] = len;
    this.filePagesUsed += len;
    return true;
  }
  newDriver(): boolean {
    if (this.drvCreated === this.p.maxDrivers || this.devicePagesUsed + this.p.driverPages > this.cap.devicePages) return false;
    const kind = this.rng.chance(0.5) ? KIND_DEVICE_PRIVATE : KIND_DEVICE_COHERENT;
    this.drvId[this.nDrv++] = this.enc.result(this.enc.driverNew(kind, this.p.driverPages));
    this.drvCreated++;
    this.devicePagesUsed += this.p.driverPages;
    return true;
  }
  /** A random sub-range of at most `max` pages of VMA v, as rangeStart / rangeLen. */
  subRange(v: number, max: number): void {
    const vt = this.vt;
    const len = vt.end[v] - vt.start[v];
    this.rangeLen = 1 + this.rng.below(Math.min(max, len));
    this.rangeStart = vt.start[v] + this.rng.below(len - this.rangeLen + 1);
  }
  anonVma(slot: number): number {
    for (let t = 0; t < 4; t++) {
      const v = this.vt.pick(slot, this.rng);
      if ((this.vt.flags[v] & VM_ANON) !== 0) return v;
    }
    return -1;
  }

  // ---- one op of each kind; false if it cannot be issued right now
  mmap(): boolean {
    const { p, rng, vt, enc } = this;
    const slot = this.randomSlot();
    if (slot < 0 || vt.count[slot] >= this.maxV) return false;
    let n = 1 + rng.below(p.maxMapPages);
    let flags = rng.chance(p.readOnlyRatio) ? VM_READ : RW;
    let file = -1;
    let pgoff = 0;
    if (this.nFiles > 0 && rng.chance(p.fileRatio)) {
      const f = rng.below(this.nFiles);
      if (n > this.fileLen[f]) n = this.fileLen[f];
      file = this.fileId[f];
      pgoff = rng.below(this.fileLen[f] - n + 1);
      flags |= VM_FILE | (rng.chance(p.sharedRatio) ? VM_SHARED : 0);
    } else {
      flags |= VM_ANON;
    }
    if (rng.chance(p.hintRatio)) {
      const predicted = vt.unmappedArea(slot, n, MAP_BASE);
      if (predicted + n > MAP_BASE + this.span) return false;
      const got = enc.result(enc.mmap(this.slotMm[slot], -1, n, flags, file, pgoff));
      if (got !== predicted) this.mismatches++;
      vt.insert(slot, got, got + n, flags, file, pgoff);
      return true;
    }
    for (let t = 0; t < 3; t++) {
      const start = MAP_BASE + rng.below(p.arenaPages - n + 1);
      if (vt.overlaps(slot, start, start + n)) continue;
      enc.mmap(this.slotMm[slot], start, n, flags, file, pgoff);
      vt.insert(slot, start, start + n, flags, file, pgoff);
      return true;
    }
    return false;
  }
  munmap(): boolean {
    const slot = this.slotWithVma();
    if (slot < 0 || this.vt.count[slot] >= this.maxV) return false; // a split needs a spare VMA
    const [start, end] = this.vt.munmapRange(slot, this.rng, MAP_BASE, this.span, this.p.maxMapPages);
    this.enc.munmap(this.slotMm[slot], start, end - start);
    this.vt.unmapRange(slot, start, end);
    return true;
  }
  access(write: boolean): boolean {
    const { rng, vt } = this;
    const slot = this.slotWithVma();
    if (slot < 0) return false;
    const v = vt.pick(slot, rng);
    const vpn = vt.start[v] + rng.below(vt.end[v] - vt.start[v]);
    if (write && (vt.flags[v] & VM_WRITE) !== 0) {
      if (!this.room(2, 2)) return false;
      this.enc.write(this.slotMm[slot], vpn, rng.u32() | 0);
    } else {
      if (!this.room(2, 1)) return false;
      this.enc.read(this.slotMm[slot], vpn);
    }
    return true;
  }
  fork(): boolean {
    if (this.nLive >= this.maxP || !this.mmPacer.allow(this.s.done)) return false;
    const parent = this.randomSlot();
    if (parent < 0) return false;
    this.collect();
    const out = this.handlesOut();
    if (!this.room(out + 2, out)) return false; // copy_present_page for each maybe-pinned page
    const child = this.enc.result(this.enc.fork(this.slotMm[parent]));
    this.mmPacer.take();
    const c = this.addSlot(child);
    this.vt.copy(parent, c);
    return true;
  }
  exit(): boolean {
    const slot = this.randomSlot();
    if (slot < 0 || (this.nLive === 1 && this.mmPacer.left <= 0)) return false; // keep a process while no new one can come
    this.enc.exit(this.slotMm[slot]);
    this.dropSlot(slot);
    return true;
  }
  mmNew(): boolean {
    // paced, except that a machine without processes may always start one while ids remain
    if (this.nLive >= this.maxP || this.mmPacer.left <= 0 || (this.nLive > 0 && !this.mmPacer.allow(this.s.done))) return false;
    this.addSlot(this.enc.result(this.enc.mmNew()));
    this.mmPacer.take();
    return true;
  }
  fileNew(): boolean {
    if (!this.filePacer.allow(this.s.done) || !this.newFile()) return false;
    this.filePacer.take();
    return true;
  }
  driverNew(): boolean {
    if (!this.drvPacer.allow(this.s.done) || !this.newDriver()) return false;
    this.drvPacer.take();
    return true;
  }
  migrateToDevice(evictAtOnce = false): boolean {
    const { p, rng, enc } = this;
    if (this.nDrv === 0 || !this.boPacer.allow(this.s.done)) return false;
    const slot = this.slotWithVma();
    if (slot < 0) return false;
    const v = this.anonVma(slot);
    if (v < 0) return false;
    const d = this.drvId[rng.below(this.nDrv)];
    this.subRange(v, p.maxMigratePages);
    const seq = enc.migrateToDevice(this.slotMm[slot], this.rangeStart, this.rangeLen, d, 0);
    this.boPacer.take();
    const reuse = rng.chance(p.boReuse);
    if (!reuse && !evictAtOnce) return true;
    // The BO is certainly live only until some op could free its last page: use it at once.
    const bo = enc.result(seq);
    if (reuse) {
      const slot2 = this.slotWithVma();
      const v2 = slot2 < 0 ? -1 : this.anonVma(slot2);
      if (v2 >= 0) {
        this.subRange(v2, p.maxMigratePages);
        enc.migrateToDevice(this.slotMm[slot2], this.rangeStart, this.rangeLen, d, bo);
      }
    }
    if (evictAtOnce) {
      if (!this.room(p.driverPages, 2 * p.maxMigratePages)) return true; // migrate_device_range wants room for the whole driver
      enc.evictBo(bo);
    }
    return true;
  }
  migrateToRam(): boolean {
    const slot = this.slotWithVma();
    if (slot < 0) return false;
    this.subRange(this.vt.pick(slot, this.rng), this.p.maxMigratePages);
    if (!this.room(this.rangeLen, this.rangeLen)) return false;
    this.enc.migrateToRam(this.slotMm[slot], this.rangeStart, this.rangeLen);
    return true;
  }
  dontneed(): boolean {
    const slot = this.slotWithVma();
    if (slot < 0) return false;
    this.subRange(this.vt.pick(slot, this.rng), 4 * this.p.maxMigratePages);
    this.enc.madviseDontneed(this.slotMm[slot], this.rangeStart, this.rangeLen);
    return true;
  }
  gup(): boolean {
    const { rng, vt } = this;
    const slot = this.slotWithVma();
    if (slot < 0 || this.handlesOut() >= this.p.maxPins) return false;
    const v = vt.pick(slot, rng);
    const vpn = vt.start[v] + rng.below(vt.end[v] - vt.start[v]);
    let flags = GUP_FLAGS[rng.below(GUP_FLAGS.length)];
    if ((vt.flags[v] & VM_WRITE) === 0) flags &= ~FOLL_WRITE;
    if (!this.room(3, 3)) return false;
    this.enc.gup(this.slotMm[slot], vpn, flags);
    this.enc.want();
    this.wantWrites[(this.wantHead + this.wantCount++) % this.wantWrites.length] = (flags & (FOLL_PIN | FOLL_WRITE)) === (FOLL_PIN | FOLL_WRITE) ? 1 : 0;
    return true;
  }
  unpin(): boolean {
    this.collect();
    if (this.nHandles === 0) return false;
    const i = this.rng.below(this.nHandles);
    this.enc.unpin(this.handles[i]);
    this.handles[i] = this.handles[--this.nHandles];
    this.handleWrites[i] = this.handleWrites[this.nHandles];
    return true;
  }
  check(): boolean {
    this.enc.check();
    return true;
  }
  dropCache(): boolean {
    if (this.nFiles === 0) return false;
    this.enc.dropCache(this.fileId[this.rng.below(this.nFiles)]);
    return true;
  }
  pageout(): boolean {
    const slot = this.slotWithVma();
    if (slot < 0) return false;
    this.subRange(this.vt.pick(slot, this.rng), 4 * this.p.maxMigratePages);
    this.enc.madvisePageout(this.slotMm[slot], this.rangeStart, this.rangeLen);
    return true;
  }
  truncate(): boolean {
    if (this.nFiles === 0) return false;
    const rng = this.rng;
    const f = rng.below(this.nFiles);
    const index = rng.below(this.fileLen[f]);
    this.enc.truncate(this.fileId[f], index, 1 + rng.below(Math.min(this.p.maxMigratePages, this.fileLen[f] - index)));
    return true;
  }
  dmaWrite(): boolean {
    this.collect();
    if (this.nHandles === 0) return false;
    // A device writes only where its driver pinned for writing: pin_user_pages with FOLL_WRITE, as ib_umem_get
    // does for a writable umem (6.1-7.0). DMA through a read-only pin of untouched memory would write the shared
    // zero page, and through a FOLL_GET reference it lands in a page fork shares (pin_user_pages.rst CASE 5;
    // scenarios/gup-get-write-fork.json shows that hazard on its own).
    const i = this.rng.below(this.nHandles);
    if (this.handleWrites[i] === 0) return false;
    this.enc.dmaWrite(this.handles[i], this.rng.u32() | 0);
    return true;
  }
  driverTeardown(): boolean {
    if (this.nDrv === 0) return false;
    const i = this.rng.below(this.nDrv);
    const evict = this.rng.chance(0.5);
    if (evict && !this.room(this.p.driverPages, this.p.driverPages)) return false;
    this.enc.driverTeardown(this.drvId[i], evict);
    this.drvId[i] = this.drvId[--this.nDrv];
    return true;
  }
  teardown(): boolean {
    if (this.mmPacer.left <= 0) return false; // the run could not go on without a process
    this.enc.teardown();
    while (this.nLive > 0) this.dropSlot(this.liveList[0]);
    return true;
  }

  /** One op of the kind with this index into MIX_KINDS (a number switch: a string one cost a tenth of the run). */
  issue(kind: number): boolean {
    switch (kind) {
      case K_MM_NEW: return this.mmNew();
      case K_MMAP: return this.mmap();
      case K_MUNMAP: return this.munmap();
      case K_READ: return this.access(false);
      case K_WRITE: return this.access(true);
      case K_FORK: return this.fork();
      case K_EXIT: return this.exit();
      case K_MADVISE_DONTNEED: return this.dontneed();
      case K_FILE_NEW: return this.fileNew();
      case K_DRIVER_NEW: return this.driverNew();
      case K_MIGRATE_TO_DEVICE: return this.migrateToDevice();
      case K_MIGRATE_TO_RAM: return this.migrateToRam();
      case K_GUP: return this.gup();
      case K_UNPIN: return this.unpin();
      case K_CHECK: return this.check();
      case K_DROP_CACHE: return this.dropCache();
      case K_TEARDOWN: return this.teardown();
      case K_MADVISE_PAGEOUT: return this.pageout();
      case K_TRUNCATE: return this.truncate();
      case K_DMA_WRITE: return this.dmaWrite();
      case K_EVICT_BO: return this.migrateToDevice(true);
      case K_DRIVER_TEARDOWN: return this.driverTeardown();
    }
    return false;
  }

  /**
   * The whole run inside the core (assembly/workload_mix.ts): the same draws, ops and results as run()'s,
   * its encoder's flushes (chunk) reproduced there, so the same stream and the same summary.
   */
  runCore(core: Engine, options: RunOptions | undefined): WorkloadSummary {
    const { s, p, cap } = this;
    const run = runInCore(s, core, {
      kind: "mix", maxProcesses: p.maxProcesses, maxVmas: p.maxVmas, arenaPages: p.arenaPages, maxMapPages: p.maxMapPages,
      hintRatio: p.hintRatio, fileRatio: p.fileRatio, sharedRatio: p.sharedRatio, readOnlyRatio: p.readOnlyRatio, maxFiles: p.maxFiles,
      maxFilePages: p.maxFilePages, maxDrivers: p.maxDrivers, driverPages: p.driverPages, maxMigratePages: p.maxMigratePages,
      boReuse: p.boReuse, maxPins: p.maxPins, systemPages: cap.systemPages, filePages: cap.filePages, devicePages: cap.devicePages,
      systemLive: this.sysUsed, mmSlots: this.mmPacer.slots, fileSlots: this.filePacer.slots, driverSlots: this.drvPacer.slots,
      boSlots: this.boPacer.slots, budget: s.budget, chunk: this.enc.chunk, weights: Array.from(this.weights.values),
      freeingWeights: Array.from(this.freeingWeights.values), seed: s.seed,
    }, s.budget, options);
    if (run.stop === 1) s.note = "stopped early: system frames are exhausted and nothing is left to free";
    else if (run.stop === 2) s.note = "stopped early: no op could be issued (no address space left: mm ids used up?)";
    this.mismatches = run.mismatches;
    if (this.mismatches > 0) s.note = `${s.note ? s.note + "; " : ""}mmap(-1) returned another address than get_unmapped_area predicts ${this.mismatches} times`;
    return s.finish();
  }

  /** Setup (two processes, a file, a driver), the random loop, the drain and a quiesce check. */
  run(options?: RunOptions): WorkloadSummary {
    const { s, enc, rng } = this;
    s.needBudget(4 + 2 + 2 + 1 + 2);
    const core = coreEngine(s.target, options);
    if (core) return this.runCore(core, options);
    this.addSlot(enc.result(enc.mmNew()));
    this.addSlot(enc.result(enc.mmNew()));
    this.newFile();
    this.newDriver();

    while (s.fits(2, this.reserve())) {
      if (this.pressure) {
        // free memory until the counters show room again
        let freed = false;
        for (let t = 0; t < 8 && !freed; t++) freed = this.issue(rng.draw(this.freeingWeights));
        if (!freed) {
          s.note = "stopped early: system frames are exhausted and nothing is left to free";
          break;
        }
        this.resync();
        if (this.cap.systemPages - this.sysUsed >= 2 * this.low) this.pressure = false;
        continue;
      }
      let ok = false;
      for (let t = 0; t < 8 && !ok; t++) ok = this.issue(rng.draw(this.weights));
      if (!ok && !this.pressure) ok = this.mmNew() || this.mmap() || this.access(false);
      if (!ok && !this.pressure) {
        s.note = "stopped early: no op could be issued (no address space left: mm ids used up?)";
        break;
      }
    }
    // A step takes up to 2 ops, so the loop can end with one op of the budget left: a
    // check (one op, the mix's own) spends it, and the run is exactly the budget.
    if (!s.note && s.fits(1, this.reserve())) enc.check();
    // ---- drain
    enc.flush();
    this.collect();
    for (let i = 0; i < this.nHandles; i++) enc.unpin(this.handles[i]);
    this.nHandles = 0;
    while (this.nLive > 0) {
      enc.exit(this.slotMm[this.liveList[0]]);
      this.dropSlot(this.liveList[0]);
    }
    for (let f = 0; f < this.nFiles; f++) enc.dropCache(this.fileId[f]);
    enc.check();
    if (this.mismatches > 0) s.note = `${s.note ? s.note + "; " : ""}mmap(-1) returned another address than get_unmapped_area predicts ${this.mismatches} times`;
    return s.finish();
  }
}

export function runMix(target: OpTarget, params?: Partial<MixParams>, seed = DEFAULT_SEED, budget = DEFAULT_BUDGET, options?: RunOptions): WorkloadSummary {
  return new MixGenerator(target, params, seed, budget).run(options);
}

export const mix: WorkloadDef<MixParams> = {
  name: NAME,
  describe: "a random stream of every op kind in settable ratios (processes, mappings, faults, fork, files, drivers, migration, GUP pins, checks), tracked so that the core never rejects an op",
  needs: "maxProcesses*maxVmas+1 VMAs (289), maxProcesses*((arenaPages+maxMapPages)/512+1)+3 pte tables (87), up to maxFiles files (16) of up to maxFilePages pages, up to maxDrivers*driverPages device pages (4096), maxPins GUP handles (256); system frames watched at run time; mm ids, files, drivers and BOs paced over the budget",
  spec: MIX_SPEC,
  defaults: defaultsOf(MIX_SPEC),
  run: runMix,
};
