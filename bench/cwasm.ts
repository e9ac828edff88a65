/**
 * The C engine-port compiled by clang to wasm32 (bench/c/refkernel.c with
 * -DREFKERNEL_WASM) and run in the bench's own Node process, timed by the same
 * harness as the WASM engine. It separates the two halves of WASM/C-port:
 *   WASM engine / C-port (wasm32)   AssemblyScript's code generation (and anything
 *                                   the core does that the port does not)
 *   C-port (wasm32) / C-port (gcc)  what WebAssembly under V8 costs for the same C
 *
 * @example
 * ```ts ignore
 * import { buildCWasm, setupCWasm } from "./cwasm.ts";
 * const b = buildCWasm();
 * if (b.ok) {
 *   const k = setupCWasm(b, { kase: "fork", mode: "engine", n: 4096, frames: 8192, seed: 1 });
 *   k.run(10);
 *   console.log(k.checksum());
 * }
 * ```
 */
import { spawnSync, execFileSync } from "node:child_process";
import { existsSync, readFileSync, statSync } from "node:fs";
import { OUT_DIR, SRC, writeAbiHeader } from "./cref.ts";

const WASM = `${OUT_DIR}refkernel-wasm32.wasm`;
/**
 * clang's wasm32 flags: -O2 as gcc gets; the features AssemblyScript's build uses
 * by default (bulk memory for memset/memcpy, sign extension, non-trapping float to
 * int, mutable globals), and no libc (refkernel.c brings its own bump allocator).
 */
export const CLANG_FLAGS = ["--target=wasm32", "-O2", "-nostdlib", "-mbulk-memory", "-msign-ext", "-mnontrapping-fptoint", "-mmutable-globals",
  "-DREFKERNEL_WASM", "-Wl,--no-entry", "-Wl,--max-memory=4294967296"];

export interface CWasmBuild {
  ok: boolean;
  compiler: string;
  error?: string;
  module?: WebAssembly.Module;
}

/** Compile refkernel.c to wasm32 with clang (once per source or header change). */
export function buildCWasm(): CWasmBuild {
  let compiler = "clang";
  try {
    compiler = execFileSync("clang", ["--version"], { encoding: "utf8" }).split("\n")[0];
  } catch (e) {
    return { ok: false, compiler: "none", error: `clang not found (${(e as Error).message.split("\n")[0]}); apt-get install -y clang lld` };
  }
  const headerChanged = writeAbiHeader();
  const fresh = !headerChanged && existsSync(WASM) && statSync(WASM).mtimeMs >= statSync(SRC).mtimeMs;
  if (!fresh) {
    const r = spawnSync("clang", [...CLANG_FLAGS, "-Wall", "-I", OUT_DIR, "-o", WASM, SRC], { encoding: "utf8" });
    if (r.status !== 0) return { ok: false, compiler, error: (r.stderr || `clang exited ${r.status}`).split("\n").slice(0, 4).join(" ") };
  }
  try {
    return { ok: true, compiler: `${compiler} ${CLANG_FLAGS.slice(0, 2).join(" ")}`, module: new WebAssembly.Module(readFileSync(WASM)) };
  } catch (e) {
    return { ok: false, compiler, error: `wasm32 build does not load: ${(e as Error).message}` };
  }
}

interface Exports {
  memory: WebAssembly.Memory;
  rk_setup(churn: number, engine: number, n: number, frames: number, l: number, seed: number, mmCap: number): number;
  rk_run(units: number): void;
  rk_checksum(): bigint;
  rk_cycle_maps(): bigint;
  rk_free_frames(): number;
  rk_ops_done(): bigint;
  rk_atomic_ref(): bigint;
  rk_atomic_map(): bigint;
}

export interface CWasmKernel {
  /** Run `units` churn cycles or fork + exit units. */
  run(units: number): void;
  checksum(): number;
  cycleMaps: number;
  freeFrames(): number;
  opsDone(): number;
  setupMs: number;
}

/** A fresh instance of the wasm32 build, set up for one case (its own linear memory). */
export function setupCWasm(b: CWasmBuild, a: { kase: "churn" | "fork"; mode: "bare" | "engine"; n: number; frames: number; l?: number; seed: number; mmCap?: number }): CWasmKernel {
  if (!b.module) throw new Error(`C wasm32 build unavailable: ${b.error}`);
  let x: Exports | undefined;
  const imports = {
    env: {
      rk_abort(code: number, msg: number): never {
        const bytes = new Uint8Array(x!.memory.buffer);
        let end = msg;
        while (end < bytes.length && bytes[end] !== 0) end++;
        throw new Error(`refkernel (wasm32) failed (${code}): ${new TextDecoder().decode(bytes.subarray(msg, end)).trim()}`);
      },
    },
  };
  x = new WebAssembly.Instance(b.module, imports).exports as unknown as Exports;
  const e = x;
  const t0 = performance.now();
  e.rk_setup(a.kase === "churn" ? 1 : 0, a.mode === "engine" ? 1 : 0, a.n, a.frames, a.l ?? 0, a.seed >>> 0, a.mmCap ?? 4096);
  const setupMs = performance.now() - t0;
  return {
    run: (units) => e.rk_run(units),
    checksum: () => Number(e.rk_checksum()),
    cycleMaps: Number(e.rk_cycle_maps()),
    freeFrames: () => e.rk_free_frames(),
    opsDone: () => Number(e.rk_ops_done()),
    setupMs,
  };
}
