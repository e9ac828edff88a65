/**
 * `refsim races` on a protocol scenario (a file with a top-level "protocol"):
 * explore its threads' interleavings under each protocol variant (exhaustive with
 * sleep sets, or PCT), shrink a violation to the fewest ops and context switches,
 * and write it as a protocol file whose "replay" holds that exact interleaving,
 * one `{ "step": thread, "note": kernel code }` per atomic step. Running
 * `refsim races` on the written file replays it and checks the violation recurs.
 *
 * Protocol scenarios are pure protocol models in TypeScript (./atomics.ts): they
 * do not run the engine or the model, so there is no engine/model differential.
 *
 * @example
 * ```ts
 * import { parseProtocol, raceProtocol } from "./protocol-search.ts";
 * const p = parseProtocol({ name: "t", variants: ["cas-loop", "check-then-add"], protocol: {
 *   folios: { F: { ref: 1, holders: { B: 1 } } },
 *   threads: { A: [{ op: "folio_try_get", folio: "F", as: "got" }, { op: "folio_put", folio: "F", if: "got" }],
 *              B: [{ op: "folio_put", folio: "F" }] } } }, "t.json");
 * console.log(raceProtocol(p, "cas-loop").finding); // null
 * const r = raceProtocol(p, "check-then-add");
 * console.log(r.finding?.kind, r.shrunk?.switches, r.replayPassed); // resurrected 2 true
 * ```
 */
import { RefsimError } from "../core/errors.ts";
import { exhaustive } from "./sleepsets.ts";
import { pct } from "./pct.ts";
import { shrinkRace } from "./shrink.ts";
import { contextSwitches, runSchedule, type Finding, type SearchStats } from "./schedule.ts";
import { protocolTarget, variant, type ProtocolOp, type ProtocolSpec } from "./refcount-protocols.ts";
import { PAGECACHE_ROUTINES } from "./pagecache-target.ts";
import type { ProtocolTarget } from "./atomics.ts";

export interface ProtocolFile {
  name: string;
  title?: string;
  description?: string;
  protocol: ProtocolSpec;
  /** The protocol variants to explore (the scheme list of a protocol scenario). */
  variants: string[];
  race?: { bound?: number; expect?: Record<string, string>; pct?: { runs: number; depth: number; seed?: number } };
  /** A written interleaving: the variant, its steps, and the violation they reach. */
  replay?: { variant: string; steps: { step: string; note?: string }[]; kind: string };
}

/** Does this parsed JSON look like a protocol scenario? */
export function isProtocolFile(x: unknown): boolean {
  return typeof x === "object" && x !== null && !Array.isArray(x) && "protocol" in x;
}

export function parseProtocol(x: unknown, source: string): ProtocolFile {
  const bad = (msg: string, field: string): never => { throw new RefsimError(`${source}: ${msg}`, { field, code: "BAD_SCENARIO" }); };
  if (!isProtocolFile(x)) bad(`not a protocol scenario (no "protocol" field)`, "protocol");
  const f = x as Record<string, unknown>;
  for (const k of Object.keys(f)) if (!["name", "title", "description", "protocol", "variants", "race", "replay"].includes(k)) bad(`unknown field '${k}' (fields: name, title, description, protocol, variants, race, replay)`, k);
  if (typeof f.name !== "string" || !f.name) bad(`"name" must be a non-empty string`, "name");
  const p = f.protocol as Record<string, unknown>;
  if (typeof p !== "object" || p === null || Array.isArray(p)) bad(`"protocol" must be an object with "folios" and "threads"`, "protocol");
  for (const k of Object.keys(p)) if (!["folios", "slots", "threads", "routines", "variants"].includes(k)) bad(`unknown field 'protocol.${k}' (fields: folios, slots, threads, routines, variants)`, `protocol.${k}`);
  if (typeof p.threads !== "object" || p.threads === null || Array.isArray(p.threads)) bad(`"protocol.threads" must map thread names to op lists`, "protocol.threads");
  for (const [n, ops] of Object.entries(p.threads as object)) if (!Array.isArray(ops) || ops.length === 0) bad(`thread ${n} must have a non-empty list of ops`, `protocol.threads.${n}`);
  const variants = f.variants ?? ["cas-loop"];
  if (!Array.isArray(variants) || variants.length === 0 || variants.some((v) => typeof v !== "string")) bad(`"variants" must be a non-empty list of protocol names`, "variants");
  const r = f.race as ProtocolFile["race"];
  if (r !== undefined && (typeof r !== "object" || r === null)) bad(`"race" must be an object`, "race");
  if (r?.bound !== undefined && (!Number.isInteger(r.bound) || r.bound < 1 || r.bound > 64)) bad(`"race.bound" must be a whole number 1..64`, "race.bound");
  const file = f as unknown as ProtocolFile;
  for (const v of variants as string[]) variant(file.protocol, v); // an unknown variant is bad input now
  return { ...file, variants: variants as string[] };
}

export const PROTOCOL_BOUND = 12;

export interface ProtocolRaceOptions {
  bound?: number;
  mode?: "exhaustive" | "pct";
  runs?: number;
  depth?: number;
  seed?: number;
  budget?: number;
  shrink?: boolean;
}

export interface ProtocolRaceResult {
  variant: string;
  source: string;
  mode: "exhaustive" | "pct";
  bound: number;
  stats: SearchStats;
  complete: boolean;
  finding: Finding | null;
  pct?: { runs: number; depth: number; seed: number; missBound: number };
  shrunk?: { threads: Record<string, ProtocolOp[]>; finding: Finding; switches: number; searches: number; ms: number };
  replay?: ProtocolFile;
  replayPassed?: boolean;
  expected?: string;
  asExpected: boolean;
  /** The file was a replay: its interleaving was run instead of a search. */
  replayed?: boolean;
}

