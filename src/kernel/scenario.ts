/**
 * A scenario file as a guest program: its op steps run on refsim under E2 (6.1's
 * era) through the translator, and each expect step that names a page or a read
 * becomes a point compared with the kernel. Names bound by `as` resolve as in
 * `refsim run` (src/scenario/run.ts); the scenario's own expected values are not
 * used: the kernel is the expectation here.
 *
 * @example
 * ```ts
 * import { parseScenario } from "../scenario/parse.ts";
 * import { translateScenario } from "./scenario.ts";
 * const l = parseScenario(JSON.stringify({ name: "t", steps: [
 *   { op: "mm_new", as: "p" }, { op: "mmap", mm: "p", length: "4K", as: "b" },
 *   { op: "write", mm: "p", addr: "b", value: 1 },
 *   { expect: { page: { mm: "p", addr: "b" }, refcount: 1 } }] }), "t.json");
 * const t = await translateScenario(l);
 * console.log(t.notComparable, t.builder.points.length); // null 1
 * ```
 */
import { Engine } from "../core/engine.ts";
import { RefsimError } from "../core/errors.ts";
import { decodeResult, type Op } from "../core/ops.ts";
import { stepWhere, type LoadedScenario } from "../scenario/parse.ts";
import type { ExpectStep, OpStep } from "../scenario/types.ts";
import { resolveValue } from "../scenario/values.ts";
import { ProgramBuilder } from "./translate.ts";

/** Fields whose values are names, sizes or addresses (as src/scenario/run.ts resolves them). */
const VALUE_FIELDS = new Set(["mm", "addr", "length", "file", "offset", "driver", "bo", "handle", "value", "pages", "fault", "new_addr", "new_length"]);

export interface TranslatedScenario {
  name: string;
  source: string;
  builder: ProgramBuilder;
  /** Why it cannot run in the guest, or null. */
  notComparable: string | null;
  /** Expect steps compared. */
  expectPoints: number;
}

/** The capacity refsim run uses for scenarios, so the guest sees the same machine (THP pool, pages). */
const SCENARIO_CAPACITY = { systemPages: 4096, devicePages: 1024, pteTables: 512, pmdTables: 128, filePages: 4096 };

export async function translateScenario(loaded: LoadedScenario): Promise<TranslatedScenario> {
  const sc = loaded.scenario;
  const engine = await Engine.create({ scheme: "E2", capacity: { ...SCENARIO_CAPACITY, ...sc.capacity } });
  const name = sc.name.replace(/\s+/g, "_");
  const b = new ProgramBuilder(name, engine);
  const names = new Map<string, number>();
  let expectPoints = 0;
  const val = (v: unknown, i: number, field: string): unknown => resolveValue(v, names, `${stepWhere(loaded, i)} field '${field}'`);
  for (let i = 0; i < sc.steps.length && !b.notComparable; i++) {
    b.step = i;
    const st = sc.steps[i];
    try {
      if ("expect" in st) {
        const e = (st as ExpectStep).expect;
        const label = (st as ExpectStep).label ?? `step ${i + 1}`;
        if (e.page) {
          const mm = val(e.page.mm, i, "page.mm") as number;
          const addr = val(e.page.addr, i, "page.addr") as number;
          b.snapPage(label, mm, addr);
          expectPoints++;
        }
        if (e.read) {
          const mm = val(e.read.mm, i, "read.mm") as number;
          const addr = val(e.read.addr, i, "read.addr") as number;
          b.run({ op: "read", mm, addr });
          expectPoints++;
        }
        continue;
      }
      const o = st as OpStep;
      const op: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(o)) {
        if (k === "as" || k === "note" || k === "errno" || k === "signal") continue; // expected outcomes, not op fields
        op[k] = VALUE_FIELDS.has(k) ? val(v, i, k) : v;
      }
      let result = b.run(op as unknown as Op);
      result = decodeResult(o.op, result);
      if (o.as) names.set(o.as, result);
    } catch (e) {
      if (!(e instanceof RefsimError)) throw e;
      // a step refsim rejects (an op that expects an errno) has no guest counterpart yet
      b.notComparable ??= `${stepWhere(loaded, i)}: refsim rejects it (${e.message})`;
    }
  }
  return { name, source: loaded.source, builder: b, notComparable: b.notComparable, expectPoints };
}
