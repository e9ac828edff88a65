/**
 * refsim kernel-check: scenarios and random traces run on refsim under E2 and on
 * Linux 6.1 in a QEMU guest, compared point by point; differing random traces are
 * shrunk to minimal scenario files.
 *
 * Counting: each compared expect step of a scenario and each random trace (all of
 * its per-op snapshots) is one item that agrees or differs; a scenario the guest
 * cannot run is one item not comparable, with its reason.
 */
import { shrinkTrace } from "../explore/shrink.ts";
import type { SymTrace } from "../explore/symbolic.ts";
import type { LoadedScenario } from "../scenario/parse.ts";
import { bootGuest, type BootResult } from "./guest.ts";
import type { KernelHost } from "./host.ts";
import { compareProgram } from "./compare.ts";
import { classify, KNOWN, type Classified } from "./known.ts";
import { provision, type Manifest } from "./provision.ts";
import { differenceScenario, randomTrace, traceProgram } from "./random.ts";
import { translateScenario } from "./scenario.ts";

export interface CheckOptions {
  host: KernelHost;
  scenarios: LoadedScenario[];
  traces: number;
  traceOps: number;
  seed: number;
  /** Guest runs the shrinker may make per differing trace (each is one boot). */
  shrinkRuns: number;
  /** Where shrunk differences are written. */
  outDir: string;
  onLog?: (line: string) => void;
}

export interface ScenarioResult {
  name: string;
  source: string;
  notComparable: string | null;
  points: Classified[];
  guestUs: number | null;
}

export interface TraceResult {
  seed: number;
  ops: number;
  snapshots: number;
  agree: boolean;
  notComparable: string | null;
  /** The first points that differ (at most 3). */
  differences: Classified[];
  /** The known difference the trace's first difference is (see src/kernel/known.ts). */
  known?: string;
  /** The shrunk scenario file, when it differed. */
  shrunk?: { file: string; ops: number; runs: number };
}

export interface CheckResult {
  kernel: { version: string; release: string; qemu: string };
  provision: { ms: number; seconds: Manifest["seconds"]; kernelDebBytes: number };
  boot: { ms: number; guestMs: number };
  scenarios: ScenarioResult[];
  traces: TraceResult[];
  agree: number;
  differ: number;
  /** Differences that are none of the known ones. */
  unexplained: number;
  /** The known differences seen: id -> count, with what the kernel does. */
  known: { id: string; kernel: string; status: string; count: number }[];
  notComparable: number;
  /** Expect steps of the compared scenarios (their points also include GUP results and reads the steps made). */
  expectPoints: number;
  scenarioPoints: number;
  shrinkMs: number;
  totalMs: number;
}

export class CannotProvision extends Error {}

function traceSeed(seed: number, i: number): number {
  return (Math.imul(seed, 0x9e3779b1) + i * 7919 + 1) >>> 0;
}

export async function runKernelCheck(o: CheckOptions): Promise<CheckResult> {
  const t0 = performance.now();
  const log = o.onLog ?? (() => {});
  log("provisioning (kernel/provision.sh)");
  const p = await provision(o.host, { onLog: log });
  if (!p.ok) throw new CannotProvision(p.reason);
  const m = p.manifest;
  const scen = [];
  for (const l of o.scenarios) scen.push(await translateScenario(l));
  const traces: { seed: number; trace: SymTrace; prog: Awaited<ReturnType<typeof traceProgram>> }[] = [];
  for (let i = 0; i < o.traces; i++) {
    const seed = traceSeed(o.seed, i);
    const trace = randomTrace(seed, o.traceOps);
    traces.push({ seed, trace, prog: await traceProgram(`trace-${seed}`, trace) });
  }
  const programs = [
    ...scen.filter((s) => !s.notComparable).map((s) => s.builder.text()),
    ...traces.filter((t) => !t.prog.builder.notComparable).map((t) => t.prog.builder.text()),
  ];
  log(`booting Linux ${m.kernelVersion} under QEMU (TCG) with ${programs.length} programs`);
  const boot = await bootGuest(o.host, m, programs);
  const byName = new Map(boot.programs.map((g) => [g.name, g]));
  checkBoot(boot, programs.length);

  const scenarios: ScenarioResult[] = scen.map((s) => {
    if (s.notComparable) return { name: s.name, source: s.source, notComparable: s.notComparable, points: [], guestUs: null };
    const g = byName.get(s.name)!;
    return { name: s.name, source: s.source, notComparable: null, points: classify(s.builder.points, compareProgram(s.builder.points, g)), guestUs: g.guestUs };
  });
  const traceResults: TraceResult[] = [];
  let shrinkMs = 0;
  for (const t of traces) {
    const b = t.prog.builder;
    if (b.notComparable) {
      traceResults.push({ seed: t.seed, ops: t.prog.ran.length, snapshots: 0, agree: false, notComparable: b.notComparable, differences: [] });
      continue;
    }
    const pts = classify(b.points, compareProgram(b.points, byName.get(b.name)!));
    const diffs = pts.filter((x) => !x.agree);
    // a trace whose every difference is known is a known difference; one that is not gets shrunk
    const unknown = diffs.find((x) => !x.known);
    const shown = unknown && !diffs.slice(0, 2).includes(unknown) ? [...diffs.slice(0, 2), unknown] : diffs.slice(0, 3);
    const r: TraceResult = { seed: t.seed, ops: t.prog.ran.length, snapshots: pts.length, agree: diffs.length === 0, notComparable: null, differences: shown };
    if (diffs.length > 0 && !unknown) r.known = diffs[0].known;
    if (unknown && o.shrinkRuns > 0) {
      const s0 = performance.now();
      try {
        r.shrunk = await shrinkDifference(m, t.seed, t.trace, unknown, o, log);
      } catch (e) {
        // the difference did not show when the trace ran alone in a fresh guest: report it unshrunk
        if (!(e instanceof Error && /does not fail the test to begin with/.test(e.message))) throw e;
        log(`trace ${t.seed}: its difference does not show when it runs alone in a fresh guest; not shrunk`);
      }
      shrinkMs += performance.now() - s0;
    }
    traceResults.push(r);
  }
  let agree = 0;
  let differ = 0;
  let notComparable = 0;
  let scenarioPoints = 0;
  let unexplained = 0;
  const expectPoints = scen.filter((x) => !x.notComparable).reduce((n, x) => n + x.expectPoints, 0);
  const knownCount = new Map<string, number>();
  const note = (id: string | undefined) => { if (id) knownCount.set(id, (knownCount.get(id) ?? 0) + 1); else unexplained++; };
  for (const s of scenarios) {
    if (s.notComparable) { notComparable++; continue; }
    for (const x of s.points) { if (x.agree) agree++; else { differ++; note(x.known); } scenarioPoints++; }
  }
  for (const t of traceResults) {
    if (t.notComparable) notComparable++;
    else if (t.agree) agree++;
    else { differ++; note(t.known); }
  }
  const known = KNOWN.filter((k) => knownCount.has(k.id)).map((k) => ({ id: k.id, kernel: k.kernel, status: k.status, count: knownCount.get(k.id)! }));
  return {
    kernel: { version: m.kernelVersion, release: m.kernelRelease, qemu: m.qemuVersion },
    provision: { ms: p.ms, seconds: m.seconds, kernelDebBytes: m.kernelDebBytes },
    boot: { ms: boot.ms, guestMs: boot.programs.reduce((s, g) => s + (g.guestUs ?? 0), 0) / 1000 },
    scenarios, traces: traceResults, agree, differ, unexplained, known, notComparable, expectPoints, scenarioPoints, shrinkMs, totalMs: performance.now() - t0,
  };
}

