/**
 * One bench row per workload generator of src/workload/index.ts (when that file
 * exists): ops/s and atomics/op on the WASM engine and on the TypeScript model.
 * Each measured run gets a fresh target (generators use up mm ids); a short run
 * on a throwaway target warms the code up first. On the engine a workload runs as
 * a user does (runWorkload picks the generator inside the core where there is one:
 * page-fault1, page-fault3, mmap1, fork-heavy, shared-pages, gpu-churn, rdma-pins, mix); those rows also time the TypeScript generator
 * on the engine (RunOptions.generator "js") for comparison.
 */
import { existsSync } from "node:fs";
import { fileURLToPath, pathToFileURL } from "node:url";
import type { Targets, Factory } from "./targets.ts";
import type { OpTarget } from "../src/workload/target.ts";
import { OP_WORDS } from "../assembly/abi.ts";
import { collectGarbage } from "./gc.ts";

export interface WorkloadRow {
  name: string;
  target: "wasm" | "model";
  ops: number;
  /** ops/s of the generator run, wall time (median of the measured runs) */
  opsPerSec?: number;
  /** ops per CPU second of the generator run (process.cpuUsage), median */
  cpuOpsPerSec?: number;
  /**
   * wasm rows: the core's own rate for the same ops: the op stream this generator
   * produced, recorded and replayed through runEncoded in the same chunks on a fresh
   * engine, ops per CPU second (median), and the generator's share of it.
   */
  coreCpuOpsPerSec?: number;
  ofCore?: number;
  /** the same share on wall time */
  ofCoreWall?: number;
  /** wasm rows of a workload with a generator inside the core: which generator ran */
  generator?: "core" | "js";
  /** those rows: ops per CPU s of the TypeScript generator on the engine (median), for comparison */
  jsCpuOpsPerSec?: number;
  atomicsPerOp?: number;
  peakFrames?: number;
  violations?: number;
  /** page faults per CPU second of the generator run */
  faultsPerCpuSec?: number;
  /** all measured runs' ops/s (the reported one is the median) */
  runs?: number[];
  note?: string;
}

interface Summary {
  ops: number;
  faults?: number;
  opsPerSec: number;
  elapsedMs: number;
  atomicsPerOp: number;
  peakFrames?: number;
  violations?: { total: number };
  note?: string;
}

interface RunOptions {
  generator?: "auto" | "js";
  onCoreBatch?: (words: Int32Array, count: number) => void;
}

interface Def {
  name: string;
  run(target: OpTarget, params?: unknown, seed?: number, budget?: number, options?: RunOptions): Summary;
}

const INDEX = fileURLToPath(new URL("../src/workload/index.ts", import.meta.url));

const isDef = (x: unknown): x is Def =>
  typeof x === "object" && x !== null && typeof (x as Def).name === "string" && typeof (x as Def).run === "function";

/** Find the registry whatever its export name: an array, a Map or a record of workload definitions. */
function findDefs(mod: Record<string, unknown>): Def[] {
  for (const key of ["WORKLOADS", "workloads", "REGISTRY", "registry", "default", ...Object.keys(mod)]) {
    const v = mod[key];
    if (Array.isArray(v) && v.length && v.every(isDef)) return v;
    if (v instanceof Map && v.size && [...v.values()].every(isDef)) return [...v.values()];
    if (v && typeof v === "object" && !Array.isArray(v) && !(v instanceof Map)) {
      const vals = Object.values(v);
      if (vals.length && vals.every(isDef)) return vals as Def[];
    }
  }
  return [];
}

/** CPU seconds a measured sample should last at least (full bench; a quarter with --quick). */
const MIN_SAMPLE_CPU = 0.2;
/** At most this many runs (fresh targets) in one sample. */
const MAX_REPS = 16;

const cpuNow = (): number => { const u = process.cpuUsage(); return (u.user + u.system) / 1e6; };
const median = (xs: number[]): number => { const a = xs.slice().sort((x, y) => x - y); return a[a.length >> 1]; };

/**
 * Run def on t keeping a copy of every batch of records t ran, in its chunks: each runEncoded call
 * (an own property over the method, so an Engine stays an Engine and keeps its generator inside the
 * core) and each batch the core's generator ran (RunOptions.onCoreBatch). Together: the op stream.
 */
