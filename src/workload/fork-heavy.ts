/**
 * fork-heavy: a parent with a large populated anonymous address space forks again
 * and again (the Hildenbrand fork/munmap measurements, a pre-forking server). Each
 * fork copies every PTE (copy_present_ptes: +1 ref, +1 mapcount, AnonExclusive
 * cleared, both PTEs write-protected). The child then writes a fraction of the
 * pages (do_wp_page -> wp_page_copy: a COW copy each), reads some (it must still
 * see the parent's data) and exits (zap of every PTE). Between forks the parent
 * writes too: while a child is alive that copies; after the children are gone the
 * era decides: reuse by PageAnonExclusive is lost at fork, so 5.19+ reuses at
 * refcount 1 through wp_can_reuse_anon_folio, and E0 by page_count == 1.
 *
 * Up to `children` children are alive at once; turns go to a child (a burst of
 * its writes and reads) or, with probability `parentShare`, to the parent. Forks
 * use up mm ids (never reused): with the default capacity 255 forks fit, and a
 * Pacer spreads them evenly over the budget, so a very long run forks more rarely.
 *
 * The run: setup (mm_new, mmap, write every page), the loop, the drain (exit every
 * child and the parent) and a quiesce check.
 *
 * Capacity with the defaults (8192 pages, 2 children): (children+1)*pages + 2 =
 * 24578 system frames at worst, about 50 pte tables, 3 VMAs, 1 + forks mm ids.
 *
 * @example
 * ```ts
 * import { Engine } from "../core/engine.ts";
 * import { runForkHeavy } from "./fork-heavy.ts";
 * const e = await Engine.create({ scheme: "E4" });
 * const s = runForkHeavy(e, { pages: 4096 }, 3, 50_000);
 * console.log(s.stats.ops.fork > 0, s.wpCopy > 0, s.violations.total); // true true 0
 * ```
 */
import { VM_READ, VM_WRITE, VM_ANON, VM_HUGEPAGE } from "../../assembly/abi.ts";
import {
  Session, Pacer, resolveParams, defaultsOf, need, pteTablesFor, coreEngine, runInCore, MAP_BASE, DEFAULT_SEED, DEFAULT_BUDGET,
  type Spec, type WorkloadDef, type WorkloadSummary, type RunOptions,
} from "./common.ts";
import type { OpTarget } from "./target.ts";

export interface ForkHeavyParams {
  pages: number;
  children: number;
  childWrites: number;
  childReads: number;
  parentShare: number;
  burst: number;
  huge: boolean;
}

export const FORK_HEAVY_SPEC: Spec<ForkHeavyParams> = {
  pages: { default: 8192, min: 1, integer: true, doc: "pages of the parent's anonymous mapping, all written before the first fork (8192 = 32 MiB)" },
  children: { default: 2, min: 1, integer: true, doc: "children alive at the same time" },
  childWrites: { default: 0.25, min: 0, max: 1, doc: "writes each child makes before it exits, as a fraction of pages (random pages: COW copies)" },
  childReads: { default: 0.05, min: 0, max: 1, doc: "reads each child makes, as a fraction of pages (checked against the parent's data)" },
  parentShare: { default: 0.2, min: 0, max: 1, doc: "probability that a turn is the parent's (a burst of writes and reads) rather than a child's" },
  burst: { default: 64, min: 1, integer: true, doc: "ops per turn" },
  huge: {
    default: false,
    doc: "MADV_HUGEPAGE on the parent's mapping: each 2 MiB block maps a THP while capacity.hugePages has one free (fork then shares PMDs; a child's write splits one), else 4 KiB pages",
  },
};

const NAME = "fork-heavy";