function checkBoot(boot: BootResult, expected: number): void {
  const done = boot.programs.filter((g) => g.guestUs !== null && !g.fatal).length;
  if (done !== expected) {
    const bad = boot.programs.find((g) => g.fatal || g.guestUs === null);
    const tail = boot.console.split("\n").slice(-15).join("\n");
    throw new Error(`the guest ran ${done} of ${expected} programs${bad ? ` (${bad.name}: ${bad.fatal ?? "did not finish"})` : ""}; console:\n${tail}`);
  }
}

/** The fields that differ in a point, e.g. "refcount,mapcount". */
function diffFields(p: Classified): string {
  return [...new Set(p.rows.filter((r) => !r.agree).map((r) => r.field))].sort().join(",");
}

/**
 * Shrink a differing trace: a candidate keeps failing when some point differs in
 * the same fields as the original's first difference. One guest boot per candidate.
 */
async function shrinkDifference(m: Manifest, seed: number, trace: SymTrace, first: Classified, o: CheckOptions, log: (l: string) => void) {
  const want = diffFields(first);
  log(`trace ${seed} differs (${first.label}: ${want}); shrinking, at most ${o.shrinkRuns} guest runs`);
  let runs = 0;
  const test = async (c: SymTrace): Promise<boolean> => {
    runs++;
    const prog = await traceProgram(`shrink-${runs}`, c);
    if (prog.builder.notComparable) return false;
    const boot = await bootGuest(o.host, m, [prog.builder.text()], { timeoutSeconds: 120 });
    const g = boot.programs[0];
    if (!g || g.guestUs === null) return false;
    return classify(prog.builder.points, compareProgram(prog.builder.points, g)).some((x) => !x.agree && !x.known && diffFields(x) === want);
  };
  const shrunk = await shrinkTrace(trace, test, { maxRuns: o.shrinkRuns });
  const prog = await traceProgram("shrunk", shrunk.trace);
  const ran = shrunk.trace.filter(Array.from({ length: shrunk.trace.n }, (_, i) => prog.ran.includes(i)));
  const final = await traceProgram("shrunk", ran);
  const boot = await bootGuest(o.host, m, [final.builder.text()], { timeoutSeconds: 120 });
  const firstDiff = boot.programs[0] ? compareProgram(final.builder.points, boot.programs[0]).find((x) => !x.agree) : undefined;
  const seen = firstDiff ? { step: firstDiff.step, pages: [...new Set(firstDiff.rows.filter((r) => !r.agree && r.page).map((r) => r.page))] } : undefined;
  const sc = differenceScenario(`kernel-diff-${seed}`, ran, final.results,
    `refsim under E2 and Linux ${m.kernelVersion} differ in ${want} (${first.label} in the original trace). Found by refsim kernel-check in random trace ${seed}, ` +
    `shrunk from ${trace.n} to ${ran.n} ops in ${shrunk.runs} guest runs.`, final.builder.engine, seen);
  o.host.mkdirp(o.outDir);
  const file = `${o.outDir}/kernel-diff-${seed}.json`;
  o.host.writeFile(file, JSON.stringify(sc, null, 2) + "\n");
  return { file, ops: ran.n, runs: shrunk.runs };
}
