/**
 * shared-pages: RadixVM's "page sharing" refcount benchmark (Clements et al.,
 * EuroSys'13; perf-anchors.md §1.1, G12a): every simulated CPU runs one process
 * that maps the same shared file pages, touches each page and unmaps them, over
 * and over. Each touch faults the page-cache page in (filemap_fault: folio_get,
 * one reference per mapping) and each munmap drops it (zap + tlb_flush_mmu), so
 * every CPU takes and drops references on the same few pages: the shared atomic
 * counter's line bounces between all CPUs, while per-CPU schemes stay local.
 *
 * The CPUs run in lockstep: each step (mmap, touch page i, munmap) is issued on
 * every CPU in turn (a cpu op before each), the sequential order of a parallel
 * run; the cost model gives each CPU its own clock. The page cache keeps one
 * reference per page for the whole run, so the true count never reaches zero
 * until the drain drops the cache.
 *
 * The run: setup (one file, one mm per CPU), the loop until the op budget, the
 * drain (every process exits, the cache is dropped) and a quiesce check. The
 * seed changes nothing (there is no random choice).
 *
 * @example
 * ```ts
 * import { Engine } from "../core/engine.ts";
 * import { runSharedPages } from "./shared-pages.ts";
 * const e = await Engine.create({ counter: "refcache", cpus: 4 });
 * const s = runSharedPages(e, {}, 1, 10_000);
 * console.log(s.violations.total, e.cost()!.cpus); // 0 4
 * ```
 */
import { VM_READ, VM_SHARED, VM_FILE, MAX_CPUS } from "../../assembly/abi.ts";
import {
  Session, resolveParams, defaultsOf, need, coreEngine, runInCore, MAP_BASE, DEFAULT_SEED, DEFAULT_BUDGET,
  type Spec, type WorkloadDef, type WorkloadSummary, type RunOptions,
} from "./common.ts";
import type { OpTarget } from "./target.ts";

export interface SharedPagesParams {
  cpus: number;
  pages: number;
}

export const SHARED_PAGES_SPEC: Spec<SharedPagesParams> = {
  cpus: { default: 0, min: 0, max: MAX_CPUS, integer: true, doc: "CPUs (one process each); 0 = every CPU the target was created with" },
  pages: { default: 4, min: 1, max: 4096, integer: true, doc: "shared file pages every process maps, touches and unmaps" },
};

const NAME = "shared-pages";

/** The CPUs a target offers: Engine.counter.cpus, the model's machine.cpus, else 1. */
export function cpusOf(target: OpTarget): number {
  const t = target as { counter?: { cpus?: number }; machine?: { cpus?: number } };
  return t.counter?.cpus ?? t.machine?.cpus ?? 1;
}

export function runSharedPages(target: OpTarget, params?: Partial<SharedPagesParams>, seed = DEFAULT_SEED, budget = DEFAULT_BUDGET, options?: RunOptions): WorkloadSummary {
  const p = resolveParams(NAME, SHARED_PAGES_SPEC, params);
  const s = new Session(NAME, target, seed, budget);
  const offered = cpusOf(target);
  const cpus = p.cpus === 0 ? offered : p.cpus;
  const { pages } = p;
  const cap = s.capacity;
  need(cpus <= offered, NAME, "cpus", `${cpus} CPUs asked, the target has ${offered} (EngineOptions.cpus)`);
  need(s.usage.mms + cpus <= cap.processes, NAME, "cpus", `${cpus} processes need ${cpus} mm ids, ${cap.processes - s.usage.mms} are left (capacity.processes)`);
  need(s.usage.files + 1 <= cap.files, NAME, "pages", "needs one file (capacity.files)");
  need(pages <= cap.filePages, NAME, "pages", `${pages} file pages exceed capacity.filePages (${cap.filePages})`);
  need(pages + 2 <= cap.systemPages - s.usage.systemLive, NAME, "pages", `the page cache needs ${pages + 2} free system frames`);
  need(cpus + 1 <= cap.vmas, NAME, "cpus", `needs ${cpus + 1} VMAs, capacity.vmas is ${cap.vmas}`);
  need(cpus + 1 <= cap.pteTables && cpus + 1 <= cap.pmdTables, NAME, "cpus", `needs ${cpus + 1} pte and pmd tables`);
  const reserve = 2 * cpus + 3; // drain: cpu + exit per process, cpu + drop_cache, check
  s.needBudget(1 + 2 * cpus + 2 * cpus * (pages + 2) + reserve);

  const enc = s.enc;
  const mm = new Int32Array(cpus);
  enc.cpu(0);
  const file = enc.result(enc.fileNew(pages));
  for (let c = 0; c < cpus; c++) {
    enc.cpu(c);
    enc.mmNew();
    enc.want();
  }
  enc.flush();
  for (let c = 0; c < cpus; c++) mm[c] = enc.take();

  const flags = VM_READ | VM_SHARED | VM_FILE;
  const step = 2 * cpus;
  const core = coreEngine(target, options, mm);
  if (core) {
    // the loop below inside the core (assembly/workload_shared_pages.ts): its steps of 2 * cpus ops while they fit
    const ops = Math.max(0, Math.floor((budget - reserve - s.done) / step)) * step;
    runInCore(s, core, { kind: "shared-pages", cpus, pages, at: MAP_BASE, flags, mm0: mm[0], file }, ops, options);
  }
  let pos = -1; // -1: mmap; 0..pages-1: touch that page; pages: munmap
  while (!core && s.fits(step, reserve)) {
    for (let c = 0; c < cpus; c++) {
      enc.cpu(c);
      if (pos < 0) enc.mmap(mm[c], MAP_BASE, pages, flags, file, 0);
      else if (pos < pages) enc.read(mm[c], MAP_BASE + pos);
      else enc.munmap(mm[c], MAP_BASE, pages);
    }
    pos = pos < pages ? pos + 1 : -1;
  }
  for (let c = 0; c < cpus; c++) {
    enc.cpu(c);
    enc.exit(mm[c]);
  }
  enc.cpu(0);
  enc.dropCache(file);
  enc.check();
  return s.finish();
}

export const sharedPages: WorkloadDef<SharedPagesParams> = {
  name: NAME,
  describe: "RadixVM page sharing: one process per simulated CPU maps, touches and unmaps the same shared file pages in lockstep (refcount traffic on shared pages)",
  needs: "one mm id, VMA and page table per CPU; one file of `pages` pages; pages + 2 system frames",
  spec: SHARED_PAGES_SPEC,
  defaults: defaultsOf(SHARED_PAGES_SPEC),
  run: runSharedPages,
};
