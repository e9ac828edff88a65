/**
 * A seeded random trace generator for the differential test: it writes one op
 * record at a time, choosing arguments from the current state of a Model (live
 * mms, their vmas, GUP handles, drivers, BOs, files), so most ops are valid and
 * reach deep into the core, while a steady share is not (bad ids, ranges off a
 * vma, exhausted capacity, malformed flags) so that rejections are compared too.
 *
 * Every op kind appears: mmap (anon, file shared/private, fixed/auto), munmap
 * splitting vmas, CPU reads/writes (including of device-private entries),
 * madvise, fork (also with pinned pages), exit, GUP get/pin/longterm, unpin,
 * device-private and device-coherent drivers, migration both ways, page-cache
 * drops, check and teardown, test_hmm devices and their mirrors (READ, WRITE,
 * SNAPSHOT through hmm_range_fault) and user-space loops, plus a little garbage; on a machine with a THP pool,
 * huge-page-enabled anonymous mappings too.
 *
 * @example
 * ```ts
 * import { Model } from "../src/model/model.ts";
 * import { TraceGen } from "./differential-trace.ts";
 * const m = Model.create({ scheme: "E2" });
 * const gen = new TraceGen(1, m.machine);
 * const w = new Int32Array(8);
 * for (let i = 0; i < 1000; i++) { gen.next(w, 0); try { m.runEncoded(w, 1); } catch {} }
 * console.log(m.opsExecuted > 500); // true
 * ```
 */
import * as abi from "../assembly/abi.ts";
import { Prng } from "../src/workload/prng.ts";
import type { Machine } from "../src/model/machine.ts";
import type { Mm, Vma } from "../src/model/mm.ts";

const VPN_LIMIT = 2 ** abi.VPN_BITS;
const BASE = 0x10000;

type Kind =
  | "read" | "write" | "mmap" | "munmap" | "madvise" | "fork" | "exit" | "mm_new" | "file_new" | "driver_new"
  | "to_device" | "to_ram" | "gup" | "unpin" | "check" | "teardown" | "drop_cache" | "garbage"
  | "driver_teardown" | "evict_bo" | "fault_begin" | "fault_end" | "truncate" | "dma_write" | "pageout" | "cpu"
  | "driver_alloc" | "driver_free" | "mprotect" | "mremap" | "dmirror" | "user_loop" | "zap_begin" | "zap_end"
  | "gup_fast_begin" | "gup_fast_step" | "fork_begin" | "fork_end"
  | "mig_collect" | "mig_finish" | "mig_wait" | "collapse";

const WEIGHTS: Array<[Kind, number]> = [
  ["read", 18], ["write", 18], ["mmap", 5], ["munmap", 3], ["madvise", 3], ["fork", 0.5], ["exit", 0.7],
  ["mm_new", 0.3], ["file_new", 0.15], ["driver_new", 0.15], ["to_device", 5], ["to_ram", 3], ["gup", 5],
  ["unpin", 5.5], ["check", 0.2], ["teardown", 0.02], ["drop_cache", 0.3], ["garbage", 0.4],
  ["driver_teardown", 0.025], ["evict_bo", 0.6], ["fault_begin", 0.5], ["fault_end", 0.45], ["truncate", 0.4],
  ["dma_write", 1.2], ["pageout", 0.8], ["cpu", 1], ["driver_alloc", 0.6], ["driver_free", 0.5],
  ["mprotect", 2], ["mremap", 1.5], ["dmirror", 3], ["user_loop", 0.8], ["zap_begin", 0.5], ["zap_end", 0.45],
  ["gup_fast_begin", 0.6], ["gup_fast_step", 2], ["fork_begin", 0.15], ["fork_end", 0.4],
  ["mig_collect", 0.6], ["mig_finish", 0.5], ["mig_wait", 0.5],
  ["collapse", 0.6],
];

const DEVICE_KINDS = [
  abi.KIND_DEVICE_PRIVATE, abi.KIND_DEVICE_PRIVATE, abi.KIND_DEVICE_COHERENT, abi.KIND_DEVICE_COHERENT,
  abi.KIND_FSDAX, abi.KIND_DEVDAX, abi.KIND_P2PDMA,
];

export class TraceGen {
  readonly #r: Prng;
  readonly #m: Machine;
  readonly #kinds: Kind[] = WEIGHTS.map(([k]) => k);
  readonly #weights: number[] = WEIGHTS.map(([, w]) => w);
  /** Recently migrated ranges [mm, vpn, n]: CPU accesses and evictions aim here often. */
  readonly #hot: Array<[number, number, number]> = [];

