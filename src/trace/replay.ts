/**
 * Replaying a trace: the whole file is checked first (header, every block's
 * checksum, every record), so a truncated or corrupted trace is rejected with the
 * byte offset before a single op runs. Then a fresh engine with the recorded
 * scheme and capacity runs the ops, and the replay compares what the recording
 * saw: the hash of every op's result, the final statistics and the violation
 * records. The trace's bytes are only read.
 *
 * @example
 * ```ts
 * import { Engine } from "../core/engine.ts";
 * import { runWorkload } from "../workload/index.ts";
 * import { TraceRecorder } from "./record.ts";
 * import { replayTrace } from "./replay.ts";
 * const rec = new TraceRecorder(await Engine.create({ scheme: "E2" }), { source: "workload fork-heavy", seed: 3 });
 * runWorkload("fork-heavy", rec, {}, 3, 10_000);
 * const r = await replayTrace(rec.finish());
 * console.log(r.ops, r.identical); // ... true
 * ```
 */
import * as abi from "../../assembly/abi.ts";
import { Engine, type Capacity } from "../core/engine.ts";
import { RefsimError } from "../core/errors.ts";
import { OP_NAME_BY_CODE } from "../core/ops.ts";
import { resolveScheme, type SchemeInput } from "../scheme/resolve.ts";
import { decodeTrace, fnvWords, FNV_OFFSET, HEADER_BYTES, type DecodedTrace, type TraceMeta } from "./format.ts";
import { TraceRecorder, finalState } from "./record.ts";

const W = abi.OP_WORDS;

export interface ReplayOptions {
  /** This build's engine version; a different one in the trace is reported in `warnings`. */
  engineVersion?: string;
  /** Record the replay again (its bytes equal the original's when the replay is identical). */
  rerecord?: boolean;
  /** Replay under this scheme instead of the recorded one ("record once, compare eras"). */
  scheme?: SchemeInput;
}

/** The recorded scheme's name, as the header holds it. */
export function recordedSchemeName(meta: TraceMeta): string {
  const s = meta.scheme as { name?: unknown } | string;
  return typeof s === "string" ? s : typeof s?.name === "string" ? s.name : "?";
}

/** A fresh engine with the trace's capacity and its scheme (or `scheme` instead). */
export async function traceEngine(meta: TraceMeta, scheme?: SchemeInput): Promise<Engine> {
  let resolved;
  try {
    resolved = resolveScheme(scheme ?? meta.scheme as SchemeInput);
  } catch (e) {
    if (scheme !== undefined) throw e;
    throw new RefsimError(`trace: the header's scheme (meta at byte offset ${HEADER_BYTES}) is not usable: ${(e as Error).message}`, { field: "scheme", code: "BAD_TRACE" });
  }
  try {
    return await Engine.create({ scheme: resolved, capacity: meta.capacity as Partial<Capacity> });
  } catch (e) {
    if (!(e instanceof RefsimError)) throw e;
    throw new RefsimError(`trace: the header's capacity (meta at byte offset ${HEADER_BYTES}) is not usable: ${e.message}`, { field: e.field, index: HEADER_BYTES, code: "BAD_TRACE" });
  }
}

export interface ReplayResult {
  meta: TraceMeta;
  ops: number;
  engine: Engine;
  /** Results, final statistics and violation records all equal what was recorded. */
  identical: boolean;
  /** What differed, one line each. */
  differences: string[];
  warnings: string[];
  /** The replay recorded again, when asked. */
  bytes?: Uint8Array;
}

