/**
 * A sweep's results streamed as they finish, one JSON line per run (NDJSON), so a
 * killed shard loses at most the runs in progress and `refsim sweep --resume`
 * runs only what is missing. The first line names the sweep (its fingerprint)
 * and the shard; every other line is one finished run with its wall-clock timing
 * and worker, or one failed run (the reason; it is run again on resume). A torn
 * last line (the process was killed while writing it) is ignored.
 *
 * Runtime-neutral: the CLI appends the lines to `<out>.runs.ndjson`.
 *
 * @example
 * ```ts
 * import { streamHeader, readStream } from "./stream.ts";
 * const info = { name: "s", runs: 2, every: 256, fingerprint: "abcd1234", schemes: {} };
 * const text = streamHeader(info, null) + '{"failed":{"index":1,"id":"x","error":"boom","worker":0}}\n{"run":';
 * console.log(readStream(text, "s.ndjson").failed.size, readStream(text, "s.ndjson").torn); // 1 true
 * ```
 */
import { RefsimError } from "../core/errors.ts";
import { RESULTS_FORMAT } from "./meta.ts";
import type { FailedRun, RunResult, RunTiming, SweepInfo } from "./results.ts";

export const STREAM_FORMAT = "refsim-run-stream/1";

export interface StreamHeader {
  stream: typeof STREAM_FORMAT;
  format: string;
  sweep: SweepInfo;
  shard: string | null;
}

export interface StreamedRun {
  result: RunResult;
  timing: RunTiming;
  worker: number;
}

export interface Stream {
  header: StreamHeader;
  /** Finished runs by id (a run written twice keeps its last line). */
  runs: Map<string, StreamedRun>;
  /** Failed runs by id, unless a later line finished them. */
  failed: Map<string, FailedRun>;
  /** The last line was cut short. */
  torn: boolean;
}

export function streamHeader(sweep: SweepInfo, shard: string | null): string {
  const h: StreamHeader = { stream: STREAM_FORMAT, format: RESULTS_FORMAT, sweep, shard };
  return JSON.stringify(h) + "\n";
}

export function runLine(r: StreamedRun): string {
  return JSON.stringify({ run: r.result, timing: r.timing, worker: r.worker }) + "\n";
}

export function failedLine(f: FailedRun): string {
  return JSON.stringify({ failed: f }) + "\n";
}

/** Parse a stream file; `source` names it in errors. */
export function readStream(text: string, source: string): Stream {
  const lines = text.split("\n");
  const torn = lines[lines.length - 1] !== "";
  if (!torn) lines.pop();
  let header: StreamHeader | undefined;
  const runs = new Map<string, StreamedRun>();
  const failed = new Map<string, FailedRun>();
  lines.forEach((line, i) => {
    if (torn && i === lines.length - 1) return;
    let v: { stream?: string; run?: RunResult; timing?: RunTiming; worker?: number; failed?: FailedRun };
    try {
      v = JSON.parse(line);
    } catch (e) {
      throw new RefsimError(`${source} line ${i + 1}: not a JSON line (${(e as Error).message})`, { field: "stream", code: "BAD_STREAM" });
    }
    if (i === 0) {
      if (v.stream !== STREAM_FORMAT) throw new RefsimError(`${source} line 1: not a refsim run stream (expected "stream": "${STREAM_FORMAT}")`, { field: "stream", code: "BAD_STREAM" });
      header = v as unknown as StreamHeader;
    } else if (v.run) {
      runs.set(v.run.id, { result: v.run, timing: v.timing ?? { ms: 0, opsPerSec: 0 }, worker: v.worker ?? 0 });
      failed.delete(v.run.id);
    } else if (v.failed) {
      if (!runs.has(v.failed.id)) failed.set(v.failed.id, v.failed);
    } else {
      throw new RefsimError(`${source} line ${i + 1}: neither a run nor a failed run`, { field: "stream", code: "BAD_STREAM" });
    }
  });
  if (!header) throw new RefsimError(`${source}: empty run stream (no header line)`, { field: "stream", code: "BAD_STREAM" });
  return { header, runs, failed, torn };
}
