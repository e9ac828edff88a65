/**
 * The benchmark op streams, encoded as the core's op records. Every generator
 * here has a twin in bench/c/refkernel.c that draws the same xorshift32 stream
 * in the same order, so the WASM engine, the TypeScript model and the C
 * reference do exactly the same work.
 */
import * as abi from "../assembly/abi.ts";
import type { OpTarget } from "../src/workload/target.ts";

/** Where the first mmap of an empty mm lands (assembly/mm.ts MMAP_BASE). */
export const MMAP_BASE = 0x10000;
const W = abi.OP_WORDS;

/** xorshift32 (13, 17, 5); the seed must not be 0. */
export function xorshift32(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s;
  };
}

export function put(words: Int32Array, at: number, op: number, a0 = 0, a1 = 0, a2 = 0, a3 = 0, a4 = 0): void {
  const o = at * W;
  words.fill(0, o, o + W);
  words[o] = op;
  words[o + 1] = a0;
  words[o + 2] = a1;
  words[o + 3] = a2;
  words[o + 4] = a3;
  words[o + 5] = a4;
}

/** mm_new + one anonymous rw mapping of n pages; returns its first vpn. */
export function setupAnon(t: OpTarget, n: number): number {
  const w = new Int32Array(W);
  put(w, 0, abi.OP_MM_NEW);
  const mm = t.runEncoded(w, 1)[0];
  if (mm !== 0) throw new Error(`bench expects a fresh target (first mm is ${mm})`);
  put(w, 0, abi.OP_MMAP, 0, -1, n, abi.VM_READ | abi.VM_WRITE | abi.VM_ANON, -1);
  const vpn = t.runEncoded(w, 1)[0];
  if (vpn !== MMAP_BASE) throw new Error(`mmap landed at vpn ${vpn}, expected ${MMAP_BASE}`);
  return vpn;
}

/** OP_WRITE (mm 0, base + slot, value = slot) for each chosen slot, in chunks. */
export function writeSlots(t: OpTarget, slots: Iterable<number>, chunk = 1 << 16): number {
  const w = new Int32Array(chunk * W);
  let n = 0;
  let total = 0;
  for (const s of slots) {
    put(w, n++, abi.OP_WRITE, 0, MMAP_BASE + s, s);
    if (n === chunk) { t.runEncoded(w, n); total += n; n = 0; }
  }
  if (n) { t.runEncoded(w, n); total += n; }
  return total;
}

export interface Churn {
  /** Slots populated before the cycle starts. */
  initial: Uint8Array;
  /** One cycle: 2L op records (S, then S reversed), returning the state to `initial`. */
  words: Int32Array;
  ops: number;
  maps: number;
}

/**
 * Random PTE map/unmap over an N-slot anon VMA at MMAP_BASE: slot i starts
 * populated if next() & 1; then L slots next() % N. Op j of the cycle writes
 * value j to an empty slot (do_anonymous_page) or zaps a populated one
 * (MADV_DONTNEED of one page).
 */
export function churnStream(n: number, l: number, seed: number): Churn {
  const next = xorshift32(seed);
  const initial = new Uint8Array(n);
  for (let i = 0; i < n; i++) initial[i] = next() & 1;
  const slots = new Uint32Array(2 * l);
  for (let k = 0; k < l; k++) slots[k] = next() % n;
  for (let k = 0; k < l; k++) slots[2 * l - 1 - k] = slots[k];
  const occ = initial.slice();
  const words = new Int32Array(2 * l * W);
  let maps = 0;
  for (let j = 0; j < 2 * l; j++) {
    const s = slots[j];
    if (occ[s] === 0) {
      put(words, j, abi.OP_WRITE, 0, MMAP_BASE + s, j);
      maps++;
    } else {
      put(words, j, abi.OP_MADV_DONTNEED, 0, MMAP_BASE + s, 1);
    }
    occ[s] ^= 1;
  }
  return { initial, words, ops: 2 * l, maps };
}

/** Populate a target for the churn cycle. */
export function setupChurn(t: OpTarget, n: number, c: Churn): void {
  setupAnon(t, n);
  function* populated() { for (let i = 0; i < n; i++) if (c.initial[i]) yield i; }
  writeSlots(t, populated());
}

/** Populate a target for fork/zap: one fully written N-page anon VMA (mm 0). */
export function setupFork(t: OpTarget, n: number): void {
  setupAnon(t, n);
  function* all() { for (let i = 0; i < n; i++) yield i; }
  writeSlots(t, all());
}

/**
 * One fork/zap unit per call: OP_FORK of mm 0 and OP_EXIT of the child. The core
 * never reuses mm ids, so the child of call k is mm k+1; the result is checked.
 */
export function forkUnit(t: OpTarget): () => void {
  const w = new Int32Array(2 * W);
  let child = 1;
  return () => {
    put(w, 0, abi.OP_FORK, 0);
    put(w, 1, abi.OP_EXIT, child);
    const r = t.runEncoded(w, 2);
    // r is the last batch's results; both ops are in it.
    if (r[0] !== child) throw new Error(`fork returned mm ${r[0]}, expected ${child}`);
    child++;
  };
}
