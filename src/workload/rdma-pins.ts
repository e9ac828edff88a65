/**
 * rdma-pins: long-term DMA pins next to migration and fork. The first `pinners`
 * processes are RDMA applications: they register memory regions (ibv_reg_mr ->
 * pin_user_pages(FOLL_PIN | FOLL_LONGTERM | FOLL_WRITE), GUP_PIN_COUNTING_BIAS per
 * page), hold them for a while and deregister them (unpin_user_page). Meanwhile
 * every process (pinners too) has ranges migrated to a device by a driver (pinned
 * pages have extra references, so migrate_vma leaves them in place: failed
 * migrations), forks (copy_present_page gives the child a copy of each
 * maybe-pinned page, 5.9+; the child writes some pages and exits), and the CPU
 * reads and writes. A long-term pin of a device-coherent page first migrates it to
 * RAM (check_and_migrate_movable_pages); a device-private page faults back before
 * it can be pinned. Now and then an application MADV_DONTNEEDs a registered range:
 * the pinned pages lose their mapping but stay allocated until the unpin.
 *
 * GUP handles are read back without stopping the stream: each pin is marked with
 * want() and its handle collected after the next flush (0: the pin failed and is
 * skipped at deregistration).
 *
 * The run: setup (driver, mm_new + mmap + populate per process), the loop, the
 * drain (unpin every live pin, exit every process) and a quiesce check.
 *
 * Capacity with the defaults (6 processes x 1024 pages, at most 512 pins):
 * 6144 + 2*512 + 64 + 32 + 8 = 7272 system frames, 1024 device pages, 1 driver,
 * 512 GUP handles, about 24 pte tables, 8 VMAs; mm ids (forks) and BOs are paced.
 *
 * @example
 * ```ts
 * import { Engine } from "../core/engine.ts";
 * import { runRdmaPins } from "./rdma-pins.ts";
 * const e = await Engine.create({ scheme: "E4" });
 * const s = runRdmaPins(e, {}, 5, 40_000);
 * console.log(s.stats.ops.gup > 0, s.stats.gupLive, s.violations.total); // true 0 0
 * ```
 */
import {
  VM_READ, VM_WRITE, VM_ANON, FOLL_PIN, FOLL_LONGTERM, FOLL_WRITE,
} from "../../assembly/abi.ts";
import {
  Session, Pacer, resolveParams, defaultsOf, need, pteTablesFor, kindCode, MAP_BASE, DEFAULT_SEED, DEFAULT_BUDGET,
  type Spec, type WorkloadDef, type WorkloadSummary,
} from "./common.ts";
import { Weights } from "./prng.ts";
import type { OpTarget } from "./target.ts";

export type RdmaPinsTurn = "register" | "deregister" | "migrate" | "evict" | "fork" | "read" | "write" | "dontneed";
export type RdmaPinsWeights = Record<RdmaPinsTurn, number>;

export interface RdmaPinsParams {
  processes: number;
  pinners: number;
  pages: number;
  mrPages: number;
  maxPins: number;
  chunk: number;
  kind: "device-private" | "device-coherent";
  devicePages: number;
  childWrites: number;
  touch: number;
  weights: RdmaPinsWeights;
}

const TURNS: readonly RdmaPinsTurn[] = ["register", "deregister", "migrate", "evict", "fork", "read", "write", "dontneed"];

export const RDMA_PINS_SPEC: Spec<RdmaPinsParams> = {
  processes: { default: 6, min: 1, integer: true, doc: "processes, pinners included" },
  pinners: { default: 2, min: 1, integer: true, doc: "processes (the first ones) that register memory regions" },
  pages: { default: 1024, min: 1, integer: true, doc: "pages of each process's anonymous buffer, all written at setup (a multiple of chunk)" },
  mrPages: { default: 16, min: 1, integer: true, doc: "pages per memory region; each is one FOLL_PIN|FOLL_LONGTERM|FOLL_WRITE pin" },
  maxPins: { default: 512, min: 1, integer: true, doc: "pins alive at most (memory regions * mrPages)" },
  chunk: { default: 64, min: 1, integer: true, doc: "pages per range the driver migrates" },
  kind: { default: "device-coherent", choices: ["device-private", "device-coherent"], doc: "the device memory the driver migrates to" },
  devicePages: { default: 1024, min: 1, integer: true, doc: "device memory in pages (the driver evicts its oldest range when full)" },
  childWrites: { default: 32, min: 0, integer: true, doc: "pages a forked child writes (and a quarter as many it reads) before it exits" },
  touch: { default: 8, min: 1, integer: true, doc: "pages a CPU read or write turn touches" },
  weights: {
    default: { register: 2, deregister: 1.5, migrate: 3, evict: 1.5, fork: 0.5, read: 2, write: 3, dontneed: 0.2 }, min: 0,
    doc: "relative frequency of each turn: register / deregister a memory region, migrate / evict a range, fork (child writes and exits), read, write, dontneed (MADV_DONTNEED a registered range)",
  },
};

const NAME = "rdma-pins";