export function runForkHeavy(target: OpTarget, params?: Partial<ForkHeavyParams>, seed = DEFAULT_SEED, budget = DEFAULT_BUDGET, options?: RunOptions): WorkloadSummary {
  const p = resolveParams(NAME, FORK_HEAVY_SPEC, params);
  const s = new Session(NAME, target, seed, budget);
  const { pages, children, burst } = p;
  const cap = s.capacity;
  const T = pteTablesFor(pages) + 1; // pte tables (+1 if unaligned) of one mm
  const pmdPerMm = Math.ceil(pages / (1 << 18)) + 1;
  need(s.usage.mms + 2 <= cap.processes, NAME, "children", `needs at least 2 mm ids, ${cap.processes - s.usage.mms} are left (capacity.processes)`);
  need((children + 1) * pages + 2 <= cap.systemPages - s.usage.systemLive, NAME, "pages",
    `(children + 1) * pages = ${(children + 1) * pages} frames (+2) at worst, ${cap.systemPages - s.usage.systemLive} system frames are free`);
  // fork checks pte and pmd tables left >= the parent's tables (pte + pmd)
  need(children * T + T + pmdPerMm + 1 <= cap.pteTables, NAME, "pages", `needs ${children * T + T + pmdPerMm + 1} pte tables, capacity.pteTables is ${cap.pteTables}`);
  need((children + 1) * pmdPerMm + T + pmdPerMm <= cap.pmdTables, NAME, "pages", `needs ${(children + 1) * pmdPerMm + T + pmdPerMm} pmd tables, capacity.pmdTables is ${cap.pmdTables}`);
  need(children + 2 <= cap.vmas, NAME, "children", `needs ${children + 2} VMAs, capacity.vmas is ${cap.vmas}`);
  const reserve = children + 2; // exit per child and the parent, check
  const stepMax = burst + 1; // a turn, or a fork
  s.needBudget(2 + pages + reserve + stepMax);

  const enc = s.enc;
  const rng = s.rng;
  const flags = VM_READ | VM_WRITE | VM_ANON | (p.huge ? VM_HUGEPAGE : 0);
  const parent = enc.result(enc.mmNew());
  enc.mmap(parent, MAP_BASE, pages, flags, -1, 0);
  const forks = new Pacer(cap.processes - s.usage.mms - 1, budget);
  const childMm = new Int32Array(children).fill(-1);
  const writesLeft = new Int32Array(children);
  const readsLeft = new Int32Array(children);
  const quotaW = Math.round(p.childWrites * pages);
  const quotaR = Math.round(p.childReads * pages);
  let live = 0;

  const core = coreEngine(target, options);
  if (core) {
    // the parent's first writes and the loop below inside the core (assembly/workload_fork_heavy.ts), the same
    // PRNG draws from the same seed; it hands back the children still alive for the drain
    const run = runInCore(s, core, {
      kind: "fork-heavy", children, pages, at: MAP_BASE, mm0: parent, burst, slots: forks.slots, quotaW, quotaR,
      parentShare: p.parentShare, budget, before: s.done, seed,
    }, Math.max(0, budget - reserve - s.done), options);
    childMm.set(run.children);
  } else {
    for (let i = 0; i < pages; i++) enc.write(parent, MAP_BASE + i, rng.u32() | 0);
  }

  while (!core && s.fits(stepMax, reserve)) {
    if (live < children && forks.allow(s.done)) {
      let slot = 0;
      while (childMm[slot] >= 0) slot++;
      childMm[slot] = enc.result(enc.fork(parent));
      forks.take();
      writesLeft[slot] = quotaW;
      readsLeft[slot] = quotaR;
      live++;
      continue;
    }
    if (live === 0 || rng.chance(p.parentShare)) {
      // the parent's turn: mostly writes (COW copy while shared, reuse after), some reads
      for (let k = 0; k < burst; k++) {
        const vpn = MAP_BASE + rng.below(pages);
        if ((k & 3) === 3) enc.read(parent, vpn);
        else enc.write(parent, vpn, rng.u32() | 0);
      }
      continue;
    }
    let pick = rng.below(live);
    let slot = 0;
    for (; slot < children; slot++) if (childMm[slot] >= 0 && pick-- === 0) break;
    const mm = childMm[slot];
    let w = writesLeft[slot];
    let r = readsLeft[slot];
    for (let k = 0; k < burst && w + r > 0; k++) {
      const vpn = MAP_BASE + rng.below(pages);
      if (rng.below(w + r) < w) {
        enc.write(mm, vpn, rng.u32() | 0);
        w--;
      } else {
        enc.read(mm, vpn);
        r--;
      }
    }
    writesLeft[slot] = w;
    readsLeft[slot] = r;
    if (w + r === 0) {
      enc.exit(mm);
      childMm[slot] = -1;
      live--;
    }
  }
  for (let slot = 0; slot < children; slot++) if (childMm[slot] >= 0) enc.exit(childMm[slot]);
  enc.exit(parent);
  enc.check();
  return s.finish();
}

export const forkHeavy: WorkloadDef<ForkHeavyParams> = {
  name: NAME,
  describe: "a parent with a large populated anonymous mapping forks repeatedly; each child COW-writes a fraction of the pages, reads some and exits, while the parent keeps writing",
  needs: "(children+1)*pages+2 system frames at worst (24578), about (children+2)*(pages/512+1) pte tables (~51), children+2 VMAs; forks use mm ids for good (paced over the budget; 255 with the default capacity)",
  spec: FORK_HEAVY_SPEC,
  defaults: defaultsOf(FORK_HEAVY_SPEC),
  run: runForkHeavy,
};
