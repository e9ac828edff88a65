// Issue 12 item 3: a hole punch keeps private COWed pages (truncate_pagecache_range ->
// unmap_mapping_pages(..., even_cows = 0), should_zap_folio); truncate(2) shrinks
// i_size and unmaps them too (truncate_pagecache, even_cows = 1), after which an
// access there is SIGBUS (filemap_fault). Engine and model alike; bad input named.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { Engine } from "../src/core/engine.ts";
import { Model } from "../src/model/model.ts";
import { RefsimError } from "../src/core/errors.ts";
import * as abi from "../assembly/abi.ts";

const PAGE = 4096;
const CAP = { systemPages: 64, devicePages: 8 };
const TARGETS: [string, () => Promise<Engine | Model>][] = [
  ["engine", () => Engine.create({ scheme: "E4", capacity: CAP })],
  ["model", async () => Model.create({ scheme: "E4", capacity: CAP })],
];

for (const [name, make] of TARGETS) {
  test(`${name}: hole punch keeps the COWed copy, truncate(2) removes it, then SIGBUS`, async () => {
    const t = await make();
    const f = t.fileNew(4 * PAGE);
    const mm = t.mmNew();
    const a = t.mmap(mm, { length: 4 * PAGE, file: f });
    t.write(mm, a + 2 * PAGE, 9); // do_cow_fault
    t.read(mm, a + PAGE);
    const live = t.stats().frames.live;
    assert.is(t.truncate(f, 0, 4 * PAGE), 0, "a hole punch over the whole file (refsim never treats it as truncate(2))");
    assert.is(t.page(mm, a + 2 * PAGE)?.refcount, 1, "the COWed copy stays");
    assert.is(t.read(mm, a + 2 * PAGE), 9);
    assert.is(t.page(mm, a + PAGE), null, "the page-cache page is unmapped");
    assert.is(t.stats().frames.live, live - 2, "and freed, with page 2's page-cache page (do_cow_fault read it in)");
    t.truncateFile(f, 2 * PAGE);
    assert.is(t.page(mm, a + 2 * PAGE), null, "truncate(2): even_cows");
    assert.is(t.stats().frames.live, live - 3);
    const out = t.runDetailed([{ op: "read", mm, addr: a + 2 * PAGE }, { op: "read", mm, addr: a + PAGE }]);
    assert.is(out[0].signal, "SIGBUS");
    assert.is(out[1].signal, undefined, "below i_size a read maps the (hole's) page");
    assert.is(t.truncateFile(f, 2 * PAGE), 0, "truncate(2) to the size it has: nothing to do");
    t.check();
    assert.equal(t.violations(), []);
  });

  test(`${name}: truncate's bad input names the field`, async () => {
    const t = await make();
    const f = t.fileNew(2 * PAGE);
    const field = (fn: () => unknown): string | undefined => {
      try { fn(); } catch (e) { assert.instance(e, RefsimError); return (e as RefsimError).field; }
      assert.unreachable("no error");
    };
    assert.is(field(() => t.run([{ op: "truncate", file: f, offset: 0, length: PAGE, shrink: true }])), "length");
    assert.is(field(() => t.run([{ op: "truncate", file: f, offset: 3 * PAGE, shrink: true }])), "offset", "past the file's end");
    const words = new Int32Array(abi.OP_WORDS);
    words.set([abi.OP_TRUNCATE, f, 0, 1, 2]);
    assert.is(field(() => t.runEncoded(words, 1)), "shrink", "a shrink word other than 0 or 1");
  });
}

test.run();