  constructor(seed: number, machine: Machine) {
    this.#r = new Prng(seed);
    this.#m = machine;
  }

  #below(n: number): number { return this.#r.below(n); }
  #chance(p: number): boolean { return this.#r.chance(p); }

  /** A random live mm (usually one with a vma), or undefined. */
  #mm(): Mm | undefined {
    const alive = this.#m.mms.alive;
    for (let tries = 0; tries < 3 && alive.length; tries++) {
      const mm = alive[this.#below(alive.length)];
      if (mm.vmas.length) return mm;
    }
    return this.#anyMm();
  }

  #anyMm(): Mm | undefined {
    const alive = this.#m.mms.alive;
    return alive.length ? alive[this.#below(alive.length)] : undefined;
  }

  /** The id of mm, or now and then an id that is dead or was never handed out. */
  #mmId(mm: Mm | undefined): number {
    if (!mm || this.#chance(0.01)) return this.#chance(0.5) ? this.#below(this.#m.mms.all.length + 2) : -1;
    return mm.id;
  }

  #vma(mm: Mm, anon?: boolean): Vma | undefined {
    const vs = anon === undefined ? mm.vmas : mm.vmas.filter((v) => v.anon === anon);
    return vs.length ? vs[this.#below(vs.length)] : undefined;
  }

  /** A sub-range [vpn, n) of v; sometimes running off its end. */
  #subRange(v: Vma, maxLen: number, spill = 0.05): [number, number] {
    const size = v.end - v.start;
    const start = v.start + this.#below(size);
    let n = 1 + this.#below(Math.min(maxLen, v.end - start));
    if (this.#chance(spill)) n += 1 + this.#below(8);
    return [start, n];
  }

  /** A vpn to touch in mm: mostly inside a vma, sometimes in a hot range, rarely unmapped or invalid. */
  #vpn(mm: Mm): number {
    if (this.#hot.length && this.#chance(0.3)) {
      const [hm, hv, hn] = this.#hot[this.#below(this.#hot.length)];
      const v = hm === mm.id ? mm.findVma(hv) : undefined;
      if (v) return hv + this.#below(Math.min(hn, v.end - hv));
    }
    const v = this.#vma(mm);
    if (!v || this.#chance(0.03)) {
      if (this.#chance(0.05)) return this.#chance(0.5) ? -1 - this.#below(5) : VPN_LIMIT + this.#below(5);
      return BASE + this.#below(4096);
    }
    return v.start + this.#below(v.end - v.start);
  }