function recorded(t: OpTarget, chunks: Int32Array[], run: (t: OpTarget, options: RunOptions) => Summary): Summary {
  const runEncoded = t.runEncoded.bind(t);
  t.runEncoded = (w, n) => { chunks.push(w.slice(0, n * OP_WORDS)); return runEncoded(w, n); };
  return run(t, { onCoreBatch: (w, n) => { chunks.push(w.slice(0, n * OP_WORDS)); } });
}

interface Run { s: Summary; wall: number; cpu: number }

export async function runWorkloads(targets: Targets, o: { quick: boolean; seed: number; log: (s: string) => void }): Promise<WorkloadRow[] | string> {
  if (!existsSync(INDEX)) return "src/workload/index.ts does not exist yet";
  let defs: Def[];
  try {
    defs = findDefs((await import(pathToFileURL(INDEX).href)) as Record<string, unknown>);
  } catch (e) {
    return `src/workload/index.ts failed to load: ${(e as Error).message.split("\n")[0]}`;
  }
  if (!defs.length) return "src/workload/index.ts exports no registry of { name, run } workloads";
  const budget = o.quick ? 100_000 : 500_000;
  const repeats = o.quick ? 3 : 5;
  const rows: WorkloadRow[] = [];
  const kinds = ([["wasm", targets.wasm], ["model", targets.model]] as [WorkloadRow["target"], Factory | null][])
    .filter((k): k is [WorkloadRow["target"], Factory] => k[1] !== null);
  // A run of a core generator takes 10-20 ms, near the step of the CPU-time counter here (an A/A of
  // such runs read 1.44): a measured sample is `reps` runs back to back, each on its own fresh target
  // made before the clock starts, enough for about MIN_SAMPLE_CPU s; times are per run.
  // An engine's sample starts with the earlier samples' garbage collected (their engines' linear memories,
  // the model's objects: freeing them cost an engine sample up to several ms, 28.1 against 40.0 M ops per CPU s
  // on shared-pages, interleaved). The model's samples are not: a forced collection shrinks the heap it has
  // grown to, and it then ran 28 % slower (page-fault1, interleaved), which would inflate TS/WASM.
  const timed = async (create: Factory, f: (t: OpTarget) => Summary, reps = 1, collect = false): Promise<Run> => {
    const ts: OpTarget[] = [];
    for (let i = 0; i < reps; i++) ts.push(await create({}));
    if (collect) collectGarbage(); // bench/gc.ts
    const c0 = cpuNow();
    const w0 = performance.now();
    let s!: Summary;
    for (const t of ts) s = f(t);
    return { s, wall: (performance.now() - w0) / 1000 / reps, cpu: (cpuNow() - c0) / reps };
  };
  const minSample = o.quick ? MIN_SAMPLE_CPU / 4 : MIN_SAMPLE_CPU;
  const repsFor = (cpuPerRun: number): number => Math.max(1, Math.min(MAX_REPS, Math.ceil(minSample / Math.max(cpuPerRun, 1e-4))));
  for (const def of defs) {
    // The WASM rows first: a warm-up run records the generator's op stream (a copy of
    // every chunk), then measured rounds alternate a generator run and a replay of that
    // stream through runEncoded in the same chunks on a fresh engine (the core's own
    // rate for the same ops), each on CPU time. The model's runs come after, so its
    // garbage is not collected during the WASM rounds.
    const runs = new Map<string, Run[]>(kinds.map(([k]) => [k, []]));
    const replays: number[] = [];
    const wallReplays: number[] = [];
    const errors = new Map<string, string>();
    // a generator inside the core issued some ops of the warm-up run (onCoreBatch was called)
    let inCore = false;
    const jsRuns: Run[] = [];
    for (const [kind, create] of kinds) {
      let stream: Int32Array[] = [];
      let reps = 1;
      for (let round = -1; round < repeats; round++) {
        try {
          const chunks: Int32Array[] = [];
          const record = kind === "wasm" && round < 0;
          const b = kind === "model" && round < 0 ? Math.min(budget, 100_000) : budget;
          const r = await timed(create, (t) => record
            ? recorded(t, chunks, (tt, opts) => def.run(tt, undefined, o.seed, b, {
              onCoreBatch: (w, n) => { inCore = true; opts.onCoreBatch!(w, n); },
            }))
            : def.run(t, undefined, o.seed, b), round < 0 ? 1 : reps, kind === "wasm");
          if (record) stream = chunks;
          // the warm-up's time sets the runs per sample (the model's warm-up runs at most 100000 ops)
          if (round < 0) { reps = repsFor((r.cpu * budget) / b); continue; }
          runs.get(kind)!.push(r);
          if (kind === "wasm") {
            const rep = await timed(targets.wasm, (t) => {
              for (const w of stream) t.runEncoded(w, w.length / OP_WORDS);
              return r.s;
            }, reps, true);
            replays.push(rep.cpu);
            wallReplays.push(rep.wall);
          }
        } catch (e) {
          errors.set(kind, (e as Error).message.split("\n")[0]);
          break;
        }
      }
      // the TypeScript generator on the engine, the way every op went before the core had one: after the
      // rounds above, so its garbage is not collected (on CPU time) during them
      if (kind === "wasm" && inCore && !errors.has(kind)) {
        for (let round = 0; round < repeats; round++) jsRuns.push(await timed(targets.wasm, (t) => def.run(t, undefined, o.seed, budget, { generator: "js" }), reps));
      }
    }
    for (const [kind] of [["wasm"], ["model"]] as [WorkloadRow["target"]][]) {
      if (!kinds.some(([k]) => k === kind)) {
        rows.push({ name: def.name, target: kind, ops: 0, note: targets.modelNote });
        continue;
      }
      const err = errors.get(kind);
      if (err) {
        rows.push({ name: def.name, target: kind, ops: 0, note: `error: ${err}` });
        o.log(`workload ${def.name} ${kind}: ERROR ${err}`);
        continue;
      }
      const measured = runs.get(kind)!;
      const s = measured[0].s;
      const ops = s.ops;
      const cpuOps = median(measured.map((r) => ops / r.cpu));
      const row: WorkloadRow = {
        name: def.name, target: kind, ops, opsPerSec: median(measured.map((r) => ops / r.wall)), cpuOpsPerSec: cpuOps,
        atomicsPerOp: s.atomicsPerOp, peakFrames: s.peakFrames, violations: s.violations?.total,
        faultsPerCpuSec: s.faults !== undefined ? median(measured.map((r) => r.s.faults! / r.cpu)) : undefined,
        runs: measured.map((r) => ops / r.wall), note: s.note,
      };
      if (kind === "wasm" && replays.length) {
        row.coreCpuOpsPerSec = median(replays.map((c) => ops / c));
        // the generator's share of the core's rate, round by round (the median of the ratios)
        row.ofCore = median(measured.map((r, i) => replays[i] / r.cpu));
        row.ofCoreWall = median(measured.map((r, i) => wallReplays[i] / r.wall));
        row.generator = inCore ? "core" : "js";
        if (jsRuns.length) row.jsCpuOpsPerSec = median(jsRuns.map((r) => ops / r.cpu));
      }
      rows.push(row);
      o.log(`workload ${def.name} ${kind}: ${(cpuOps / 1e6).toFixed(2)} M ops per CPU s${row.ofCore ? ` (${(row.ofCore * 100).toFixed(0)}% of the core's ${(row.coreCpuOpsPerSec! / 1e6).toFixed(2)} M for the same ops; wall ${((row.ofCoreWall ?? 0) * 100).toFixed(0)}%)` : ""}${row.jsCpuOpsPerSec ? `, generator in the core (the TypeScript one: ${(row.jsCpuOpsPerSec / 1e6).toFixed(2)} M)` : ""}${row.faultsPerCpuSec ? `, ${(row.faultsPerCpuSec / 1e6).toFixed(2)} M faults per CPU s` : ""}, ${s.atomicsPerOp.toFixed(2)} atomics/op, ${s.violations?.total ?? "?"} violations`);
    }
  }
  return rows;
}
