/**
 * Shrinking a failing symbolic trace to a 1-minimal one that still fails the same
 * way. Deterministic: the same trace and test always give the same result.
 *
 * Passes, repeated until none changes anything (or the run limit is reached):
 *  1. ddmin (Zeller) over ops: remove chunks of halving size, then single ops; an
 *     op whose producer is removed goes with it;
 *  2. merge references: point an op at an earlier producer of the same kind (one
 *     process instead of two, one driver, one buffer object; a BO reuse becomes a
 *     new BO), so the later producer can go;
 *  3. simpler ops: an op replaced by a lower-numbered op of the same argument
 *     shape (madvise_dontneed, migrate_to_ram or madvise_pageout by munmap, write
 *     by read);
 *  4. parameters toward small ones: every address shifted down together, then each
 *     address to an earlier mapping's start or lower, lengths and counts to 1 or
 *     half, values to 1, flags with fewer bits (no FOLL_LONGTERM, no pin, no
 *     write), file offsets to 0.
 * At the end ops that the core rejected or skipped (they changed nothing) are
 * dropped, so the result converts into a scenario that runs without errors.
 *
 * @example
 * ```ts
 * import * as abi from "../../assembly/abi.ts";
 * import { SymTrace } from "./symbolic.ts";
 * import { shrinkTrace } from "./shrink.ts";
 * const t = new SymTrace();
 * for (let i = 0; i < 20; i++) t.push(i === 13 ? abi.OP_CHECK : abi.OP_MM_NEW);
 * // planted bug: "fails" whenever a check is present
 * const r = await shrinkTrace(t, (c) => Array.from({ length: c.n }, (_, i) => c.code(i)).includes(abi.OP_CHECK));
 * console.log(r.trace.n, r.trace.describe(0)); // 1 check()
 * ```
 */
import * as abi from "../../assembly/abi.ts";
import { MAP_BASE } from "./generate.ts";
import { SymTrace, producedKind } from "./symbolic.ts";

const W = abi.OP_WORDS;

/** True when the candidate still fails the same way. */
export type TraceTest = (t: SymTrace) => boolean | Promise<boolean>;

export interface ShrinkOptions {
  /** Test runs at most (default 20000). */
  maxRuns?: number;
  /** Ops the core rejected or skipped in the final trace, to drop (computed by the caller's last run). */
  inert?: (t: SymTrace) => boolean[] | Promise<boolean[]>;
}

export interface ShrinkResult {
  trace: SymTrace;
  runs: number;
  /** Ops before and after. */
  from: number;
  to: number;
}

type Role = "addr" | "pages" | "value" | "pgoff" | "mmapflags" | "gupflags" | "flag";

/** Literal argument slots worth shrinking, by opcode: [slot, role]. */
function roles(code: number): [number, Role][] {
  switch (code) {
    case abi.OP_MMAP: return [[1, "addr"], [2, "pages"], [3, "mmapflags"], [5, "pgoff"]];
    case abi.OP_MUNMAP: case abi.OP_MADV_DONTNEED: case abi.OP_MADV_PAGEOUT: case abi.OP_MIGRATE_TO_RAM:
    case abi.OP_MIGRATE_TO_DEVICE:
      return [[1, "addr"], [2, "pages"]];
    case abi.OP_READ: case abi.OP_FAULT_BEGIN: return [[1, "addr"]];
    case abi.OP_WRITE: return [[1, "addr"], [2, "value"]];
    case abi.OP_GUP: return [[1, "addr"], [2, "gupflags"]];
    case abi.OP_DMA_WRITE: return [[1, "value"]];
    case abi.OP_FILE_NEW: return [[0, "pages"]];
    case abi.OP_DRIVER_NEW: return [[1, "pages"]];
    case abi.OP_TRUNCATE: return [[1, "pgoff"], [2, "pages"]];
    case abi.OP_DRIVER_TEARDOWN: return [[1, "flag"]];
  }
  return [];
}

