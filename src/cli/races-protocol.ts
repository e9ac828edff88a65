/**
 * `refsim races <protocol scenario>`: the same command on a file with a top-level
 * "protocol" (src/races/protocol-search.ts): each protocol variant in "variants"
 * (or --schemes) is explored, printed like a kernel scenario's schemes, a violation
 * shrunk and written (--out) as a protocol file replaying it, and a file holding a
 * "replay" is replayed step by step. Pure protocol models: --backend does not apply.
 */
import { RefsimError } from "../core/errors.ts";
import { readFileSync } from "node:fs";
import { parseProtocol, raceProtocol, type ProtocolFile, type ProtocolRaceResult } from "../races/protocol-search.ts";
import { variant } from "../races/refcount-protocols.ts";
import { contextSwitches } from "../races/schedule.ts";
import { OutputFile, writeOutputs } from "./output.ts";
import { countArg, optionalCount } from "./flags.ts";
import { count, rate, seconds } from "./format.ts";
import type { RacesCliOptions } from "./races.ts";

/** A protocol scenario file, read and checked. */
export function loadProtocol(path: string): ProtocolFile {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    throw new RefsimError(`${path}: cannot read the scenario file (${(e as Error).message})`, { code: "NOT_FOUND" });
  }
  let x: unknown;
  try {
    x = JSON.parse(text);
  } catch (e) {
    throw new RefsimError(`${path}: not JSON (${(e as Error).message})`, { code: "BAD_SCENARIO" });
  }
  return parseProtocol(x, path);
}

