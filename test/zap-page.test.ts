// zap_page.ts zapPage, MADV_DONTNEED of one page: each route against the model (which has no
// fast path), through Engine.fastPaths(): the page put at once into an empty gather (no entry
// stored, its counters summed late at the batch's end), a shared page put to 1, a batch of one
// (tlbGather flushes), and the guards that send the page to zapRange.
import { test } from "uvu";
import * as assert from "uvu/assert";
import * as abi from "../assembly/abi.ts";
import { differential } from "./helpers/fastpath-differential.ts";
import { ANON, mmNew, mmap, write, read, dontneed } from "./helpers/op-records.ts";

const A = 0x10000;

const writes = (n: number) => Array.from({ length: n }, (_, i) => write(A + i, 10 + i));

test("one-page zaps: freed at once, a forked page put to 1, a zero-page PTE and a none PTE to zapRange", async () => {
  const f = await differential({
    ops: [
      mmNew, mmap(A, 16), ...writes(8), dontneed(A, 1), dontneed(A + 1, 1), write(A, 5), // freed, then faulted again
      [abi.OP_FORK, 0], dontneed(A + 2, 1), dontneed(A + 2, 1, 1), // shared: 2 -> 1 in the parent, 1 -> 0 in the child
      read(A + 9), dontneed(A + 9, 1), // the zero page: not a normal page (zapRange)
      dontneed(A + 12, 1), // pte_none: zapRange
      dontneed(A + 3, 1), [abi.OP_EXIT, 1], dontneed(A + 4, 1),
    ],
  });
  // zapped here: A, A+1, A+2 (twice), A+3, A+4 = 6, each put at once; the child's exit and the two others zapRange
  assert.equal({ zapFast: f.zapFast, flushFast: f.flushFast, flushFull: f.flushFull }, { zapFast: 9, flushFast: 6 + 6, flushFull: 0 }, JSON.stringify(f));
});

test("a batch of one (tlbBatch 1): tlbGather flushes the page; the same results", async () => {
  const f = await differential({
    scheme: { name: "E4-batch1", base: "E4", rules: { tlbBatch: 1 } },
    ops: [mmNew, mmap(A, 8), ...writes(4), dontneed(A, 1), dontneed(A + 1, 1), [abi.OP_FORK, 0], dontneed(A + 2, 1), dontneed(A + 2, 1, 1)],
  });
  assert.equal({ zapFast: f.zapFast, flushFast: f.flushFast, flushFull: f.flushFull }, { zapFast: 4, flushFast: 4, flushFull: 0 }, JSON.stringify(f));
});

test.run();
