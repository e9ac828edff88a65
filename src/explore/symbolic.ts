/**
 * Symbolic traces: op records whose id-typed fields (mm, driver, BO, GUP handle,
 * file, fault token) name the *op that produced the id* instead of the id itself,
 * as a scenario's `as` names do. Deleting ops keeps the rest meaningful: an op
 * whose producer is gone (deleted, rejected, or a failed GUP / refaulting
 * fault_begin that returned 0) is skipped, and shrinking deletes it with its
 * producer. The executor turns a symbolic trace into concrete op records as it
 * runs, resolving each reference from the producer's result.
 *
 * Layout: `words` holds abi.OP_WORDS i32 words per op ([opcode, a0..a6]) and
 * `refs` one bit per argument slot; a slot whose bit is set holds the producer's
 * op index. No object is allocated per op, so a generator can fill one for
 * millions of ops.
 *
 * @example
 * ```ts
 * import { Engine } from "../core/engine.ts";
 * import * as abi from "../../assembly/abi.ts";
 * import { SymTrace, SymExecutor } from "./symbolic.ts";
 * const t = new SymTrace();
 * const mm = t.push(abi.OP_MM_NEW);
 * t.push(abi.OP_MMAP, [mm, 0x10000, 1, abi.VM_READ | abi.VM_WRITE | abi.VM_ANON, -1, 0], 0b1);
 * t.push(abi.OP_WRITE, [mm, 0x10000, 7], 0b1);
 * const x = new SymExecutor(await Engine.create({ scheme: "E2" }));
 * x.run(t);
 * console.log(x.status[2] === 1); // true: the write ran
 * ```
 */
import * as abi from "../../assembly/abi.ts";
import { RefsimError } from "../core/errors.ts";
import { OP_NAME_BY_CODE } from "../core/ops.ts";
import type { OpTarget } from "../workload/target.ts";

const W = abi.OP_WORDS;

/** Ops whose result is an id later ops may refer to. */
export const PRODUCERS: ReadonlySet<number> = new Set([
  abi.OP_MM_NEW, abi.OP_FORK, abi.OP_DRIVER_NEW, abi.OP_FILE_NEW, abi.OP_MIGRATE_TO_DEVICE, abi.OP_GUP, abi.OP_FAULT_BEGIN,
]);

/** What kind of id an op produces (for names and for merging references). */
export type IdKind = "mm" | "driver" | "file" | "bo" | "handle" | "fault";

export function producedKind(code: number): IdKind | undefined {
  switch (code) {
    case abi.OP_MM_NEW: case abi.OP_FORK: return "mm";
    case abi.OP_DRIVER_NEW: return "driver";
    case abi.OP_FILE_NEW: return "file";
    case abi.OP_MIGRATE_TO_DEVICE: return "bo";
    case abi.OP_GUP: return "handle";
    case abi.OP_FAULT_BEGIN: return "fault";
  }
  return undefined;
}

/** A result of 0 from these producers means "no id" (GUP failed, fault must refault). */
function zeroIsNone(code: number): boolean {
  return code === abi.OP_GUP || code === abi.OP_FAULT_BEGIN;
}

/** file_new's driver slot holds driver + 1 (0: an ordinary file). */
function refAdjust(code: number, slot: number): number {
  return code === abi.OP_FILE_NEW && slot === 1 ? 1 : 0;
}

export const ST_NOT_RUN = 0;
export const ST_OK = 1;
/** The core rejected the op (nothing changed). */
export const ST_REJECTED = 2;
/** A producer it refers to is missing, so it was not issued. */
export const ST_SKIPPED = 3;
const ST_STAGED = 4;

/** A growable symbolic trace. */
export class SymTrace {
  words: Int32Array;
  refs: Uint8Array;
  n = 0;

  constructor(capacity = 256) {
    this.words = new Int32Array(capacity * W);
    this.refs = new Uint8Array(capacity);
  }