/** Simpler values to try for a field, most simple first; all differ from v. */
function candidates(role: Role, v: number, mapStarts: number[]): number[] {
  const out: number[] = [];
  const add = (x: number) => { if (x !== v && !out.includes(x)) out.push(x); };
  switch (role) {
    case "addr":
      if (v <= MAP_BASE) break;
      for (const s of mapStarts) if (s < v) add(s);
      add(MAP_BASE);
      add(v - 1);
      break;
    case "pages": if (v > 1) { add(1); add(v >> 1); add(v - 1); } break;
    case "value": if (v !== 1) { add(1); if (v > 2) add(v >> 1); } break;
    case "pgoff": if (v > 0) { add(0); add(v >> 1); add(v - 1); } break;
    case "flag": if (v !== 0) add(0); break;
    case "mmapflags":
      if ((v & abi.VM_SHARED) !== 0) add(v & ~abi.VM_SHARED);
      if ((v & abi.VM_WRITE) === 0) add(v | abi.VM_WRITE); // prot "rw" is the scenario default
      break;
    case "gupflags":
      if ((v & abi.FOLL_LONGTERM) !== 0) add(v & ~abi.FOLL_LONGTERM);
      if ((v & abi.FOLL_PIN) !== 0 && (v & abi.FOLL_LONGTERM) === 0) add(v & ~abi.FOLL_PIN);
      if ((v & abi.FOLL_WRITE) !== 0) add(v & ~abi.FOLL_WRITE);
      break;
  }
  return out;
}

/** Lower-numbered ops with the same argument shape, simplest first. */
const SIMPLER: Record<number, number[]> = {
  [abi.OP_MADV_DONTNEED]: [abi.OP_MUNMAP],
  [abi.OP_MIGRATE_TO_RAM]: [abi.OP_MUNMAP, abi.OP_MADV_DONTNEED],
  [abi.OP_MADV_PAGEOUT]: [abi.OP_MUNMAP, abi.OP_MADV_DONTNEED, abi.OP_MIGRATE_TO_RAM],
  [abi.OP_WRITE]: [abi.OP_READ],
};

class Shrinker {
  runs = 0;
  constructor(readonly test: TraceTest, readonly maxRuns: number) {}

  get exhausted(): boolean { return this.runs >= this.maxRuns; }

  async try(t: SymTrace): Promise<boolean> {
    if (this.exhausted) return false;
    this.runs++;
    return await this.test(t);
  }

  /** t without the ops in [from, to) (and whatever depends on them), or undefined if that removes nothing. */
  without(t: SymTrace, drop: (i: number) => boolean): SymTrace {
    const keep: boolean[] = [];
    for (let i = 0; i < t.n; i++) keep.push(!drop(i));
    return t.filter(t.closeOver(keep));
  }

  /** ddmin over ops (complements of n chunks), then one at a time from the end. */
  async removeOps(t: SymTrace): Promise<SymTrace> {
    let n = 2;
    while (t.n >= 2 && !this.exhausted) {
      const chunk = Math.ceil(t.n / n);
      let reduced = false;
      for (let start = 0; start < t.n; start += chunk) {
        const c = this.without(t, (i) => i >= start && i < start + chunk);
        if (c.n < t.n && (await this.try(c))) {
          t = c;
          n = Math.max(n - 1, 2);
          reduced = true;
          break;
        }
      }
      if (!reduced) {
        if (chunk === 1) break;
        n = Math.min(n * 2, t.n);
      }
    }
    for (let i = t.n - 1; i >= 0 && !this.exhausted; i--) {
      if (i >= t.n) continue;
      const c = this.without(t, (j) => j === i);
      if (await this.try(c)) t = c;
    }
    return t;
  }

  /** Point references at earlier producers of the same kind; turn a BO reuse into a new BO. */
  async mergeRefs(t: SymTrace): Promise<SymTrace> {
    for (let i = 0; i < t.n && !this.exhausted; i++) {
      for (let k = 0; k < W - 1; k++) {
        if (!t.isRef(i, k)) continue;
        const r = t.arg(i, k);
        const kind = producedKind(t.code(r));
        if (t.code(i) === abi.OP_MIGRATE_TO_DEVICE && k === 4) {
          const c = t.clone();
          c.words[i * W + 1 + k] = 0;
          c.refs[i] &= ~(1 << k);
          if (await this.try(c)) { t = c; continue; }
        }
        for (let r2 = 0; r2 < r; r2++) {
          if (producedKind(t.code(r2)) !== kind) continue;
          const c = t.clone();
          c.words[i * W + 1 + k] = r2;
          if (await this.try(c)) { t = c; break; }
        }
      }
    }
    return t;
  }

