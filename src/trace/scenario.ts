/**
 * Recording a scenario's op stream: its op steps (names bound by `as` resolved as
 * the scenario runner does) and the reads its `read` expectations make, on a
 * fresh engine with the runner's capacity, under one scheme. Expectations are not
 * judged here; `refsim run` does that.
 *
 * @example
 * ```ts
 * import { parseScenario } from "../scenario/parse.ts";
 * import { recordScenario } from "./scenario.ts";
 * const l = parseScenario('{"name":"t","steps":[{"op":"mm_new","as":"p"},{"op":"mmap","mm":"p","length":"4K","as":"b"},{"op":"write","mm":"p","addr":"b","value":1}]}', "t.json");
 * const r = await recordScenario(l, "E2");
 * console.log(r.ops, r.error); // 3 undefined
 * ```
 */
import { Engine, type Capacity } from "../core/engine.ts";
import { RefsimError } from "../core/errors.ts";
import type { Op } from "../core/ops.ts";
import { resolveScheme, type SchemeInput } from "../scheme/resolve.ts";
import { stepWhere, type LoadedScenario } from "../scenario/parse.ts";
import type { ExpectStep, OpStep } from "../scenario/types.ts";
import { resolveValue } from "../scenario/values.ts";
import { stepOp, boundValue } from "../scenario/step-op.ts";
import { statusOutcome } from "../core/errno.ts";
import { TraceRecorder } from "./record.ts";
import { isConcurrent } from "../races/format.ts";

/** The capacity src/scenario/run.ts gives a scenario engine (kept in step with it). */
export const SCENARIO_CAPACITY: Partial<Capacity> = { systemPages: 4096, devicePages: 1024, pteTables: 512, pmdTables: 128, filePages: 4096 };


export interface RecordedScenario {
  bytes: Uint8Array;
  ops: number;
  /** A rejected step ends the recording, as it ends a run. */
  error?: { step: number; message: string };
}

export async function recordScenario(loaded: LoadedScenario, scheme: SchemeInput, options: { engineVersion?: string } = {}): Promise<RecordedScenario> {
  const sc = loaded.scenario;
  const s = resolveScheme(scheme);
  const engine = await Engine.create({ scheme: s, capacity: { ...SCENARIO_CAPACITY, ...sc.capacity } });
  const rec = new TraceRecorder(engine, { source: `scenario ${sc.name}`, seed: null, engineVersion: options.engineVersion });
  const names = new Map<string, number>();
  const val = (v: unknown, i: number, field: string): unknown => {
    try {
      return resolveValue(v, names, `${stepWhere(loaded, i)} field '${field}'`);
    } catch (e) {
      throw new RefsimError((e as Error).message, { field, index: i, code: "BAD_SCENARIO" });
    }
  };
  let error: RecordedScenario["error"];
  for (let i = 0; i < sc.steps.length && !error; i++) {
    const st = sc.steps[i];
    try {
      if ("expect" in st) {
        const r = (st as ExpectStep).expect.read;
        if (r) rec.run([{ op: "read", mm: val(r.mm, i, "read.mm"), addr: val(r.addr, i, "read.addr") } as Op]);
        continue;
      }
      if (isConcurrent(st)) {
        throw new RefsimError("a concurrent step (\"threads\", \"step\", or an op with \"thread\") is not recorded: a trace is one op stream; refsim races explores the interleavings", { field: "threads" });
      }
      const o = st as OpStep;
      const op = stepOp(o, (v, k) => val(v, i, k));
      const result = boundValue(o.op, rec.run([op as unknown as Op])[0], statusOutcome(engine.lastStatuses()[0]));
      if (o.as && result !== undefined) names.set(o.as, result);
    } catch (e) {
      if (!(e instanceof RefsimError)) throw e;
      error = { step: i, message: `${stepWhere(loaded, i)}: ${e.message.replace(/^op 0:? ?/, "")}` };
    }
  }
  return { bytes: rec.finish(), ops: rec.ops, ...(error ? { error } : {}) };
}
