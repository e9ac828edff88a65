/**
 * The bench's Markdown: the ratio table, the issue's targets, workload rows and
 * memory per frame / PTE.
 */
import { fmtTiming, fmtNum, fmtRatio, markdownTable, type Timing } from "./harness.ts";
import type { CResult } from "./cref.ts";
import type { Case } from "./cases.ts";
import type { WorkloadRow } from "./workloads.ts";
import type { Marginal, MemoryCheck, EXPECTED } from "./memory.ts";

export interface TargetRun { timing?: Timing; error?: string; setupMs?: number; problem?: string }

export interface Row {
  c: Case;
  wasm: TargetRun;
  model: TargetRun;
  cBare?: CResult;
  cEngine?: CResult;
  cBareAos?: CResult;
  cEngineAos?: CResult;
  /** The C engine-port compiled by clang to wasm32, run in the bench's process (bench/cwasm.ts). */
  cWasm?: TargetRun;
  cError?: string;
  /** ns/op of each interleaved round (the table shows the best). */
  rounds?: { wasm: number[]; cBare: number[]; cEngine: number[]; cWasm?: number[] };
}

export interface Env {
  date: string;
  node: string;
  v8: string;
  cpu: string;
  cc: string;
  /** clang's wasm32 build of the engine-port, or why there is none. */
  ccWasm?: string;
  benchmarkJs: string;
  quick: boolean;
  loadavgAtStart: number;
  loadavgAtEnd: number;
  /** 1-, 5- and 15-minute load averages when the bench started and ended. */
  loadavg?: { start: number[]; end: number[] };
  engine: string;
  model: string;
  elapsedSeconds: number;
}

export interface MemoryResult { per: Marginal[]; expected: typeof EXPECTED; checks: MemoryCheck[] }

export interface Goal { what: string; measured: string; status: "met" | "NOT met" | "–" }

export function goals(rows: Row[]): Goal[] {
  const out: Goal[] = [];
  const byId = (id: string) => rows.find((r) => r.c.id === id);
  const goal = (what: string, value: number | undefined, ok: (v: number) => boolean, fmt: (v: number) => string) =>
    out.push({ what, measured: value === undefined ? "not measured" : fmt(value), status: value === undefined ? "–" : ok(value) ? "met" : "NOT met" });
  const mops = (id: string) => { const t = byId(id)?.wasm.timing; return t ? 1e3 / t.nsPerOp : undefined; };
  goal("random PTE ops, cache-resident: ≥ 100 M/s", mops("churn-small"), (v) => v >= 100, (v) => `${fmtNum(v)} M/s`);
  goal("random PTE ops, 8 Mi frames: ≥ 20 M/s", mops("churn-8M"), (v) => v >= 20, (v) => `${fmtNum(v)} M/s`);
  goal("batched range ops (fork + zap), cache-resident: ≥ 100 M PTEs/s", mops("fork-small"), (v) => v >= 100, (v) => `${fmtNum(v)} M PTEs/s`);
  goal("batched range ops, 8 Mi frames (perf-anchors G3: ≥ 60 M PTEs/s)", mops("fork-8M"), (v) => v >= 60, (v) => `${fmtNum(v)} M PTEs/s`);
  const ts = rows.map((r) => (r.model.timing && r.wasm.timing ? r.model.timing.nsPerOp / r.wasm.timing.nsPerOp : undefined)).filter((x): x is number => x !== undefined);
  goal("WASM ≥ 1.5× the TS model (geometric mean of the cases above)", ts.length ? Math.exp(ts.reduce((a, b) => a + Math.log(b), 0) / ts.length) : undefined, (v) => v >= 1.5, (v) => `${v.toFixed(2)}×`);
  for (const id of ["churn-small", "churn-8M"]) {
    const r = byId(id);
    goal(`WASM ≤ 1.2× C on random ops, ${id} (vs C bare)`, r?.wasm.timing && r.cBare ? r.wasm.timing.nsPerOp / r.cBare.nsPerOp : undefined, (v) => v <= 1.2, (v) => `${v.toFixed(2)}×`);
  }
  // issue 14's targets
  const port = (id: string) => { const r = byId(id); return r?.wasm.timing && r.cEngine ? r.wasm.timing.nsPerOp / r.cEngine.nsPerOp : undefined; };
  const x = (v: number) => `${v.toFixed(2)}×`;
  goal("issue 14: random map/unmap, cache-resident ≤ 1.05× the C engine-port", port("churn-small"), (v) => v <= 1.05, x);
  goal("issue 14: random map/unmap, cache-resident ≥ 60 M ops/s", mops("churn-small"), (v) => v >= 60, (v) => `${fmtNum(v)} M/s`);
  goal("issue 14: random map/unmap, 8 Mi frames ≤ 1.3× the C engine-port", port("churn-8M"), (v) => v <= 1.3, x);
  goal("issue 14: fork + zap ≤ 1.1× the C engine-port (cache-resident)", port("fork-small"), (v) => v <= 1.1, x);
  goal("issue 14: fork + zap ≥ 150 M PTEs/s (cache-resident)", mops("fork-small"), (v) => v >= 150, (v) => `${fmtNum(v)} M PTEs/s`);
  const tsMin = ts.length ? Math.min(...ts) : undefined;
  goal("issue 14: TS model / WASM ≥ 10× on every core case", tsMin, (v) => v >= 10, (v) => `${v.toFixed(1)}× at the least`);
  return out;
}

