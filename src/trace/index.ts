/**
 * Trace record and replay: a compact, checksummed binary op stream with a header
 * (format version, engine version, scheme, capacity, seed, source, final state).
 *
 * @example
 * ```ts
 * import { Engine } from "../core/engine.ts";
 * import { TraceRecorder, replayTrace } from "./index.ts";
 * const rec = new TraceRecorder(await Engine.create({ scheme: "E4" }), { source: "by hand" });
 * rec.run([{ op: "mm_new" }, { op: "mmap", mm: 0, length: 4096 }]);
 * console.log((await replayTrace(rec.finish())).identical); // true
 * ```
 */
export {
  TraceWriter, decodeTrace, crc32, TRACE_MAGIC, TRACE_FORMAT_VERSION, ENGINE_VERSION, BLOCK_OPS, HEADER_BYTES,
  type TraceMeta, type TraceFinal, type DecodedTrace, type TraceBlock,
} from "./format.ts";
export { TraceRecorder, finalState, type RecordOptions } from "./record.ts";
export { replayTrace, type ReplayOptions, type ReplayResult } from "./replay.ts";
export { recordScenario, SCENARIO_CAPACITY, type RecordedScenario } from "./scenario.ts";
