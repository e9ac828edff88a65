/**
 * Running a scenario under one scheme: ops go to a fresh Engine, names bound by
 * `as` are resolved, expectations are checked against the scheme's column, and
 * every violation is tied back to the step whose op caused it.
 *
 * @example
 * ```ts
 * import { parseScenario } from "./parse.ts";
 * import { runScenario } from "./run.ts";
 * const l = parseScenario('{"name":"t","steps":[{"op":"mm_new","as":"p"},{"op":"check"}]}', "t.json");
 * const r = await runScenario(l, "E2");
 * console.log(r.passed); // true
 * ```
 */
import { Engine, type PageInfo } from "../core/engine.ts";
import { RefsimError } from "../core/errors.ts";
import { decodeResult, type Op } from "../core/ops.ts";
import { outcomeName, type OpOutcome } from "../core/errno.ts";
import type { Stats } from "../core/stats.ts";
import { parseHmmBytes, formatHmmBytes } from "./hmm_bytes.ts";
import { VIOLATION_KINDS, type Violation } from "../core/violations.ts";
import { PRESET_NAMES } from "../scheme/presets.ts";
import { resolveScheme, type SchemeInput } from "../scheme/resolve.ts";
import type { Expectation, ExpectStep, OpStep } from "./types.ts";
import { stepWhere, type LoadedScenario } from "./parse.ts";
import { resolveValue } from "./values.ts";
import { isPerScheme } from "./expect.ts";
import { stepOp, boundValue } from "./step-op.ts";
import { isStepStep, isThreadsStep } from "../races/format.ts";
import { OpRunner, type Host } from "../races/kernel-steps.ts";

export interface Check {
  step: number;
  /** Row name: the step's label, or a description of the subject. */
  label: string;
  field: string;
  /** undefined when this scheme has no expected value (observed only). */
  expected?: unknown;
  observed: unknown;
  pass: boolean | null;
}

export interface StepViolation extends Violation {
  /** Index of the step whose op caused it, or null if before any step. */
  step: number | null;
}

export interface ScenarioRun {
  scenario: string;
  scheme: string;
  checks: Check[];
  violations: StepViolation[];
  /** Buffer objects bound by name, at the end of the run. */
  bos: { name: string; id: number; state: string; pages: number }[];
  stats: Stats;
  /** A rejected step ends the run; what ran before it is kept. */
  error?: { step: number; message: string; field?: string };
  /** The kernel failed an op the step expected to succeed: a failed check, and the run ended there. */
  stopped?: { step: number; message: string };
  /** Every expectation held and no step was rejected. */
  passed: boolean;
  /** Text of each step, for reports. */
  stepText: string[];
}

/**
 * The value of a per-scheme expectation for this scheme, if it has one. With `known`
 * (the schemes a key may name), a key naming none of them is a RefsimError: a typo
 * there would otherwise only leave the value unchecked.
 */
export function forScheme(v: unknown, scheme: string, known: ReadonlySet<string> | null, objectValued: boolean, where = ""): { has: boolean; value?: unknown } {
  if (v === undefined) return { has: false };
  if (isPerScheme(objectValued ? "counts" : "scalar", v)) {
    const stray = known && Object.keys(v).find((k) => !known.has(k));
    if (stray) {
      throw new RefsimError(`${where}has a value for '${stray}', which is not a scheme of this run, a preset or "*" (schemes: ${[...known].join(", ")})`, { field: stray, code: "BAD_SCENARIO" });
    }
    if (Object.hasOwn(v, scheme)) return { has: true, value: v[scheme] };
    if (Object.hasOwn(v, "*")) return { has: true, value: v["*"] };
    return { has: false };
  }
  return { has: true, value: v };
}

function describeOp(st: OpStep): string {
  if (st.note) return String(st.note);
  const args = Object.entries(st).filter(([k]) => k !== "op" && k !== "as" && k !== "note").map(([k, v]) => `${k}=${v}`);
  return `${st.op}${args.length ? " " + args.join(" ") : ""}`;
}

function describeExpect(st: ExpectStep): string {
  const e = st.expect;
  if (st.label) return st.label;
  if (e.page) return `page ${e.page.addr} of ${e.page.mm}`;
  if (e.bo !== undefined) return `BO ${e.bo}`;
  if (e.read) return `read ${e.read.addr} of ${e.read.mm}`;
  if (e.result !== undefined) return `result of ${e.result}`;
  if (e.mirror !== undefined) return `test_hmm file ${e.mirror}`;
  if (e.snapshot !== undefined) return "last snapshot";
  return "totals";
}

function get(o: unknown, path: string): unknown {
  return path.split(".").reduce<unknown>((x, k) => (x && typeof x === "object" ? (x as Record<string, unknown>)[k] : undefined), o);
}