/**
 * issue 14's workload targets: every registered workload's user-visible rate (its
 * generator's JavaScript included, on CPU time) against the core's own rate for the
 * same ops (the recorded stream replayed) and against the core's churn rate;
 * page-fault1's simulated page faults per second against the kernel's ~340 k/s per core
 * (will-it-scale page_fault1).
 */
export function workloadGoals(workloads: WorkloadRow[] | string, rows: Row[]): Goal[] {
  if (!Array.isArray(workloads)) return [];
  const w = workloads.filter((r) => r.target === "wasm" && r.cpuOpsPerSec);
  const out: Goal[] = [];
  if (!w.length) return out;
  const low = w.filter((r) => (r.ofCore ?? 0) < 0.5);
  const minOf = Math.min(...w.map((r) => r.ofCore ?? 0));
  out.push({
    what: "issue 14: every workload ≥ 50 % of the core's rate for the same ops (CPU time)",
    measured: `${(minOf * 100).toFixed(0)} % at the least${low.length ? ` (below: ${low.map((r) => `${r.name} ${((r.ofCore ?? 0) * 100).toFixed(0)} %`).join(", ")})` : ""}`,
    status: low.length ? "NOT met" : "met",
  });
  const churn = rows.find((r) => r.c.id === "churn-small")?.wasm.timing;
  if (churn) {
    const rate = 1e9 / churn.nsPerOp;
    const below = w.filter((r) => r.cpuOpsPerSec! < 0.5 * rate);
    out.push({
      what: "issue 14: every workload ≥ 50 % of the core's churn rate (churn-small)",
      measured: `${below.length} of ${w.length} below ${fmtNum(rate / 2e6)} M ops/s${below.length ? ` (${below.map((r) => `${r.name} ${fmtNum(r.cpuOpsPerSec! / 1e6)} M`).join(", ")})` : ""}`,
      status: below.length ? "NOT met" : "met",
    });
  }
  // The model's run of the same workload, same ops, on CPU time: the core cases' target holds for workloads too.
  const ts = w.flatMap((r) => {
    const m = workloads.find((x) => x.name === r.name && x.target === "model" && x.cpuOpsPerSec);
    return m ? [{ name: r.name, ratio: r.cpuOpsPerSec! / m.cpuOpsPerSec! }] : [];
  });
  if (ts.length) {
    const low = ts.filter((t) => t.ratio < 10);
    out.push({
      what: "issue 14: TS model / WASM ≥ 10× on every workload (CPU time)",
      measured: `${Math.min(...ts.map((t) => t.ratio)).toFixed(1)}× at the least${low.length ? ` (below: ${low.map((t) => `${t.name} ${t.ratio.toFixed(1)}×`).join(", ")})` : ""}`,
      status: low.length ? "NOT met" : "met",
    });
  }
  const pf = w.find((r) => r.name === "page-fault1");
  if (pf?.faultsPerCpuSec !== undefined) {
    out.push({
      what: "issue 14: page-fault1 simulated page faults/s ≥ 100× the kernel's ~340 k/s per core (34 M/s)",
      measured: `${fmtNum(pf.faultsPerCpuSec / 1e6)} M faults per CPU second (${(pf.faultsPerCpuSec / 340e3).toFixed(0)}×)`,
      status: pf.faultsPerCpuSec >= 34e6 ? "met" : "NOT met",
    });
  }
  return out;
}

/**
 * The issue's memory targets. The heap-end marginal is measured; its split into
 * kernel state, checking words and OP_CHECK scratch is what the init functions
 * allocate (the table below checks the two agree).
 */
