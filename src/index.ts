/**
 * refsim: simulate Linux page reference counting under kernel-era and custom
 * schemes. This module is the library entry; it uses only web-standard APIs.
 *
 * @example
 * ```ts
 * import { Engine } from "./index.ts";
 * const e = await Engine.create({ scheme: "E0-devmap" });
 * const mm = e.mmNew();
 * const addr = e.mmap(mm, { length: 4096 });
 * e.write(mm, addr, 1);
 * e.migrateToDevice(mm, addr, 4096, e.driverNew("device-coherent", 4));
 * e.munmap(mm, addr, 4096);
 * e.teardown();
 * console.log(e.violations().map((v) => v.kind)); // ["leak_page", "leak_bo"]
 * ```
 */
export { Engine, DEFAULT_CAPACITY } from "./core/engine.ts";
export type { Capacity, EngineOptions, FrameInfo, PageInfo, BoInfo, PageKind } from "./core/engine.ts";
export type { MmapOptions } from "./core/calls.ts";
export { RefsimError, KernelError } from "./core/errors.ts";
export { ERRNOS, SIGNALS } from "./core/errno.ts";
export type { OpOutcome } from "./core/errno.ts";
export type { VmaInfo } from "./core/maps.ts";
export { encodeOp, OP_NAMES, PAGE_SIZE } from "./core/ops.ts";
export type { Op, OpName, DeviceKind, Prot } from "./core/ops.ts";
export type { Stats } from "./core/stats.ts";
export { VIOLATION_KINDS, VIOLATION_TEXT } from "./core/violations.ts";
export type { Violation, ViolationKind } from "./core/violations.ts";
export { coreWasmBytes } from "./core/wasm.ts";
export { PRESETS, PRESET_NAMES } from "./scheme/presets.ts";
export type { Scheme } from "./scheme/presets.ts";
export { RULES, RULE_NAMES } from "./scheme/rules.ts";
export type { SchemeRules, RuleName } from "./scheme/rules.ts";
export { resolveScheme, encodeScheme } from "./scheme/resolve.ts";
export type { SchemeInput, CustomScheme } from "./scheme/resolve.ts";
export { parseScenario, checkScenario } from "./scenario/parse.ts";
export type { LoadedScenario } from "./scenario/parse.ts";
export { runScenario } from "./scenario/run.ts";
export type { ScenarioRun, Check } from "./scenario/run.ts";
export type { Scenario, Step, OpStep, ExpectStep, Expectation } from "./scenario/types.ts";
export { sideBySide, violationDetails, formatTable } from "./report/table.ts";
export { Prng } from "./workload/prng.ts";
export type { OpTarget } from "./workload/target.ts";
// Experiments: sampled time series, sweeps (sharded), results JSON/CSV, reports.
export { SamplingTarget, emptySeries, pushSample } from "./experiment/sampler.ts";
export type { Series } from "./experiment/sampler.ts";
export { scenarioTimeline, scenarioCapacity } from "./experiment/timeline.ts";
export type { ScenarioTimeline } from "./experiment/timeline.ts";
export { runSweep, planSweep, runOne, parseShard, shardRuns, assembleResults, startMeta, sweepWorkloads, fnv1a } from "./experiment/sweep.ts";
export type { SweepSpec, RunSpec, SweepPlan, Shard, SweepHost } from "./experiment/sweep.ts";
export { mergeResults, deterministicPart, checkResults, toCsv } from "./experiment/results.ts";
export type { ResultsDoc, RunResult, ResultsMeta, SweepInfo, RunTiming, ShardMeta } from "./experiment/results.ts";
export { EXPERIMENT_WORKLOADS, withDefaults } from "./experiment/workloads.ts";
export type { WorkloadDef as ExperimentWorkload, WorkloadContext as ExperimentContext, Params as ExperimentParams } from "./experiment/workloads.ts";
export { registryWorkloads } from "./experiment/registry.ts";
export { REFSIM_VERSION, RESULTS_FORMAT, runtimeInfo } from "./experiment/meta.ts";
export { htmlReport, chartSpecs } from "./report/html.ts";
export { markdownSummary, textSummary, schemeTotals, groups } from "./report/summary.ts";
// Traces (record, replay, decode, dump) and the explorer; scenarios as C programs for a real kernel.
export { TraceRecorder, TraceWriter, decodeTrace, replayTrace, recordScenario, finalState, TRACE_FORMAT_VERSION } from "./trace/index.ts";
export type { TraceMeta, TraceFinal, DecodedTrace, TraceBlock, RecordOptions, ReplayOptions, ReplayResult, RecordedScenario } from "./trace/index.ts";
export { dumpTrace, pageHistory, formatPageEvent, describeRecord } from "./trace/dump.ts";
export type { PageEvent, PageHistory } from "./trace/dump.ts";
export { explore, shrinkTrace, traceToScenario, EXPLORE_OP_NAMES, PAGE_KINDS } from "./explore/index.ts";
export type { ExploreOptions, ExploreResult, ExploreFound, ExploreProgress } from "./explore/index.ts";
export { exportC, notExportable } from "./export/c.ts";