/** The target of a protocol file's threads (or of `threads` instead) under one variant. */
export function fileTarget(p: ProtocolFile, v: string, threads: Record<string, ProtocolOp[]> = p.protocol.threads): ProtocolTarget {
  return protocolTarget({ ...p.protocol, threads }, v, PAGECACHE_ROUTINES);
}

const expectedOf = (p: ProtocolFile, v: string) => p.race?.expect?.[v] ?? p.race?.expect?.["*"];

export function raceProtocol(p: ProtocolFile, v: string, o: ProtocolRaceOptions = {}): ProtocolRaceResult {
  const source = variant(p.protocol, v).source;
  const bound = o.bound ?? p.race?.bound ?? PROTOCOL_BOUND;
  const expected = expectedOf(p, v);
  if (p.replay) return replayProtocol(p, v, bound, source, expected);
  const mode = o.mode ?? (p.race?.pct ? "pct" : "exhaustive");
  const target = fileTarget(p, v);
  let finding: Finding | null;
  let stats: SearchStats;
  let complete = false;
  let pctInfo: ProtocolRaceResult["pct"];
  if (mode === "pct") {
    const runs = o.runs ?? p.race?.pct?.runs ?? 1000;
    const depth = o.depth ?? p.race?.pct?.depth ?? 2;
    const seed = o.seed ?? p.race?.pct?.seed ?? 1;
    const r = pct(target, { bound, depth, runs, seed });
    ({ finding, stats } = r);
    pctInfo = { runs, depth, seed, missBound: r.missBound };
  } else {
    ({ finding, stats, complete } = exhaustive(target, { bound, budget: o.budget ?? 10_000_000 }));
  }
  const result: ProtocolRaceResult = {
    variant: v, source, mode, bound, stats, complete, finding, ...(pctInfo ? { pct: pctInfo } : {}), ...(expected !== undefined ? { expected } : {}),
    asExpected: expected === undefined ? true : expected === "none" ? finding === null && (mode === "pct" || complete) : finding?.kind === expected,
  };
  if (!finding || o.shrink === false) return result;

  const started = Date.now();
  type Tagged = { name: string; op: ProtocolOp };
  const program: Tagged[][] = Object.entries(p.protocol.threads).map(([name, ops]) => ops.map((op) => ({ name, op })));
  const toThreads = (q: Tagged[][]): Record<string, ProtocolOp[]> => Object.fromEntries(q.map((ops) => [ops[0].name, ops.map((x) => x.op)]));
  const s = shrinkRace<Tagged>((q) => fileTarget(p, v, toThreads(q)), program, finding.kind, { bound, budget: o.budget });
  const threads = toThreads(s.program);
  result.shrunk = { threads, finding: s.finding, switches: s.switches, searches: s.searches, ms: Date.now() - started };
  const names = Object.keys(threads);
  const how = mode === "pct" ? `PCT (${pctInfo!.runs} runs, depth ${pctInfo!.depth}, seed ${pctInfo!.seed})` : "exhaustive search";
  const replay: ProtocolFile = {
    name: `${p.name}-${v}-${s.finding.kind}`,
    title: `${p.name} under ${v}: ${s.finding.kind}, the interleaving refsim races found`,
    description: `Written by refsim races: ${how}, bound ${bound}, shrunk to ${contextSwitches(s.finding.schedule)} context switches. ` +
      `Each replay step runs one atomic step of that thread; its note names the kernel code it models. refsim races on this file replays it.`,
    protocol: { ...p.protocol, threads },
    variants: [v],
    race: { bound, expect: { [v]: s.finding.kind } },
    replay: { variant: v, kind: s.finding.kind, steps: s.finding.schedule.map((t, i) => ({ step: names[t], note: s.finding.labels[i] })) },
  };
  result.replay = replay;
  result.replayPassed = replayProtocol(replay, v, bound, source, s.finding.kind).asExpected;
  return result;
}

/** Run a written interleaving step by step; it passes if it reaches its violation. */
function replayProtocol(p: ProtocolFile, v: string, bound: number, source: string, expected: string | undefined): ProtocolRaceResult {
  const started = Date.now();
  const names = Object.keys(p.protocol.threads);
  const schedule = p.replay!.steps.map((s, i) => {
    const t = names.indexOf(s.step);
    if (t < 0) throw new RefsimError(`replay step ${i + 1}: no thread '${s.step}' (threads: ${names.join(", ")})`, { field: "replay.steps", code: "BAD_SCENARIO" });
    return t;
  });
  const target = fileTarget(p, v);
  let r: ReturnType<typeof runSchedule>;
  try {
    r = runSchedule(target, schedule);
  } catch (e) {
    throw new RefsimError(`replay: ${(e as Error).message}`, { field: "replay.steps", code: "BAD_SCENARIO" });
  }
  const stats: SearchStats = { interleavings: 1, cut: 0, states: schedule.length + 1, executed: schedule.length, pruned: 0, ms: Date.now() - started };
  const want = expected ?? p.replay!.kind;
  const passed = r.finding?.kind === want && r.finding.schedule.length === schedule.length;
  return { variant: v, source, mode: "exhaustive", bound, stats, complete: true, finding: r.finding, replayed: true, expected: want, asExpected: passed, replayPassed: passed };
}
