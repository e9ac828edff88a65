/**
 * Random differential traces against the kernel: explore-style episodes
 * (src/explore/generate.ts) over what the guest can do — processes, fork, exit,
 * anonymous, THP and file mappings (tmpfs and fsdax), reads and writes, munmap,
 * MADV_DONTNEED, GUP gets and pins, DMA writes, truncate and hole punch — each run
 * on refsim under E2 with every page of every process read after every op, and in
 * the guest the same. A trace that differs is shrunk with the explorer's shrinker
 * (src/explore/shrink.ts), each candidate run in the guest, to a minimal scenario.
 *
 * @example
 * ```ts
 * import { randomTrace, traceProgram } from "./random.ts";
 * const t = randomTrace(7, 30);
 * const p = await traceProgram("r7", t);
 * console.log(p.builder.notComparable, p.builder.points.length > 10); // null true
 * ```
 */
import * as abi from "../../assembly/abi.ts";
import { Engine } from "../core/engine.ts";
import { EpisodeGenerator, exploreCapacity, type ExploreOp, type PageKindName } from "../explore/generate.ts";
import { SymExecutor, ST_OK, type SymTrace } from "../explore/symbolic.ts";
import { traceToSteps } from "../explore/scenario.ts";
import { describeStep } from "../explore/explore.ts";
import type { Scenario } from "../scenario/types.ts";
import { ProgramBuilder } from "./translate.ts";

/** Page kinds the guest has: system RAM (anonymous, tmpfs files), THPs, fsdax on pmem. */
export const KERNEL_KINDS: readonly PageKindName[] = ["system", "thp", "fsdax"];

/** Ops the guest cannot do are off: device migration, LRU isolation, cache dropping, split faults. */
export const KERNEL_RATIOS: Partial<Record<ExploreOp, number>> = {
  migrate_to_device: 0, migrate_to_ram: 0, evict_bo: 0, madvise_pageout: 0, drop_cache: 0, driver_new: 0,
  driver_teardown: 0, fault_begin: 0, fault_end: 0,
};

const W = abi.OP_WORDS;

/**
 * The explorer's machine with THPs enough for every huge mapping the episodes make
 * (up to 4 processes x 3 blocks, and their copies): with the explorer's small pool
 * refsim falls back to 4 KiB pages where the guest, with 1 GiB free, maps a THP.
 */
export const KERNEL_CAPACITY = Object.freeze({ ...exploreCapacity(KERNEL_KINDS), hugePages: 32 });

/**
 * GUP flags as user space can hold them: a pin is an io_uring fixed buffer
 * (FOLL_WRITE|FOLL_PIN|FOLL_LONGTERM), anything else a vmsplice FOLL_GET.
 */
function comparableGups(t: SymTrace): void {
  for (let i = 0; i < t.n; i++) {
    if (t.code(i) !== abi.OP_GUP) continue;
    const f = t.words[i * W + 3];
    t.words[i * W + 3] = (f & abi.FOLL_PIN) !== 0 ? abi.FOLL_PIN | abi.FOLL_WRITE | abi.FOLL_LONGTERM : 0;
  }
}

/** One random trace of about `length` ops from `seed` (a machine of its own). */
export function randomTrace(seed: number, length: number): SymTrace {
  const gen = new EpisodeGenerator({ kinds: KERNEL_KINDS, ratios: KERNEL_RATIOS, capacity: exploreCapacity(KERNEL_KINDS), maxProcesses: 4 });
  const t = gen.single(seed, length).clone();
  comparableGups(t);
  return t;
}

export interface TraceProgram {
  builder: ProgramBuilder;
  /** Trace index of each op that ran (the rest were rejected or skipped by refsim). */
  ran: number[];
  results: Int32Array;
}

/**
 * Run a trace on a fresh E2 engine one op at a time and translate it, every page
 * read after every op. Ops refsim rejects or skips change nothing and are left out.
 */
export async function traceProgram(name: string, t: SymTrace): Promise<TraceProgram> {
  const engine = await Engine.create({ scheme: "E2", capacity: KERNEL_CAPACITY });
  const b = new ProgramBuilder(name, engine);
  let index = 0;
  const target = {
    capacity: { batch: 1 },
    get opsExecuted() { return engine.opsExecuted; },
    runEncoded(words: Int32Array, count: number): Int32Array {
      const r = engine.runEncoded(words, count);
      const status = engine.lastStatuses();
      for (let k = 0; k < count; k++) {
        b.translate(words, k * W, r[k], status[k]);
        b.snapAll(`after op ${index + 1} (${describeOp(t, index)})`);
      }
      return r;
    },
    stats: () => engine.stats(),
    violations: () => engine.violations(),
  };
  const exec = new SymExecutor(target, { batch: 1 });
  for (index = 0; index < t.n; index++) {
    b.step = index;
    exec.run(t, index, index + 1);
  }
  const ran: number[] = [];
  for (let i = 0; i < t.n; i++) if (exec.status[i] === ST_OK) ran.push(i);
  return { builder: b, ran, results: exec.results.slice(0, t.n) };
}

function describeOp(t: SymTrace, i: number): string {
  return t.describe(i);
}

/**
 * The shrunk trace as a scenario file: its steps, and after the op where the
 * difference was seen an expect step for each page that differed (refsim's E2
 * values), so `refsim kernel-check FILE` shows the difference again.
 */
export function differenceScenario(name: string, t: SymTrace, results: ArrayLike<number>, description: string, engine: Engine, seen?: { step: number; pages: string[] }): Scenario {
  const { steps, names } = traceToSteps(t, results);
  if (seen) {
    const mmName = (mm: number) => {
      for (let j = 0; j < t.n; j++) if ((t.code(j) === abi.OP_MM_NEW || t.code(j) === abi.OP_FORK) && results[j] === mm) return names[j] || mm;
      return mm;
    };
    const expects = seen.pages.map((key) => {
      const [mm, addr] = key.split(":");
      return { label: `page ${addr} of ${mmName(Number(mm))}`, expect: { page: { mm: mmName(Number(mm)), addr } } };
    });
    steps.splice(seen.step + 1, 0, ...expects);
  }
  void engine;
  return { name, title: `refsim E2 and Linux 6.1 differ (found by refsim kernel-check)`, description, schemes: ["E2"], capacity: { ...KERNEL_CAPACITY }, steps };
}

export { describeStep };