  /** Replace ops by lower-numbered ops of the same argument shape. */
  async simplerOps(t: SymTrace): Promise<SymTrace> {
    for (let i = 0; i < t.n && !this.exhausted; i++) {
      for (const code of SIMPLER[t.code(i)] ?? []) {
        const c = t.clone();
        c.words[i * W] = code;
        if (code === abi.OP_READ) c.words[i * W + 3] = 0; // a read has no value
        if (await this.try(c)) { t = c; break; }
      }
    }
    return t;
  }

  /**
   * Shift every address down together; move every use of one address to a lower
   * one at once (an access and the pin of the same page move together); then
   * shrink each literal field on its own.
   */
  async params(t: SymTrace): Promise<SymTrace> {
    const addrs = (c: SymTrace): number[] => {
      const out = new Set<number>();
      for (let i = 0; i < c.n; i++) for (const [k, role] of roles(c.code(i))) if (role === "addr" && !c.isRef(i, k)) out.add(c.arg(i, k));
      return [...out].sort((a, b) => a - b);
    };
    const rewrite = (c: SymTrace, f: (v: number) => number): SymTrace => {
      const x = c.clone();
      for (let i = 0; i < x.n; i++) for (const [k, role] of roles(x.code(i))) if (role === "addr") x.words[i * W + 1 + k] = f(x.arg(i, k));
      return x;
    };
    const all = addrs(t);
    if (all.length && all[0] > MAP_BASE) {
      const d = all[0] - MAP_BASE;
      const c = rewrite(t, (v) => v - d);
      if (await this.try(c)) t = c;
    }
    for (const v of addrs(t).reverse()) {
      if (this.exhausted) break;
      const starts = mapStarts(t, t.n);
      for (const to of candidates("addr", v, starts)) {
        const c = rewrite(t, (x) => (x === v ? to : x));
        if (await this.try(c)) { t = c; break; }
      }
    }
    for (let i = 0; i < t.n && !this.exhausted; i++) {
      const starts = mapStarts(t, i);
      for (const [k, role] of roles(t.code(i))) {
        if (t.isRef(i, k)) continue;
        for (const v of candidates(role, t.arg(i, k), starts)) {
          if (role === "gupflags" && dmaThrough(t, i) && (v & DMA_FLAGS) !== DMA_FLAGS) continue;
          const c = t.clone();
          c.words[i * W + 1 + k] = v;
          if (await this.try(c)) { t = c; break; }
        }
      }
    }
    return t;
  }
}

/** A device may DMA only through a pin taken for writing (pin_user_pages.rst): such a gup keeps these flags. */
const DMA_FLAGS = abi.FOLL_PIN | abi.FOLL_WRITE;

/** Is there a dma_write through the handle gup op i produced? */
function dmaThrough(t: SymTrace, i: number): boolean {
  for (let j = i + 1; j < t.n; j++) if (t.code(j) === abi.OP_DMA_WRITE && t.isRef(j, 0) && t.arg(j, 0) === i) return true;
  return false;
}

/** Start addresses of the mappings made by ops before `end`, ascending. */
function mapStarts(t: SymTrace, end: number): number[] {
  const out: number[] = [];
  for (let j = 0; j < end; j++) if (t.code(j) === abi.OP_MMAP && t.arg(j, 1) >= 0) out.push(t.arg(j, 1));
  return out.sort((a, b) => a - b);
}

function same(a: SymTrace, b: SymTrace): boolean {
  if (a.n !== b.n) return false;
  for (let i = 0; i < a.n * W; i++) if (a.words[i] !== b.words[i]) return false;
  for (let i = 0; i < a.n; i++) if (a.refs[i] !== b.refs[i]) return false;
  return true;
}

/** Shrink `trace`, which must pass `test`, to a 1-minimal trace that still does. */
export async function shrinkTrace(trace: SymTrace, test: TraceTest, options: ShrinkOptions = {}): Promise<ShrinkResult> {
  const s = new Shrinker(test, options.maxRuns ?? 20_000);
  let t = trace.clone();
  if (!(await s.try(t))) throw new Error("shrinkTrace: the trace does not fail the test to begin with");
  for (let round = 0; round < 50 && !s.exhausted; round++) {
    const before = t;
    t = await s.removeOps(t);
    t = await s.mergeRefs(t);
    t = await s.simplerOps(t);
    t = await s.params(t);
    if (same(before, t)) break;
  }
  if (options.inert) {
    const inert = await options.inert(t);
    if (inert.some(Boolean)) {
      const c = s.without(t, (i) => inert[i]);
      if (await test(c)) t = c;
    }
  }
  return { trace: t, runs: s.runs, from: trace.n, to: t.n };
}
