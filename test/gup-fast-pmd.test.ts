// GUP-fast on a PMD-mapped THP (assembly/gup_fast.ts, src/model/gup_fast.ts): the lockless walk
// takes the leaf as the kernel's gup_huge_pmd (6.1) / gup_fast_pmd_leaf (6.10+) does: the
// PMD read and its checks, try_grab_folio of the subpage's folio (+1 and _pincount +1 for a
// pin), the PMD re-check; the Engine and the Model alike, each ending with a clean quiesce check.
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { Engine } from "../src/core/engine.ts";
import { Model } from "../src/model/model.ts";
import type { Op } from "../src/core/ops.ts";
import { PAGE } from "./helpers/pages.ts";

const NR = 512;
const M2 = NR * PAGE;
const BASE = 0x40000000; // 2 MiB aligned
const hosts: [string, (scheme: string) => Promise<Engine | Model>][] = [
  ["engine", (s) => Engine.create({ scheme: s, capacity: { systemPages: 4096, hugePages: 4 } })],
  ["model", async (s) => Model.create({ scheme: s, capacity: { systemPages: 4096, hugePages: 4 } })],
];
const one = (m: Engine | Model, op: Op) => m.runDetailed([op])[0].result;
const step = (m: Engine | Model, walk: number) => one(m, { op: "gup_fast_step", walk });
function clean(m: Engine | Model, what: string) {
  one(m, { op: "check" });
  assert.equal(m.violations(), [], `${what}: the quiesce check finds nothing`);
}

