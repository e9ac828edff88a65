/**
 * The C reference kernel (bench/c/refkernel.c): built with the machine's gcc -O2
 * into tmp/bench/ when the bench starts, and run as a child process per case.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, statSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { cAbiHeader } from "./c-abi.ts";

export const SRC = fileURLToPath(new URL("./c/refkernel.c", import.meta.url));
export const OUT_DIR = fileURLToPath(new URL("../tmp/bench/", import.meta.url));
const BIN = `${OUT_DIR}refkernel`;
const BIN_AOS16 = `${OUT_DIR}refkernel-aos16`;
export const C_FLAGS = ["-O2"];

export interface CResult {
  case: string;
  mode: "bare" | "engine";
  N: number;
  frames: number;
  L: number;
  nsPerOp: number;
  rme: number;
  samples: number;
  unitsPerSample: number;
  cycleMaps: number;
  freeFrames: number;
  checksum: number;
  setupMs: number;
  /** ops (churn) or fork+zap cycles (fork) run in the timed samples */
  opsDone: number;
  /** The child's CPU time (user + system) over its wall time, whole run (setup included); see childCpuMs. */
  cpuShare?: number;
}

export interface CBuild {
  ok: boolean;
  compiler: string;
  error?: string;
}

/**
 * Write tmp/bench/abi.h (the constants come from assembly/abi.ts); true if it
 * changed, which rebuilds every binary made from it.
 */
export function writeAbiHeader(): boolean {
  mkdirSync(OUT_DIR, { recursive: true });
  const header = `${OUT_DIR}abi.h`;
  const text = cAbiHeader();
  const changed = !existsSync(header) || readFileSync(header, "utf8") !== text;
  if (changed) writeFileSync(header, text);
  return changed;
}

/** Compile the kernel (once per source change). */
export function buildC(): CBuild {
  let compiler = "gcc";
  try {
    compiler = execFileSync("gcc", ["--version"], { encoding: "utf8" }).split("\n")[0];
  } catch (e) {
    return { ok: false, compiler: "none", error: `gcc not found (${(e as Error).message})` };
  }
  const headerChanged = writeAbiHeader();
  for (const [bin, defs] of [[BIN, []], [BIN_AOS16, ["-DAOS16"]]] as const) {
    const fresh = !headerChanged && existsSync(bin) && statSync(bin).mtimeMs >= statSync(SRC).mtimeMs;
    if (fresh) continue;
    const r = spawnSync("gcc", [...C_FLAGS, ...defs, "-Wall", "-I", OUT_DIR, "-o", bin, SRC, "-lm"], { encoding: "utf8" });
    if (r.status !== 0) return { ok: false, compiler, error: r.stderr || `gcc exited ${r.status}` };
  }
  return { ok: true, compiler: `${compiler} ${C_FLAGS.join(" ")}` };
}

export interface CArgs {
  kase: "churn" | "fork";
  mode: "bare" | "engine";
  n: number;
  frames: number;
  l?: number;
  seed?: number;
  minSamples: number;
  maxMs: number;
  /** "aos16": the -DAOS16 build (refcount, mapcount, flags, index in one 16-byte record per frame). */
  layout?: "soa" | "aos16";
}

/**
 * CPU time of this process's waited-for children, in ms: cutime + cstime of
 * /proc/self/stat (fields 16 and 17, in clock ticks of 10 ms on Linux), so a
 * spawnSync's child CPU time is the difference around it. undefined off Linux.
 */
function childCpuMs(): number | undefined {
  try {
    const stat = readFileSync("/proc/self/stat", "utf8");
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" "); // fields from 3 (state) on
    return (Number(f[13]) + Number(f[14])) * 10;
  } catch {
    return undefined;
  }
}

export function runC(a: CArgs): CResult {
  const args = [a.kase, a.mode, a.n, a.frames, a.l ?? 0, a.seed ?? 1, a.minSamples, a.maxMs].map(String);
  const cpu0 = childCpuMs();
  const wall0 = performance.now();
  const r = spawnSync(a.layout === "aos16" ? BIN_AOS16 : BIN, args, { encoding: "utf8", maxBuffer: 1 << 20 });
  const wall = performance.now() - wall0;
  const cpu1 = childCpuMs();
  if (r.status !== 0) throw new Error(`refkernel ${args.join(" ")} failed (${r.status}): ${r.stderr}`);
  const out = JSON.parse(r.stdout.trim().split("\n").pop()!) as CResult;
  if (cpu0 !== undefined && cpu1 !== undefined) out.cpuShare = (cpu1 - cpu0) / Math.max(1e-9, wall);
  return out;
}
