// The fast zap and copy loops' run bounds (assembly/zap.ts zapRangeFast / zapRunFast, fork.ts
// copyRangeFast / copyRunCow / copyRunAny) against the model, which has none: a zap run stops
// where the gather may fill (a slot adds at most one entry), so a small tlbBatch makes runs end
// at that stop with the gather full, or not full where the range has holes and zero-page PTEs;
// a PTE for zapOne may sit just before or after a stop. A copy run counts the pte_none slots it
// passes (copyRunAny, a fork with the parent's write-protect deferred, is the races' fork_begin:
// test/races-gupfast). Every result, statistic, violation and frame must be the model's (the helper checks).
import { test } from "uvu";
import * as assert from "uvu/assert";
import * as abi from "../assembly/abi.ts";
import { differential } from "./helpers/fastpath-differential.ts";
import { ANON, mmNew, mmap, write, read, dontneed } from "./helpers/op-records.ts";

const A = 0x10000;
const munmap = (vpn: number, n: number) => [abi.OP_MUNMAP, 0, vpn, n];
const fork = (mm = 0) => [abi.OP_FORK, mm];
const exit = (mm: number) => [abi.OP_EXIT, mm];
const small = (batch: number) => ({ name: `E4-batch${batch}`, base: "E4", rules: { tlbBatch: batch } });

/** 24 pages: written, but every 5th left pte_none and every 7th read (the zero page). */
function holes(): number[][] {
  const ops: number[][] = [];
  for (let i = 0; i < 24; i++) {
    if (i % 5 === 4) continue;
    ops.push(i % 7 === 3 ? read(A + i) : write(A + i, 100 + i));
  }
  return ops;
}

test("zap runs stop where the gather may fill: full batches, holes and zero-page PTEs, the model's results", async () => {
  for (const batch of [1, 2, 3, 4, 7]) {
    const dense = await differential({ scheme: small(batch), ops: [mmNew, mmap(A, 24), ...Array.from({ length: 24 }, (_, i) => write(A + i, i)), dontneed(A, 24)] });
    assert.is(dense.zapPteFull, 0, `batch ${batch}: every PTE fast`);
    assert.is(dense.flushFast, 24, `batch ${batch}: every page put fast`);
    const sparse = await differential({ scheme: small(batch), ops: [mmNew, mmap(A, 24), ...holes(), fork(), exit(1), munmap(A, 24)] });
    assert.is(sparse.zapPteFull, 0, `batch ${batch}: ${JSON.stringify(sparse)}`); // the zero page's PTEs too (copyOne copies them)
  }
});

test("zap runs: a pinned page for zapOne right before, at and after a run's stop", async () => {
  for (const batch of [2, 3, 4]) {
    for (const at of [1, 2, 3, 4]) {
      const f = await differential({
        scheme: small(batch),
        ops: [
          mmNew, mmap(A, 12), ...Array.from({ length: 12 }, (_, i) => write(A + i, i)),
          [abi.OP_GUP, 0, A + at, abi.FOLL_PIN | abi.FOLL_WRITE], dontneed(A, 12), [abi.OP_UNPIN, 1],
        ],
      });
      assert.is(f.zapPteFull, 1, `batch ${batch}, pin at ${at}: ${JSON.stringify(f)}`);
    }
  }
});

test("copy runs count the pte_none slots they pass (copyRunCow: a COW fork)", async () => {
  const cow = await differential({ ops: [mmNew, mmap(A, 24), ...holes(), fork(), write(A, 5, 1), exit(1)] });
  assert.is(cow.copyFast, 1, JSON.stringify(cow));
});

test.run();