const Pmd = suite("GUP-fast on a PMD leaf: gup_huge_pmd / gup_fast_pmd_leaf");
for (const [name, make] of hosts) {
  /** A process with one THP mapped by a PMD (a write fault), and the address of its 8th page. */
  const thp = async (scheme = "E5") => {
    const m = await make(scheme);
    const mm = m.mmNew();
    const a = m.mmap(mm, { addr: BASE, length: M2, huge: true });
    m.write(mm, a + 7 * PAGE, 11);
    assert.ok(m.page(mm, a + 7 * PAGE)!.pmd, "PMD-mapped");
    return { m, mm, addr: a + 7 * PAGE };
  };

  Pmd(`${name}: a FOLL_PIN walk pins the subpage without slow GUP: folio +1, _pincount +1, and the quiesce check agrees mid-walk`, async () => {
    const { m, mm, addr } = await thp();
    const w = one(m, { op: "gup_fast_begin", mm, addr, write: true, pin: true });
    assert.equal([step(m, w), step(m, w)], [1, 1], "the PMD read; try_grab_folio");
    const p = m.page(mm, addr)!;
    assert.equal({ folioRefcount: p.folioRefcount, pincount: p.pincount }, { folioRefcount: 2, pincount: 1 });
    clean(m, "between try_grab_folio and the PMD re-check");
    assert.is(step(m, w), 1, "the PMD re-check");
    const h = step(m, w);
    assert.ok(h > 0, "read_seqcount_retry: the handle");
    assert.ok(m.page(mm, addr)!.pmd, "no split: GUP-fast leaves the PMD as it is");
    one(m, { op: "dma_write", handle: h, value: 9 });
    assert.is(m.read(mm, addr), 9, "the handle reaches the walk's subpage");
    one(m, { op: "unpin", handle: h });
    assert.equal({ folioRefcount: m.page(mm, addr)!.folioRefcount, pincount: m.page(mm, addr)!.pincount }, { folioRefcount: 1, pincount: 0 });
    clean(m, "after the unpin");
  });

  Pmd(`${name}: FOLL_GET takes one reference on the folio; a read of a writable PMD`, async () => {
    const { m, mm, addr } = await thp();
    const w = one(m, { op: "gup_fast_begin", mm, addr });
    const r = [1, 2, 3, 4].map(() => step(m, w));
    assert.ok(r[3] > 0);
    assert.equal({ folioRefcount: m.page(mm, addr)!.folioRefcount, pincount: m.page(mm, addr)!.pincount }, { folioRefcount: 2, pincount: 0 });
    one(m, { op: "unpin", handle: r[3] });
    clean(m, "after put_page");
  });

  Pmd(`${name}: munmap of part of the THP between the PMD read and the re-check: the split PMD differs, the walk puts its reference back`, async () => {
    const { m, mm, addr } = await thp();
    const w = one(m, { op: "gup_fast_begin", mm, addr, write: true, pin: true });
    step(m, w);
    step(m, w);
    m.munmap(mm, BASE + 300 * PAGE, PAGE); // split_huge_pmd: the block is mapped by PTEs now
    assert.is(step(m, w), 0, "pmd_val(orig) != pmd_val(*pmdp): gup_put_folio, fall back");
    assert.equal({ pmd: m.page(mm, addr)!.pmd, pincount: m.page(mm, addr)!.pincount }, { pmd: false, pincount: 0 });
    clean(m, "after the put");
  });

  Pmd(`${name}: munmap of the whole THP between the PMD read and try_grab_folio: folio_try_get refuses the freed folio`, async () => {
    const { m, mm, addr } = await thp();
    const w = one(m, { op: "gup_fast_begin", mm, addr, write: true, pin: true });
    step(m, w);
    m.munmap(mm, BASE, M2);
    assert.is(step(m, w), 0, "count 0: fall back");
    clean(m, "nothing taken");
  });

  Pmd(`${name}: a write walk on a write-protected PMD (after fork) falls back at once (pmd_access_permitted)`, async () => {
    const { m, mm, addr } = await thp();
    m.fork(mm);
    const w = one(m, { op: "gup_fast_begin", mm, addr, write: true, pin: true });
    assert.is(step(m, w), 0);
    clean(m, "nothing taken");
  });

  Pmd(`${name}: a R/O pin of a shared anon THP (after fork): the re-check's gup_must_unshare puts it back (5.19+); before anonExclusive it pins`, async () => {
    for (const [scheme, pinned] of [["E5", false], ["E1-5.18", true]] as const) {
      const { m, mm, addr } = await thp(scheme);
      m.fork(mm);
      const w = one(m, { op: "gup_fast_begin", mm, addr, pin: true });
      assert.equal([step(m, w), step(m, w)], [1, 1], `${scheme}: the PMD read; try_grab_folio`);
      const r = step(m, w);
      if (!pinned) assert.is(r, 0, `${scheme}: !pmd_write && gup_must_unshare: fall back`);
      else {
        assert.is(r, 1, `${scheme}: no AnonExclusive, no unshare`);
        const h = step(m, w);
        assert.ok(h > 0);
        one(m, { op: "unpin", handle: h });
      }
      clean(m, scheme);
    }
  });

  Pmd(`${name}: the huge zero page's PMD is left to slow GUP (pmd_special)`, async () => {
    const m = await make("E5");
    const mm = m.mmNew();
    const a = m.mmap(mm, { addr: BASE, length: M2, huge: true });
    m.read(mm, a);
    assert.is(m.page(mm, a)!.kind, "zero");
    const w = one(m, { op: "gup_fast_begin", mm, addr: a, pin: true });
    assert.is(step(m, w), 0);
    clean(m, "nothing taken");
  });

  Pmd(`${name}: fork between the grab and the seq retry: copy_huge_pmd sees the pin and the walk falls back (5.11+)`, async () => {
    const { m, mm, addr } = await thp();
    const w = one(m, { op: "gup_fast_begin", mm, addr, write: true, pin: true });
    assert.equal([step(m, w), step(m, w), step(m, w)], [1, 1, 1]);
    m.fork(mm);
    assert.is(step(m, w), 0, "read_seqcount_retry: the fork ran meanwhile");
    clean(m, "after the unpin");
  });
}

Pmd.run();
