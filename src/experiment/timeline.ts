/**
 * A scenario's timeline: its op steps replayed on a fresh engine through a
 * SamplingTarget sampling after every op, so a scenario gets the same "over time"
 * series as a workload. Expectation steps are not checked here (runScenario does
 * that); an expectation's `read` is a real CPU read and is replayed as one, so
 * the replay executes exactly the ops runScenario does. A rejected step ends the
 * timeline, as it ends the run.
 *
 * @example
 * ```ts
 * import { parseScenario } from "../scenario/parse.ts";
 * import { scenarioTimeline } from "./timeline.ts";
 * const l = parseScenario('{"name":"t","steps":[{"op":"mm_new","as":"p"},{"op":"mmap","mm":"p","length":"8K","as":"a"},{"op":"write","mm":"p","addr":"a","value":1}]}', "t.json");
 * const s = await scenarioTimeline(l, "E2");
 * console.log(s.op, s.liveFrames, s.steps); // [0, 1, 2, 3] [0, 0, 0, 1] [-1, 0, 1, 2]
 * ```
 */
import { Engine } from "../core/engine.ts";
import { PAGE_SIZE, type Op } from "../core/ops.ts";
import { resolveScheme, type SchemeInput } from "../scheme/resolve.ts";
import type { LoadedScenario } from "../scenario/parse.ts";
import type { ExpectStep, OpStep } from "../scenario/types.ts";
import { resolveValue } from "../scenario/values.ts";
import { SamplingTarget, type Series } from "./sampler.ts";

// Step fields that hold values (names, sizes, hex) rather than words; as in scenario/run.ts.
const VALUE_FIELDS = ["mm", "addr", "length", "file", "offset", "driver", "bo", "handle", "value", "pages", "index", "fault"];

/** The capacity runScenario gives a scenario's engine. */
export function scenarioCapacity(l: LoadedScenario) {
  return { systemPages: 4096, devicePages: 1024, pteTables: 512, pmdTables: 128, filePages: 4096, ...l.scenario.capacity };
}

export interface ScenarioTimeline extends Series {
  /** For each sample, the index of the step whose op it follows (-1: before the first op). */
  steps: number[];
  /** The step that was rejected, if one was. */
  stoppedAt?: number;
}

/** Replay a scenario's ops under one scheme, sampling after every op. */
export async function scenarioTimeline(loaded: LoadedScenario, scheme: SchemeInput): Promise<ScenarioTimeline> {
  const engine = await Engine.create({ scheme: resolveScheme(scheme), capacity: scenarioCapacity(loaded) });
  const t = new SamplingTarget(engine, 1);
  const names = new Map<string, number>();
  const steps = loaded.scenario.steps;
  const stepOf: number[] = [-1];
  const done = (stoppedAt?: number): ScenarioTimeline => {
    const s = t.finish();
    while (stepOf.length < s.op.length) stepOf.push(stepOf[stepOf.length - 1]);
    return { ...s, steps: stepOf.slice(0, s.op.length), ...(stoppedAt === undefined ? {} : { stoppedAt }) };
  };
  for (let i = 0; i < steps.length; i++) {
    const st = steps[i];
    try {
      if ("expect" in st) {
        const read = (st as ExpectStep).expect.read;
        if (read) {
          t.run([{ op: "read", mm: resolveValue(read.mm, names, "") as number, addr: resolveValue(read.addr, names, "") as number }]);
          stepOf.push(i);
        }
        continue;
      }
      const o = st as OpStep;
      const op: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(o)) {
        if (k === "as" || k === "note") continue;
        op[k] = VALUE_FIELDS.includes(k) ? resolveValue(v, names, "") : v;
      }
      let [result] = t.run([op as unknown as Op]);
      stepOf.push(i);
      if (o.op === "mmap") result *= PAGE_SIZE;
      if (o.op === "read") result >>>= 0;
      if (o.as) names.set(o.as, result);
    } catch {
      return done(i);
    }
  }
  return done();
}
