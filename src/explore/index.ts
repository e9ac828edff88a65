/**
 * Explore and shrink: seeded random episodes until an invariant breaks, delta
 * debugging of the failing trace down to a minimal scenario.
 *
 * @example
 * ```ts
 * import { explore } from "./index.ts";
 * const r = await explore({ scheme: "E0-devmap", budgetOps: 100_000 });
 * console.log(JSON.stringify(r.found?.scenario, null, 2));
 * ```
 */
export { explore, recordSymbolic, describeStep, type ExploreOptions, type ExploreResult, type ExploreFound, type ExploreProgress } from "./explore.ts";
export {
  EpisodeGenerator, parseKinds, parseRatios, EXPLORE_OPS, EXPLORE_OP_NAMES, EXPLORE_CAPACITY, DEFAULT_KINDS, PAGE_KINDS, MAP_BASE,
  type PageKindName, type ExploreOp, type GeneratorOptions,
} from "./generate.ts";
export { SymTrace, SymExecutor, PRODUCERS, producedKind, ST_OK, ST_REJECTED, ST_SKIPPED, ST_NOT_RUN, type IdKind } from "./symbolic.ts";
export { shrinkTrace, type TraceTest, type ShrinkOptions, type ShrinkResult } from "./shrink.ts";
export { runTrace, matches, failureOf, detectionIndex, type Failure, type Outcome, type TracedViolation } from "./outcome.ts";
export { traceToScenario, traceToSteps, sizeText } from "./scenario.ts";
export { EnginePool } from "./pool.ts";