/** Run a loaded scenario under one scheme on a fresh engine. */
export async function runScenario(loaded: LoadedScenario, schemeInput: SchemeInput, allSchemes: readonly string[] = []): Promise<ScenarioRun> {
  const sc = loaded.scenario;
  const scheme = resolveScheme(schemeInput);
  let engine: Engine;
  try {
    engine = await Engine.create({ scheme, capacity: { systemPages: 4096, devicePages: 1024, pteTables: 512, pmdTables: 128, filePages: 4096, ...sc.capacity } });
  } catch (e) {
    if (!(e instanceof RefsimError)) throw e;
    throw new RefsimError(`${loaded.source}: "capacity": ${e.message}`, { field: e.field, code: e.code });
  }
  const names = new Map<string, number>();
  const bos = new Map<string, number>();
  const stepOfSeq: number[] = [];
  const checks: Check[] = [];
  const stepText = sc.steps.map((st) => ("expect" in st ? `expect ${describeExpect(st as ExpectStep)}`
    : isThreadsStep(st) ? `threads ${Object.keys(st.threads).join(", ")}, one after another` : isStepStep(st) ? `step of thread ${st.step}${st.note ? `: ${st.note}` : ""}` : describeOp(st as OpStep)));
  // Threads of a concurrent section (src/races/): their ops run one atomic step at a time.
  let runner: OpRunner | undefined;
  const threadRunner = (): OpRunner => (runner ??= new OpRunner(engine as unknown as Host, [], names));
  let error: ScenarioRun["error"];
  let stopped: ScenarioRun["stopped"];
  // What a per-scheme key may name: this run's schemes, the scenario's own, the presets, or "*".
  const known = new Set(["*", scheme.name, ...allSchemes, ...PRESET_NAMES, ...(sc.schemes ?? []).map((x) => resolveScheme(x).name)]);

  const val = (v: unknown, i: number, field: string): unknown => {
    try {
      return resolveValue(v, names, `${stepWhere(loaded, i)} field '${field}'`);
    } catch (e) {
      throw new RefsimError((e as Error).message, { field, index: i, code: "BAD_SCENARIO" });
    }
  };
  const addrOf = (x: { mm: unknown; addr: unknown }, i: number, what: string) => ({
    mm: val(x.mm, i, `${what}.mm`) as number,
    addr: val(x.addr, i, `${what}.addr`) as number,
  });

  for (let i = 0; i < sc.steps.length && !error; i++) {
    const st = sc.steps[i];
    try {
      if ("expect" in st) {
        const seqBefore = engine.opsExecuted;
        checkExpectation(st as ExpectStep, i);
        for (let s = seqBefore; s < engine.opsExecuted; s++) stepOfSeq[s] = i;
        continue;
      }
      if (isThreadsStep(st) || isStepStep(st) || (st as OpStep).thread !== undefined) {
        const seqBefore = engine.opsExecuted;
        try {
          concurrentStep(st, i);
        } finally {
          for (let q = seqBefore; q < engine.opsExecuted; q++) stepOfSeq[q] = i;
        }
        continue;
      }
      const o = st as OpStep;
      const op = stepOp(o, (v, k) => val(v, i, k));
      // a refusable "errno" / "signal" (a per-scheme key naming no scheme) is refused before the op runs, so a rejected step changes nothing
      forScheme(o.errno, scheme.name, known, false, `${stepWhere(loaded, i)}: "errno" `);
      forScheme(o.signal, scheme.name, known, false, `${stepWhere(loaded, i)}: "signal" `);
      const seq = engine.opsExecuted;
      let outcome: OpOutcome;
      try {
        [outcome] = engine.runDetailed([op as unknown as Op]);
      } catch (e) {
        if (e instanceof RefsimError) {
          throw new RefsimError(`${stepWhere(loaded, i)}: ${e.message.replace(/^op 0:? ?/, "")}`, { op: e.op, field: e.field, index: i, code: e.code });
        }
        throw e;
      }
      stepOfSeq[seq] = i;
      if (!checkOutcome(o, i, outcome)) break;
      const result = boundValue(o.op, outcome.result, outcome);
      if (result === undefined) continue; // a failed syscall binds no name
      if (o.as) {
        names.set(o.as, result);
        if (o.op === "migrate_to_device") bos.set(o.as, result);
      }
    } catch (e) {
      if (!(e instanceof RefsimError)) throw e;
      error = { step: i, message: e.message, field: e.field };
    }
  }

  /**
   * A threads step runs each thread's ops to completion, in the order listed; an op
   * step with "thread" starts that op on the thread; a step step runs one atomic
   * step of the thread's current op (src/races/kernel-steps.ts says where ops are cut).
   */
  function concurrentStep(st: unknown, i: number): void {
    const r = threadRunner();
    const where = stepWhere(loaded, i);
    const wrap = (f: () => void) => {
      try {
        f();
      } catch (e) {
        if (!(e instanceof RefsimError) || e.message.startsWith(loaded.source)) throw e;
        throw new RefsimError(`${where}: ${e.message}`, { op: e.op, field: e.field, index: i, code: e.code });
      }
    };
    if (isThreadsStep(st)) {
      for (const [name, ops] of Object.entries(st.threads)) {
        const t = r.thread(name);
        r.threads[t].ops.push(...ops);
        wrap(() => { while (!r.finished(t)) r.finish(t); });
      }
      return;
    }
    if (isStepStep(st)) {
      const t = r.threads.findIndex((x) => x.name === st.step);
      if (t < 0 || r.finished(t)) {
        throw new RefsimError(`${where}: thread ${st.step} has no op in progress to step (an op step with "thread": "${st.step}" starts one)`, { field: "step", index: i, code: "BAD_SCENARIO" });
      }
      wrap(() => { r.step(t); });
      return;
    }
    const o = st as OpStep;
    const t = r.thread(o.thread!);
    if (!r.finished(t)) {
      throw new RefsimError(`${where}: thread ${o.thread} is still running its op ${r.threads[t].ops.length} (step it to completion first)`, { field: "thread", index: i, code: "BAD_SCENARIO" });
    }
    r.threads[t].ops.push(o);
  }

  /**
   * The errno / signal an op step expects ("none" when it has neither) against what
   * the kernel returned. Returns false when the run must end here: the kernel failed
   * an op the step expected to succeed, so what later steps build on does not exist.
   */
  function checkOutcome(o: OpStep, i: number, outcome: OpOutcome): boolean {
    const observed = outcomeName(outcome);
    const label = describeOp(o);
    const field = o.signal !== undefined || outcome.signal ? "signal" : "errno";
    const want = forScheme(o.errno, scheme.name, known, false, `${stepWhere(loaded, i)}: "errno" `);
    const wantSignal = forScheme(o.signal, scheme.name, known, false, `${stepWhere(loaded, i)}: "signal" `);
    const given = o.errno !== undefined || o.signal !== undefined;
    const expected = want.has && want.value !== "none" ? want.value : wantSignal.has && wantSignal.value !== "none" ? wantSignal.value : "none";
    if (given && !want.has && !wantSignal.has && observed === "none") {
      checks.push({ step: i, label, field, observed, pass: null }); // no value for this scheme: observed only
      return true;
    }
    if (!given && observed === "none") return true;
    const pass = expected === observed;
    checks.push({ step: i, label, field, expected, observed, pass });
    if (!pass && expected === "none") {
      stopped = { step: i, message: `${stepWhere(loaded, i)}: ${o.op}: the kernel returned ${outcome.errno ? `-${observed}` : observed}, which the step does not expect; the run ends here` };
      return false;
    }
    return true;
  }

  /**
   * An expect step is all or nothing: what can be refused (a per-scheme key naming no
   * scheme, an unknown statistic) is checked before its read runs, and a refused step
   * leaves no checks behind.
   */
  function checkExpectation(st: ExpectStep, i: number): void {
    const e = st.expect as unknown as Record<string, unknown>;
    for (const [field, v] of Object.entries(e)) {
      if (field === "page" || field === "read" || field === "bo" || field === "result") continue;
      const r = forScheme(v, scheme.name, known, field === "violations" || field === "stats", `${stepWhere(loaded, i)}: "${field}" `);
      if (field !== "stats" || !r.has) continue;
      const stats = engine.stats();
      for (const path of Object.keys(r.value as object)) {
        if (typeof get(stats, path) !== "number") throw new RefsimError(`${stepWhere(loaded, i)}: unknown statistic '${path}'`, { field: path, index: i });
      }
    }
    const mark = checks.length;
    try {
      observe(st, i);
    } catch (err) {
      checks.length = mark;
      // the engine's own refusals (a read that faults, a page of no live mm, no such BO) get the step named
      if (err instanceof RefsimError && !err.message.startsWith(loaded.source)) {
        throw new RefsimError(`${stepWhere(loaded, i)}: ${err.message.replace(/^op 0:? ?/, "")}`, { op: err.op, field: err.field, index: i, code: err.code });
      }
      throw err;
    }
  }

  function observe(st: ExpectStep, i: number): void {
    const e = st.expect as Expectation;
    const label = describeExpect(st);
    const add = (field: string, expectedRaw: unknown, observed: unknown, objectValued = false, compare?: (exp: unknown) => boolean) => {
      const r = forScheme(expectedRaw, scheme.name, known, objectValued, `${stepWhere(loaded, i)}: "${field}" `);
      if (!r.has) {
        if (expectedRaw === undefined) return;
        checks.push({ step: i, label, field, observed, pass: null });
        return;
      }
      const pass = compare ? compare(r.value) : JSON.stringify(r.value) === JSON.stringify(observed);
      checks.push({ step: i, label, field, expected: r.value, observed, pass });
    };
    if (e.page) {
      const { mm, addr } = addrOf(e.page, i, "page");
      const p: PageInfo | null = engine.page(mm, addr);
      add("mapped", e.mapped, p !== null);
      add("refcount", e.refcount, p ? p.folioRefcount : null);
      add("mapcount", e.mapcount, p ? p.mapcount : null);
      add("entireMapcount", e.entireMapcount, p ? p.entireMapcount : null);
      add("pincount", e.pincount, p ? p.pincount : null);
      add("large", e.large, p ? p.large : null);
      add("pmd", e.pmd, p ? p.pmd : null);
      add("kind", e.kind, p ? p.kind : null);
      add("devicePrivate", e.devicePrivate, p ? p.pte.devicePrivate : null);
      add("devmap", e.devmap, p ? p.pte.devmap : null);
      add("writable", e.writable, p ? p.pte.write : null);
    }
    if (e.bo !== undefined) {
      const id = val(e.bo, i, "bo") as number;
      const b = engine.bo(id);
      add("state", e.state, b.state);
      add("pages", e.pages, b.pages);
    }
    if (e.read) {
      const { mm, addr } = addrOf(e.read, i, "read");
      // a read the kernel answers with SIGSEGV (no VMA there, PROT_NONE) is what was observed: a failed check, not a crash
      const [o] = engine.runDetailed([{ op: "read", mm, addr }]);
      add("value", e.value, o.signal || o.errno ? outcomeName(o) : decodeResult("read", o.result));
    }
    if (e.result !== undefined) {
      if (typeof e.result !== "string" || !names.has(e.result)) {
        throw new RefsimError(`${stepWhere(loaded, i)}: "result" must name a value bound by an earlier step's "as"`, { field: "result", index: i });
      }
      add("value", e.value, names.get(e.result));
    }
    if (e.mirror !== undefined) {
      const f = engine.mirror(val(e.mirror, i, "mirror") as number);
      add("cpages", e.cpages, f.cpages);
      add("faults", e.faults, f.faults);
      add("entries", e.entries, f.entries);
      add("open", e.open, f.open);
    }
    if (e.snapshot !== undefined) {
      const got = formatHmmBytes([...engine.lastSnapshot()]).join(" ");
      add("snapshot", e.snapshot, got, false, (exp) => formatHmmBytes(parseHmmBytes(exp, "snapshot")).join(" ") === got);
    }
    if (e.violations !== undefined) {
      const counts = engine.stats().violations;
      const observed: Record<string, number> = {};
      for (const k of VIOLATION_KINDS) if (counts[k]) observed[k] = counts[k];
      add("violations", e.violations, observed, true, (exp) => {
        const x = exp as Record<string, number>;
        for (const k of Object.keys(x)) if (!(VIOLATION_KINDS as readonly string[]).includes(k)) {
          throw new RefsimError(`${stepWhere(loaded, i)}: unknown violation kind '${k}' (kinds: ${VIOLATION_KINDS.join(", ")})`, { field: k, index: i });
        }
        return VIOLATION_KINDS.every((k) => (x[k] ?? 0) === (observed[k] ?? 0));
      });
    }
    if (e.stats !== undefined) {
      const stats = engine.stats();
      const r = forScheme(e.stats, scheme.name, known, true, `${stepWhere(loaded, i)}: "stats" `);
      if (r.has) {
        for (const [path, want] of Object.entries(r.value as Record<string, number>)) {
          const got = get(stats, path);
          if (typeof got !== "number") throw new RefsimError(`${stepWhere(loaded, i)}: unknown statistic '${path}'`, { field: path, index: i });
          checks.push({ step: i, label, field: path, expected: want, observed: got, pass: got === want });
        }
      }
    }
  }

  const violations = engine.violations().map((v) => ({ ...v, step: stepOfSeq[v.op] ?? null }));
  const boList = [...bos].map(([name, id]) => ({ name, ...engine.bo(id) }));
  return {
    scenario: sc.name,
    scheme: scheme.name,
    checks,
    violations,
    bos: boList.map(({ name, id, state, pages }) => ({ name, id, state, pages })),
    stats: engine.stats(),
    error,
    ...(stopped ? { stopped } : {}),
    passed: !error && checks.every((c) => c.pass !== false),
    stepText,
  };
}
