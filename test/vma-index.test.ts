// The core's per-mm VMA index (assembly/mm.ts: a sorted array of (start, vma) beside the VMA
// list, searched by find_vma, vma_prev and insertVma; its pool packed when full) and its find_vma
// hints (hashed by mm and vpn, never invalidated, counted only for a live vma of that mm holding
// the vpn) against the model's plain list (src/model/mm.ts): random mmap (fixed and -1), munmap (whole, head, tail, a split),
// mprotect (splits and merges), mremap (grow in place, move, shrink), fork and exit, with a
// VMA capacity so small that the pool is packed often. After every op each live mm's maps
// must be the same, and a read at each VMA's first and last page, just outside each end and
// at random pages (find_vma through the fast path and the full one) must give the same
// result or the same rejection on both.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { Engine } from "../src/core/engine.ts";
import { KernelError, RefsimError } from "../src/core/errors.ts";
import { PAGE_SIZE, type Prot } from "../src/core/ops.ts";
import { Model } from "../src/model/model.ts";
import { Prng } from "../src/workload/prng.ts";
import type { OpCalls } from "../src/core/calls.ts";

const BASE = 0x10000; // the mmap base, in pages (assembly/mm.ts MMAP_BASE)
const ARENA = 96; // pages each mm maps into: small, so VMAs crowd, split and merge

function attempt(f: () => unknown): unknown {
  try {
    return f();
  } catch (e) {
    // a rejected op (RefsimError) or a kernel error return (KernelError): the same on both
    if (e instanceof RefsimError || e instanceof KernelError) return `${e.name}: ${e.message}`;
    throw e;
  }
}

async function run(seed: number, steps: number, vmas: number): Promise<number> {
  const options = { scheme: "E4" as const, capacity: { systemPages: 4096, processes: 400, vmas, pteTables: 256, pmdTables: 64 } };
  const engine = await Engine.create(options);
  const model = Model.create(options);
  const rng = new Prng(seed);
  const both = (what: string, f: (t: OpCalls) => unknown): unknown => {
    const a = attempt(() => f(engine));
    const b = attempt(() => f(model)); // (f draws nothing: both run the same op)
    assert.equal(a, b, what);
    return a;
  };
  const live: number[] = [];
  for (let i = 0; i < 3; i++) live.push(both("mm_new", (t) => t.mmNew()) as number);
  const page = () => BASE + rng.below(ARENA + 8);
  const prots: Prot[] = ["r", "rw", "rw", "none"]; // mprotect's
  let probes = 0;
  for (let step = 0; step < steps; step++) {
    const mm = live[rng.below(live.length)];
    const k = rng.below(100);
    const at = `seed ${seed} step ${step} mm ${mm}`;
    if (k < 30) {
      const len = 1 + rng.below(8);
      const addr = rng.chance(0.2) ? undefined : page() * PAGE_SIZE;
      const prot: Prot = rng.chance(0.25) ? "r" : "rw";
      both(`${at} mmap`, (t) => t.mmap(mm, { addr, length: len * PAGE_SIZE, prot }));
    } else if (k < 50) {
      const a = page();
      const len = 1 + rng.below(6);
      both(`${at} munmap`, (t) => t.munmap(mm, a * PAGE_SIZE, len * PAGE_SIZE));
    } else if (k < 70) {
      const a = page();
      const p = prots[rng.below(4)];
      const len = 1 + rng.below(6);
      both(`${at} mprotect`, (t) => t.mprotect(mm, a * PAGE_SIZE, len * PAGE_SIZE, p));
    } else if (k < 82) {
      const a = page();
      const len = 1 + rng.below(4);
      const nl = 1 + rng.below(8);
      const maymove = rng.chance(0.5);
      both(`${at} mremap`, (t) => t.mremap(mm, a * PAGE_SIZE, len * PAGE_SIZE, nl * PAGE_SIZE, { maymove }));
    } else if (k < 85) {
      const a = page();
      both(`${at} write`, (t) => t.write(mm, a * PAGE_SIZE, step));
    } else if (k < 88) {
      // from a VMA's end or start, or anywhere (find_vma proper: the first VMA ending above it)
      const maps = model.maps(mm);
      const v = maps.length > 0 ? maps[rng.below(maps.length)] : undefined;
      const a = v === undefined || rng.chance(0.3) ? page() : (rng.chance(0.5) ? v.end : v.start) / PAGE_SIZE;
      const len = 1 + rng.below(12);
      both(`${at} madvise_pageout`, (t) => t.madvisePageout(mm, a * PAGE_SIZE, len * PAGE_SIZE));
    } else if (k < 94) {
      if (live.length < 12) {
        const child = both(`${at} fork`, (t) => t.fork(mm));
        if (typeof child === "number") live.push(child);
      }
    } else if (live.length > 1) {
      both(`${at} exit`, (t) => t.exit(mm));
      live.splice(live.indexOf(mm), 1);
      if (live.length < 2) live.push(both("mm_new", (t) => t.mmNew()) as number);
    }
    for (const m of live) {
      const maps = engine.maps(m);
      assert.equal(maps, model.maps(m), `${at}: maps of mm ${m}`);
      const vpns = [page(), page()];
      for (const v of maps) {
        const s = v.start / PAGE_SIZE, e = v.end / PAGE_SIZE;
        vpns.push(s - 1, s, e - 1, e);
      }
      for (const vpn of vpns) {
        both(`${at}: read of mm ${m} vpn ${vpn}`, (t) => t.read(m, vpn * PAGE_SIZE));
        probes++;
      }
    }
  }
  assert.equal(engine.stats(), model.stats(), `seed ${seed}: stats`);
  return probes;
}

test("find_vma through the index agrees with the model's list across split, merge, munmap, mremap, fork and exit", async () => {
  let probes = 0;
  for (let seed = 1; seed <= 4; seed++) probes += await run(seed, 400, 48);
  assert.ok(probes > 20000, `probes ${probes}`);
});

test("the same with room for one mm's VMAs at most: the index pool is packed on almost every growth", async () => {
  for (let seed = 11; seed <= 13; seed++) await run(seed, 300, 24);
});

test.run();