export function memoryGoals(memory: MemoryResult): Goal[] {
  const e = memory.expected;
  const frame = memory.per.find((m) => m.unit === "system frame");
  const pte = memory.per.find((m) => m.unit.startsWith("PTE"));
  const out: Goal[] = [];
  if (frame) {
    const kernel = frame.measured - e.frame.checking - e.frame.check;
    out.push({
      what: "≤ 16 B per frame of kernel state",
      measured: `${kernel.toFixed(3)} B kernel state (refcount, mapcount, flags, index)`,
      status: kernel <= 16 + 1e-9 ? "met" : "NOT met",
    });
    out.push({
      what: "≤ 24 B per frame in all",
      measured: `${frame.measured.toFixed(3)} B in all: kernel state + the checking words the hot path touches (content, lastOp) + OP_CHECK's per-block words; OP_CHECK's per-frame scratch is one ${(e.checkChunkBytes / 2 ** 20).toFixed(0)} MiB chunk, fixed`,
      status: frame.measured <= 24 + 1e-9 ? "met" : "NOT met",
    });
  }
  if (pte) {
    const kernel = pte.measured - e.pte.checking - e.pte.check;
    out.push({
      what: "≤ 4 B per PTE of kernel state",
      measured: `${kernel.toFixed(3)} B kernel state: the 4 B PTE word, plus its 512-entry table's PMD leaf word (4 B per table)`,
      status: kernel - 4 / 512 <= 4 + 1e-9 ? "met" : "NOT met",
    });
    out.push({
      // counted as the kernel-state line counts it: the PMD leaf word is the table's, as in the kernel, not the PTE's
      what: "≤ 8 B per PTE in all (the table's PMD leaf word aside, as above)",
      measured: `${pte.measured.toFixed(3)} B in all: the PTE word and the shadow data word, plus 4 B per 512-entry table for its PMD leaf word`,
      status: pte.measured - 4 / 512 <= 8 + 1e-9 ? "met" : "NOT met",
    });
  }
  const k = memory.checks;
  if (k.length) {
    const worst = Math.max(...k.map((c) => c.memoryBytes - c.heapEnd));
    out.push({
      what: "linear memory sized to what the engine needs (no doubling)",
      measured: `engine.memoryBytes − heap end ≤ ${(worst / 1024).toFixed(1)} KiB over ${k.length} capacities`,
      status: k.every((c) => c.consistent) ? "met" : "NOT met",
    });
  }
  return out;
}

const mib = (x: number) => (Number.isFinite(x) ? `${(x / 2 ** 20).toFixed(1)} MiB` : "?");