export async function protocolRacesCommand(path: string, p: ProtocolFile, o: RacesCliOptions): Promise<number> {
  if (o.backend !== undefined) throw new RefsimError("races: --backend is for kernel scenarios; a protocol scenario is a pure TypeScript protocol model", { field: "backend" });
  const variants = o.schemes !== undefined ? o.schemes.split(",").map((s) => s.trim()).filter(Boolean) : p.variants;
  variants.forEach((v) => variant(p.protocol, v));
  const bound = optionalCount(o.bound, "--bound", 1, 64);
  if (o.mode !== undefined && o.mode !== "exhaustive" && o.mode !== "pct") throw new RefsimError(`--mode: '${o.mode}' is not one of exhaustive, pct`, { field: "mode" });
  const runs = optionalCount(o.runs, "--runs", 1, 10_000_000);
  const depth = optionalCount(o.depth, "--depth", 1, 16);
  const seed = optionalCount(o.seed, "--seed", 0, 2 ** 32 - 1);
  const budget = o.budget === undefined ? 10_000_000 : countArg(o.budget, "--budget", 1);
  const outFile = o.out !== undefined ? OutputFile.check(o.out, "--out") : undefined;
  const say = (line: string) => { if (!o.json) process.stdout.write(line + "\n"); };
  const threads = Object.entries(p.protocol.threads);
  say(`refsim races ${path}: protocol model, threads ${threads.map(([n, ops]) => `${n} (${ops.length} op${ops.length === 1 ? "" : "s"})`).join(", ")}`);
  const results: ProtocolRaceResult[] = [];
  for (const v of variants) {
    const r = raceProtocol(p, v, { bound, mode: o.mode as "exhaustive" | "pct" | undefined, runs, depth, seed, budget, shrink: !o["no-shrink"] });
    results.push(r);
    const per = (n: number) => (r.stats.ms > 0 ? rate((n * 1000) / r.stats.ms) : "-");
    const speed = `${count(r.stats.interleavings)} interleavings, ${count(r.stats.states)} states in ${seconds(r.stats.ms)} (${per(r.stats.interleavings)} interleavings/s, ${per(r.stats.states)} states/s)`;
    if (r.replayed) {
      say(`${v}: replayed ${p.replay!.steps.length} steps: ${r.finding ? r.finding.kind : "no violation"} (${r.asExpected ? "reproduced" : `NOT reproduced: expected ${r.expected}`})`);
      continue;
    }
    if (!r.finding) {
      const what = r.mode === "pct" ? `no violation in ${count(r.pct!.runs)} PCT runs (a depth-${r.pct!.depth} bug is missed with probability at most ${r.pct!.missBound.toPrecision(2)}), bound ${r.bound}`
        : r.complete ? `no violation up to bound ${r.bound}` : `no violation found before the step budget ran out (bound ${r.bound}; not every interleaving explored)`;
      say(`${v}: ${what}: ${speed}${r.stats.cut ? `; ${count(r.stats.cut)} interleavings reached the bound` : ""}`);
    } else {
      say(`${v}: ${r.finding.kind} (${r.mode}, bound ${r.bound}): ${speed}`);
      const f = r.shrunk?.finding ?? r.finding;
      const names = Object.keys(r.shrunk?.threads ?? p.protocol.threads);
      if (r.shrunk) say(`  shrunk to ${Object.values(r.shrunk.threads).reduce((n, ops) => n + ops.length, 0)} ops on ${names.length} threads, ${r.shrunk.switches} context switch${r.shrunk.switches === 1 ? "" : "es"} (${r.shrunk.searches} searches, ${seconds(r.shrunk.ms)}):`);
      else say(`  the interleaving found (${contextSwitches(f.schedule)} context switches):`);
      f.schedule.forEach((t, i) => say(`  ${String(i + 1).padStart(3)}  ${names[t]}  ${f.labels[i]}${i === f.schedule.length - 1 && !f.atEpilogue ? `   <- ${f.kind}` : ""}`));
      if (f.atEpilogue) say(`       then the checks after the section   <- ${f.kind}`);
    }
    if (r.expected !== undefined) say(`  race.expect ${r.expected}: ${r.asExpected ? "ok" : "NOT MET"}`);
  }
  const writing = results.filter((r) => r.replay);
  const files = writing.map((r) => (o.out === undefined ? `races-${p.name}-${r.variant}-${r.replay!.replay!.kind}.json`.replace(/[^\w.-]+/g, "_")
    : writing.length > 1 ? o.out.replace(/(\.json)?$/, `-${r.variant.replace(/[^\w.-]+/g, "_")}$1`) : o.out));
  if (writing.length) {
    writeOutputs(writing.map((r, i) => [outFile && writing.length === 1 ? outFile : OutputFile.check(files[i], "--out"), JSON.stringify(r.replay, null, 2) + "\n"]));
    writing.forEach((r, i) => say(`wrote ${files[i]}: ${r.variant}'s interleaving, step by step (refsim races ${files[i]} replays it${r.replayPassed ? ": checked" : ": NOT reproduced"})`));
  }
  const ok = results.every((r) => (r.expected !== undefined ? r.asExpected : r.finding === null)) && writing.every((r) => r.replayPassed);
  if (o.json) {
    process.stdout.write(JSON.stringify({
      scenario: p.name, model: "protocol",
      results: results.map((r) => ({
        variant: r.variant, source: r.source, mode: r.mode, bound: r.bound, complete: r.complete, stats: r.stats, replayed: r.replayed ?? false,
        interleavingsPerSec: r.stats.ms > 0 ? (r.stats.interleavings * 1000) / r.stats.ms : null,
        violation: r.finding ? { kind: r.finding.kind, schedule: r.finding.schedule, labels: r.finding.labels } : null,
        shrunk: r.shrunk ? { switches: r.shrunk.switches, schedule: r.shrunk.finding.schedule, threads: Object.keys(r.shrunk.threads) } : null,
        out: r.replay ? files[writing.indexOf(r)] : null, replayPassed: r.replayPassed ?? null, expected: r.expected ?? null, asExpected: r.asExpected,
      })),
      ok,
    }, null, 2) + "\n");
  }
  return ok ? 0 : 1;
}