export function runRdmaPins(target: OpTarget, params?: Partial<RdmaPinsParams>, seed = DEFAULT_SEED, budget = DEFAULT_BUDGET): WorkloadSummary {
  const p = resolveParams(NAME, RDMA_PINS_SPEC, params);
  const s = new Session(NAME, target, seed, budget);
  const { processes: P, pinners, pages, mrPages, maxPins, chunk, touch, childWrites } = p;
  const childReads = childWrites >> 2;
  const cap = s.capacity;
  need(pinners <= P, NAME, "pinners", `pinners (${pinners}) must not exceed processes (${P})`);
  need(pages % chunk === 0, NAME, "chunk", `pages (${pages}) must be a multiple of chunk (${chunk})`);
  need(mrPages <= pages, NAME, "mrPages", `a memory region (${mrPages} pages) must fit a buffer (${pages})`);
  need(mrPages <= maxPins, NAME, "maxPins", `maxPins (${maxPins}) must hold at least one memory region (${mrPages})`);
  need(maxPins <= cap.gupHandles - s.usage.gupLive, NAME, "maxPins", `exceeds the ${cap.gupHandles - s.usage.gupLive} free GUP handles (capacity.gupHandles)`);
  need(s.usage.mms + P <= cap.processes, NAME, "processes", `${P} processes need ${P} mm ids, ${cap.processes - s.usage.mms} are left (capacity.processes)`);
  need(s.usage.drivers + 1 <= cap.drivers, NAME, "kind", `no driver slot is left (capacity.drivers)`);
  need(p.devicePages <= cap.devicePages, NAME, "devicePages", `exceeds capacity.devicePages (${cap.devicePages})`);
  const frames = P * pages + 2 * maxPins + childWrites + chunk + 8;
  need(frames <= cap.systemPages - s.usage.systemLive, NAME, "pages",
    `needs ${frames} system frames at worst (processes*pages + 2*maxPins + childWrites + chunk + 8), ${cap.systemPages - s.usage.systemLive} are free`);
  const T = pteTablesFor(pages) + 1;
  need((P + 2) * T + 4 <= cap.pteTables, NAME, "pages", `needs ${(P + 2) * T + 4} pte tables, capacity.pteTables is ${cap.pteTables}`);
  need((P + 1) * 2 + T + 4 <= cap.pmdTables, NAME, "processes", `needs ${(P + 1) * 2 + T + 4} pmd tables, capacity.pmdTables is ${cap.pmdTables}`);
  need(P + 3 <= cap.vmas, NAME, "processes", `needs ${P + 3} VMAs, capacity.vmas is ${cap.vmas}`);
  need(s.usage.bos + 1 < cap.bufferObjects, NAME, "budget", `no buffer object ids are left (capacity.bufferObjects)`);

  const maxMrs = Math.floor(maxPins / mrPages);
  const stepMax = Math.max(mrPages, 2 + childWrites + childReads, touch, 2);
  const reserve = (): number => liveMrs * mrPages + P + 1; // unpins, exits, check
  s.needBudget(2 + 2 * P + P * pages + maxPins + P + 1 + stepMax);

  const enc = s.enc;
  const rng = s.rng;
  const flags = VM_READ | VM_WRITE | VM_ANON;
  const pinFlags = FOLL_PIN | FOLL_LONGTERM | FOLL_WRITE;

  enc.driverNew(kindCode(p.kind), p.devicePages);
  enc.want();
  const mm = new Int32Array(P);
  for (let i = 0; i < P; i++) {
    enc.mmNew();
    enc.want();
  }
  enc.flush();
  const driver = enc.take();
  for (let i = 0; i < P; i++) mm[i] = enc.take();
  for (let i = 0; i < P; i++) {
    enc.mmap(mm[i], MAP_BASE, pages, flags, -1, 0);
    for (let k = 0; k < pages; k++) enc.write(mm[i], MAP_BASE + k, rng.u32() | 0);
  }

  // memory regions: state, owner, first vpn, GUP results still to collect, handles
  const mrLive = new Uint8Array(maxMrs);
  const mrProc = new Int32Array(maxMrs);
  const mrVpn = new Int32Array(maxMrs);
  const mrPending = new Int32Array(maxMrs);
  const handles = new Int32Array(maxMrs * mrPages);
  let liveMrs = 0;
  // where each wanted GUP result goes (a ring: at most maxMrs * mrPages are pending)
  const ringCap = maxMrs * mrPages;
  const ring = new Int32Array(ringCap);
  let ringHead = 0;
  let ringSize = 0;
  const collect = (): void => {
    while (enc.ready > 0) {
      const dst = ring[ringHead];
      ringHead = ringHead + 1 === ringCap ? 0 : ringHead + 1;
      ringSize--;
      handles[dst] = Math.max(enc.take(), 0); // 0 pages or -errno: no handle
      mrPending[(dst / mrPages) | 0]--;
    }
  };
  const deregister = (m: number): void => {
    if (mrPending[m] > 0) {
      enc.flush();
      collect();
    }
    for (let i = m * mrPages; i < (m + 1) * mrPages; i++) if (handles[i] !== 0) enc.unpin(handles[i]);
    mrLive[m] = 0;
    liveMrs--;
  };
  const randomMr = (): number => {
    if (liveMrs === 0) return -1;
    let m = rng.below(maxMrs);
    while (mrLive[m] === 0) m = m + 1 === maxMrs ? 0 : m + 1;
    return m;
  };

  // device residency as the driver believes it (oldest range evicted first)
  const cpp = pages / chunk;
  const nChunks = P * cpp;
  const onDevice = new Uint8Array(nChunks);
  const stamp = new Float64Array(nChunks);
  let clock = 0;
  let resident = 0;
  const evict = (id: number): void => {
    const proc = (id / cpp) | 0;
    enc.migrateToRam(mm[proc], MAP_BASE + (id - proc * cpp) * chunk, chunk);
    onDevice[id] = 0;
    resident -= chunk;
  };

  const bos = new Pacer(cap.bufferObjects - 1 - s.usage.bos, budget);
  const forks = new Pacer(cap.processes - s.usage.mms - P, budget);
  const weights = TURNS.map((k) => p.weights[k]);
  need(weights.some((w) => w > 0), NAME, "weights", "at least one weight must be above 0");
  const draws = new Weights(weights);

  while (s.fits(stepMax + mrPages, reserve())) {
    collect();
    const turn = TURNS[rng.draw(draws)];
    const proc = rng.below(P);
    switch (turn) {
      case "register": {
        if (liveMrs === maxMrs) break;
        let m = 0;
        while (mrLive[m] !== 0) m++;
        const owner = rng.below(pinners);
        const vpn = MAP_BASE + rng.below(pages - mrPages + 1);
        mrLive[m] = 1;
        mrProc[m] = owner;
        mrVpn[m] = vpn;
        mrPending[m] = mrPages;
        liveMrs++;
        for (let i = 0; i < mrPages; i++) {
          enc.gup(mm[owner], vpn + i, pinFlags);
          enc.want();
          let at = ringHead + ringSize;
          if (at >= ringCap) at -= ringCap;
          ring[at] = m * mrPages + i;
          ringSize++;
        }
        break;
      }
      case "deregister": {
        const m = randomMr();
        if (m >= 0) deregister(m);
        break;
      }
      case "migrate": {
        const id = proc * cpp + rng.below(cpp);
        if (onDevice[id] !== 0 || !bos.allow(s.done)) break;
        if (resident + chunk > p.devicePages) {
          let victim = -1;
          for (let c = 0; c < nChunks; c++) if (onDevice[c] !== 0 && (victim < 0 || stamp[c] < stamp[victim])) victim = c;
          if (victim >= 0) evict(victim);
        }
        enc.migrateToDevice(mm[proc], MAP_BASE + (id - proc * cpp) * chunk, chunk, driver, 0);
        bos.take();
        onDevice[id] = 1;
        stamp[id] = ++clock;
        resident += chunk;
        break;
      }
      case "evict": {
        const id = proc * cpp + rng.below(cpp);
        if (onDevice[id] !== 0) evict(id);
        break;
      }
      case "fork": {
        if (!forks.allow(s.done)) break;
        const child = enc.result(enc.fork(mm[proc]));
        forks.take();
        let w = childWrites;
        let r = childReads;
        while (w + r > 0) {
          const vpn = MAP_BASE + rng.below(pages);
          if (rng.below(w + r) < w) {
            enc.write(child, vpn, rng.u32() | 0);
            w--;
          } else {
            enc.read(child, vpn);
            r--;
          }
        }
        enc.exit(child);
        break;
      }
      case "read":
        for (let k = 0; k < touch; k++) enc.read(mm[proc], MAP_BASE + rng.below(pages));
        break;
      case "write":
        for (let k = 0; k < touch; k++) enc.write(mm[proc], MAP_BASE + rng.below(pages), rng.u32() | 0);
        break;
      case "dontneed": {
        const m = randomMr();
        if (m >= 0) enc.madviseDontneed(mm[mrProc[m]], mrVpn[m], mrPages);
        break;
      }
    }
  }
  enc.flush();
  collect();
  for (let m = 0; m < maxMrs; m++) if (mrLive[m] !== 0) deregister(m);
  for (let i = 0; i < P; i++) enc.exit(mm[i]);
  enc.check();
  return s.finish();
}

export const rdmaPins: WorkloadDef<RdmaPinsParams> = {
  name: NAME,
  describe: "RDMA-style long-term pins (FOLL_PIN|FOLL_LONGTERM) held while processes have ranges migrated to device memory, fork and write; memory regions are deregistered (unpinned) later",
  needs: "processes*pages + 2*maxPins + childWrites + chunk + 8 system frames (7272), devicePages device pages (1024) and 1 driver, maxPins GUP handles (512), (processes+2)*(pages/512+1)+4 pte tables (28), processes+3 VMAs; forks (mm ids) and BOs paced over the budget",
  spec: RDMA_PINS_SPEC,
  defaults: defaultsOf(RDMA_PINS_SPEC),
  run: runRdmaPins,
};
