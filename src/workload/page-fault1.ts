/**
 * page-fault1: will-it-scale's "Anonymous memory page fault" test. Each task (a
 * process with its own mm, will-it-scale's process mode) loops:
 *   mmap `pages` of private anonymous memory -> write one word to every page
 *   (do_anonymous_page: alloc + zero + folio_add_new_anon_rmap) -> munmap (zap,
 *   mmu_gather batched puts, free to the buddy).
 * The tasks' ops are interleaved round-robin, one op of each task in turn, as if
 * they ran in parallel, so `tasks * pages` frames are live at the peak. One
 * iteration per page is one anon fault; nothing is shared, pinned or on a device,
 * so every scheme must end with every frame freed and no violation.
 *
 * The run: setup (mm_new per task), the loop until the op budget, then the drain
 * (exit every task: the region being written is zapped) and a quiesce check. The
 * seed only changes the data written.
 *
 * Capacity with the defaults (4 tasks x 8192 pages): 32768 + 2 system frames,
 * 64 pte tables, 4 pmd tables, 4 VMAs, 4 mm ids per run.
 *
 * @example
 * ```ts
 * import { Engine } from "../core/engine.ts";
 * import { runPageFault1 } from "./page-fault1.ts";
 * const e = await Engine.create({ scheme: "E2" });
 * const s = runPageFault1(e, { tasks: 2, pages: 4096 }, 7, 100_000);
 * console.log(s.ops, s.violations.total, s.liveFrames.after); // 99999 0 0
 * ```
 */
import { VM_READ, VM_WRITE, VM_ANON } from "../../assembly/abi.ts";
import {
  Session, resolveParams, defaultsOf, need, pteTablesFor, coreEngine, runInCore, MAP_BASE, DEFAULT_SEED, DEFAULT_BUDGET,
  type Spec, type WorkloadDef, type WorkloadSummary, type RunOptions,
} from "./common.ts";
import type { OpTarget } from "./target.ts";

export interface PageFault1Params {
  tasks: number;
  pages: number;
}

export const PAGE_FAULT1_SPEC: Spec<PageFault1Params> = {
  tasks: {
    default: 4, min: 1, integer: true,
    doc: "processes, each looping in its own mm; their ops are interleaved round-robin",
  },
  pages: {
    default: 8192, min: 1, integer: true,
    doc: "pages per mmap (8192 = 32 MiB; will-it-scale maps 128 MiB = 32768, which fits the default capacity with tasks=1)",
  },
};

const NAME = "page-fault1";

export function runPageFault1(target: OpTarget, params?: Partial<PageFault1Params>, seed = DEFAULT_SEED, budget = DEFAULT_BUDGET, options?: RunOptions): WorkloadSummary {
  const p = resolveParams(NAME, PAGE_FAULT1_SPEC, params);
  const s = new Session(NAME, target, seed, budget);
  const { tasks, pages } = p;
  const cap = s.capacity;
  need(s.usage.mms + tasks <= cap.processes, NAME, "tasks", `${tasks} tasks need ${tasks} mm ids, ${cap.processes - s.usage.mms} are left (capacity.processes)`);
  need(tasks * pages + 2 <= cap.systemPages - s.usage.systemLive, NAME, "pages",
    `tasks * pages = ${tasks * pages} frames (+2) do not fit the ${cap.systemPages - s.usage.systemLive} free system frames (capacity.systemPages)`);
  need(tasks * pteTablesFor(pages) + 1 <= cap.pteTables, NAME, "pages", `needs ${tasks * pteTablesFor(pages) + 1} pte tables, capacity.pteTables is ${cap.pteTables}`);
  need(tasks * Math.ceil(pages / (1 << 18)) + 1 <= cap.pmdTables, NAME, "pages", `needs more pmd tables than capacity.pmdTables (${cap.pmdTables})`);
  need(tasks <= cap.vmas, NAME, "tasks", `needs ${tasks} VMAs, capacity.vmas is ${cap.vmas}`);
  const reserve = tasks + 1; // drain: exit per task + check
  s.needBudget(tasks + tasks + reserve);

  const enc = s.enc;
  const rng = s.rng;
  const mm = new Int32Array(tasks);
  for (let t = 0; t < tasks; t++) {
    enc.mmNew();
    enc.want();
  }
  enc.flush();
  for (let t = 0; t < tasks; t++) mm[t] = enc.take();

  const flags = VM_READ | VM_WRITE | VM_ANON;
  const core = coreEngine(target, options, mm);
  if (core) {
    // the loop below inside the core (assembly/workload_page_fault.ts): its rounds of `tasks` ops while they fit
    const ops = Math.max(0, Math.floor((budget - reserve - s.done) / tasks)) * tasks;
    runInCore(s, core, { kind: "page-fault", tasks, pages, at: MAP_BASE, flags, mm0: mm[0], file0: -1, seed }, ops, options);
  }
  let pos = -1; // -1: mmap next; 0..pages-1: write that page; pages: munmap
  let salt = rng.u32() | 0;
  while (!core && s.fits(tasks, reserve)) {
    if (pos < 0) {
      for (let t = 0; t < tasks; t++) enc.mmap(mm[t], MAP_BASE, pages, flags, -1, 0);
    } else if (pos < pages) {
      const vpn = MAP_BASE + pos;
      const value = (salt + pos) | 0;
      for (let t = 0; t < tasks; t++) enc.write(mm[t], vpn, value ^ t);
    } else {
      for (let t = 0; t < tasks; t++) enc.munmap(mm[t], MAP_BASE, pages);
      salt = rng.u32() | 0;
      pos = -2;
    }
    pos++;
  }
  for (let t = 0; t < tasks; t++) enc.exit(mm[t]);
  enc.check();
  return s.finish();
}

export const pageFault1: WorkloadDef<PageFault1Params> = {
  name: NAME,
  describe: "will-it-scale page_fault1: per process, mmap anonymous memory, write every page (one anon fault each), munmap, repeat",
  needs: "tasks*pages+2 system frames (32770), tasks*ceil(pages/512)+1 pte tables (65), tasks mm ids, VMAs and pmd tables (4)",
  spec: PAGE_FAULT1_SPEC,
  defaults: defaultsOf(PAGE_FAULT1_SPEC),
  run: runPageFault1,
};
