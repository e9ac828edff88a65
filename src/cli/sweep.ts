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
import { availableParallelism, hostname } from "node:os";
import { extname } from "node:path";
import { fileURLToPath } from "node:url";
import { RefsimError } from "../core/errors.ts";
import { loadScenario } from "../scenario/load.ts";
import { planSweep, parseShard, shardRuns, assembleResults, startMeta, type RunSpec, type SweepSpec, type Shard } from "../experiment/sweep.ts";
import { checkResults, mergeResults, toCsv, type ResultsDoc, type RunResult, type RunTiming } from "../experiment/results.ts";
import { nowMs } from "../experiment/meta.ts";
import { OutputFile, writeOutputs } from "./output.ts";
import { readJsonFile } from "./input.ts";

/** Read a JSON file, naming it in errors (strict UTF-8, line and column, no key twice). */
export function readJson(path: string, what: string): unknown {
  return readJsonFile(path, what);
}

/** The results JSON file and the CSV beside it (same name, .csv), checked before the run. */
export function checkResultsOut(out: string | undefined): { json: OutputFile; csv: OutputFile } | undefined {
  if (out === undefined) return undefined;
  return { json: OutputFile.check(out, "--out"), csv: OutputFile.check(out.replace(/(\.json)?$/i, ".csv"), "--out (CSV)") };
}

/** Write results JSON and CSV to checked outputs; or the JSON to stdout. */
export function writeResults(doc: ResultsDoc, out: { json: OutputFile; csv: OutputFile } | undefined): void {
  const json = JSON.stringify(doc, null, 1) + "\n";
  if (!out) {
    process.stdout.write(json);
    return;
  }
  writeOutputs([[out.json, json], [out.csv, toCsv(doc)]]);
  process.stderr.write(`refsim: wrote ${out.json.path} (${doc.runs.length} runs) and ${out.csv.path}\n`);
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
  const out = checkResultsOut(o.out);
  const plan = await planSweep(spec, { loadScenario });
  const mine = shardRuns(plan.runs, shard);
  const meta = { ...startMeta(shard, Math.min(workers, Math.max(1, mine.length))), host: hostname() };
  if (!o.quiet) process.stderr.write(`refsim sweep ${plan.info.name}: ${mine.length} of ${plan.info.runs} runs${shard ? ` (shard ${o.shard})` : ""} on ${meta.workers} worker(s)\n`);
  const t0 = nowMs();
  const done = await runOnWorkers(mine, workers);
  meta.wallMs = nowMs() - t0;
  for (const d of done) meta.runs[d.result.id] = { ...d.timing, worker: d.worker };
  const doc = assembleResults(plan.info, done.map((d) => d.result), meta);
  writeResults(doc, out);
  return doc.runs.some((r) => r.error || r.passed === false) ? 1 : 0;
}

export async function mergeCommand(args: string[], o: { out?: string; partial?: boolean }): Promise<number> {
  if (!args.length) throw new RefsimError("merge: name the results files to merge", { field: "inputs" });
  const out = checkResultsOut(o.out);
  const docs = args.map((a) => checkResults(readJson(a, "merge"), a));
  const { complete, ...merged } = mergeResults(docs, { allowPartial: !!o.partial });
  writeResults(merged, out);
  if (!complete) process.stderr.write(`refsim: merged ${merged.runs.length} of ${merged.sweep.runs} runs (partial)\n`);
  return 0;
}