  #op(w: Int32Array, at: number, code: number, ...args: number[]): void {
    w.fill(0, at, at + abi.OP_WORDS);
    w[at] = code;
    for (let i = 0; i < args.length; i++) w[at + 1 + i] = args[i];
  }

  /** Write the next op record at w[at..at+OP_WORDS). */
  next(w: Int32Array, at: number): void {
    const m = this.#m;
    const mm = this.#mm();
    let kind = this.#kinds[this.#r.weighted(this.#weights)];
    if (!mm && kind !== "garbage" && kind !== "check" && this.#chance(0.9)) kind = "mm_new";
    else if (mm && mm.vmas.length === 0 && (kind === "read" || kind === "write" || kind === "gup") && this.#chance(0.9)) kind = "mmap";
    else if (kind === "unpin" && m.counters.pins === 0 && this.#chance(0.9)) kind = "gup";
    switch (kind) {
      case "mm_new":
        return this.#op(w, at, abi.OP_MM_NEW);
      case "read":
        return this.#op(w, at, abi.OP_READ, this.#mmId(mm), mm ? this.#vpn(mm) : BASE);
      case "write":
        return this.#op(w, at, abi.OP_WRITE, this.#mmId(mm), mm ? this.#vpn(mm) : BASE, this.#r.u32() | 0);
      case "mmap": {
        if (m.frames.hugeBase > 0 && this.#chance(0.25)) {
          // MADV_HUGEPAGE over one or two 2 MiB blocks (sometimes a bit more), aligned or wherever it fits
          const n = abi.FOLIO_NR * (1 + this.#below(2)) + (this.#chance(0.3) ? this.#below(20) : 0);
          const addr = this.#chance(0.3) ? -1 : BASE + abi.FOLIO_NR * this.#below(12);
          return this.#op(w, at, abi.OP_MMAP, this.#mmId(mm), addr, n, abi.VM_READ | abi.VM_WRITE | abi.VM_ANON | abi.VM_HUGEPAGE, -1, 0);
        }
        const files = m.files.all;
        const file = files.length > 0 && this.#chance(0.3) ? files[this.#below(files.length)] : undefined;
        let n = this.#chance(0.1) ? 1 + this.#below(700) : 1 + this.#below(48);
        let flags = abi.VM_READ | (this.#chance(0.85) ? abi.VM_WRITE : 0);
        let fileId = -1;
        let pgoff = 0;
        if (file) {
          flags |= abi.VM_FILE | (this.#chance(0.5) ? abi.VM_SHARED : 0);
          n = Math.min(n, file.pages);
          fileId = this.#chance(0.02) ? files.length + 3 : file.id;
          pgoff = this.#below(file.pages - n + 1) + (this.#chance(0.03) ? file.pages : 0);
        } else {
          // MAP_SHARED | MAP_ANONYMOUS: shmem, once a file_new file exists (each takes a file slot: they must not starve file_new)
          flags |= abi.VM_ANON | (this.#chance(0.12) && files.some((f) => !f.shmem) ? abi.VM_SHARED : 0);
        }
        if (this.#chance(0.04)) flags &= ~(abi.VM_READ | abi.VM_WRITE); // PROT_NONE
        if (this.#chance(0.02)) flags = [abi.VM_ANON | abi.VM_SHARED, abi.VM_ANON | abi.VM_FILE, 64, abi.VM_READ][this.#below(4)];
        if (this.#chance(0.01)) n = this.#chance(0.5) ? 0 : -3;
        const addr = this.#chance(0.7) ? -1 : BASE + this.#below(6000);
        return this.#op(w, at, abi.OP_MMAP, this.#mmId(mm), addr, n, flags, fileId, pgoff);
      }
      case "munmap": {
        const v = mm && this.#vma(mm);
        if (!v) return this.#op(w, at, abi.OP_MUNMAP, this.#mmId(mm), BASE + this.#below(4096), 1 + this.#below(64));
        let [start, n] = this.#subRange(v, v.end - v.start, 0.2);
        if (this.#chance(0.2)) { start = v.start; n = v.end - v.start; }
        if (this.#chance(0.05)) { start = Math.max(0, start - this.#below(600)); n += 1200; }
        if (this.#chance(0.01)) n = 0;
        return this.#op(w, at, abi.OP_MUNMAP, mm.id, start, n);
      }
      case "madvise": {
        const v = mm && this.#vma(mm);
        if (!v) return this.#op(w, at, abi.OP_MADV_DONTNEED, this.#mmId(mm), BASE, 1);
        const [start, n] = this.#subRange(v, 64);
        return this.#op(w, at, abi.OP_MADV_DONTNEED, mm.id, start, n);
      }
      case "fork":
        return this.#op(w, at, abi.OP_FORK, this.#mmId(mm));
      case "exit":
        if (m.mms.alive.length < 2 && this.#chance(0.9)) return this.#op(w, at, abi.OP_CHECK);
        return this.#op(w, at, abi.OP_EXIT, this.#mmId(mm));
      case "file_new": {
        const drivers = m.devices.drivers;
        let dev = 0; // 0: an ordinary file; d + 1: on driver d
        if (drivers.length && this.#chance(0.5)) {
          const dax = drivers.filter((d) => d.kind >= abi.KIND_FSDAX);
          dev = 1 + (dax.length && this.#chance(0.9) ? dax[this.#below(dax.length)].id : this.#below(drivers.length + 2));
        }
        return this.#op(w, at, abi.OP_FILE_NEW, this.#chance(0.02) ? 0 : 1 + this.#below(48), dev);
      }
      case "driver_new": {
        // E5: now and then a device-private pgmap of whole 2 MiB blocks, for order-9 driver allocations
        if (m.rules.deviceFolios && this.#chance(0.2)) {
          return this.#op(w, at, abi.OP_DRIVER_NEW, abi.KIND_DEVICE_PRIVATE, abi.FOLIO_NR * (1 + this.#below(2)));
        }
        const kindArg = this.#chance(0.03) ? [0, 6, -1][this.#below(3)] : DEVICE_KINDS[this.#below(DEVICE_KINDS.length)];
        return this.#op(w, at, abi.OP_DRIVER_NEW, kindArg, this.#chance(0.02) ? 0 : 16 + this.#below(112));
      }
      case "driver_alloc": {
        const drivers = m.devices.drivers;
        const live = drivers.filter((d) => d.state === "live" && d.kind === abi.KIND_DEVICE_PRIVATE);
        const d = live.length && this.#chance(0.9) ? live[this.#below(live.length)].id : this.#below(drivers.length + 2);
        const order = this.#chance(m.rules.deviceFolios ? 0.4 : 0.05) ? abi.FOLIO_ORDER : this.#chance(0.02) ? 3 : 0;
        return this.#op(w, at, abi.OP_DRIVER_ALLOC, d, order, this.#chance(0.3) ? 1 : this.#chance(0.02) ? 2 : 0);
      }
      case "driver_free": {
        const bos = m.devices.bos;
        const held = bos.slice(-32).filter((b) => b.held && b.state === "live");
        const b = held.length && this.#chance(0.9) ? held[this.#below(held.length)].id : this.#below(bos.length + 3) - 1;
        return this.#op(w, at, abi.OP_DRIVER_FREE, b);
      }
      case "driver_teardown": {
        const drivers = m.devices.drivers;
        const live = drivers.filter((d) => d.state === "live" && d.kind <= abi.KIND_DEVICE_COHERENT);
        const d = live.length && this.#chance(0.9) ? live[this.#below(live.length)].id : this.#below(drivers.length + 2);
        return this.#op(w, at, abi.OP_DRIVER_TEARDOWN, d, this.#chance(0.03) ? 2 : this.#below(2));
      }
      case "evict_bo": {
        const bos = m.devices.bos;
        const recent = bos.slice(-24).filter((b) => b.state === "live" && m.devices.drivers[b.driver].state !== "gone");
        const b = recent.length && this.#chance(0.9) ? recent[this.#below(recent.length)].id : this.#below(bos.length + 3) - 1;
        return this.#op(w, at, abi.OP_EVICT_BO, b);
      }
      case "fault_begin": {
        // aim at device-private entries: found in the hot ranges, or anywhere by chance
        for (let tries = 0; tries < 4 && this.#hot.length; tries++) {
          const [hm, hv, hn] = this.#hot[this.#below(this.#hot.length)];
          const space = m.mms.live(hm);
          const vpn = hv + this.#below(hn);
          if (space && space.tables.get(vpn)?.devicePrivate) return this.#op(w, at, abi.OP_FAULT_BEGIN, hm, vpn);
        }
        return this.#op(w, at, abi.OP_FAULT_BEGIN, this.#mmId(mm), mm ? this.#vpn(mm) : BASE);
      }
      case "zap_begin": {
        const v = mm && this.#vma(mm);
        const order = this.#chance(0.3) ? abi.ZAP_ORDER_PUT_FIRST : this.#chance(0.02) ? 2 : abi.ZAP_ORDER_KERNEL;
        if (!v) return this.#op(w, at, abi.OP_ZAP_BEGIN, this.#mmId(mm), BASE, 1, order);
        const [start, n] = this.#subRange(v, 20);
        return this.#op(w, at, abi.OP_ZAP_BEGIN, mm.id, start, n, order);
      }
      case "mig_collect": {
        // migrate_collect: mostly a present anon page of a vma (the cut's own), sometimes anything
        const drivers = m.devices.drivers.filter((d) => d.kind <= abi.KIND_DEVICE_COHERENT && d.state === "live");
        const d = drivers.length && this.#chance(0.95) ? drivers[this.#below(drivers.length)].id : this.#below(m.devices.drivers.length + 2) - 1;
        let vpn = mm ? this.#vpn(mm) : BASE;
        const v = mm && this.#vma(mm, true);
        if (v && this.#chance(0.7)) {
          const mapped: number[] = [];
          for (let x = v.start; x < v.end && mapped.length < 64; x++) if (mm.tables.get(x)?.normalPresent) mapped.push(x);
          if (mapped.length) vpn = mapped[this.#below(mapped.length)];
        }
        const bos = m.devices.bos.filter((b) => b.state === "live" && b.driver === d);
        const bo = bos.length && this.#chance(0.3) ? bos[this.#below(bos.length)].id : this.#chance(0.03) ? this.#below(m.devices.bos.length + 3) - 1 : 0;
        return this.#op(w, at, abi.OP_MIGRATE_COLLECT, this.#mmId(mm), vpn, d, bo);
      }
      case "mig_finish": {
        const live: number[] = [];
        m.migrateSteps.cuts.forEach((x, i) => { if (x) live.push(i + 1); });
        const t = live.length && this.#chance(0.95) ? live[this.#below(live.length)] : this.#below(abi.MIGRATE_CUT_SLOTS + 2) - 1;
        return this.#op(w, at, abi.OP_MIGRATE_FINISH, t);
      }
      case "mig_wait": {
        // migration_wait on an open cut's entry (begin), or a waiter's put
        const waiters: number[] = [];
        m.migrateSteps.waiters.forEach((x, i) => { if (x) waiters.push(i + 1); });
        const cuts = m.migrateSteps.cuts.filter((c) => c !== undefined);
        if (waiters.length && this.#chance(0.5)) {
          const c = cuts.length ? cuts[this.#below(cuts.length)]! : undefined;
          const wt = this.#chance(0.95) ? waiters[this.#below(waiters.length)] : this.#below(abi.MIGRATE_CUT_SLOTS + 2) - 1;
          return this.#op(w, at, abi.OP_MIGRATION_WAIT, c ? c.mm.id : this.#mmId(mm), c ? c.vpn : BASE, wt);
        }
        if (cuts.length && this.#chance(0.9)) {
          const c = cuts[this.#below(cuts.length)]!;
          return this.#op(w, at, abi.OP_MIGRATION_WAIT, c.mm.id, c.vpn, 0);
        }
        return this.#op(w, at, abi.OP_MIGRATION_WAIT, this.#mmId(mm), mm ? this.#vpn(mm) : BASE, 0);
      }
      case "zap_end": {
        const live: number[] = [];
        m.zapWindows.slots.forEach((x, i) => { if (x) live.push(i + 1); });
        const t = live.length && this.#chance(0.95) ? live[this.#below(live.length)] : this.#below(abi.ZAP_WINDOW_SLOTS + 2) - 1;
        return this.#op(w, at, abi.OP_ZAP_END, t);
      }
      case "fault_end": {
        const tokens = m.faults.tokens;
        const live: number[] = [];
        for (let t = tokens.length - 1; t > 0 && live.length < 8; t--) if (tokens[t]?.live) live.push(t);
        const t = live.length && this.#chance(0.95) ? live[this.#below(live.length)] : this.#below(tokens.length + 2) - 1;
        return this.#op(w, at, abi.OP_FAULT_END, t);
      }
      case "truncate": {
        const files = m.files.all;
        if (!files.length) return this.#op(w, at, abi.OP_TRUNCATE, this.#below(3) - 1, 0, 1);
        const f = files[this.#below(files.length)];
        const off = this.#chance(0.03) ? f.pages + this.#below(3) : this.#below(f.pages);
        return this.#op(w, at, abi.OP_TRUNCATE, f.id, off, this.#chance(0.02) ? 0 : 1 + this.#below(f.pages));
      }
      case "dma_write": {
        const pins = m.pins;
        const live: number[] = [];
        for (let h = 1; h <= pins.issued; h++) if (pins.live(h)) live.push(h);
        const h = live.length && this.#chance(0.97) ? live[this.#below(live.length)] : this.#below(pins.issued + 3) - 1;
        return this.#op(w, at, abi.OP_DMA_WRITE, h, this.#r.u32() | 0);
      }
      case "cpu": {
        // Usually one of the machine's CPUs; now and then one it does not have.
        const n = this.#m.cpus;
        return this.#op(w, at, abi.OP_CPU, this.#chance(0.02) ? [n, -1, abi.MAX_CPUS][this.#below(3)] : this.#below(n));
      }
      case "mprotect": {
        const v = mm && this.#vma(mm);
        const prot = this.#chance(0.02) ? [abi.VM_WRITE, 4, -1][this.#below(3)] : [0, abi.VM_READ, abi.VM_READ | abi.VM_WRITE, abi.VM_READ | abi.VM_WRITE][this.#below(4)];
        if (!v) return this.#op(w, at, abi.OP_MPROTECT, this.#mmId(mm), BASE + this.#below(4096), 1 + this.#below(8), prot);
        let [start, n] = this.#subRange(v, v.end - v.start, 0.15);
        if (this.#chance(0.15)) n += this.#below(200); // across the next VMAs, or into a hole
        if (this.#chance(0.01)) n = 0;
        return this.#op(w, at, abi.OP_MPROTECT, mm.id, start, n, prot);
      }
      case "collapse": {
        // MADV_COLLAPSE: mostly a VMA's aligned 2 MiB blocks (or the whole VMA), sometimes a random piece or past its end
        const v = mm && this.#vma(mm);
        if (!v) return this.#op(w, at, abi.OP_MADV_COLLAPSE, this.#mmId(mm), BASE + this.#below(4096), 1 + this.#below(1024));
        const first = Math.ceil(v.start / abi.FOLIO_NR) * abi.FOLIO_NR;
        const last = Math.floor(v.end / abi.FOLIO_NR) * abi.FOLIO_NR;
        if (last > first && this.#chance(0.6)) return this.#op(w, at, abi.OP_MADV_COLLAPSE, mm.id, first, last - first);
        if (this.#chance(0.5)) return this.#op(w, at, abi.OP_MADV_COLLAPSE, mm.id, v.start, v.end - v.start + (this.#chance(0.1) ? this.#below(600) : 0));
        const [start, n] = this.#subRange(v, v.end - v.start, 0.1);
        return this.#op(w, at, abi.OP_MADV_COLLAPSE, mm.id, start, n);
      }
      case "mremap": {
        const v = mm && this.#vma(mm);
        const flagChoices = [0, abi.MREMAP_MAYMOVE, abi.MREMAP_MAYMOVE | abi.MREMAP_FIXED, abi.MREMAP_MAYMOVE | abi.MREMAP_DONTUNMAP,
          abi.MREMAP_MAYMOVE | abi.MREMAP_FIXED | abi.MREMAP_DONTUNMAP, abi.MREMAP_FIXED, abi.MREMAP_DONTUNMAP];
        let flags = flagChoices[this.#below(flagChoices.length)];
        if (this.#chance(0.01)) flags = 8;
        if (!v) return this.#op(w, at, abi.OP_MREMAP, this.#mmId(mm), BASE + this.#below(4096), 1, 1, flags, BASE);
        const [start, n] = this.#subRange(v, this.#chance(0.2) ? 1100 : 40, 0.1);
        const size = this.#below(10);
        let newN = size < 4 ? n : size < 7 ? n + 1 + this.#below(n + 64) : Math.max(1, n - 1 - this.#below(n));
        if ((flags & abi.MREMAP_DONTUNMAP) !== 0 && this.#chance(0.9)) newN = n;
        if (this.#chance(0.01)) newN = 0;
        // a destination 2 MiB-aligned like the source, aligned differently, or anywhere
        const misalign = this.#chance(0.5) ? start % abi.FOLIO_NR : this.#below(abi.FOLIO_NR);
        const to = this.#chance(0.8) ? BASE + abi.FOLIO_NR * (4 + this.#below(16)) + misalign : BASE + this.#below(8000);
        this.#hot.push([mm.id, to, Math.min(n, newN)]);
        if (this.#hot.length > 12) this.#hot.shift();
        return this.#op(w, at, abi.OP_MREMAP, mm.id, start, n, newN, flags, to);
      }
      case "dmirror": {
        const devs = m.dmirrors.count;
        const open = m.mirrors.all.filter((f) => f.open);
        const what = this.#below(20);
        if (devs === 0 || (what === 0 && devs < 4) || this.#chance(0.005)) {
          const kind = this.#chance(0.02) ? [0, abi.KIND_FSDAX, 9][this.#below(3)] : [abi.KIND_DEVICE_PRIVATE, abi.KIND_DEVICE_COHERENT][this.#below(2)];
          return this.#op(w, at, abi.OP_DMIRROR_NEW, kind, [16, 64, 0, 512][devs % 4]); // chunk pages (0: the default)
        }
        if (!open.length || what === 1 || (what === 2 && open.length < 6)) {
          const dev = this.#chance(0.02) ? this.#below(devs + 3) - 1 : this.#below(devs);
          return this.#op(w, at, abi.OP_DMIRROR_OPEN, dev, this.#mmId(mm ?? this.#anyMm()));
        }
        const fd = this.#chance(0.02) ? this.#below(m.mirrors.all.length + 3) - 1 : open[this.#below(open.length)].id;
        if (what === 3) return this.#op(w, at, abi.OP_DMIRROR_CLOSE, fd);
        const file = m.mirrors.all[fd];
        const fmm = file ? m.mms.all[file.mm] : undefined;
        const v = fmm && this.#vma(fmm);
        let start = BASE + this.#below(4096);
        let n = 1 + this.#below(8);
        if (v) [start, n] = this.#subRange(v, this.#chance(0.1) ? 600 : 40, 0.1);
        if (this.#chance(0.02)) n = [0, -1, abi.SNAPSHOT_MAX + 1][this.#below(3)];
        if (what === 4 && n < 4) return this.#op(w, at, abi.OP_DMIRROR_FLAGS, fd, start, n % 3); // 1: FAIL_ALLOC; 0: -EINVAL
        if (what === 5 && n < 3) return this.#op(w, at, abi.OP_DMIRROR_RELEASE, fd, start, n);
        if (what === 6) return this.#op(w, at, abi.OP_DMIRROR_EXCLUSIVE, fd, start, n);
        if (what === 7) return this.#op(w, at, abi.OP_DMIRROR_CHECK_EXCLUSIVE, fd, start, n);
        if (what === 8 || what === 9) { // the file's own mmap (dmirror_fops_mmap): anywhere, or at a maybe-taken address; now and then a bad prot
          const prot = this.#chance(0.03) ? [2, 4, -1][this.#below(3)] : [0, abi.VM_READ, abi.VM_READ | abi.VM_WRITE, abi.VM_READ | abi.VM_WRITE][this.#below(4)];
          const live = open.filter((f) => m.mms.live(f.mm)); // the file's process must be alive to mmap it
          if (!live.length && mm && m.mms.live(mm.id)) return this.#op(w, at, abi.OP_DMIRROR_OPEN, this.#below(devs), mm.id);
          const mfd = live.length && !this.#chance(0.05) ? live[this.#below(live.length)].id : fd;
          return this.#op(w, at, abi.OP_DMIRROR_MMAP, mfd, this.#chance(0.5) ? -1 : BASE + this.#below(4096), Math.min(n, 1 + this.#below(6)), prot);
        }
        const op = [abi.OP_DMIRROR_READ, abi.OP_DMIRROR_READ, abi.OP_DMIRROR_WRITE, abi.OP_DMIRROR_WRITE, abi.OP_DMIRROR_SNAPSHOT,
          abi.OP_DMIRROR_MIGRATE_TO_DEV, abi.OP_DMIRROR_MIGRATE_TO_DEV, abi.OP_DMIRROR_MIGRATE_TO_SYS][this.#below(8)];
        return this.#op(w, at, op, fd, start, n, this.#r.u32() | 0, this.#below(3));
      }
      case "user_loop": {
        const v = mm && this.#vma(mm);
        const write = this.#chance(0.5);
        if (!v) return this.#op(w, at, write ? abi.OP_WRITE_RANGE : abi.OP_READ_RANGE, this.#mmId(mm), BASE + this.#below(4096), 1 + this.#below(8));
        const [start, n] = this.#subRange(v, this.#chance(0.1) ? 600 : 24, 0.1);
        return this.#op(w, at, write ? abi.OP_WRITE_RANGE : abi.OP_READ_RANGE, mm.id, start, n, this.#r.u32() | 0, this.#below(3), this.#below(2));
      }
      case "pageout": {
        const v = mm && this.#vma(mm);
        if (!v) return this.#op(w, at, abi.OP_MADV_PAGEOUT, this.#mmId(mm), BASE, 1);
        const [start, n] = this.#subRange(v, 64);
        return this.#op(w, at, abi.OP_MADV_PAGEOUT, mm.id, start, n);
      }
      case "to_device": {
        const all = m.devices.drivers;
        // mostly live drivers; now and then one memunmap_pages is waiting on (spec S20)
        const drivers = all.filter((d) => d.kind <= abi.KIND_DEVICE_COHERENT && (d.state === "live" || (d.state === "dying" && this.#chance(0.05))));
        const v = mm && this.#vma(mm, this.#chance(0.95));
        if (!v || drivers.length === 0) {
          if (drivers.length === 0 && m.devices.driverSlotsLeft > 0 && m.devices.framesLeft >= 64 && this.#chance(0.7)) {
            return this.#op(w, at, abi.OP_DRIVER_NEW, 1 + this.#below(2), 64);
          }
          if (this.#chance(0.9) && mm) return this.#op(w, at, abi.OP_READ, mm.id, this.#vpn(mm));
          return this.#op(w, at, abi.OP_MIGRATE_TO_DEVICE, this.#mmId(mm), BASE, 4, this.#below(all.length + 1), 0);
        }
        const [start, n] = this.#subRange(v, this.#chance(0.1) ? 200 : 12);
        const d = this.#chance(0.05) ? this.#below(all.length + 3) : drivers[this.#below(drivers.length)].id;
        let bo = 0;
        if (this.#chance(0.35)) {
          const bos = m.devices.bos;
          const live = bos.slice(-16).filter((b) => b.state === "live" && b.driver === d);
          if (live.length) bo = live[this.#below(live.length)].id;
          if (this.#chance(0.05)) bo = this.#below(bos.length + 3) - 1;
        }
        this.#hot.push([mm.id, start, Math.min(n, v.end - start)]);
        if (this.#hot.length > 12) this.#hot.shift();
        return this.#op(w, at, abi.OP_MIGRATE_TO_DEVICE, mm.id, start, n, d, bo);
      }
      case "to_ram": {
        if (this.#hot.length && this.#chance(0.7)) {
          const [hm, hv, hn] = this.#hot[this.#below(this.#hot.length)];
          const off = this.#below(hn);
          return this.#op(w, at, abi.OP_MIGRATE_TO_RAM, hm, hv + off, 1 + this.#below(hn - off));
        }
        const v = mm && this.#vma(mm);
        if (!v) return this.#op(w, at, abi.OP_MIGRATE_TO_RAM, this.#mmId(mm), BASE, 1);
        const [start, n] = this.#subRange(v, 32);
        return this.#op(w, at, abi.OP_MIGRATE_TO_RAM, mm.id, start, n);
      }
      case "gup": {
        let flags = this.#chance(0.02)
          ? 16 + this.#below(16)
          : [0, abi.FOLL_WRITE, abi.FOLL_PIN, abi.FOLL_WRITE | abi.FOLL_PIN, abi.FOLL_PIN | abi.FOLL_LONGTERM,
            abi.FOLL_WRITE | abi.FOLL_PIN | abi.FOLL_LONGTERM, abi.FOLL_LONGTERM][this.#below(7)];
        if (this.#chance(0.3)) flags |= abi.FOLL_PCI_P2PDMA;
        return this.#op(w, at, abi.OP_GUP, this.#mmId(mm), mm ? this.#vpn(mm) : BASE, flags);
      }
      case "gup_fast_begin": {
        const flags = this.#chance(0.02) ? 16 + this.#below(16)
          : [0, abi.FOLL_WRITE, abi.FOLL_PIN, abi.FOLL_WRITE | abi.FOLL_PIN, abi.FOLL_PIN | abi.FOLL_LONGTERM][this.#below(5)];
        return this.#op(w, at, abi.OP_GUP_FAST_BEGIN, this.#mmId(mm), mm ? this.#vpn(mm) : BASE, flags);
      }
      case "gup_fast_step": {
        const walks = m.gupFast.walks;
        const live: number[] = [];
        for (let x = walks.length - 1; x > 0 && live.length < 8; x--) if (m.gupFast.live(x)) live.push(x);
        const x = live.length && this.#chance(0.95) ? live[this.#below(live.length)] : this.#below(walks.length + 2) - 1;
        return this.#op(w, at, abi.OP_GUP_FAST_STEP, x);
      }
      case "fork_begin":
        return this.#op(w, at, abi.OP_FORK_BEGIN, this.#mmId(mm));
      case "fork_end": {
        const children = [...m.gupFast.forkParent.keys()];
        const c = children.length && this.#chance(0.9) ? children[this.#below(children.length)] : this.#below(m.mms.all.length + 2) - 1;
        return this.#op(w, at, abi.OP_FORK_END, c);
      }
      case "unpin": {
        const pins = m.pins;
        const live: number[] = [];
        for (let h = 1; h <= pins.issued; h++) if (pins.live(h)) live.push(h);
        let h = live.length ? live[this.#below(live.length)] : 0;
        if (this.#chance(0.02) || !live.length) h = this.#below(pins.issued + 3) - 1;
        return this.#op(w, at, abi.OP_UNPIN, h);
      }
      case "check":
        return this.#op(w, at, abi.OP_CHECK);
      case "teardown":
        this.#hot.length = 0;
        return this.#op(w, at, abi.OP_TEARDOWN);
      case "drop_cache":
        return this.#op(w, at, abi.OP_DROP_CACHE, this.#below(m.files.all.length + 2) - (this.#chance(0.05) ? 2 : 0));
      case "garbage": {
        const code = [0, abi.OP_COUNT, 99, -1, abi.OP_GUP, abi.OP_MMAP, abi.OP_FILE_NEW, abi.OP_TRUNCATE][this.#below(8)];
        return this.#op(w, at, code, this.#r.u32() | 0, this.#r.u32() | 0, this.#below(40) - 5, this.#r.u32() | 0, this.#below(8) - 1, this.#below(8));
      }
    }
  }
}