  #grow(): void {
    const w = new Int32Array(this.words.length * 2);
    w.set(this.words);
    this.words = w;
    const r = new Uint8Array(this.refs.length * 2);
    r.set(this.refs);
    this.refs = r;
  }

  /** Append an op; `refMask` bit k says args[k] is a producer's op index. Returns the op's index. */
  push(code: number, args: ArrayLike<number> = [], refMask = 0): number {
    if (this.n === this.refs.length) this.#grow();
    const o = this.n * W;
    this.words[o] = code;
    for (let k = 0; k < W - 1; k++) this.words[o + 1 + k] = k < args.length ? args[k] : 0;
    this.refs[this.n] = refMask;
    return this.n++;
  }

  /** Append with up to four args and no allocation (the generator's hot path). */
  op(code: number, refMask: number, a0 = 0, a1 = 0, a2 = 0, a3 = 0, a4 = 0, a5 = 0): number {
    if (this.n === this.refs.length) this.#grow();
    const o = this.n * W;
    const w = this.words;
    w[o] = code; w[o + 1] = a0; w[o + 2] = a1; w[o + 3] = a2; w[o + 4] = a3; w[o + 5] = a4; w[o + 6] = a5; w[o + 7] = 0;
    this.refs[this.n] = refMask;
    return this.n++;
  }

  code(i: number): number { return this.words[i * W]; }
  arg(i: number, k: number): number { return this.words[i * W + 1 + k]; }
  isRef(i: number, k: number): boolean { return (this.refs[i] & (1 << k)) !== 0; }

  clear(): void { this.n = 0; }

  /** A copy holding only the ops with keep[i], references renumbered. Callers ensure producers are kept with consumers. */
  filter(keep: ArrayLike<boolean>): SymTrace {
    const out = new SymTrace(Math.max(16, this.n));
    const map = new Int32Array(this.n).fill(-1);
    for (let i = 0; i < this.n; i++) {
      if (!keep[i]) continue;
      const o = i * W;
      const j = out.push(this.words[o], this.words.subarray(o + 1, o + W), this.refs[i]);
      for (let k = 0; k < W - 1; k++) {
        if ((this.refs[i] & (1 << k)) === 0) continue;
        const r = map[this.words[o + 1 + k]];
        if (r < 0) throw new RefsimError(`symbolic trace: op ${i} keeps a reference to deleted op ${this.words[o + 1 + k]}`, { code: "BAD_TRACE" });
        out.words[j * W + 1 + k] = r;
      }
      map[i] = j;
    }
    return out;
  }

  /** The keep-mask closed under dependencies: an op whose producer is dropped is dropped too. */
  closeOver(keep: boolean[]): boolean[] {
    const out = keep.slice();
    for (let i = 0; i < this.n; i++) {
      if (!out[i]) continue;
      const m = this.refs[i];
      if (m === 0) continue;
      for (let k = 0; k < W - 1; k++) if ((m & (1 << k)) !== 0 && !out[this.words[i * W + 1 + k]]) { out[i] = false; break; }
    }
    return out;
  }

  clone(): SymTrace {
    const t = new SymTrace(Math.max(16, this.n));
    t.words.set(this.words.subarray(0, this.n * W));
    t.refs.set(this.refs.subarray(0, this.n));
    t.n = this.n;
    return t;
  }

  /** The first `n` ops. */
  prefix(n: number): SymTrace {
    const t = this.clone();
    t.n = Math.min(n, this.n);
    return t;
  }

  /** One op as text, references as #index: "write(#0, 65536, 7)". */
  describe(i: number): string {
    const args: string[] = [];
    let last = -1;
    for (let k = 0; k < W - 1; k++) if (this.arg(i, k) !== 0 || this.isRef(i, k)) last = k;
    for (let k = 0; k <= last; k++) args.push(this.isRef(i, k) ? `#${this.arg(i, k)}` : String(this.arg(i, k)));
    return `${OP_NAME_BY_CODE[this.code(i)] ?? `op${this.code(i)}`}(${args.join(", ")})`;
  }
}

/** What ran: per op status, result and the engine sequence number it ran as. */
export interface ExecOptions {
  /** Ops per runEncoded call at most (<= the target's batch). Default 1024. */
  batch?: number;
  /** Ops expected, to size the per-op arrays once. */
  expect?: number;
}

/**
 * Runs symbolic traces on an OpTarget, skipping ops the core rejects (they change
 * nothing) and ops whose producer is missing. A producer always ends its batch,
 * so its result is known even when a later op of the same call is rejected.
 */
export class SymExecutor {
  readonly target: OpTarget;
  status = new Uint8Array(0);
  results = new Int32Array(0);
  /** 1 for an op the kernel failed (an errno or a signal): it ran, but produced nothing a consumer can use. */
  kernelFailed = new Uint8Array(0);
  /** Engine sequence number of each op that ran, -1 otherwise. */
  seqOf = new Int32Array(0);
  /** Trace index of each engine sequence number (from `seqBase`). */
  indexOfSeq: number[] = [];
  /** Engine sequence number of the first op this executor ran. */
  readonly seqBase: number;
  seq: number;
  rejected = 0;
  skipped = 0;
  readonly batch: number;
  #stage: Int32Array;
  #stagedIdx: Int32Array;
  #staged = 0;

