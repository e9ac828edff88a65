/**
 * The hot-path benchmark cases: the same op stream for the WASM engine, the
 * TypeScript model (both OpTargets) and the C reference (bench/c/refkernel.c).
 */
import * as abi from "../assembly/abi.ts";
import type { OpTarget } from "../src/workload/target.ts";
import type { Capacity } from "../src/core/engine.ts";
import { churnStream, setupChurn, setupFork, forkUnit, type Churn } from "./streams.ts";

export const SEED = 0x2545f491;

export interface Case {
  id: string;
  title: string;
  unit: "op" | "PTE";
  /** Engine capacity (the model gets the same). */
  capacity: Partial<Capacity>;
  /** Populate a fresh target and return the timed function. */
  prepare(t: OpTarget): () => void;
  opsPerCall: number;
  /** Check the target's state after timing; returns a problem or "". */
  verify(t: OpTarget): string;
  /** Drop every reference to the target (a model at 8 Mi frames holds gigabytes). */
  release(): void;
  /** The C reference's arguments, and the maps per churn cycle it must report. */
  c: { kase: "churn" | "fork"; n: number; frames: number; l?: number; maps?: () => number };
  /** Seconds benchmark.js may sample. */
  maxTime: number;
  /** 8 Mi-frame case: one warm-up call; the model is skipped with --quick. */
  large?: boolean;
  /** Why the model does not run this case unless asked (--model-large). */
  modelSkip?: string;
  /** The target for the WASM engine, in ns per unit. */
  targetNs?: number;
  note?: string;
}

const M = 1 << 20;

export function fmtCount(x: number): string {
  if (x >= M && x % (M / 4) === 0) return `${x / M} Mi`;
  if (x >= M) return `${(x / M).toFixed(2)} Mi`;
  if (x >= 1024 && x % 1024 === 0) return `${x / 1024} Ki`;
  return String(Math.round(x));
}

/**
 * Random PTE map/unmap: an n-page anon VMA about half populated; a cycle of 2l
 * ops (a random stream S, then S reversed) toggles one random page per op: an
 * empty page gets OP_WRITE (do_anonymous_page), a mapped one OP_MADV_DONTNEED of
 * that page (zap, rmap -1, put, free). The reversed half undoes the first, so
 * every whole cycle ends where it started.
 */
export function churnCase(id: string, title: string, n: number, frames: number, l: number, capacity: Partial<Capacity>, maxTime: number, targetNs: number): Case {
  let stream: Churn | undefined;
  const get = () => (stream ??= churnStream(n, l, SEED));
  const cycle = 2 * l;
  // A call runs `chunk` ops of the cycle, going on where the last call ended;
  // verify() completes the cycle, which returns the state to where it started.
  const chunk = Math.min(cycle, 1 << 16);
  let pos = 0;
  let populated = -1;
  let run: ((count: number) => void) | undefined;
  return {
    id, title, unit: "op", capacity, maxTime, targetNs,
    opsPerCall: chunk,
    prepare(t) {
      const s = get();
      setupChurn(t, n, s);
      populated = s.initial.reduce((a, b) => a + b, 0);
      pos = 0;
      run = (count) => {
        t.runEncoded(s.words.subarray(pos * abi.OP_WORDS, (pos + count) * abi.OP_WORDS), count);
        pos = (pos + count) % cycle;
      };
      return () => run!(chunk);
    },
    verify(t) {
      while (pos !== 0) run!(Math.min(chunk, cycle - pos));
      const st = t.stats();
      if (st.violations.total !== 0) return `${st.violations.total} violations`;
      if (st.frames.live !== populated) return `live frames ${st.frames.live}, expected ${populated}`;
      return "";
    },
    release() { run = undefined; },
    c: { kase: "churn", n, frames, l, maps: () => get().maps },
    note: `${fmtCount(n)}-page VMA, ~${fmtCount(n / 2)} pages mapped, cycle of ${fmtCount(cycle)} ops, ${fmtCount(chunk)} ops per timed call`,
  };
}

/**
 * Batched range ops: fork of a fully written n-page anon VMA (copy_pte_range:
 * +1 ref +1 map and write-protect per PTE) and exit of the child (zap_pte_range
 * with the mmu_gather batch, free_pgtables). Time is per PTE: 2n per call.
 */
export function forkCase(id: string, title: string, n: number, frames: number, capacity: Partial<Capacity>, maxTime: number, targetNs: number): Case {
  return {
    id, title, unit: "PTE", capacity, maxTime, targetNs,
    opsPerCall: 2 * n,
    prepare(t) {
      setupFork(t, n);
      return forkUnit(t);
    },
    verify(t) {
      const st = t.stats();
      if (st.violations.total !== 0) return `${st.violations.total} violations`;
      if (st.frames.live !== n) return `live frames ${st.frames.live}, expected ${n}`;
      if (st.ptesCopied !== st.ptesZapped) return `copied ${st.ptesCopied} != zapped ${st.ptesZapped}`;
      return "";
    },
    release() {},
    c: { kase: "fork", n, frames },
    note: `fork of a fully written ${fmtCount(n)}-page VMA + exit of the child, per PTE copied or zapped`,
  };
}

// 8 Mi frames. Churn: a 12 Mi-page VMA (6 Mi mapped on average, 24 Ki pte tables).
// Fork: 8 Mi - 512 pages written (every frame but one table's worth), then forked.
export const BIG_FRAMES = 8 << 20;
const BIG_CHURN_N = 12 << 20;
const BIG_FORK_N = BIG_FRAMES - 512;
const BIG_FORK_TABLES = Math.ceil(BIG_FORK_N / 512);

export function makeCases(quick: boolean): Case[] {
  const large = (c: Case): Case => Object.assign(c, { large: true });
  return [
    churnCase("churn-small", "random PTE map/unmap, cache-resident", 8192, 8192, quick ? 8192 : 32768,
      { systemPages: 8192 }, quick ? 0.3 : 1, 10),
    large(churnCase("churn-8M", "random PTE map/unmap, 8 Mi frames", BIG_CHURN_N, BIG_FRAMES, quick ? 1 << 18 : 1 << 20,
      { systemPages: BIG_FRAMES, pteTables: BIG_CHURN_N / 512 + 8, pmdTables: 64 }, quick ? 0.5 : 1.5, 50)),
    forkCase("fork-small", "fork copy + zap (batched range), cache-resident", 4096, 8192,
      // mm ids are never reused: one per fork (at ~3 ns/PTE one round of 0.8 s forks more than 2^16 times)
      { systemPages: 8192, processes: 1 << 17 }, quick ? 0.3 : 0.8, 10),
    large(forkCase("fork-8M", "fork copy + zap (batched range), 8 Mi frames", BIG_FORK_N, BIG_FRAMES,
      // doFork checks pteTablesLeft and pmdTablesLeft each against the parent's pte + pmd tables together
      { systemPages: BIG_FRAMES, pteTables: 2 * BIG_FORK_TABLES + 128, pmdTables: BIG_FORK_TABLES + 128, processes: 64 },
      quick ? 0.5 : 1.5, 1e9 / 60e6)),
  ].map((c) => (c.id === "fork-8M" ? Object.assign(c, {
    // measured 2026-11-25: setup 7.7 s, 2.6 GB of JS heap; one fork + exit 29 s, heap 3.9 GB after it
    modelSkip: "skipped: one fork + exit of 8 Mi PTEs took ~30 s and ~3.9 GB of JS heap (Node's default limit is 4 GiB) when tried; --model-large runs it",
  }) : c));
}
