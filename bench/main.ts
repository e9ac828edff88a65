/**
 * `npm run bench`: the WASM engine vs the plain-TypeScript model vs a C
 * reference on the engine's hot paths (gcc native, and its engine-port also
 * compiled by clang to wasm32 and run in this process), all measured in this one run, printed as
 * a Markdown table of ns/op and ratios, and written to tmp/bench-results.json.
 *
 *   npm run bench -- [--quick] [--only churn,fork-small,workload,memory,differential]
 *        [--targets wasm,model,c] [--rounds N] [--engine path/to/engine.ts] [--json] [--out f.json] [--model-large]
 *
 * The flags are src/cli/bench-args.ts's, the same for `refsim bench`. --json prints
 * the record (every case with wall and CPU times, ratios, the targets met or not)
 * on stdout instead of the Markdown table.
 *
 * Profile one case:  node --cpu-prof --cpu-prof-dir=tmp/prof --import tsx bench/main.ts --only churn-small --targets wasm
 * then:              node --import tsx bench/profile.ts tmp/prof/<file>.cpuprofile
 *
 * @example
 * ```ts ignore
 * import { runBench } from "./main.ts";
 * const exitCode = await runBench({ quick: true, only: ["churn-small"] });
 * ```
 */
import { fileURLToPath } from "node:url";
import { resolve } from "node:path";
import os from "node:os";
import { timeCase, fmtTiming, fmtNum, writeJson, benchmarkJsVersion, type Timing } from "./harness.ts";
import { buildC, runC, type CResult } from "./cref.ts";
import { buildCWasm, setupCWasm } from "./cwasm.ts";
import { BENCH_SCHEME, loadTargets, type Factory } from "./targets.ts";
import { makeCases, SEED, type Case } from "./cases.ts";
import { marginals, verify, EXPECTED } from "./memory.ts";
import { runWorkloads, type WorkloadRow } from "./workloads.ts";
import { render, goals, memoryGoals, workloadGoals, type Row, type TargetRun, type Env, type MemoryResult } from "./report.ts";
import { runDifferentialBench, type DifferentialRow } from "./differential.ts";
import type { OpTarget } from "../src/workload/target.ts";
import { BENCH_FLAGS, benchArgs, type BenchArgs } from "../src/cli/bench-args.ts";
import { parseFlags } from "../src/cli/flags.ts";
import { Progress } from "../src/cli/progress.ts";
import { RefsimError } from "../src/core/errors.ts";

/**
 * quick, only, targets, rounds, engine, json (the record on stdout), out (where
 * the record is written, default tmp/bench-results.json), modelLarge, progress:
 * see BENCH_FLAGS in src/cli/bench-args.ts.
 */
export interface BenchOptions extends BenchArgs {
  /** Where the Markdown (or, with json, the record) goes (default stdout). */
  print?: (markdown: string) => void;
  log?: (line: string) => void;
}