  constructor(target: OpTarget, options: ExecOptions = {}) {
    this.target = target;
    const cap = (target as { capacity?: { batch?: number } }).capacity?.batch ?? 1024;
    this.batch = Math.max(1, Math.min(options.batch ?? 1024, cap));
    this.#stage = new Int32Array(this.batch * W);
    this.#stagedIdx = new Int32Array(this.batch);
    this.seqBase = (target as { opsExecuted?: number }).opsExecuted ?? 0;
    this.seq = this.seqBase;
    if (options.expect) this.#ensure(options.expect);
  }

  #ensure(n: number): void {
    if (this.status.length >= n) return;
    const cap = Math.max(n, this.status.length * 2, 64);
    const s = new Uint8Array(cap); s.set(this.status); this.status = s;
    const r = new Int32Array(cap); r.set(this.results); this.results = r;
    const f = new Uint8Array(cap); f.set(this.kernelFailed); this.kernelFailed = f;
    const q = new Int32Array(cap).fill(-1); q.set(this.seqOf); this.seqOf = q;
  }

  /** Run ops [from, to) of trace t (continuing an earlier run of its prefix). */
  run(t: SymTrace, from = 0, to = t.n): void {
    this.#ensure(t.n);
    const words = t.words;
    const refs = t.refs;
    const status = this.status;
    const results = this.results;
    outer: for (let i = from; i < to; i++) {
      const o = i * W;
      const m = refs[i];
      const code = words[o];
      if (m !== 0) {
        for (let k = 0; k < W - 1; k++) {
          if ((m & (1 << k)) === 0) continue;
          const r = words[o + 1 + k];
          if (r < 0 || r >= i) throw new RefsimError(`symbolic trace: op ${i} refers to op ${r}, which is not before it`, { index: i, code: "BAD_TRACE" });
          if (status[r] === ST_STAGED) this.flush();
          if (status[r] !== ST_OK || this.kernelFailed[r] !== 0 || (zeroIsNone(words[r * W]) && results[r] === 0)) {
            status[i] = ST_SKIPPED;
            this.skipped++;
            continue outer;
          }
        }
      }
      const s = this.#staged * W;
      const st = this.#stage;
      for (let k = 0; k < W; k++) st[s + k] = words[o + k];
      if (m !== 0) {
        for (let k = 0; k < W - 1; k++) if ((m & (1 << k)) !== 0) st[s + 1 + k] = results[words[o + 1 + k]] + refAdjust(code, k);
      }
      status[i] = ST_STAGED;
      this.#stagedIdx[this.#staged++] = i;
      if (this.#staged === this.batch || PRODUCERS.has(code)) this.flush();
    }
    this.flush();
  }

  /** Run everything staged; rejected ops are marked and the rest of the call continues. */
  flush(): void {
    const n = this.#staged;
    let s = 0;
    while (s < n) {
      let r: Int32Array;
      try {
        r = this.target.runEncoded(s === 0 ? this.#stage : this.#stage.subarray(s * W), n - s);
      } catch (e) {
        const k = (e as RefsimError).index;
        if (!(e instanceof RefsimError) || typeof k !== "number" || k < 0 || s + k >= n) throw e;
        for (let j = s; j < s + k; j++) this.#done(this.#stagedIdx[j], 0); // results of these are not needed: no producer before the end
        const bad = this.#stagedIdx[s + k];
        this.status[bad] = ST_REJECTED;
        this.rejected++;
        s += k + 1;
        continue;
      }
      const failed = this.target.lastStatuses?.();
      for (let j = s; j < n; j++) {
        this.#done(this.#stagedIdx[j], r[j - s]);
        this.kernelFailed[this.#stagedIdx[j]] = failed && failed[j - s] !== 0 ? 1 : 0;
      }
      s = n;
    }
    this.#staged = 0;
  }

  #done(i: number, result: number): void {
    this.status[i] = ST_OK;
    this.results[i] = result;
    this.seqOf[i] = this.seq;
    this.indexOfSeq[this.seq - this.seqBase] = i;
    this.seq++;
  }

  /** The trace index of the op that ran as engine sequence number `seq`, or -1. */
  indexOf(seq: number): number {
    return this.indexOfSeq[seq - this.seqBase] ?? -1;
  }
}

/** The op's name, e.g. "munmap". */
export function opName(code: number): string {
  return OP_NAME_BY_CODE[code] ?? `op${code}`;
}
