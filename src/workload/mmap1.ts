/**
 * mmap1: will-it-scale's "Anonymous memory mmap/munmap of 128MB" test. Each task
 * loops mmap of `pages` private anonymous pages and munmap of them, never touching
 * the memory: VMA work only (do_mmap, vma_link, __do_munmap (do_mas_align_munmap
 * since 6.1), unmap_region over empty page tables). No frame is allocated, no refcount or mapcount changes, so
 * the atomics per op are 0 in every scheme.
 *
 * The run: setup (mm_new per task), mmap/munmap pairs round-robin over the tasks
 * until the op budget, the drain (exit every task) and a quiesce check. The seed
 * changes nothing in this workload (there is no random choice to make).
 *
 * Capacity with the defaults (4 tasks x 32768 pages): 4 mm ids per run, 4 VMAs, no
 * frames and no page tables.
 *
 * @example
 * ```ts
 * import { Engine } from "../core/engine.ts";
 * import { runMmap1 } from "./mmap1.ts";
 * const e = await Engine.create({ scheme: "E0" });
 * const s = runMmap1(e, {}, 1, 10_000);
 * console.log(s.ops, s.atomicsPerOp); // 9993 0 (the budget is a ceiling: whole mmap/munmap rounds)
 * ```
 */
import { VM_READ, VM_WRITE, VM_ANON, VPN_BITS } from "../../assembly/abi.ts";
import {
  Session, resolveParams, defaultsOf, need, coreEngine, runInCore, MAP_BASE, DEFAULT_SEED, DEFAULT_BUDGET,
  type Spec, type WorkloadDef, type WorkloadSummary, type RunOptions,
} from "./common.ts";
import type { OpTarget } from "./target.ts";

export interface Mmap1Params {
  tasks: number;
  pages: number;
}

export const MMAP1_SPEC: Spec<Mmap1Params> = {
  tasks: { default: 4, min: 1, integer: true, doc: "processes, each mapping and unmapping in its own mm, round-robin" },
  pages: { default: 32768, min: 1, integer: true, doc: "pages per mmap (32768 = 128 MiB, as in will-it-scale); never touched, so no frames are needed" },
};

const NAME = "mmap1";

export function runMmap1(target: OpTarget, params?: Partial<Mmap1Params>, seed = DEFAULT_SEED, budget = DEFAULT_BUDGET, options?: RunOptions): WorkloadSummary {
  const p = resolveParams(NAME, MMAP1_SPEC, params);
  const s = new Session(NAME, target, seed, budget);
  const { tasks, pages } = p;
  const cap = s.capacity;
  need(s.usage.mms + tasks <= cap.processes, NAME, "tasks", `${tasks} tasks need ${tasks} mm ids, ${cap.processes - s.usage.mms} are left (capacity.processes)`);
  need(tasks + 1 <= cap.vmas, NAME, "tasks", `needs ${tasks + 1} VMAs (one per task, one spare for munmap), capacity.vmas is ${cap.vmas}`);
  need(MAP_BASE + pages <= 2 ** VPN_BITS, NAME, "pages", `${pages} pages do not fit the simulated address space`);
  const reserve = tasks + 1;
  s.needBudget(tasks + 2 * tasks + reserve);

  const enc = s.enc;
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
    // the loop below inside the core (assembly/workload_mmap1.ts): its rounds of 2 * tasks ops while they fit
    const ops = Math.max(0, Math.floor((budget - reserve - s.done) / (2 * tasks))) * 2 * tasks;
    runInCore(s, core, { kind: "mmap1", tasks, pages, at: MAP_BASE, flags, mm0: mm[0] }, ops, options);
  }
  while (!core && s.fits(2 * tasks, reserve)) {
    for (let t = 0; t < tasks; t++) enc.mmap(mm[t], MAP_BASE, pages, flags, -1, 0);
    for (let t = 0; t < tasks; t++) enc.munmap(mm[t], MAP_BASE, pages);
  }
  for (let t = 0; t < tasks; t++) enc.exit(mm[t]);
  enc.check();
  return s.finish();
}

export const mmap1: WorkloadDef<Mmap1Params> = {
  name: NAME,
  describe: "will-it-scale mmap1: per process, mmap and munmap anonymous memory without touching it (VMA work only, no faults, no refcount traffic)",
  needs: "tasks mm ids (4) and tasks+1 VMAs (5); no frames, no page tables",
  spec: MMAP1_SPEC,
  defaults: defaultsOf(MMAP1_SPEC),
  run: runMmap1,
};
