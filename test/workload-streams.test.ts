// Every workload's op stream is pinned: a generator may get faster or be reshaped, but for
// the same seed, params and budget it must issue exactly the ops it issued before (the
// FNV-1a streamHash over every op word). A generator that changes its stream on purpose
// updates its hashes here and says so in the commit (results of older runs no longer
// reproduce). Default params, scheme E4, 50 000 ops, seeds 1 and 7.
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { Engine } from "../src/core/engine.ts";
import { WORKLOAD_NAMES, runWorkload } from "../src/workload/index.ts";

const PINNED: Record<string, [number, number]> = {
  "page-fault1": [3125431058, 1366742882],
  "page-fault3": [3844523030, 2452267022],
  mmap1: [881653454, 881653454], // the seed only picks data, and mmap1 writes none
  "fork-heavy": [2020922938, 2798235548],
  "gpu-churn": [2720749834, 4238070925],
  "rdma-pins": [2720754927, 1927993981],
  mix: [1714023954, 2938351264], // changed: dma_write only through FOLL_PIN|FOLL_WRITE handles (a read-only pin of untouched memory is the shared zero page since issue 12 item 2; a FOLL_GET reference is the fork hazard of scenarios/gup-get-write-fork.json)
  "shared-pages": [1428588183, 1428588183], // read-only: the seed picks no data
};

const streams = suite("workload op streams");

streams("every registered workload has pinned hashes", () => {
  assert.equal(Object.keys(PINNED).sort(), [...WORKLOAD_NAMES].sort());
});

for (const name of WORKLOAD_NAMES) {
  streams(`${name}: seeds 1 and 7 issue the pinned op streams`, async () => {
    const got: number[] = [];
    for (const seed of [1, 7]) {
      const e = await Engine.create({ scheme: "E4" });
      got.push(runWorkload(name, e, undefined, seed, 50_000).streamHash);
    }
    assert.equal(got, PINNED[name]);
  });
}

streams.run();