/** Run the bench; resolves to an exit code (1 if a target's state check failed or a case errored). */
export async function runBench(o: BenchOptions = {}): Promise<number> {
  const quick = !!o.quick;
  const use = new Set(o.targets ?? ["wasm", "model", "c"]);
  const selected = (id: string) => !o.only?.length || o.only.some((s) => id.includes(s));
  const log = o.log ?? ((msg: string) => process.stderr.write(`[bench] ${msg}\n`));
  const started = performance.now();
  const load0 = os.loadavg();

  const targets = await loadTargets(o.engine);
  const cbuild = use.has("c") ? buildC() : { ok: false, compiler: "skipped", error: "not selected" };
  if (!cbuild.ok) log(`C reference unavailable: ${cbuild.error}`);
  const cwasm = use.has("c") ? buildCWasm() : { ok: false, compiler: "skipped", error: "not selected" };
  if (use.has("c") && !cwasm.ok) log(`C engine-port (wasm32) unavailable: ${cwasm.error}`);
  log(`model: ${targets.model ? "src/model/model.ts" : targets.modelNote}`);

  async function runTarget(c: Case, create: Factory, label: string): Promise<TargetRun> {
    let t: OpTarget | undefined;
    try {
      const t0 = performance.now();
      t = await create({ capacity: c.capacity });
      const fn = c.prepare(t);
      const setupMs = performance.now() - t0;
      log(`${c.id} ${label}: setup ${setupMs.toFixed(0)} ms, timing…`);
      const timing: Timing = timeCase(`${c.id}/${label}`, fn, {
        opsPerCall: c.opsPerCall, maxTime: c.maxTime, warmupMs: c.large ? 0 : quick ? 150 : 300, warmupCalls: c.large ? 1 : 3,
      });
      const problem = c.verify(t) || undefined;
      log(`${c.id} ${label}: ${fmtTiming(timing)} ns/${c.unit}${problem ? ` — CHECK FAILED: ${problem}` : ""}`);
      return { timing, setupMs, problem };
    } catch (e) {
      const msg = (e as Error).message ?? String(e);
      log(`${c.id} ${label}: ERROR ${msg}`);
      return { error: msg.split("\n")[0] };
    } finally {
      c.release();
      t = undefined;
    }
  }

  // The WASM engine and the two C builds are timed in interleaved rounds and each
  // keeps its best round: on a shared host one stretch of a run can come out 1.5x
  // slower (most likely other tenants), and interleaving keeps the ratios fair.
  const rounds = o.rounds ?? (quick ? 1 : 2);
  if (!Number.isInteger(rounds) || rounds < 1) throw new RefsimError(`bench: rounds must be a whole number >= 1, got ${rounds}`, { field: "rounds" });
  const faster = <T extends { nsPerOp: number }>(a: T | undefined, b: T | undefined) => (!a ? b : !b ? a : b.nsPerOp < a.nsPerOp ? b : a);
  const rows: Row[] = [];
  const cases = makeCases(quick).filter((x) => selected(x.id));
  const progress = new Progress("bench", cases.length, "cases", !!o.progress);
  for (const c of cases) {
    const row: Row = { c, wasm: {}, model: {}, rounds: { wasm: [], cBare: [], cEngine: [], cWasm: [] } };
    for (let round = 0; round < rounds; round++) {
      if (use.has("wasm")) {
        const w = await runTarget(c, targets.wasm, "wasm");
        if (w.timing) row.rounds!.wasm.push(w.timing.nsPerOp);
        if (w.error || w.problem || !w.timing) { row.wasm = w; break; } // a failed round is what the row shows
        if (!row.wasm.timing || w.timing.nsPerOp < row.wasm.timing.nsPerOp) row.wasm = w;
      }
      if (round === 0 && use.has("model")) {
        row.model = !targets.model ? { error: targets.modelNote }
          : quick && c.large ? { error: "skipped (--quick)" }
          : c.modelSkip && !o.modelLarge ? { error: c.modelSkip }
          : await runTarget(c, targets.model, "model");
      }
      if (cbuild.ok && !row.cError) {
        try {
          const base = { kase: c.c.kase, n: c.c.n, frames: c.c.frames, l: c.c.l, seed: SEED, minSamples: 5, maxMs: (quick ? 0.4 : 1) * c.maxTime * 1000 };
          const bare = runC({ ...base, mode: "bare" });
          const engine = runC({ ...base, mode: "engine" });
          row.rounds!.cBare.push(bare.nsPerOp);
          row.rounds!.cEngine.push(engine.nsPerOp);
          row.cBare = faster(row.cBare, bare);
          row.cEngine = faster(row.cEngine, engine);
          log(`${c.id} C: bare ${fmtNum(bare.nsPerOp)}, engine-port ${fmtNum(engine.nsPerOp)} ns/${c.unit}`);
          if (round === 0 && c.large && c.c.kase === "churn" && !quick) {
            // layout evidence: the same C with refcount, mapcount, flags, index interleaved per frame
            row.cBareAos = runC({ ...base, mode: "bare", layout: "aos16" });
            row.cEngineAos = runC({ ...base, mode: "engine", layout: "aos16" });
            log(`${c.id} C AoS16: bare ${fmtNum(row.cBareAos.nsPerOp)}, engine-port ${fmtNum(row.cEngineAos.nsPerOp)} ns/${c.unit}`);
          }
          const maps = c.c.maps?.();
          if (maps !== undefined && (bare.cycleMaps !== maps || engine.cycleMaps !== maps)) {
            row.cError = `C stream differs: ${bare.cycleMaps}/${engine.cycleMaps} maps per cycle, TS ${maps}`;
          }
        } catch (e) {
          row.cError = (e as Error).message.split("\n")[0];
          log(`${c.id} C: ERROR ${row.cError}`);
        }
      }
      if (cwasm.ok && !row.cWasm?.error) {
        // the engine-port again, compiled by clang to wasm32 and run here, timed as the WASM engine is
        try {
          const k = setupCWasm(cwasm, { kase: c.c.kase, mode: "engine", n: c.c.n, frames: c.c.frames, l: c.c.l, seed: SEED });
          const work = c.c.kase === "churn" ? 2 * c.c.l! : 2 * c.c.n;
          log(`${c.id} C-port wasm32: setup ${k.setupMs.toFixed(0)} ms, timing…`);
          const timing = timeCase(`${c.id}/c-wasm32`, () => k.run(1), {
            opsPerCall: work, maxTime: c.maxTime, warmupMs: c.large ? 0 : quick ? 150 : 300, warmupCalls: c.large ? 1 : 3,
          });
          const maps = c.c.maps?.();
          // whole cycles and fork + exit units return to the set-up state: the same frames as the gcc build's
          const problem = maps !== undefined && k.cycleMaps !== maps ? `C wasm32 stream differs: ${k.cycleMaps} maps per cycle, TS ${maps}`
            : row.cEngine && row.cEngine.checksum !== k.checksum() ? `C wasm32 frame checksum ${k.checksum()} != gcc build's ${row.cEngine.checksum}`
            : undefined;
          row.rounds!.cWasm!.push(timing.nsPerOp);
          if (!row.cWasm?.timing || timing.nsPerOp < row.cWasm.timing.nsPerOp || problem) row.cWasm = { timing, setupMs: k.setupMs, problem };
          log(`${c.id} C-port wasm32: ${fmtTiming(timing)} ns/${c.unit}${problem ? ` — CHECK FAILED: ${problem}` : ""}`);
        } catch (e) {
          row.cWasm = { error: (e as Error).message.split("\n")[0] };
          log(`${c.id} C-port wasm32: ERROR ${row.cWasm.error}`);
        }
      }
    }
    rows.push(row);
    progress.add();
  }
  progress.end();

  let workloads: WorkloadRow[] | string = "not selected";
  if (selected("workload")) workloads = await runWorkloads(targets, { quick, seed: SEED, log });

  let memory: MemoryResult | undefined;
  if (selected("memory") && use.has("wasm")) {
    const per = await marginals();
    for (const m of per) log(`memory: ${m.measured.toFixed(3)} B per ${m.unit} (expected ${m.expected.toFixed(3)})`);
    const checks = await verify((cap) => targets.wasm({ capacity: cap }), [
      {},
      { systemPages: 1 << 20 },
      { systemPages: 8 << 20, pteTables: 24584, pmdTables: 64 },
      // test/capacity.test.ts's engine: 16 Mi frames, pte tables for 32 Mi PTEs
      { systemPages: 16 << 20, pteTables: 65536, pmdTables: 24881, processes: 16 },
    ]);
    memory = { per, expected: EXPECTED, checks };
  }

  let differential: { rows: DifferentialRow[]; ok: boolean; markdown: string } | undefined;
  if (selected("differential") && use.has("model") && use.has("wasm")) differential = await runDifferentialBench({ quick, log });

  const env: Env = {
    date: new Date().toISOString(),
    node: process.version,
    v8: process.versions.v8,
    cpu: `${os.cpus()[0]?.model ?? "?"} × ${os.cpus().length}`,
    cc: cbuild.compiler,
    ccWasm: cwasm.ok ? cwasm.compiler : `unavailable: ${cwasm.error}`,
    benchmarkJs: benchmarkJsVersion,
    quick,
    loadavgAtStart: Number(load0[0].toFixed(2)),
    loadavg: { start: load0.map((x) => Number(x.toFixed(2))), end: os.loadavg().map((x) => Number(x.toFixed(2))) },
    loadavgAtEnd: Number(os.loadavg()[0].toFixed(2)),
    engine: targets.engineModule,
    model: targets.model ? "src/model/model.ts" : targets.modelNote,
    elapsedSeconds: (performance.now() - started) / 1000,
  };
  const jsonPath = o.out ?? fileURLToPath(new URL("../tmp/bench-results.json", import.meta.url));
  const record = {
    env,
    cases: rows.map((r) => ({
      id: r.c.id, scheme: BENCH_SCHEME, title: r.c.title, unit: r.c.unit, opsPerCall: r.c.opsPerCall, capacity: r.c.capacity, note: r.c.note,
      wasm: r.wasm, model: r.model, cBare: r.cBare, cEngine: r.cEngine, cBareAos16: r.cBareAos, cEngineAos16: r.cEngineAos, cWasm32: r.cWasm, cError: r.cError, rounds: r.rounds,
      ratios: {
        wasmOverC: r.wasm.timing && r.cBare ? r.wasm.timing.nsPerOp / r.cBare.nsPerOp : null,
        wasmOverCPort: r.wasm.timing && r.cEngine ? r.wasm.timing.nsPerOp / r.cEngine.nsPerOp : null,
        tsOverWasm: r.wasm.timing && r.model.timing ? r.model.timing.nsPerOp / r.wasm.timing.nsPerOp : null,
        // AssemblyScript's code (and the core's work beyond the port) vs WebAssembly under V8 for the same C
        wasmOverCPortWasm32: r.wasm.timing && r.cWasm?.timing ? r.wasm.timing.nsPerOp / r.cWasm.timing.nsPerOp : null,
        cPortWasm32OverCPort: r.cWasm?.timing && r.cEngine ? r.cWasm.timing.nsPerOp / r.cEngine.nsPerOp : null,
      },
    })),
    goals: [...goals(rows), ...workloadGoals(workloads, rows), ...(memory ? memoryGoals(memory) : [])],
    workloads: Array.isArray(workloads) ? workloads.map(({ name, ...w }) => ({ name, scheme: BENCH_SCHEME, ...w })) : workloads,
    memory,
    differential: differential?.rows,
  };
  writeJson(jsonPath, record);
  log(`wrote ${jsonPath}`);
  (o.print ?? console.log)(o.json ? JSON.stringify(record, null, 2) : render(env, rows, workloads, memory) + (differential ? `\n${differential.markdown}` : ""));
  const failed = rows.some((r) => r.wasm.problem || r.model.problem || r.wasm.error && use.has("wasm") || r.cError || r.cWasm?.problem)
    || (memory?.checks.some((k) => !k.consistent) ?? false) || (differential ? !differential.ok : false);
  return failed ? 1 : 0;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    const { values, positionals } = parseFlags("bench", process.argv.slice(2), { ...BENCH_FLAGS, help: { type: "boolean", short: "h", doc: "" } });
    if (values.help) {
      const { commandHelp, findCommand } = await import("../src/cli/commands.ts");
      console.log(commandHelp(findCommand("bench")).replace("usage: refsim bench", "usage: npm run bench --"));
      process.exit(0);
    }
    delete values.help;
    if (positionals.length) throw new RefsimError(`bench: unexpected argument '${positionals[0]}' (see npm run bench -- --help)`, { field: "bench" });
    process.exitCode = await runBench(benchArgs(values));
  } catch (e) {
    if (!(e instanceof RefsimError)) throw e;
    console.error(`bench: ${e.message}`);
    process.exitCode = 2;
  }
}
