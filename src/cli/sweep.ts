/**
 * `refsim sweep <sweep.json> [--workers N] [--shard i/N] [--out results.json]`:
 * plan the sweep, keep this shard's runs, fan them out over worker threads (one
 * engine per worker, fresh per run) and write the results JSON (plus a CSV beside
 * it). `refsim merge a.json b.json --out all.json` joins shards.
 *
 * A batch system runs one shard per task: Slurm array jobs with
 * `--shard $SLURM_ARRAY_TASK_ID/$SLURM_ARRAY_TASK_COUNT`, Kubernetes indexed Jobs
 * with `--shard $JOB_COMPLETION_INDEX/<completions>`.
 */
import { Worker } from "node:worker_threads";
import { readFileSync, writeFileSync, mkdirSync } from "node:fs";
import { availableParallelism, hostname } from "node:os";
import { dirname, extname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { RefsimError } from "../core/errors.ts";
import { loadScenario } from "../scenario/load.ts";
import { planSweep, parseShard, shardRuns, assembleResults, startMeta, type RunSpec, type SweepSpec, type Shard } from "../experiment/sweep.ts";
import { checkResults, mergeResults, toCsv, type ResultsDoc, type RunResult, type RunTiming } from "../experiment/results.ts";
import { nowMs } from "../experiment/meta.ts";

/** Read a JSON file, naming it in errors. */
export function readJson(path: string, what: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    throw new RefsimError(`${what}: cannot read '${path}': ${(e as Error).message}`, { field: what, code: "NOT_FOUND" });
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new RefsimError(`${what}: '${path}' is not valid JSON: ${(e as Error).message}`, { field: what });
  }
}

/** Write results JSON to `out` and the CSV beside it (same name, .csv); or JSON to stdout. */
export function writeResults(doc: ResultsDoc, out: string | undefined): void {
  const json = JSON.stringify(doc, null, 1) + "\n";
  if (!out) {
    process.stdout.write(json);
    return;
  }
  mkdirSync(dirname(resolve(out)), { recursive: true });
  writeFileSync(out, json);
  const csv = out.replace(/(\.json)?$/i, ".csv");
  writeFileSync(csv, toCsv(doc));
  process.stderr.write(`refsim: wrote ${out} (${doc.runs.length} runs) and ${csv}\n`);
}

/**
 * A worker on `url`. From TypeScript sources (run through tsx) the worker first
 * registers tsx's loader, since Node does not hand a parent's loader hooks to workers.
 */
function startWorker(url: URL, worker: number): Worker {
  if (!url.pathname.endsWith(".ts")) return new Worker(url, { workerData: { worker } });
  const tsx = import.meta.resolve("tsx/esm/api");
  const boot = `import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(url.href)}); })`;
  return new Worker(boot, { eval: true, workerData: { worker } });
}

/** Run planned runs on `workers` worker threads; results in any order. */
export async function runOnWorkers(runs: RunSpec[], workers: number, onDone?: (r: RunResult) => void): Promise<{ result: RunResult; timing: RunTiming; worker: number }[]> {
  const here = fileURLToPath(import.meta.url);
  const workerUrl = new URL(`./sweep-worker${extname(here)}`, import.meta.url);
  const queue = [...runs];
  const done: { result: RunResult; timing: RunTiming; worker: number }[] = [];
  const n = Math.max(1, Math.min(workers, runs.length));
  await Promise.all(
    Array.from({ length: n }, (_, w) => new Promise<void>((resolveWorker, reject) => {
      const worker = startWorker(workerUrl, w);
      let failed = false;
      const next = () => {
        const run = queue.shift();
        if (run) worker.postMessage({ run });
        else worker.postMessage({ exit: true });
      };
      worker.on("message", (m: { ready?: boolean; error?: string; result?: RunResult; timing?: RunTiming; worker?: number }) => {
        if (m.error) {
          failed = true;
          queue.length = 0;
          reject(new Error(`sweep worker ${w}: ${m.error}`));
          void worker.terminate();
          return;
        }
        if (m.result) {
          done.push({ result: m.result, timing: m.timing!, worker: w });
          onDone?.(m.result);
        }
        next();
      });
      worker.on("error", (e) => {
        failed = true;
        reject(e);
      });
      worker.on("exit", (code) => {
        if (failed) return;
        if (code !== 0) reject(new Error(`sweep worker ${w} exited with code ${code}`));
        else resolveWorker();
      });
    })),
  );
  return done;
}

export interface SweepOptions {
  workers?: string;
  shard?: string;
  out?: string;
  quiet?: boolean;
}

export async function sweepCommand(args: string[], o: SweepOptions): Promise<number> {
  if (args.length !== 1) throw new RefsimError("sweep: name one sweep file (JSON: name, schemes, scenarios and/or workloads, seeds)", { field: "sweep" });
  const spec = readJson(args[0], "sweep") as SweepSpec;
  const shard: Shard | undefined = o.shard ? parseShard(o.shard) : undefined;
  const workers = o.workers === undefined ? availableParallelism() : Number(o.workers);
  if (!Number.isInteger(workers) || workers < 1) throw new RefsimError(`--workers must be a whole number >= 1, got '${o.workers}'`, { field: "workers" });
  const plan = await planSweep(spec, { loadScenario });
  const mine = shardRuns(plan.runs, shard);
  const meta = { ...startMeta(shard, Math.min(workers, Math.max(1, mine.length))), host: hostname() };
  if (!o.quiet) process.stderr.write(`refsim sweep ${plan.info.name}: ${mine.length} of ${plan.info.runs} runs${shard ? ` (shard ${o.shard})` : ""} on ${meta.workers} worker(s)\n`);
  const t0 = nowMs();
  const done = await runOnWorkers(mine, workers);
  meta.wallMs = nowMs() - t0;
  for (const d of done) meta.runs[d.result.id] = { ...d.timing, worker: d.worker };
  const doc = assembleResults(plan.info, done.map((d) => d.result), meta);
  writeResults(doc, o.out);
  return doc.runs.some((r) => r.error || r.passed === false) ? 1 : 0;
}

export async function mergeCommand(args: string[], o: { out?: string; partial?: boolean }): Promise<number> {
  if (!args.length) throw new RefsimError("merge: name the results files to merge", { field: "inputs" });
  const docs = args.map((a) => checkResults(readJson(a, "merge"), a));
  const { complete, ...merged } = mergeResults(docs, { allowPartial: !!o.partial });
  writeResults(merged, o.out);
  if (!complete) process.stderr.write(`refsim: merged ${merged.runs.length} of ${merged.sweep.runs} runs (partial)\n`);
  return 0;
}
