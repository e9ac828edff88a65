/**
 * Memory per simulated frame and per PTE.
 *
 * Measured: a bare core instance is initialised with a capacity and the end of
 * its heap is read from the core (tablesEndPtr: after the last table init allocates). The stub runtime is a bump
 * allocator, so heap end(capacity + Δ) − heap end(capacity) is exactly what Δ
 * more frames / pte tables / pmd tables / mms cost.
 *
 * Expected: the per-unit arrays of the init functions in assembly/*.ts, with the
 * role of each (kernel state, checking state kept on the hot path, quiesce-check
 * scratch). A measured total that differs from the expected one means the init
 * functions changed and this table needs updating.
 *
 * engine.memoryBytes is the whole linear memory: init grows it once, by exactly what
 * the tables need (assembly/heap.ts), so it is the heap end rounded up to 64 KiB.
 *
 * OP_CHECK's scratch covers one chunk of frames (assembly/check.ts CHECK_CHUNK), so
 * it is a fixed cost past that size, not a per-frame one: the per-frame marginal is
 * measured from a base above the chunk.
 */
import * as abi from "../assembly/abi.ts";
import { instantiateCore } from "../src/core/wasm.ts";
import { DEFAULT_CAPACITY, CAP_SLOTS, type Capacity } from "../src/core/engine.ts";



export interface HeapInfo {
  /** First byte after the last block init allocated. */
  heapEnd: number;
  /** Linear memory size after init. */
  memoryBytes: number;
  initMs: number;
}

/** Initialise a bare core with capacity c and read where its heap ends. */
export async function heapOf(c: Partial<Capacity>): Promise<HeapInfo> {
  const core = await instantiateCore();
  const mem = (core as unknown as { memory: WebAssembly.Memory }).memory;
  const caps = new Int32Array(mem.buffer, core.capsPtr(), abi.CAP_WORDS);
  const full = { ...DEFAULT_CAPACITY, ...c };
  for (const [k, slot] of Object.entries(CAP_SLOTS)) caps[slot] = full[k as keyof Capacity];
  const t0 = performance.now();
  const bad = core.init();
  const initMs = performance.now() - t0;
  if (bad !== 0) throw new Error(`core.init rejected capacity slot ${bad - 1}`);
  return { heapEnd: Number(core.tablesEndPtr()), memoryBytes: core.memoryBytes(), initMs };
}

/** Expected bytes per unit by role, from the init functions (see the file comment). */
export const EXPECTED = {
  frame: {
    hot: 4 * 4, //          refcount, mapcount, flags, index (frames.ts); the buddy list links through index, and _entire_mapcount / _pincount exist only for THP-pool and device blocks
    checking: 4 + 4, //     content (data word for corruption checks), lastOp (names a leak's cause)
    check: 0, //            none per system frame: OP_CHECK's expected counts are per chunk (check.ts initCheck), its per-block words exist only for THP-pool and device blocks
  },
  /** OP_CHECK's expected refcount / mapcount for one chunk (+ one folio) of frames: 8 B each, fixed past 1 Mi frames. */
  checkChunkBytes: 8 * ((1 << 20) + 512),
  pte: {
    hot: 4 + 4 / 512, //    PTE word + its table's PMD leaf word / 512 (free tables link through their first entry)
    checking: 4, //         shadow word: the data this process last wrote there
    check: 0,
  },
  pmdTable: 512 * 4, //    512 entries (a free one links the next through its first); one maps 256 Ki PTEs
  mm: 512 * 4 + 9 * 4 + 4 + 4 * 4 + 2 * 4, // pgd, mmAlive/Head/Pinned/Vmas/VmaCache, the live-mm list (mm.ts mmLive), the VMA index's place and room (mmIdx, mmIdxCap) and the shifted-VMA count (mmShifted), tablesPerMm, rmap walk buffers (ptr, mm, pte, vpn), gup_fast.ts write_protect_seq and fork parent
} as const;

export interface Marginal {
  unit: string;
  delta: number;
  measured: number;
  expected: number;
}

/** Marginal bytes per frame, PTE, pmd table and mm, measured by heap-end differences. */
export async function marginals(): Promise<Marginal[]> {
  const base: Partial<Capacity> = {};
  const b = (await heapOf(base)).heapEnd;
  const d = async (delta: Partial<Capacity>, n: number) => ((await heapOf(delta)).heapEnd - b) / n;
  const dF = 1 << 20;
  // frames from a base past the check chunk (the chunk's scratch is then a fixed cost)
  const big = 2 << 20;
  const bigEnd = (await heapOf({ systemPages: big })).heapEnd;
  const dT = 4096;
  const e = EXPECTED;
  return [
    { unit: "system frame", delta: dF, measured: ((await heapOf({ systemPages: big + dF })).heapEnd - bigEnd) / dF, expected: e.frame.hot + e.frame.checking + e.frame.check },
    { unit: "PTE (pte pool)", delta: dT * 512, measured: await d({ pteTables: DEFAULT_CAPACITY.pteTables + dT }, dT * 512), expected: e.pte.hot + e.pte.checking + e.pte.check },
    { unit: "pmd table", delta: dT, measured: await d({ pmdTables: DEFAULT_CAPACITY.pmdTables + dT }, dT), expected: e.pmdTable },
    { unit: "address space (processes)", delta: dT, measured: await d({ processes: DEFAULT_CAPACITY.processes + dT }, dT), expected: e.mm },
  ];
}

export interface MemoryCheck {
  capacity: Partial<Capacity>;
  heapEnd: number;
  /** Linear memory of a bare core initialised with the same capacity. */
  coreMemoryBytes: number;
  /** What Engine.create reports. */
  memoryBytes: number;
  /** engine.memoryBytes equals the bare core's and is the heap end rounded up to the next 64 KiB page (no doubling). */
  consistent: boolean;
  createMs: number;
}

/** Create engines and compare engine.memoryBytes with the measured heap. */
export async function verify(
  create: (c: Partial<Capacity>) => Promise<{ memoryBytes?: number }>,
  capacities: Partial<Capacity>[],
): Promise<MemoryCheck[]> {
  const out: MemoryCheck[] = [];
  for (const c of capacities) {
    const h = await heapOf(c);
    const t0 = performance.now();
    const e = await create(c);
    const createMs = performance.now() - t0;
    const memoryBytes = e.memoryBytes ?? NaN;
    const consistent = memoryBytes === h.memoryBytes && memoryBytes >= h.heapEnd && memoryBytes <= h.heapEnd + 65536 + 64;
    out.push({ capacity: c, heapEnd: h.heapEnd, coreMemoryBytes: h.memoryBytes, memoryBytes, consistent, createMs });
  }
  return out;
}