export function render(env: Env, rows: Row[], workloads: WorkloadRow[] | string, memory: MemoryResult | undefined): string {
  const out: string[] = [];
  out.push(`## refsim bench${env.quick ? " (--quick)" : ""}`, "");
  const busy = Math.max(env.loadavgAtStart, env.loadavgAtEnd) > 1.5 ? " — other processes were competing for the cores: expect noise" : "";
  out.push(`${env.date} · Node ${env.node} (V8 ${env.v8}) · ${env.cpu} · C: ${env.cc}${env.ccWasm ? `; wasm32: ${env.ccWasm}` : ""} · benchmark.js ${env.benchmarkJs} · load average (1, 5, 15 min) ${env.loadavg ? `${env.loadavg.start.join(", ")} → ${env.loadavg.end.join(", ")}` : `${env.loadavgAtStart} → ${env.loadavgAtEnd}`}${busy}`, "");
  if (rows.length) {
    const nRounds = Math.max(0, ...rows.map((r) => r.rounds?.wasm.length ?? 0));
    out.push(`ns per op (per PTE for the range ops), mean ±rme (95%) after warm-up; all columns measured in this run${nRounds > 1 ? `, the WASM engine and the C builds in ${nRounds} interleaved rounds, each showing its best round (the rounds are listed below the table)` : ""}.`, "");
    const cell = (r: TargetRun) => (r.timing ? fmtTiming(r.timing) + (r.problem ? " ⚠" : "") : r.error ?? "–");
    out.push(markdownTable(
      ["case", "WASM engine", "TS model", "C bare", "C engine-port", "C engine-port (wasm32)", "WASM M/s", "WASM/C", "WASM/C-port", "WASM/C-port-wasm32", "C-port-wasm32/C-port", "TS/WASM"],
      rows.map((r) => {
        const w = r.wasm.timing?.nsPerOp;
        const cw = r.cWasm?.timing?.nsPerOp;
        return [
          `${r.c.id} (${r.c.unit})`, cell(r.wasm), cell(r.model),
          r.cBare ? fmtTiming(r.cBare) : r.cError ?? "–", r.cEngine ? fmtTiming(r.cEngine) : "–", r.cWasm ? cell(r.cWasm) : "–",
          w ? fmtNum(1e3 / w) : "–", fmtRatio(w, r.cBare?.nsPerOp), fmtRatio(w, r.cEngine?.nsPerOp),
          fmtRatio(w, cw), fmtRatio(cw, r.cEngine?.nsPerOp), fmtRatio(r.model.timing?.nsPerOp, w),
        ];
      }),
    ), "");
    for (const r of rows) {
      const rr = r.rounds;
      const roundNote = rr && rr.wasm.length > 1
        ? `rounds (WASM / C bare / C engine-port / C engine-port wasm32): ${rr.wasm.map((_, i) => [rr.wasm[i], rr.cBare[i], rr.cEngine[i], rr.cWasm?.[i]].map((x) => (x === undefined ? "–" : fmtNum(x))).join(" / ")).join("; ")}`
        : undefined;
      const share = (x?: { cpuShare?: number }) => (x?.cpuShare === undefined ? "–" : `${Math.round(x.cpuShare * 100)}%`);
      const cpuNote = `CPU time / wall time while timing: WASM ${share(r.wasm.timing)}, TS model ${share(r.model.timing)}, C bare ${share(r.cBare)}, C engine-port ${share(r.cEngine)}, C engine-port wasm32 ${share(r.cWasm?.timing)}`
        + (r.wasm.timing ? ` (WASM CPU ns/op ${fmtNum(r.wasm.timing.cpuNsPerOp)})` : "");
      const notes = [r.c.note, roundNote, cpuNote, r.wasm.problem && `WASM state check: ${r.wasm.problem}`, r.model.problem && `model state check: ${r.model.problem}`, r.cWasm?.problem && `C wasm32 check: ${r.cWasm.problem}`, r.cError].filter(Boolean);
      out.push(`- **${r.c.id}**: ${r.c.title}; ${notes.join("; ")}`);
    }
    out.push("");
    out.push("CPU time is process.cpuUsage() over the WASM and model timing, and the C child's user + system time over its run; a share well below 100% means the process waited for a core (load on the host).", "");
    out.push("C bare = the essential work only (walk, frame alloc/free, refcount/mapcount, PTE + shadow); C engine-port = a line-by-line C port of the core's path for the same ops (op records, dispatch, validation, i64 statistics, scheme-rule loads, mmu_gather). WASM/C-port is what AssemblyScript → WASM → V8 costs; C-port/C bare is what the core's design costs. C engine-port (wasm32) = the same C compiled by clang to wasm32 and run in this process under the same harness as the WASM engine: WASM/C-port-wasm32 is AssemblyScript's code generation (and any work the core does beyond the port), C-port-wasm32/C-port what WebAssembly under V8 costs for the same C.", "");
    const aos = rows.filter((r) => r.cBareAos && r.cBare);
    if (aos.length) {
      out.push("Frame layout (C, this run): one array per struct-page field (the core's layout) vs refcount, mapcount, flags and index interleaved in one 16-byte record per frame:", "");
      out.push(markdownTable(["case", "C bare, arrays", "C bare, 16-B records", "C engine-port, arrays", "C engine-port, 16-B records"], aos.map((r) => [
        r.c.id, fmtTiming(r.cBare), `${fmtTiming(r.cBareAos)} (${fmtRatio(r.cBareAos!.nsPerOp, r.cBare!.nsPerOp)})`,
        fmtTiming(r.cEngine), r.cEngineAos && r.cEngine ? `${fmtTiming(r.cEngineAos)} (${fmtRatio(r.cEngineAos.nsPerOp, r.cEngine.nsPerOp)})` : "–",
      ])), "");
    }
    out.push("### The issue's targets", "");
    out.push(markdownTable(["target", "measured", ""], goals(rows).map((g) => [g.what, g.measured, g.status])), "");
  }

  if (Array.isArray(workloads)) {
    out.push("### Workload generators (src/workload), median of runs on fresh targets", "");
    const names = [...new Set(workloads.map((w) => w.name))];
    const cell = (w?: WorkloadRow) => (w?.opsPerSec ? `${fmtNum(w.opsPerSec / 1e6)} M` : w?.note ?? "–");
    out.push(markdownTable(
      ["workload", "ops/run", "WASM ops/s (wall)", "WASM ops per CPU s", "core, same ops (CPU)", "of the core (CPU / wall)", "TS model ops/s", "TS/WASM (CPU)", "atomics/op", "peak frames", "violations"],
      names.map((n) => {
        const w = workloads.find((x) => x.name === n && x.target === "wasm");
        const m = workloads.find((x) => x.name === n && x.target === "model");
        const pct = (v?: number) => (v === undefined ? "–" : `${(v * 100).toFixed(0)} %`);
        return [n, String(w?.ops || m?.ops || "–"), cell(w),
          w?.cpuOpsPerSec ? `${fmtNum(w.cpuOpsPerSec / 1e6)} M` : "–",
          w?.coreCpuOpsPerSec ? `${fmtNum(w.coreCpuOpsPerSec / 1e6)} M` : "–",
          `${pct(w?.ofCore)} / ${pct(w?.ofCoreWall)}`,
          cell(m),
          // on CPU time, as the target line below it (the wall-time ratio differed from it by up to 12 %)
          w?.cpuOpsPerSec && m?.cpuOpsPerSec ? `${(w.cpuOpsPerSec / m.cpuOpsPerSec).toFixed(2)}×` : "–",
          w?.atomicsPerOp !== undefined ? w.atomicsPerOp.toFixed(2) : "–",
          w?.peakFrames !== undefined ? String(w.peakFrames) : "–",
          w?.violations !== undefined ? String(w.violations) + (m?.violations !== undefined && m.violations !== w.violations ? ` (model: ${m.violations})` : "") : "–"];
      }),
    ), "");
    out.push("core, same ops = the op stream the generator produced, recorded and replayed through runEncoded in the same chunks on a fresh engine, interleaved with the generator's runs (median of the rounds); of the core = the generator's rate over it, round by round. With --quick the runs are short (100 k ops) and the CPU time includes V8's background compilation of the generator, so the shares come out low.", "");
    const wg = workloadGoals(workloads, rows);
    if (wg.length) out.push(markdownTable(["target", "measured", ""], wg.map((g) => [g.what, g.measured, g.status])), "");
    out.push("ops/s includes the generator's own JavaScript (drawing and encoding ops), as a user of the workload sees it.", "");
  } else {
    out.push(`### Workload generators: ${workloads}`, "");
  }

  if (memory) {
    out.push("### Memory targets", "");
    out.push(markdownTable(["target", "measured", ""], memoryGoals(memory).map((g) => [g.what, g.measured, g.status])), "");
    const e = memory.expected;
    const b = (x: number) => (Math.abs(x - Math.round(x)) < 1e-9 ? String(Math.round(x)) : x.toFixed(3));
    out.push("### Memory per simulated frame and PTE", "");
    out.push(markdownTable(["unit", "measured in all (heap-end Δ)", "expected (assembly/*.ts init)", "kernel state", "checking state (hot path)", "OP_CHECK scratch"], memory.per.map((m) => {
      const role = m.unit === "system frame" ? e.frame : m.unit.startsWith("PTE") ? e.pte : undefined;
      const strict = role !== undefined; // per-mm and per-pmd arrays may grow with features; frames and PTEs should not silently
      return [m.unit, `**${b(m.measured)} B**`, `${b(m.expected)} B${Math.abs(m.measured - m.expected) > 0.01 ? (strict ? " (MISMATCH: the init functions changed)" : " (init changed)") : ""}`,
        role ? b(role.hot) : "", role ? b(role.checking) : "", role ? b(role.check) : ""];
    })), "");
    out.push(`kernel state = refcount, mapcount, flags and index per frame (a free page links the buddy list through index; _entire_mapcount and _pincount exist only for THP-pool and device blocks); the PTE word per PTE and its table's PMD leaf word (free tables link through their first entry). Checking state = content + lastOp per frame, the shadow data word per PTE. Scratch = OP_CHECK's per-block expected entire mapcount and pins; its expected refcount/mapcount cover one chunk of frames (${mib(e.checkChunkBytes)}, fixed; engines past 1 Mi frames check chunk by chunk, each chunk scanning every holder). The frame row is measured from 2 Mi frames to 3 Mi.`, "");
    out.push(markdownTable(["capacity", "heap end", "engine.memoryBytes", "consistent", "Engine.create ms"], memory.checks.map((k) => [
      JSON.stringify(k.capacity), mib(k.heapEnd), mib(k.memoryBytes), k.consistent ? "yes" : "NO", k.createMs.toFixed(0),
    ])), "");
    out.push("engine.memoryBytes is the linear memory size: init grows it once by exactly what its tables need (assembly/heap.ts), so it is the heap end rounded up to 64 KiB.", "");
  }
  out.push(`Bench time ${env.elapsedSeconds.toFixed(1)} s.`);
  return out.join("\n");
}
