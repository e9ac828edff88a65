/**
 * `refsim sweep <sweep.json> [--workers N] [--shard i/N|auto] [--out results.json] [--resume]`:
 * plan the sweep, keep this shard's runs, fan them out over worker threads (one
 * engine per worker, fresh per run) and write the results JSON (plus a CSV beside
 * it). `refsim merge a.json b.json --out all.json` joins shards.
 *
 * Built to survive a cluster: with --out every finished run is appended at once
 * to `<out>.runs.ndjson` (stream.ts), so a killed task loses at most the runs in
 * progress, and `--resume` runs only what that file does not hold yet. A run
 * whose worker crashes or dies is recorded as failed (meta.failed, and a line in
 * the stream) and the sweep goes on with a new worker; --resume runs it again.
 * `--workers` defaults to the CPUs this process may use (affinity and cgroup
 * limit, cpus.ts); `--shard auto` reads Slurm's or Kubernetes' task index
 * (shard-env.ts). Progress (runs done/total, ETA) on a terminal.
 */
import { Worker } from "node:worker_threads";
import { appendFileSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { extname } from "node:path";
import { fileURLToPath } from "node:url";
import { RefsimError } from "../core/errors.ts";
import { loadScenario } from "../scenario/load.ts";
import { planSweep, parseShard, shardRuns, assembleResults, startMeta, type RunSpec, type SweepSpec, type Shard } from "../experiment/sweep.ts";
import { checkResults, mergeResults, toCsv, toSeriesCsv, type FailedRun, type ResultsDoc, type ResultsMeta, type RunResult, type RunTiming } from "../experiment/results.ts";
import { readStream, streamHeader, runLine, failedLine, type Stream, type StreamedRun } from "../experiment/stream.ts";
import { shardFromEnv } from "../experiment/shard-env.ts";
import { nowMs } from "../experiment/meta.ts";
import { OutputFile, writeOutputs } from "./output.ts";
import { readJsonDoc, readJsonFile } from "./input.ts";
import { countArg } from "./flags.ts";
import { usableCpus } from "./cpus.ts";
import { Progress } from "./progress.ts";

/** Read a JSON file, naming it in errors (strict UTF-8, line and column, no key twice). */
export function readJson(path: string, what: string): unknown {
  return readJsonFile(path, what);
}

export interface ResultsOut { json: OutputFile; csv: OutputFile; series: OutputFile }

/**
 * The results JSON file and, beside it, the CSV of one row per run (same name,
 * .csv) and the long-format time series (.series.csv), checked before the run.
 */
export function checkResultsOut(out: string | undefined): ResultsOut | undefined {
  if (out === undefined) return undefined;
  return {
    json: OutputFile.check(out, "--out"),
    csv: OutputFile.check(out.replace(/(\.json)?$/i, ".csv"), "--out (CSV)"),
    series: OutputFile.check(out.replace(/(\.json)?$/i, ".series.csv"), "--out (series CSV)"),
  };
}

/** Write results JSON and the CSVs to checked outputs; or the JSON to stdout. */
export function writeResults(doc: ResultsDoc, out: ResultsOut | undefined): void {
  const json = JSON.stringify(doc, null, 1) + "\n";
  if (!out) {
    process.stdout.write(json);
    return;
  }
  writeOutputs([[out.json, json], [out.csv, toCsv(doc)], [out.series, toSeriesCsv(doc)]]);
  process.stderr.write(`refsim: wrote ${out.json.path} (${doc.runs.length} runs), ${out.csv.path} and ${out.series.path}\n`);
}

/** The stream file beside a results file: results.json -> results.runs.ndjson. */
export function streamPath(out: string): string {
  return out.replace(/(\.json)?$/i, ".runs.ndjson");
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

export interface WorkerCallbacks {
  onDone?: (r: StreamedRun) => void;
  onFailed?: (f: FailedRun) => void;
}

/**
 * Run planned runs on `workers` worker threads; results in any order. A run whose
 * worker reports a crash, or dies under it, is reported as failed and a fresh
 * worker takes the next run: one bad run never aborts the others.
 */
export async function runOnWorkers(runs: RunSpec[], workers: number, cb: WorkerCallbacks = {}): Promise<{ done: StreamedRun[]; failed: FailedRun[] }> {
  const here = fileURLToPath(import.meta.url);
  const workerUrl = new URL(`./sweep-worker${extname(here)}`, import.meta.url);
  const queue = [...runs];
  const done: StreamedRun[] = [];
  const failed: FailedRun[] = [];
  const n = Math.max(1, Math.min(workers, runs.length));
  const fail = (run: RunSpec, error: string, worker: number) => {
    const f = { index: run.index, id: run.id, error, worker };
    failed.push(f);
    cb.onFailed?.(f);
  };
  /** One worker slot: a thread at a time, replaced when it dies, until the queue is empty. */
  const slot = (w: number) => new Promise<void>((resolveSlot) => {
    let current: RunSpec | undefined;
    let worker = startWorker(workerUrl, w);
    const next = () => {
      current = queue.shift();
      worker.postMessage(current ? { run: current } : { exit: true });
    };
    const attach = () => {
      worker.on("message", (m: { ready?: boolean; error?: string; result?: RunResult; timing?: RunTiming }) => {
        if (m.ready) return next();
        if (m.error && current) fail(current, m.error, w);
        if (m.result) {
          const r = { result: m.result, timing: m.timing!, worker: w };
          done.push(r);
          cb.onDone?.(r);
        }
        next();
      });
      worker.on("error", () => {}); // the exit handler below decides
      worker.on("exit", (code) => {
        if (!current) return resolveSlot();
        fail(current, `the worker thread exited (code ${code}) while running it`, w);
        current = undefined;
        if (!queue.length) return resolveSlot();
        worker = startWorker(workerUrl, w);
        attach();
      });
    };
    attach();
  });
  await Promise.all(Array.from({ length: n }, (_, w) => slot(w)));
  return { done, failed };
}

export interface SweepOptions {
  workers?: string;
  shard?: string;
  out?: string;
  resume?: boolean;
  quiet?: boolean;
  progress?: boolean;
}

/** This task's shard: --shard i/N, --shard auto (batch system), or none. */
export function shardOption(s: string | undefined, env: Record<string, string | undefined> = process.env): (Shard & { from?: string }) | undefined {
  if (s === undefined) return undefined;
  return s.trim() === "auto" ? shardFromEnv(env) : parseShard(s);
}

/** Finished runs from an earlier, interrupted attempt of the same sweep and shard (--resume). */
function resumeFrom(path: string, fingerprint: string, shard: string | null): Stream | undefined {
  if (!existsSync(path)) return undefined;
  const s = readStream(readFileSync(path, "utf8"), path);
  if (s.header.sweep.fingerprint !== fingerprint) {
    throw new RefsimError(`--resume: ${path} is from another sweep (fingerprint ${s.header.sweep.fingerprint}, this sweep ${fingerprint}); move it away or run without --resume`, { field: "resume" });
  }
  if (s.header.shard !== shard) throw new RefsimError(`--resume: ${path} is shard ${s.header.shard ?? "(none)"}, this is ${shard ?? "(none)"}`, { field: "resume" });
  return s;
}

export async function sweepCommand(args: string[], o: SweepOptions): Promise<number> {
  if (args.length !== 1) throw new RefsimError("sweep: name one sweep file (JSON: name, schemes, scenarios and/or workloads, seeds)", { field: "sweep" });
  const { value, layout } = readJsonDoc(args[0], "sweep", { paths: true });
  const shard = shardOption(o.shard);
  const cpus = usableCpus();
  const workers = o.workers === undefined ? cpus.cpus : countArg(o.workers, "--workers", 1, 4096);
  const out = checkResultsOut(o.out);
  if (o.resume && !out) throw new RefsimError("--resume needs --out (the results file whose run stream it continues)", { field: "resume" });
  const plan = await planSweep(value as SweepSpec, { loadScenario, source: args[0], lines: layout.lines });
  const mine = shardRuns(plan.runs, shard);
  const shardText = shard ? `${shard.index}/${shard.count}` : null;
  const meta: ResultsMeta = { ...startMeta(shard, Math.min(workers, Math.max(1, mine.length))), host: hostname() };

  const stream = out ? streamPath(out.json.path) : undefined;
  const before = stream && o.resume ? resumeFrom(stream, plan.info.fingerprint, shardText) : undefined;
  const finished = new Map(before?.runs ?? []);
  const todo = mine.filter((r) => !finished.has(r.id));
  if (stream) {
    if (before) {
      if (before.torn) appendFileSync(stream, "\n"); // end the torn line, so the next one starts clean
    } else {
      OutputFile.check(stream, "--out (run stream)");
      writeFileSync(stream, streamHeader(plan.info, shardText));
    }
  }
  const say = (l: string) => { if (!o.quiet) process.stderr.write(`${l}\n`); };
  say(`refsim sweep ${plan.info.name}: ${mine.length} of ${plan.info.runs} runs${shard ? ` (shard ${shardText}${shard.from ? `, ${shard.from}` : ""})` : ""} on ${meta.workers} worker(s)`
    + `${o.workers === undefined ? ` (${cpus.why})` : ""}${before ? `; resuming: ${finished.size} done, ${todo.length} to run` : ""}${stream ? `; streaming to ${stream}` : ""}`);

  const progress = new Progress(`sweep ${plan.info.name}`, mine.length, "runs", !!o.progress && !o.quiet);
  progress.update(finished.size);
  const t0 = nowMs();
  const { done, failed } = await runOnWorkers(todo, workers, {
    onDone: (r) => {
      if (stream) appendFileSync(stream, runLine(r));
      progress.add();
    },
    onFailed: (f) => {
      if (stream) appendFileSync(stream, failedLine(f));
      progress.add();
      process.stderr.write(`refsim: run ${f.index} (${f.id}) failed: ${f.error.split("\n")[0]}\n`);
    },
  });
  progress.end();
  meta.wallMs = nowMs() - t0;
  for (const d of done) finished.set(d.result.id, d);
  for (const d of finished.values()) meta.runs[d.result.id] = { ...d.timing, worker: d.worker };
  if (failed.length) meta.failed = failed;
  const doc = assembleResults(plan.info, [...finished.values()].map((d) => d.result), meta);
  writeResults(doc, out);
  if (failed.length) process.stderr.write(`refsim: ${failed.length} run(s) failed; they are listed in meta.failed${out ? ", and --resume runs them again" : ""}\n`);
  return failed.length || doc.runs.some((r) => r.error || r.passed === false) ? 1 : 0;
}

/** A results file, or a run stream (`.ndjson`, e.g. of a killed shard) read as one. */
function readResultsOrStream(path: string): ResultsDoc {
  if (!/\.ndjson$/i.test(path)) return checkResults(readJson(path, "merge"), path);
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    throw new RefsimError(`merge: cannot read '${path}': ${(e as Error).message}`, { field: "merge", code: "NOT_FOUND" });
  }
  const s = readStream(text, path);
  const meta: ResultsMeta = { ...startMeta(s.header.shard ? parseShard(s.header.shard) : undefined, 0), runs: {} };
  for (const r of s.runs.values()) meta.runs[r.result.id] = { ...r.timing, worker: r.worker };
  if (s.failed.size) meta.failed = [...s.failed.values()];
  return assembleResults(s.header.sweep, [...s.runs.values()].map((r) => r.result), meta);
}

export async function mergeCommand(args: string[], o: { out?: string; partial?: boolean }): Promise<number> {
  if (!args.length) throw new RefsimError("merge: name the results files to merge", { field: "inputs" });
  const out = checkResultsOut(o.out);
  const docs = args.map(readResultsOrStream);
  const { complete, ...merged } = mergeResults(docs, { allowPartial: !!o.partial });
  writeResults(merged, out);
  if (!complete) process.stderr.write(`refsim: merged ${merged.runs.length} of ${merged.sweep.runs} runs (partial)\n`);
  return 0;
}
