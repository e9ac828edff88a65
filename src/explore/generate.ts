/**
 * Random episodes for exploration: a short symbolic trace (setup, a seeded random
 * stream over the chosen page kinds, a closing teardown) appended to the op stream
 * of one machine; a machine runs episodes until the ids it never recycles run low
 * (begin() starts the next), so the cost of creating an engine is shared. The
 * generator keeps a model of what exists (processes and their VMAs with the core's
 * munmap surgery, files, drivers, recent buffer objects, GUP handles, in-flight
 * faults) so nearly every op is valid; the few the core still rejects (a buffer
 * object that was freed meanwhile, memory pressure) are skipped by the executor.
 *
 * Page kinds (`kinds`):
 *  - system: ordinary files and their page cache (anonymous memory is always there);
 *  - device-private, device-coherent: drivers that migrate_to_device targets;
 *  - fsdax, device-dax, p2pdma: drivers that back files (DAX / device files);
 *  - thp: huge-page-enabled anonymous mappings of whole 2 MiB blocks (a THP pool
 *    of THP_POOL folios), so faults map PMDs and later ops split them.
 *
 * @example
 * ```ts
 * import { EpisodeGenerator, DEFAULT_KINDS } from "./generate.ts";
 * const g = new EpisodeGenerator({ kinds: DEFAULT_KINDS });
 * const t = g.single(42, 64);
 * console.log(t.n > 10, t.describe(0)); // true mm_new()
 * ```
 */
import * as abi from "../../assembly/abi.ts";
import { RefsimError } from "../core/errors.ts";
import type { Capacity } from "../core/engine.ts";
import { Prng } from "../workload/prng.ts";
import { VmaTracker } from "../workload/vmas.ts";
import { SymTrace } from "./symbolic.ts";

export const PAGE_KINDS = ["system", "device-private", "device-coherent", "fsdax", "device-dax", "p2pdma", "thp"] as const;
export type PageKindName = (typeof PAGE_KINDS)[number];
export const DEFAULT_KINDS: readonly PageKindName[] = ["system", "device-private", "device-coherent"];

/** Op kinds the explorer draws, with their default relative frequencies. */
export const EXPLORE_OPS = {
  mm_new: 1, fork: 1.5, exit: 0.5, mmap: 8, munmap: 6, read: 12, write: 14, madvise_dontneed: 1, madvise_pageout: 0.5,
  migrate_to_device: 5, migrate_to_ram: 3, evict_bo: 1, gup: 3, unpin: 3, dma_write: 1, file_new: 0.3, drop_cache: 0.7,
  truncate: 1, check: 0.3, driver_new: 0.1, driver_teardown: 0, fault_begin: 0, fault_end: 0,
} as const;
export type ExploreOp = keyof typeof EXPLORE_OPS;
export const EXPLORE_OP_NAMES = Object.keys(EXPLORE_OPS) as ExploreOp[];

/**
 * The machine episodes run on: few frames, so quiesce checks stay cheap, and ids
 * enough for a few dozen episodes before a fresh machine is needed.
 */
export const EXPLORE_CAPACITY: Readonly<Capacity> = Object.freeze({
  systemPages: 2048, devicePages: 1024, processes: 1024, vmas: 512, pteTables: 256, pmdTables: 128, files: 128,
  filePages: 2048, drivers: 16, bufferObjects: 4096, gupHandles: 128, violationRecords: 1024, batch: 1024, hugePages: 0,
});

export interface GeneratorOptions {
  kinds?: readonly PageKindName[];
  /** Relative frequencies overriding EXPLORE_OPS (0 turns an op off). */
  ratios?: Partial<Record<ExploreOp, number>>;
  capacity?: Readonly<Capacity>;
  /** Live processes at most. */
  maxProcesses?: number;
  /** Pages of the window each process maps into, from MAP_BASE. */
  arenaPages?: number;
  maxMapPages?: number;
  maxVmas?: number;
  /** Device pages per driver. */
  driverPages?: number;
}

