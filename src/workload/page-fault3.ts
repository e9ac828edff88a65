/**
 * page-fault3: will-it-scale's "Separate file shared mapping page fault" test. Each
 * task owns a file of `pages` pages and loops:
 *   mmap the file MAP_SHARED read-write -> write one word to every page
 *   (do_shared_fault: filemap_fault finds or reads the page-cache page, the PTE
 *   takes a reference and a file rmap; the write goes through to "disk") -> munmap.
 * After the first pass every fault hits the page cache, so, as in the kernel test,
 * there is no allocation in the steady state: the page cache keeps one reference
 * per cached page and each mapping adds and drops one.
 *
 * The run: setup (file_new and mm_new per task), the loop until the op budget, then
 * the drain (exit every task, drop every task's page cache) and a quiesce check,
 * after which every frame the run allocated is free again. The seed only changes
 * the data written.
 *
 * Capacity with the defaults (4 tasks x 8192 pages): 4 files and 32768 file pages
 * (capacity.files / filePages, used up for good), 32768 + 2 system frames for the
 * page cache, 64 pte tables, 4 VMAs, 4 mm ids per run.
 *
 * @example
 * ```ts
 * import { Engine } from "../core/engine.ts";
 * import { runPageFault3 } from "./page-fault3.ts";
 * const e = await Engine.create({ scheme: "E4" });
 * const s = runPageFault3(e, { tasks: 2, pages: 2048 }, 1, 50_000);
 * console.log(s.ops, s.violations.total, s.liveFrames.after); // 49999 0 0
 * ```
 */
import { VM_READ, VM_WRITE, VM_SHARED, VM_FILE } from "../../assembly/abi.ts";
import {
  Session, resolveParams, defaultsOf, need, pteTablesFor, coreEngine, runInCore, MAP_BASE, DEFAULT_SEED, DEFAULT_BUDGET,
  type Spec, type WorkloadDef, type WorkloadSummary, type RunOptions,
} from "./common.ts";
import type { OpTarget } from "./target.ts";

export interface PageFault3Params {
  tasks: number;
  pages: number;
}

export const PAGE_FAULT3_SPEC: Spec<PageFault3Params> = {
  tasks: {
    default: 4, min: 1, integer: true,
    doc: "processes, each with its own file and mm; their ops are interleaved round-robin",
  },
  pages: {
    default: 8192, min: 1, integer: true,
    doc: "pages per file and per mmap (8192 = 32 MiB; will-it-scale uses 128 MiB = 32768, which fits the default capacity with tasks=1)",
  },
};

const NAME = "page-fault3";

export function runPageFault3(target: OpTarget, params?: Partial<PageFault3Params>, seed = DEFAULT_SEED, budget = DEFAULT_BUDGET, options?: RunOptions): WorkloadSummary {
  const p = resolveParams(NAME, PAGE_FAULT3_SPEC, params);
  const s = new Session(NAME, target, seed, budget);
  const { tasks, pages } = p;
  const cap = s.capacity;
  need(s.usage.mms + tasks <= cap.processes, NAME, "tasks", `${tasks} tasks need ${tasks} mm ids, ${cap.processes - s.usage.mms} are left (capacity.processes)`);
  need(s.usage.files + tasks <= cap.files, NAME, "tasks", `${tasks} tasks need ${tasks} files, ${cap.files - s.usage.files} are left (capacity.files)`);
  // File pages used by earlier file_new ops are not visible in the counters: a fresh target is assumed.
  need(tasks * pages <= cap.filePages, NAME, "pages", `tasks * pages = ${tasks * pages} file pages exceed capacity.filePages (${cap.filePages})`);
  need(tasks * pages + 2 <= cap.systemPages - s.usage.systemLive, NAME, "pages",
    `the page cache needs ${tasks * pages} frames (+2), ${cap.systemPages - s.usage.systemLive} system frames are free`);
  need(tasks * pteTablesFor(pages) + 1 <= cap.pteTables, NAME, "pages", `needs ${tasks * pteTablesFor(pages) + 1} pte tables, capacity.pteTables is ${cap.pteTables}`);
  need(tasks * Math.ceil(pages / (1 << 18)) + 1 <= cap.pmdTables, NAME, "pages", `needs more pmd tables than capacity.pmdTables (${cap.pmdTables})`);
  need(tasks <= cap.vmas, NAME, "tasks", `needs ${tasks} VMAs, capacity.vmas is ${cap.vmas}`);
  const reserve = 2 * tasks + 1; // drain: exit + drop_cache per task, check
  s.needBudget(2 * tasks + tasks + reserve);

  const enc = s.enc;
  const rng = s.rng;
  const mm = new Int32Array(tasks);
  const file = new Int32Array(tasks);
  for (let t = 0; t < tasks; t++) {
    enc.fileNew(pages);
    enc.want();
    enc.mmNew();
    enc.want();
  }
  enc.flush();
  for (let t = 0; t < tasks; t++) {
    file[t] = enc.take();
    mm[t] = enc.take();
  }

  const flags = VM_READ | VM_WRITE | VM_SHARED | VM_FILE;
  const core = coreEngine(target, options, mm, file);
  if (core) {
    // the loop below inside the core (assembly/workload_page_fault.ts): its rounds of `tasks` ops while they fit
    const ops = Math.max(0, Math.floor((budget - reserve - s.done) / tasks)) * tasks;
    runInCore(s, core, { kind: "page-fault", tasks, pages, at: MAP_BASE, flags, mm0: mm[0], file0: file[0], seed }, ops, options);
  }
  let pos = -1; // -1: mmap next; 0..pages-1: write that page; pages: munmap
  let salt = rng.u32() | 0;
  while (!core && s.fits(tasks, reserve)) {
    if (pos < 0) {
      for (let t = 0; t < tasks; t++) enc.mmap(mm[t], MAP_BASE, pages, flags, file[t], 0);
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
  for (let t = 0; t < tasks; t++) {
    enc.exit(mm[t]);
    enc.dropCache(file[t]);
  }
  enc.check();
  return s.finish();
}

export const pageFault3: WorkloadDef<PageFault3Params> = {
  name: NAME,
  describe: "will-it-scale page_fault3: per process, mmap its own file MAP_SHARED, write every page (shared-file write fault, page cache hit after the first pass), munmap, repeat",
  needs: "tasks files and tasks*pages file pages (4, 32768), tasks*pages+2 system frames for the page cache (32770), tasks*ceil(pages/512)+1 pte tables (65), tasks mm ids and VMAs (4)",
  spec: PAGE_FAULT3_SPEC,
  defaults: defaultsOf(PAGE_FAULT3_SPEC),
  run: runPageFault3,
};
