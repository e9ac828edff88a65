// fastAccess's own routes (assembly/fastpath_anon.ts): find_vma's cache hit inline, a miss
// through walkWrite / walkRead (the walk, then the same fast path out of line), and the page
// table walked level by level, a THP's PMD_HUGE slot giving its deposited table with no mask.
// Each case forces one route and checks, against the model (which has no fast path), every
// result, statistic, violation, frame and mapped page, and through Engine.fastPaths() which
// way the accesses went.
import { test } from "uvu";
import * as assert from "uvu/assert";
import * as abi from "../assembly/abi.ts";
import { differential } from "./helpers/fastpath-differential.ts";
import { ANON, mmNew, mmap, write, read, dontneed } from "./helpers/op-records.ts";

const A = 0x10000;
const B = 0x20000;

const collapse = (vpn: number, n: number) => [abi.OP_MADV_COLLAPSE, 0, vpn, n];

test("a VMA cache miss: the walk finds the VMA, the access goes fast; a hole goes the full way", async () => {
  const f = await differential({
    ops: [
      mmNew, mmap(A, 8), mmap(B, 8),
      write(A, 1), write(B, 2), // the first touch of each: its PTE table (full)
      // each op in the other VMA than the last: find_vma's cache misses every time (walkWrite / walkRead)
      write(A + 1, 3), write(B + 1, 4), read(A + 1), read(B + 1), write(A + 1, 5), read(B + 2), read(A + 3), write(B + 3, 6),
      read(A + 8), write(A + 9, 7), // past A's end, in no VMA: SIGSEGV through the walk (full)
      read(A), read(A + 1), write(A + 2, 8), // cache hits again
      dontneed(A, 8), dontneed(B, 8),
    ],
  });
  // 2 first touches and 2 SIGSEGVs full; 8 after a miss + 3 after a hit fast
  assert.equal({ accessFast: f.accessFast, accessFull: f.accessFull }, { accessFast: 11, accessFull: 4 }, JSON.stringify(f));
});

test("the walk in another mm: each mm's cache misses once, then hits", async () => {
  const f = await differential({
    ops: [
      mmNew, mmap(A, 8), write(A, 1), [abi.OP_FORK, 0], // the child's VMA cache starts empty
      read(A, 1), read(A + 1, 1), write(A + 2, 2, 1), read(A, 0), write(A + 3, 3, 1), write(A + 4, 4, 0),
    ],
  });
  assert.equal({ accessFast: f.accessFast, accessFull: f.accessFull }, { accessFast: 6, accessFull: 1 }, JSON.stringify(f));
});

test("MADV_COLLAPSE on an ordinary anon VMA: the PMD_HUGE slot's deposited table has none PTEs, the PMD sends the access full", async () => {
  const f = await differential({
    capacity: { hugePages: 2, pteTables: 16 },
    ops: [
      mmNew, mmap(A, 1024), write(A, 1), write(A + 3, 2), read(A + 4), // a PTE table (first touch full), then fast
      collapse(A, 512), // one THP over the block; its table deposited under the PMD
      read(A), write(A + 3, 5), read(A + 7), write(A + 100, 6), // each: pte_none in the deposited table, the PMD there: full
      write(A + 512, 7), read(A + 513), // the next block: its own table (first touch full), then fast
      dontneed(A, 1024),
    ],
  });
  // full: the 2 first touches and the 4 under the PMD (had the collapse failed, those would be fast)
  assert.equal({ accessFast: f.accessFast, accessFull: f.accessFull, zapFull: f.zapFull }, { accessFast: 3, accessFull: 6, zapFull: 1 }, JSON.stringify(f));
});

test.run();
