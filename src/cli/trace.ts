/**
 * `refsim record <scenario|workload> --out t.rstrace [--schemes S] [--seed N] [--ops N] [--set k=v]`:
 * run a scenario file or built-in (under --schemes, default its first scheme) or a
 * workload generator (under --schemes, default E4) through a trace recorder and
 * write the binary trace. Exploration records with `refsim explore --trace`.
 *
 * `refsim replay <t.rstrace> [--out again.rstrace] [--json]`: check the whole file
 * (a truncated or corrupted trace is rejected with the byte offset, exit status
 * 2, before any op runs), replay it on a fresh engine with the recorded scheme and
 * capacity, and compare results, statistics and violations with the recording:
 * exit status 0 when identical, 1 when not. --out records the replay again.
 */
import { readFileSync, existsSync } from "node:fs";
import { Engine } from "../core/engine.ts";
import { RefsimError } from "../core/errors.ts";
import { VIOLATION_KINDS, VIOLATION_TEXT, violationCounts, type Violation } from "../core/violations.ts";
import { resolveScheme, type SchemeInput } from "../scheme/resolve.ts";
import { loadScenario } from "../scenario/load.ts";
import { WORKLOADS, WORKLOAD_NAMES, getWorkload, summaryLine } from "../workload/index.ts";
import { TraceRecorder, recordScenario, replayTrace } from "../trace/index.ts";
import { recordedSchemeName } from "../trace/replay.ts";
import { dumpTrace, pageHistory, formatPageEvent } from "../trace/dump.ts";
import { engineVersion, parseBudget } from "./explore.ts";
import { opsArg, optionalCount, parseSettings } from "./flags.ts";
import { oneScheme, schemeList } from "./scheme-arg.ts";
import { count } from "./format.ts";
import { OutputFile } from "./output.ts";

export interface TraceCliOptions {
  schemes?: string;
  seed?: string;
  ops?: string;
  /** The old name of --ops (also "10M"). */
  budget?: string;
  set?: string[];
  /** The old spelling of --set: the params as one JSON object. */
  params?: string;
  out?: string;
  json?: boolean;
}

export async function recordCommand(args: string[], o: TraceCliOptions): Promise<number> {
  if (args.length !== 1) throw new RefsimError(`record: name one scenario (file or built-in) or workload (${WORKLOAD_NAMES.join(", ")})`, { field: "source" });
  if (!o.out) throw new RefsimError("record: --out FILE is required (the trace to write, e.g. run.rstrace)", { field: "out" });
  const out = OutputFile.check(o.out, "--out");
  const what = args[0];
  const version = engineVersion();
  if (Object.hasOwn(WORKLOADS, what) && !existsSync(what)) {
    const def = getWorkload(what);
    const scheme: SchemeInput = oneScheme(o.schemes, "record", "E4");
    const seed = optionalCount(o.seed, "--seed", 0, 2 ** 32 - 1) ?? 1;
    const b = o.ops !== undefined ? { ops: opsArg(o.ops) } : o.budget !== undefined ? parseBudget(o.budget) : { ops: 100_000 };
    if (b.ops === undefined) throw new RefsimError("record: --ops for a workload is a number of ops (like 100k)", { field: "ops" });
    let params: Record<string, unknown> | undefined = o.set?.length ? parseSettings(o.set, "--set") : undefined;
    if (o.params) {
      try {
        params = JSON.parse(o.params);
      } catch (e) {
        throw new RefsimError(`--params: not valid JSON: ${(e as Error).message}`, { field: "params" });
      }
    }
    const engine = await Engine.create({ scheme: resolveScheme(scheme) });
    const rec = new TraceRecorder(engine, { source: `workload ${what}`, seed, engineVersion: version, extra: { params: params ?? {}, budget: b.ops } });
    const s = def.run(rec, params as never, seed, b.ops);
    const bytes = rec.finish();
    out.write(bytes);
    console.log(summaryLine(s));
    console.log(`recorded ${count(rec.ops)} ops under ${engine.scheme.name} to ${o.out} (${count(bytes.length)} bytes, ${(bytes.length / Math.max(1, rec.ops)).toFixed(1)} bytes/op)`);
    return 0;
  }
  const loaded = await loadScenario(what);
  const scheme: SchemeInput = oneScheme(o.schemes, "record", loaded.scenario.schemes?.[0] ?? "E4");
  const r = await recordScenario(loaded, scheme, { engineVersion: version });
  out.write(r.bytes);
  console.log(`recorded ${count(r.ops)} ops of scenario ${loaded.scenario.name} under ${resolveScheme(scheme).name} to ${o.out} (${count(r.bytes.length)} bytes)`);
  if (r.error) {
    console.log(`the scenario stopped at a rejected step; the trace holds the ops before it: ${r.error.message}`);
    return 1;
  }
  return 0;
}

/** The trace file's bytes (only read: the recording is never touched). */
function readTrace(path: string, command: string): Uint8Array {
  try {
    return new Uint8Array(readFileSync(path));
  } catch (e) {
    throw new RefsimError(`${command}: cannot read '${path}': ${(e as Error).message}`, { field: "trace", code: "NOT_FOUND" });
  }
}