/** Where mappings go: vpn 0x10000 (address 0x10000000), as the workloads use. */
export const MAP_BASE = 0x10000;
/** Where thp mappings go (a 2 MiB-aligned vpn above the arena), and how many THPs the machine has. */
export const THP_BASE = 0x40000;
export const THP_POOL = 4;

/** The machine for these kinds: EXPLORE_CAPACITY, with a THP pool when thp is among them. */
export function exploreCapacity(kinds: readonly PageKindName[]): Readonly<Capacity> {
  return kinds.includes("thp") ? Object.freeze({ ...EXPLORE_CAPACITY, hugePages: THP_POOL }) : EXPLORE_CAPACITY;
}

const RW = abi.VM_READ | abi.VM_WRITE;
const GUP_FLAGS = [0, abi.FOLL_WRITE, abi.FOLL_PIN, abi.FOLL_PIN | abi.FOLL_WRITE, abi.FOLL_PIN | abi.FOLL_LONGTERM, abi.FOLL_PIN | abi.FOLL_LONGTERM | abi.FOLL_WRITE];
const KIND_CODE: Record<Exclude<PageKindName, "thp">, number> = {
  system: abi.KIND_SYSTEM, "device-private": abi.KIND_DEVICE_PRIVATE, "device-coherent": abi.KIND_DEVICE_COHERENT,
  fsdax: abi.KIND_FSDAX, "device-dax": abi.KIND_DEVDAX, p2pdma: abi.KIND_P2PDMA,
};

/** A VMA as an op picks it (a copy out of the tracker). */
interface Vma { start: number; end: number; flags: number; file: number }
/** A process: its mm's op ref and its slot in the VMA tracker. */
interface Proc { ref: number; slot: number }
interface FileRec { ref: number; pages: number; kind: number }
interface DriverRec { ref: number; kind: number; live: boolean }

/** Parse "system,device-coherent" into page kinds; throws RefsimError naming the bad one. */
export function parseKinds(s: string | readonly string[]): PageKindName[] {
  const list = (typeof s === "string" ? s.split(",") : [...s]).map((k) => k.trim()).filter(Boolean);
  if (list.length === 0) throw new RefsimError(`--kinds: name at least one of ${PAGE_KINDS.join(", ")}`, { field: "kinds" });
  for (const k of list) {
    if (!(PAGE_KINDS as readonly string[]).includes(k)) {
      throw new RefsimError(`--kinds: unknown page kind '${k}' (kinds: ${PAGE_KINDS.join(", ")})`, { field: "kinds" });
    }
  }
  return [...new Set(list)] as PageKindName[];
}

/** Parse "gup=8,fork=0" into op ratios; throws RefsimError naming the bad entry. */
export function parseRatios(s: string): Partial<Record<ExploreOp, number>> {
  const out: Partial<Record<ExploreOp, number>> = {};
  for (const part of s.split(",").map((p) => p.trim()).filter(Boolean)) {
    const m = /^([a-z_]+)\s*=\s*([0-9.]+)$/.exec(part);
    if (!m) throw new RefsimError(`--mix: cannot read '${part}' (write op=weight, e.g. gup=8,fork=0)`, { field: "mix" });
    if (!(m[1] in EXPLORE_OPS)) throw new RefsimError(`--mix: unknown op '${m[1]}' (ops: ${EXPLORE_OP_NAMES.join(", ")})`, { field: "mix" });
    const v = Number(m[2]);
    if (!Number.isFinite(v) || v < 0) throw new RefsimError(`--mix: weight of '${m[1]}' must be a number >= 0, got ${m[2]}`, { field: "mix" });
    out[m[1] as ExploreOp] = v;
  }
  return out;
}