/** Run a checked trace on a fresh engine and compare with the recording. */
export async function replayTrace(bytes: Uint8Array, options: ReplayOptions = {}): Promise<ReplayResult> {
  const t: DecodedTrace = decodeTrace(bytes); // throws before anything runs
  const meta = t.meta;
  const warnings: string[] = [];
  if (options.engineVersion && meta.engineVersion !== options.engineVersion) {
    warnings.push(`recorded by engine ${meta.engineVersion}, replayed by ${options.engineVersion}: the replay may differ`);
  }
  const engine = await traceEngine(meta, options.scheme);
  if (options.scheme !== undefined) {
    warnings.push(`replayed under ${engine.scheme.name}, recorded under ${recordedSchemeName(meta)}: differences are what the schemes do differently`);
  }
  const extra: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(meta)) if (!["engineVersion", "scheme", "capacity", "seed", "source", "final"].includes(k)) extra[k] = v;
  const rec = options.rerecord
    ? new TraceRecorder(engine, { source: meta.source, seed: meta.seed, engineVersion: meta.engineVersion, extra, noResultsHash: meta.final?.resultsHash === null })
    : undefined;
  const target = rec ?? engine;
  const cap = engine.capacity.batch;
  let h = FNV_OFFSET;
  let stopped: string | undefined;
  replay: for (const block of t.words()) {
    for (let s = 0; s < block.ops; s += cap) {
      const n = Math.min(cap, block.ops - s);
      let r: Int32Array;
      try {
        r = target.runEncoded(block.words.subarray(s * W, (s + n) * W), n);
      } catch (e) {
        if (!(e instanceof RefsimError) || typeof e.index !== "number") throw e;
        const index = block.firstOp + s + e.index;
        const name = OP_NAME_BY_CODE[block.words[(s + e.index) * W]] ?? "?";
        if (options.scheme !== undefined) {
          // Under another scheme an op may name what this one never made (a handle a refused GUP did not return).
          stopped = `stopped at op ${index} (${name}, record at byte offset ${t.offsetOf(index)}), which ${engine.scheme.name} rejects: ${e.message}; ${index} ops ran`;
          break replay;
        }
        throw new RefsimError(
          `trace: replay diverged at op ${index} (${name}, record at byte offset ${t.offsetOf(index)}): the engine rejected it: ${e.message}; ${index} ops ran`,
          { op: e.op, field: e.field, index, code: "REPLAY_DIVERGED" },
        );
      }
      h = fnvWords(r, n, h);
    }
  }
  const differences: string[] = stopped ? [stopped] : [];
  const want = meta.final;
  if (!want) {
    warnings.push("the trace records no final state to compare with");
  } else {
    const got = finalState(engine, h);
    if (want.resultsHash !== null && want.resultsHash !== got.resultsHash) differences.push(`op results differ (hash ${hex(got.resultsHash!)}, recorded ${hex(want.resultsHash)})`);
    if (want.resultsHash === null) warnings.push("the recording did not observe every op's result (a rejected op ended a batch); results not compared");
    if (JSON.stringify(want.stats) !== JSON.stringify(got.stats)) differences.push(`statistics differ: ${statsDiff(want.stats, got.stats)}`);
    if (want.violations !== got.violations || want.violationsHash !== got.violationsHash) {
      differences.push(`violation records differ (${got.violations}, recorded ${want.violations})`);
    }
  }
  return {
    meta, ops: t.ops, engine, identical: differences.length === 0, differences, warnings,
    ...(rec ? { bytes: rec.finish() } : {}),
  };
}

function hex(n: number): string {
  return `0x${(n >>> 0).toString(16).padStart(8, "0")}`;
}

/** The first few dotted paths whose values differ. */
function statsDiff(a: unknown, b: unknown, path = "", out: string[] = []): string {
  if (out.length >= 4) return out.join(", ");
  if (a !== null && b !== null && typeof a === "object" && typeof b === "object") {
    for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) {
      statsDiff((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], path ? `${path}.${k}` : k, out);
    }
  } else if (JSON.stringify(a) !== JSON.stringify(b)) {
    out.push(`${path} ${JSON.stringify(b)} (recorded ${JSON.stringify(a)})`);
  }
  return out.join(", ");
}