/** Errors of a trace named by its file. */
async function inTrace<T>(path: string, f: () => Promise<T>): Promise<T> {
  try {
    return await f();
  } catch (e) {
    if (e instanceof RefsimError) throw new RefsimError(`${path}: ${e.message}`, { field: e.field, index: e.index, code: e.code });
    throw e;
  }
}

export async function replayCommand(args: string[], o: TraceCliOptions): Promise<number> {
  if (args.length !== 1) throw new RefsimError("replay: name one trace file", { field: "trace" });
  const others = o.schemes === undefined ? [undefined] : schemeList(o.schemes);
  if (o.out && others.length > 1) throw new RefsimError("replay: --out records one replay; give one scheme with it", { field: "out" });
  const out = o.out === undefined ? undefined : OutputFile.check(o.out, "--out");
  const bytes = readTrace(args[0], "replay");
  const docs = [];
  let status = 0;
  for (const scheme of others) {
    const r = await inTrace(args[0], () => replayTrace(bytes, { engineVersion: engineVersion(), rerecord: !!o.out, scheme }));
    if (out && r.bytes) out.write(r.bytes);
    const stats = r.engine.stats();
    const counts = VIOLATION_KINDS.filter((k) => stats.violations[k] > 0).map((k) => `${k} ${stats.violations[k]}`);
    // Under the recorded scheme the replay must be identical; under another, violations are what it finds.
    status = Math.max(status, scheme === undefined ? (r.identical ? 0 : 1) : (counts.length ? 1 : 0));
    if (o.json) {
      docs.push({
        trace: args[0], source: r.meta.source, scheme: r.engine.scheme.name, recordedScheme: recordedSchemeName(r.meta), seed: r.meta.seed, engineVersion: r.meta.engineVersion,
        ops: r.ops, identical: r.identical, differences: r.differences, warnings: r.warnings, violations: r.engine.violations(), out: o.out ?? null,
      });
      continue;
    }
    console.log(`${args[0]}: ${r.meta.source}, scheme ${r.engine.scheme.name}${scheme === undefined ? "" : ` (recorded under ${recordedSchemeName(r.meta)})`}, seed ${r.meta.seed ?? "-"}, engine ${r.meta.engineVersion}, ${count(r.ops)} ops (${count(bytes.length)} bytes)`);
    for (const w of r.warnings) console.log(`warning: ${w}`);
    console.log(`violations: ${counts.length ? counts.join(", ") : "none"}`);
    for (const v of scheme === undefined ? [] : r.engine.violations().slice(0, 20)) console.log(`  ${violationLine(v)}`);
    if (r.identical) console.log("replay identical: op results, statistics and violation records match the recording");
    else for (const d of r.differences) console.log(`replay differs: ${d}`);
    if (o.out) console.log(`recorded the replay to ${o.out}`);
  }
  if (o.json) console.log(JSON.stringify(docs.length === 1 ? docs[0] : docs, null, 2));
  return status;
}

/** "op 12: leak_page pfn 5 (refcount 1, mapcount 0): <what it means>" (`refsim dump --page` shows that page's history). */
function violationLine(v: Violation): string {
  return `op ${v.op}: ${v.kind}${v.pfn ? ` pfn ${v.pfn}` : ""} (${violationCounts(v)}): ${VIOLATION_TEXT[v.kind]}`;
}

export interface DumpCliOptions { page?: string; schemes?: string; json?: boolean }

/** `refsim dump <t.rstrace> [--page PFN [--schemes S]]`: the records as text, or one page frame's history. */
export async function dumpCommand(args: string[], o: DumpCliOptions): Promise<number> {
  if (args.length !== 1) throw new RefsimError("dump: name one trace file", { field: "trace" });
  if (o.schemes !== undefined && o.page === undefined) throw new RefsimError("dump: --schemes replays the trace for --page; give --page PFN with it", { field: "schemes" });
  const bytes = readTrace(args[0], "dump");
  if (o.page === undefined) {
    if (o.json) throw new RefsimError("dump: --json is for --page (the record dump is text)", { field: "json" });
    await inTrace(args[0], async () => { for (const line of dumpTrace(bytes)) console.log(line); });
    return 0;
  }
  const pfn = optionalCount(o.page, "--page", 0)!;
  const scheme = o.schemes === undefined ? undefined : oneScheme(o.schemes, "dump", "E4");
  const h = await inTrace(args[0], () => pageHistory(bytes, pfn, { scheme }));
  if (o.json) {
    console.log(JSON.stringify({ trace: args[0], pfn, scheme: h.scheme, ops: h.ops, stopped: h.stopped ?? null, events: h.events }, null, 2));
    return 0;
  }
  console.log(`# pfn 0x${pfn.toString(16)} (${pfn}) in ${args[0]} (${h.meta.source}) under ${h.scheme}: ${h.events.length} op(s) changed it, of ${count(h.ops)}; one line per op (its net change)`);
  for (const e of h.events) console.log(formatPageEvent(e));
  if (h.stopped) console.log(`# replay stopped: ${h.stopped}`);
  return 0;
}