export class EpisodeGenerator {
  readonly kinds: readonly PageKindName[];
  readonly ratios: Readonly<Record<ExploreOp, number>>;
  readonly capacity: Readonly<Capacity>;
  readonly maxProcesses: number;
  readonly arenaPages: number;
  readonly maxMapPages: number;
  readonly maxVmas: number;
  readonly driverPages: number;
  #weights: number[];
  #migrateKinds: number[];
  #fileKinds: number[];
  #systemFiles: boolean;
  // per-machine state (drivers and everything never recycled), then per-episode state
  #t = new SymTrace(1024);
  #rng = new Prng(1);
  #procs: Proc[] = [];
  #vmas: VmaTracker;
  #files: FileRec[] = [];
  #drivers: DriverRec[] = [];
  #bos: { ref: number; driver: number }[] = [];
  #handles: number[] = [];
  /** Handles taken with FOLL_PIN | FOLL_WRITE: the only ones a device may DMA into (pin_user_pages.rst). */
  #dmaHandles: number[] = [];
  #faults: number[] = [];
  #mmIds = 0;
  #bosMade = 0;
  #filesMade = 0;
  #filePages = 0;
  #devicePages = 0;
  #thp = false;

  constructor(options: GeneratorOptions = {}) {
    this.kinds = options.kinds ?? DEFAULT_KINDS;
    const ratios = { ...EXPLORE_OPS } as Record<ExploreOp, number>;
    for (const [k, v] of Object.entries(options.ratios ?? {})) {
      if (!(k in EXPLORE_OPS)) throw new RefsimError(`explore: unknown op '${k}' in ratios (ops: ${EXPLORE_OP_NAMES.join(", ")})`, { field: k });
      if (typeof v !== "number" || !(v >= 0)) throw new RefsimError(`explore: ratio of '${k}' must be a number >= 0`, { field: k });
      ratios[k as ExploreOp] = v;
    }
    this.capacity = options.capacity ?? EXPLORE_CAPACITY;
    this.maxProcesses = options.maxProcesses ?? 6;
    this.arenaPages = options.arenaPages ?? 64;
    this.maxMapPages = Math.min(options.maxMapPages ?? 8, this.arenaPages);
    this.maxVmas = options.maxVmas ?? 8;
    this.driverPages = options.driverPages ?? 64;
    this.#vmas = new VmaTracker(this.maxProcesses, this.maxProcesses * (this.maxVmas + 1));
    this.#migrateKinds = this.kinds.filter((k) => k === "device-private" || k === "device-coherent").map((k) => KIND_CODE[k]);
    this.#fileKinds = this.kinds.filter((k) => k === "fsdax" || k === "device-dax" || k === "p2pdma").map((k) => KIND_CODE[k]);
    this.#thp = this.kinds.includes("thp");
    this.#systemFiles = this.kinds.includes("system");
    const hasFiles = this.#systemFiles || this.#fileKinds.length > 0;
    const hasDevice = this.#migrateKinds.length > 0 || this.#fileKinds.length > 0;
    // ops that have nothing to work on with these kinds are off
    if (this.#migrateKinds.length === 0) {
      ratios.migrate_to_device = 0; ratios.evict_bo = 0; ratios.driver_teardown = 0; ratios.fault_begin = 0; ratios.fault_end = 0;
    }
    if (!hasFiles) { ratios.file_new = 0; ratios.drop_cache = 0; }
    if (this.#fileKinds.length === 0) ratios.truncate = 0;
    if (!hasDevice) ratios.driver_new = 0;
    this.ratios = Object.freeze(ratios);
    this.#weights = EXPLORE_OP_NAMES.map((k) => ratios[k]);
    if (!this.#weights.some((w) => w > 0)) throw new RefsimError("explore: every op ratio is 0", { field: "mix" });
  }

  /**
   * Start a new machine: forget drivers, ids and everything used up. Episodes
   * that follow append to one trace, the machine's whole op stream.
   */
  begin(): SymTrace {
    this.#t.clear(); // the buffers are kept: callers clone what they keep
    this.#drivers = [];
    this.#mmIds = 0;
    this.#bosMade = 0;
    this.#filesMade = 0;
    this.#filePages = 0;
    this.#devicePages = 0;
    return this.#t;
  }

  /** The machine's trace so far. */
  get trace(): SymTrace { return this.#t; }

  /** True when ids, buffer objects or file pages (never recycled) are too low for another episode on this machine. */
  get full(): boolean {
    const c = this.capacity;
    return this.#mmIds + 48 > c.processes || this.#bosMade + 96 > c.bufferObjects || this.#filesMade + 6 > c.files
      || this.#filePages + 6 * 16 > c.filePages;
  }

  /**
   * Append an episode of about `length` ops from `seed` to the machine's trace:
   * two processes (drivers of the chosen kinds on the machine's first episode,
   * files), the random stream, then every in-flight fault ended, a teardown (exit
   * all, drop caches, check), every GUP handle unpinned and a check. Returns
   * the range of ops appended.
   */
  episode(seed: number, length: number): { from: number; to: number } {
    const t = this.#t;
    const from = t.n;
    this.#rng = new Prng(seed);
    for (const p of this.#procs) this.#vmas.drop(p.slot);
    this.#procs = [];
    this.#files = [];
    this.#bos = [];
    this.#handles = [];
    this.#dmaHandles = [];
    this.#faults = [];
    this.#mmNew();
    this.#mmNew();
    for (const k of [...this.#migrateKinds, ...this.#fileKinds]) if (!this.#drivers.some((d) => d.live && d.kind === k)) this.#driverNew(k);
    if (this.#systemFiles) this.#fileNew(-1);
    for (const k of this.#fileKinds) this.#fileNew(this.#drivers.findIndex((d) => d.live && d.kind === k));
    const end = Math.max(t.n + 1, from + length - 3 - this.#faults.length);
    const rng = this.#rng;
    const weights = this.#weights;
    while (t.n < end) {
      let ok = false;
      for (let tries = 0; tries < 8 && !ok; tries++) ok = this.#issue(EXPLORE_OP_NAMES[rng.weighted(weights)]);
      if (!ok && !this.#mmap() && !this.#mmNew()) break;
    }
    for (const f of this.#faults) t.op(abi.OP_FAULT_END, 1, f);
    t.op(abi.OP_TEARDOWN, 0);
    for (const h of this.#handles) t.op(abi.OP_UNPIN, 1, h);
    if (this.#handles.length > 0) t.op(abi.OP_CHECK, 0);
    return { from, to: t.n };
  }

  /** A fresh machine and one episode on it: its whole trace. */
  single(seed: number, length: number): SymTrace {
    this.begin();
    this.episode(seed, length);
    return this.#t;
  }

  #issue(op: ExploreOp): boolean {
    switch (op) {
      case "mm_new": return this.#mmNew();
      case "fork": return this.#fork();
      case "exit": return this.#exit();
      case "mmap": return this.#mmap();
      case "munmap": return this.#munmap();
      case "read": return this.#access(false);
      case "write": return this.#access(true);
      case "madvise_dontneed": return this.#range(abi.OP_MADV_DONTNEED, 4 * this.maxMapPages);
      case "madvise_pageout": return this.#range(abi.OP_MADV_PAGEOUT, 4 * this.maxMapPages);
      case "migrate_to_device": return this.#migrateToDevice();
      case "migrate_to_ram": return this.#range(abi.OP_MIGRATE_TO_RAM, this.maxMapPages);
      case "evict_bo": return this.#evictBo();
      case "gup": return this.#gup();
      case "unpin": return this.#unpin();
      case "dma_write": return this.#dmaWrite();
      case "file_new": return this.#fileNew(this.#pickFileDriver());
      case "drop_cache": return this.#dropCache();
      case "truncate": return this.#truncate();
      case "check": this.#t.op(abi.OP_CHECK, 0); return true;
      case "driver_new": {
        const kinds = [...this.#migrateKinds, ...this.#fileKinds];
        return kinds.length > 0 && this.#driverNew(kinds[this.#rng.below(kinds.length)]);
      }
      case "driver_teardown": return this.#driverTeardown();
      case "fault_begin": return this.#faultBegin();
      case "fault_end": return this.#faultEnd();
    }
  }

  // ---- processes
  #mmNew(): boolean {
    if (this.#procs.length >= this.maxProcesses || this.#mmIds >= this.capacity.processes - 1) return false;
    this.#procs.push({ ref: this.#t.op(abi.OP_MM_NEW, 0), slot: this.#freeSlot() });
    this.#mmIds++;
    return true;
  }

  #fork(): boolean {
    if (this.#procs.length >= this.maxProcesses || this.#mmIds >= this.capacity.processes - 1) return false;
    const p = this.#proc();
    if (!p) return false;
    const child: Proc = { ref: this.#t.op(abi.OP_FORK, 1, p.ref), slot: this.#freeSlot() };
    this.#vmas.copy(p.slot, child.slot);
    this.#procs.push(child);
    this.#mmIds++;
    return true;
  }

  #exit(): boolean {
    if (this.#procs.length <= 1) return false;
    const i = this.#rng.below(this.#procs.length);
    this.#t.op(abi.OP_EXIT, 1, this.#procs[i].ref);
    this.#vmas.drop(this.#procs[i].slot);
    this.#procs.splice(i, 1);
    return true;
  }

  /** The lowest tracker slot no process has. */
  #freeSlot(): number {
    let slot = 0;
    while (this.#procs.some((p) => p.slot === slot)) slot++;
    return slot;
  }

  #vmaCount(p: Proc): number {
    return this.#vmas.count[p.slot];
  }

  #vmaAt(v: number): Vma {
    const t = this.#vmas;
    return { start: t.start[v], end: t.end[v], flags: t.flags[v], file: t.file[v] };
  }

  /** One of p's VMAs (it has one), each as likely. */
  #pickVma(p: Proc): Vma {
    return this.#vmaAt(this.#vmas.pick(p.slot, this.#rng));
  }

  /** p's VMAs in address order. */
  #vmasOf(p: Proc): Vma[] {
    const out: Vma[] = [];
    for (let v = this.#vmas.head[p.slot]; v >= 0; v = this.#vmas.next[v]) out.push(this.#vmaAt(v));
    return out;
  }

  #proc(): Proc | undefined {
    return this.#procs.length ? this.#procs[this.#rng.below(this.#procs.length)] : undefined;
  }

  /** A process with a VMA (a few tries). */
  #procWithVma(): Proc | undefined {
    for (let t = 0; t < 4; t++) {
      const p = this.#proc();
      if (p && this.#vmaCount(p) > 0) return p;
    }
    return this.#procs.find((p) => this.#vmaCount(p) > 0);
  }

  // ---- mappings
  #mmap(): boolean {
    const p = this.#proc();
    if (!p || this.#vmaCount(p) >= this.maxVmas) return false;
    const rng = this.#rng;
    if (this.#thp && rng.chance(0.3)) {
      // MADV_HUGEPAGE over one or two whole 2 MiB blocks (or a block and a bit), above the arena
      const start = THP_BASE + abi.FOLIO_NR * rng.below(3);
      const n = abi.FOLIO_NR * (1 + rng.below(2)) + (rng.chance(0.25) ? 1 + rng.below(8) : 0);
      if (this.#vmas.overlaps(p.slot, start, start + n)) return false;
      const flags = RW | abi.VM_ANON | abi.VM_HUGEPAGE;
      this.#t.op(abi.OP_MMAP, 1, p.ref, start, n, flags, -1, 0);
      this.#vmas.insert(p.slot, start, start + n, flags, -1, 0);
      return true;
    }
    let n = 1 + rng.below(this.maxMapPages);
    let flags = rng.chance(0.1) ? abi.VM_READ : RW;
    let fileRef = -1;
    let pgoff = 0;
    let refs = 1;
    if (this.#files.length > 0 && rng.chance(0.3)) {
      const f = this.#files[rng.below(this.#files.length)];
      n = Math.min(n, f.pages);
      fileRef = f.ref;
      pgoff = rng.below(f.pages - n + 1);
      flags |= abi.VM_FILE | (rng.chance(0.5) ? abi.VM_SHARED : 0);
      refs |= 1 << 4;
    } else {
      flags |= abi.VM_ANON;
    }
    for (let t = 0; t < 3; t++) {
      const start = MAP_BASE + rng.below(this.arenaPages - n + 1);
      if (this.#vmas.overlaps(p.slot, start, start + n)) continue;
      this.#t.op(abi.OP_MMAP, refs, p.ref, start, n, flags, fileRef, pgoff);
      this.#vmas.insert(p.slot, start, start + n, flags, fileRef, pgoff);
      return true;
    }
    return false;
  }

  #munmap(): boolean {
    const p = this.#procWithVma();
    if (!p) return false;
    const [start, end] = this.#vmas.munmapRange(p.slot, this.#rng, MAP_BASE, this.arenaPages, this.maxMapPages);
    this.#t.op(abi.OP_MUNMAP, 1, p.ref, start, end - start);
    this.#vmas.unmapRange(p.slot, start, end);
    return true;
  }

  /** An op on a random sub-range (at most `max` pages) of a random VMA: madvise, migrate_to_ram. */
  #range(code: number, max: number): boolean {
    const p = this.#procWithVma();
    if (!p) return false;
    const v = this.#pickVma(p);
    const [start, n] = this.#sub(v, max);
    this.#t.op(code, 1, p.ref, start, n);
    return true;
  }

  #sub(v: Vma, max: number): [number, number] {
    const len = v.end - v.start;
    const n = 1 + this.#rng.below(Math.min(max, len));
    return [v.start + this.#rng.below(len - n + 1), n];
  }

  #access(write: boolean): boolean {
    const p = this.#procWithVma();
    if (!p) return false;
    const v = this.#pickVma(p);
    const vpn = v.start + this.#rng.below(v.end - v.start);
    if (write && (v.flags & abi.VM_WRITE) !== 0) this.#t.op(abi.OP_WRITE, 1, p.ref, vpn, 1 + this.#rng.below(1000));
    else this.#t.op(abi.OP_READ, 1, p.ref, vpn);
    return true;
  }

  // ---- devices
  #driverNew(kind: number): boolean {
    if (this.#drivers.length >= this.capacity.drivers || this.#devicePages + this.driverPages > this.capacity.devicePages) return false;
    this.#drivers.push({ ref: this.#t.op(abi.OP_DRIVER_NEW, 0, kind, this.driverPages), kind, live: true });
    this.#devicePages += this.driverPages;
    return true;
  }

  #migrateDriver(): DriverRec | undefined {
    const ds = this.#drivers.filter((d) => d.live && (d.kind === abi.KIND_DEVICE_PRIVATE || d.kind === abi.KIND_DEVICE_COHERENT));
    return ds.length ? ds[this.#rng.below(ds.length)] : undefined;
  }

  #migrateToDevice(): boolean {
    const d = this.#migrateDriver();
    const p = this.#procWithVma();
    if (!d || !p) return false;
    const anon = this.#vmasOf(p).filter((v) => (v.flags & abi.VM_ANON) !== 0);
    if (anon.length === 0) return false;
    const v = anon[this.#rng.below(anon.length)];
    const [start, n] = this.#sub(v, this.maxMapPages);
    const mine = this.#bos.filter((b) => b.driver === d.ref);
    if (mine.length > 0 && this.#rng.chance(0.3)) {
      this.#t.op(abi.OP_MIGRATE_TO_DEVICE, 1 | (1 << 3) | (1 << 4), p.ref, start, n, d.ref, mine[this.#rng.below(mine.length)].ref);
      return true;
    }
    if (this.#bosMade >= this.capacity.bufferObjects - 1) return false;
    const ref = this.#t.op(abi.OP_MIGRATE_TO_DEVICE, 1 | (1 << 3), p.ref, start, n, d.ref, 0);
    this.#bosMade++;
    this.#bos.push({ ref, driver: d.ref });
    if (this.#bos.length > 2) this.#bos.shift(); // older ones are likely freed (evict_bo of a freed BO is rejected)
    return true;
  }

  #evictBo(): boolean {
    if (this.#bos.length === 0) return false;
    this.#t.op(abi.OP_EVICT_BO, 1, this.#bos[this.#rng.below(this.#bos.length)].ref);
    return true;
  }

  #driverTeardown(): boolean {
    const d = this.#migrateDriver();
    if (!d) return false;
    this.#t.op(abi.OP_DRIVER_TEARDOWN, 1, d.ref, this.#rng.below(2));
    d.live = false;
    this.#bos = this.#bos.filter((b) => b.driver !== d.ref);
    return true;
  }

  #faultBegin(): boolean {
    const p = this.#procWithVma();
    if (!p || this.#faults.length >= 8) return false;
    const v = this.#pickVma(p);
    this.#faults.push(this.#t.op(abi.OP_FAULT_BEGIN, 1, p.ref, v.start + this.#rng.below(v.end - v.start)));
    return true;
  }

  #faultEnd(): boolean {
    if (this.#faults.length === 0) return false;
    const i = this.#rng.below(this.#faults.length);
    this.#t.op(abi.OP_FAULT_END, 1, this.#faults[i]);
    this.#faults.splice(i, 1);
    return true;
  }

  // ---- GUP
  #gup(): boolean {
    const p = this.#procWithVma();
    if (!p || this.#handles.length >= 32) return false;
    const v = this.#pickVma(p);
    let flags = GUP_FLAGS[this.#rng.below(GUP_FLAGS.length)];
    if ((v.flags & abi.VM_WRITE) === 0) flags &= ~abi.FOLL_WRITE;
    if (v.file >= 0 && this.#files.find((f) => f.ref === v.file)?.kind === abi.KIND_P2PDMA) flags |= abi.FOLL_PCI_P2PDMA;
    const h = this.#t.op(abi.OP_GUP, 1, p.ref, v.start + this.#rng.below(v.end - v.start), flags);
    this.#handles.push(h);
    if ((flags & (abi.FOLL_PIN | abi.FOLL_WRITE)) === (abi.FOLL_PIN | abi.FOLL_WRITE)) this.#dmaHandles.push(h);
    return true;
  }

  #unpin(): boolean {
    if (this.#handles.length === 0) return false;
    const i = this.#rng.below(this.#handles.length);
    const h = this.#handles[i];
    this.#t.op(abi.OP_UNPIN, 1, h);
    this.#handles[i] = this.#handles[this.#handles.length - 1];
    this.#handles.pop();
    const j = this.#dmaHandles.indexOf(h);
    if (j >= 0) this.#dmaHandles.splice(j, 1);
    return true;
  }

  #dmaWrite(): boolean {
    if (this.#dmaHandles.length === 0) return false;
    this.#t.op(abi.OP_DMA_WRITE, 1, this.#dmaHandles[this.#rng.below(this.#dmaHandles.length)], 1 + this.#rng.below(1000));
    return true;
  }

  // ---- files
  /** -1 for an ordinary file, else the index of a file-backing driver; undefined if none can be made. */
  #pickFileDriver(): number | undefined {
    const dax = this.#drivers.map((d, i) => (d.live && this.#fileKinds.includes(d.kind) ? i : -1)).filter((i) => i >= 0);
    const choices = [...(this.#systemFiles ? [-1] : []), ...dax];
    return choices.length ? choices[this.#rng.below(choices.length)] : undefined;
  }

  #fileNew(driver: number | undefined): boolean {
    if (driver === undefined || this.#filesMade >= this.capacity.files - 1) return false;
    const pages = 1 + this.#rng.below(16);
    if (this.#filePages + pages > this.capacity.filePages) return false;
    const ref = driver < 0
      ? this.#t.op(abi.OP_FILE_NEW, 0, pages, 0)
      : this.#t.op(abi.OP_FILE_NEW, 1 << 1, pages, this.#drivers[driver].ref);
    this.#files.push({ ref, pages, kind: driver < 0 ? abi.KIND_SYSTEM : this.#drivers[driver].kind });
    this.#filePages += pages;
    this.#filesMade++;
    return true;
  }

  #dropCache(): boolean {
    if (this.#files.length === 0) return false;
    this.#t.op(abi.OP_DROP_CACHE, 1, this.#files[this.#rng.below(this.#files.length)].ref);
    return true;
  }

  #truncate(): boolean {
    const dax = this.#files.filter((f) => f.kind !== abi.KIND_SYSTEM);
    if (dax.length === 0) return false;
    const f = dax[this.#rng.below(dax.length)];
    const off = this.#rng.below(f.pages);
    this.#t.op(abi.OP_TRUNCATE, 1, f.ref, off, 1 + this.#rng.below(f.pages - off));
    return true;
  }
}
