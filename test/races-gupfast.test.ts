// GUP-fast and fork as steps (src/races/gup-fast-steps.ts, assembly/gup_fast.ts, src/model/gup_fast.ts):
// the lockless walk's steps on the Engine and the Model alike; the pre-5.11 GUP-fast vs fork COW
// race found from plain ops when the writeProtectSeq rule is off, and nothing up to the bound with it
// on (every era); GUP-fast vs munmap clean in every era; and the footprints let sleep sets prune
// (fewer interleavings, same verdict).
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { Engine } from "../src/core/engine.ts";
import { Model } from "../src/model/model.ts";
import { kernelTarget, type Backend } from "../src/races/kernel-target.ts";
import { exhaustive } from "../src/races/sleepsets.ts";
import { runSchedule } from "../src/races/schedule.ts";
import { splitSection, type Section } from "../src/races/format.ts";
import { raceScenario } from "../src/races/search.ts";
import { loadScenario } from "../src/scenario/load.ts";
import type { Op } from "../src/core/ops.ts";

const NO_SEQ = { name: "E5-no-write-protect-seq", base: "E5", rules: { writeProtectSeq: false } };
const ERAS = ["E0", "E1", "E2", "E3", "E4", "E5"];
const hosts: [string, (scheme: unknown) => Promise<Engine | Model>][] = [
  ["engine", (s) => Engine.create({ scheme: s as never })],
  ["model", async (s) => Model.create({ scheme: s as never })],
];
const one = (m: Engine | Model, op: Op) => m.runDetailed([op])[0].result;

const Steps = suite("GUP-fast steps on the Engine and the Model");
for (const [name, make] of hosts) {
  Steps(`${name}: begin, PTE read, try_grab_folio, re-check, seq retry: a pin of the bias, then a handle`, async () => {
    const m = await make("E4");
    const mm = m.mmNew();
    const addr = m.mmap(mm, { length: 4096 });
    m.write(mm, addr, 3);
    const w = one(m, { op: "gup_fast_begin", mm, addr, write: true, pin: true });
    assert.ok(w > 0);
    assert.equal([1, 2].map(() => one(m, { op: "gup_fast_step", walk: w })), [1, 1]);
    assert.is(m.page(mm, addr)!.refcount, 1025, "try_grab_folio took the pin bias");
    assert.is(one(m, { op: "gup_fast_step", walk: w }), 1);
    const h = one(m, { op: "gup_fast_step", walk: w });
    assert.ok(h > 0, "the last step returns the handle");
    one(m, { op: "dma_write", handle: h, value: 9 });
    assert.is(m.read(mm, addr), 9);
    assert.throws(() => one(m, { op: "gup_fast_step", walk: w }), /walk/, "a finished walk is no walk");
    one(m, { op: "check" });
    assert.equal(m.violations(), []);
  });
  Steps(`${name}: munmap between the PTE read and try_grab_folio: folio_try_get refuses the freed page`, async () => {
    const m = await make("E4");
    const mm = m.mmNew();
    const addr = m.mmap(mm, { length: 4096 });
    m.write(mm, addr, 3);
    const w = one(m, { op: "gup_fast_begin", mm, addr, write: true, pin: true });
    assert.is(one(m, { op: "gup_fast_step", walk: w }), 1);
    m.munmap(mm, addr, 4096);
    assert.is(one(m, { op: "gup_fast_step", walk: w }), 0, "count 0: fall back");
    one(m, { op: "check" });
    assert.equal(m.violations(), []);
  });
  Steps(`${name}: munmap between try_grab_folio and the re-check: the changed PTE puts the reference back`, async () => {
    const m = await make("E4");
    const mm = m.mmNew();
    const addr = m.mmap(mm, { length: 4096 });
    m.write(mm, addr, 3);
    const w = one(m, { op: "gup_fast_begin", mm, addr, write: true, pin: true });
    one(m, { op: "gup_fast_step", walk: w });
    one(m, { op: "gup_fast_step", walk: w });
    m.munmap(mm, addr, 4096);
    assert.is(one(m, { op: "gup_fast_step", walk: w }), 0);
    one(m, { op: "check" });
    assert.equal(m.violations(), [], "the page was freed by the re-check's put");
  });
  Steps(`${name}: fork_begin after the PTE read: read_seqcount_retry unpins and falls back (5.11+); without the rule the pin survives on a shared page`, async () => {
    for (const [scheme, want] of [["E5", 0], [NO_SEQ, "handle"]] as const) {
      const m = await make(scheme);
      const mm = m.mmNew();
      const addr = m.mmap(mm, { length: 4096 });
      m.write(mm, addr, 3);
      const w = one(m, { op: "gup_fast_begin", mm, addr, write: true, pin: true });
      one(m, { op: "gup_fast_step", walk: w }); // the lockless PTE read
      const child = one(m, { op: "fork_begin", mm }); // page_needs_cow_for_dma: not pinned yet, so shared
      assert.is(m.page(mm, addr)!.pte.write, true, "fork_begin leaves the parent's PTE writable");
      assert.equal([1, 2].map(() => one(m, { op: "gup_fast_step", walk: w })), [1, 1], "try_grab_folio; the re-check sees the same PTE");
      const r = one(m, { op: "gup_fast_step", walk: w });
      one(m, { op: "fork_end", child });
      assert.is(m.page(mm, addr)!.pte.write, false, "fork_end write-protects it");
      if (want === 0) assert.is(r, 0, "read_seqcount_retry saw the fork");
      else assert.ok(r > 0, "no seqcount: the pin stands on a page the child shares");
      assert.is(m.page(child, addr)!.pfn, m.page(mm, addr)!.pfn);
    }
  });
  Steps(`${name}: a fork of an mm with only shared VMAs leaves write_protect_seq alone: a walk begun before it keeps its pin (copy_page_range, is_cow_mapping)`, async () => {
    for (const split of [true, false]) {
      const m = await make("E5");
      const mm = m.mmNew();
      const f = m.fileNew(4096);
      const addr = m.mmap(mm, { length: 4096, file: f, shared: true });
      m.write(mm, addr, 3);
      const w = one(m, { op: "gup_fast_begin", mm, addr, write: true, pin: true });
      assert.equal([1, 2, 3].map(() => one(m, { op: "gup_fast_step", walk: w })), [1, 1, 1]);
      let child = -1;
      if (split) {
        child = one(m, { op: "fork_begin", mm });
        const w2 = one(m, { op: "gup_fast_begin", mm, addr, pin: true });
        assert.ok(w2 > 0, "fork_begin: no COW vma, the seqcount stays even");
        assert.ok([1, 2, 3, 4].map(() => one(m, { op: "gup_fast_step", walk: w2 }))[3] > 0);
      } else child = m.fork(mm);
      const h = one(m, { op: "gup_fast_step", walk: w });
      assert.ok(h > 0, `${split ? "fork_begin" : "fork"}: read_seqcount_retry sees no change, no fall back to slow GUP`);
      if (split) one(m, { op: "fork_end", child });
      one(m, { op: "unpin", handle: h });
      one(m, { op: "check" });
      assert.equal(m.violations(), []);
    }
  });
  Steps(`${name}: a fork (one op) of an mm with a COW vma between the walk's begin and its last step: read_seqcount_retry falls back (5.11+), also for a walk on its shared vma`, async () => {
    for (const shared of [false, true]) {
      const m = await make("E5");
      const mm = m.mmNew();
      const cow = m.mmap(mm, { length: 4096 });
      m.write(mm, cow, 1);
      const f = m.fileNew(4096);
      const addr = shared ? m.mmap(mm, { length: 4096, file: f, shared: true }) : cow;
      m.write(mm, addr, 3);
      const w = one(m, { op: "gup_fast_begin", mm, addr, write: true, pin: true });
      assert.equal([1, 2, 3].map(() => one(m, { op: "gup_fast_step", walk: w })), [1, 1, 1]);
      m.fork(mm);
      assert.is(one(m, { op: "gup_fast_step", walk: w }), 0, "the seqcount moved: unpin and fall back");
      one(m, { op: "check" });
      assert.equal(m.violations(), []);
    }
  });
  Steps(`${name}: a fork in progress makes gup_fast_begin give up at once (odd write_protect_seq)`, async () => {
    const m = await make("E2");
    const mm = m.mmNew();
    const addr = m.mmap(mm, { length: 4096 });
    m.write(mm, addr, 3);
    const child = one(m, { op: "fork_begin", mm });
    assert.is(one(m, { op: "gup_fast_begin", mm, addr, write: true, pin: true }), 0);
    assert.throws(() => one(m, { op: "fork_begin", mm }), /fork_begin/, "a second fork of the parent waits for the mmap_lock");
    one(m, { op: "fork_end", child });
    assert.throws(() => one(m, { op: "fork_end", child }), /child/);
    assert.ok(one(m, { op: "gup_fast_begin", mm, addr, write: true, pin: true }) > 0);
  });
  Steps(`${name}: exit of either mm of a fork in progress is BAD_STATE naming the mm, and changes nothing; after fork_end both exit`, async () => {
    const m = await make("E4");
    const mm = m.mmNew();
    const addr = m.mmap(mm, { length: 4096 });
    m.write(mm, addr, 3);
    const child = one(m, { op: "fork_begin", mm });
    for (const x of [mm, child]) {
      assert.throws(() => one(m, { op: "exit", mm: x }), (e: unknown) => {
        const r = e as { op?: string; field?: string; code?: string; message: string };
        return r.op === "exit" && r.field === "mm" && r.code === "BAD_STATE" && /fork_begin and fork_end/.test(r.message);
      });
    }
    assert.is(m.page(child, addr)!.pfn, m.page(mm, addr)!.pfn);
    assert.throws(() => one(m, { op: "fork_end", child: mm }), /no fork in progress with this child/);
    assert.throws(() => one(m, { op: "gup_fast_step", walk: 99 }), /no such GUP-fast walk in flight/);
    one(m, { op: "fork_end", child });
    one(m, { op: "exit", mm: child });
    one(m, { op: "exit", mm });
    one(m, { op: "check" });
    assert.equal(m.violations(), []);
  });
  Steps(`${name}: exit of an mm with a GUP-fast walk of its own in flight is BAD_STATE naming the mm, and changes nothing; after the walk ends it exits`, async () => {
    const m = await make("E4");
    const mm = m.mmNew();
    const addr = m.mmap(mm, { length: 4096 });
    m.write(mm, addr, 3);
    const w = one(m, { op: "gup_fast_begin", mm, addr, write: true, pin: true });
    for (let step = 0; step < 4; step++) {
      const before = JSON.stringify([m.stats(), m.page(mm, addr)]);
      assert.throws(() => one(m, { op: "exit", mm }), (e: unknown) => {
        const r = e as { op?: string; field?: string; code?: string; message: string };
        return r.op === "exit" && r.field === "mm" && r.code === "BAD_STATE" && /GUP-fast walk in flight/.test(r.message);
      }, `exit before step ${step + 1}`);
      assert.is(JSON.stringify([m.stats(), m.page(mm, addr)]), before, "the refused exit changed nothing");
      const r = one(m, { op: "gup_fast_step", walk: w });
      if (step < 3) assert.is(r, 1);
      else one(m, { op: "unpin", handle: r });
    }
    one(m, { op: "exit", mm });
    one(m, { op: "check" });
    assert.equal(m.violations(), []);
  });
  Steps(`${name}: a p2pdma page: try_grab_folio refuses it without FOLL_PCI_P2PDMA (6.2+), the walk falls back`, async () => {
    const m = await make("E4");
    const mm = m.mmNew();
    const f = m.fileNew(4096, m.driverNew("p2pdma", 4));
    const addr = m.mmap(mm, { length: 4096, file: f, shared: true });
    m.read(mm, addr);
    const before = m.page(mm, addr)!.refcount;
    const w = one(m, { op: "gup_fast_begin", mm, addr, pin: true });
    assert.is(one(m, { op: "gup_fast_step", walk: w }), 1, "the PTE read passes");
    assert.is(one(m, { op: "gup_fast_step", walk: w }), 0, "try_grab_folio: NULL, fall back");
    assert.is(m.page(mm, addr)!.refcount, before, "nothing taken");
    const w2 = one(m, { op: "gup_fast_begin", mm, addr, pin: true, p2pdma: true });
    const r = [1, 2, 3, 4].map(() => one(m, { op: "gup_fast_step", walk: w2 }));
    assert.ok(r[3] > 0, "with FOLL_PCI_P2PDMA the walk pins it");
    one(m, { op: "unpin", handle: r[3] });
    one(m, { op: "check" });
    assert.equal(m.violations(), []);
  });
  const small = async () => name === "engine"
    ? await Engine.create({ scheme: "E4", capacity: { gupHandles: 2 } }) : Model.create({ scheme: "E4", capacity: { gupHandles: 2 } });
  Steps(`${name}: a finished walk frees its slot (the lowest is reused): capacity.gupHandles walks at a time, not in total`, async () => {
    const m = await small();
    const mm = m.mmNew();
    const addr = m.mmap(mm, { length: 4096 });
    m.write(mm, addr, 3);
    for (let i = 0; i < 5; i++) {
      const w = one(m, { op: "gup_fast_begin", mm, addr, write: true, pin: true });
      assert.is(w, 1, `walk ${i}: the lowest finished slot`);
      const r = [1, 2, 3, 4].map(() => one(m, { op: "gup_fast_step", walk: w }));
      one(m, { op: "unpin", handle: r[3] });
    }
    const a = one(m, { op: "gup_fast_begin", mm, addr, write: true, pin: true });
    const b = one(m, { op: "gup_fast_begin", mm, addr, write: true, pin: true });
    assert.equal([a, b], [1, 2]);
    assert.throws(() => one(m, { op: "gup_fast_begin", mm, addr, write: true, pin: true }), /exhausted/, "two walks in flight fill the table");
    assert.is(one(m, { op: "gup_fast_step", walk: a }), 1);
    m.munmap(mm, addr, 4096);
    assert.is(one(m, { op: "gup_fast_step", walk: a }), 0, "count 0: a falls back");
    assert.is(one(m, { op: "gup_fast_begin", mm, addr, write: true, pin: true }), 1, "a's slot again, b still in flight");
    one(m, { op: "check" });
    assert.equal(m.violations(), []);
  });
  Steps(`${name}: only the walk's last step needs a free GUP handle`, async () => {
    const m = await small();
    const mm = m.mmNew();
    const addr = m.mmap(mm, { length: 4096 });
    m.write(mm, addr, 3);
    const w = one(m, { op: "gup_fast_begin", mm, addr, write: true, pin: true });
    const h1 = m.gup(mm, addr, { pin: true });
    m.gup(mm, addr, { pin: true });
    assert.equal([1, 2, 3].map(() => one(m, { op: "gup_fast_step", walk: w })), [1, 1, 1], "no handle made yet");
    assert.throws(() => one(m, { op: "gup_fast_step", walk: w }), /exhausted/, "the last step makes a handle");
    one(m, { op: "unpin", handle: h1 });
    assert.ok(one(m, { op: "gup_fast_step", walk: w }) > 0);
    one(m, { op: "check" });
    assert.equal(m.violations(), []);
  });
}

const forkScenario = await loadScenario("scenarios/races/gup-fast-vs-fork.json");
const zapScenario = await loadScenario("scenarios/races/gup-fast-vs-zap.json");
const forkSection: Section = splitSection(forkScenario.scenario);
const zapSection: Section = splitSection(zapScenario.scenario);

const Fork = suite("GUP-fast vs fork: the pre-5.11 COW race");
for (const backend of ["engine", "model"] as Backend[]) {
  Fork(`${backend}: without write_protect_seq the pin survives fork's write-protect and the parent loses the device's data`, async () => {
    const t = await kernelTarget(forkScenario.scenario, forkSection, NO_SEQ, backend);
    const r = exhaustive(t, { bound: 7 });
    assert.is(r.finding?.kind, "corruption");
    assert.ok(r.finding!.atEpilogue, "found by the parent's read after the section");
    const s = r.finding!.schedule;
    const labels = r.finding!.labels;
    const check = labels.findIndex((l) => /page_maybe_dma_pinned|page_needs_cow_for_dma/.test(l));
    const wp = labels.findIndex((l) => /^copy_present_pte: ptep_set_wrprotect/.test(l));
    const grab = labels.findIndex((l) => /folio_try_get/.test(l));
    assert.ok(check >= 0 && check < grab && grab < wp, `the pin lands between fork's check and its write-protect: ${labels.join(" | ")}`);
    assert.equal(runSchedule(t, s).finding?.kind, "corruption", "the schedule replays");
  });
  for (const scheme of ERAS) {
    Fork(`${backend} ${scheme}: no violation up to bound 7, every interleaving explored`, async () => {
      const t = await kernelTarget(forkScenario.scenario, forkSection, scheme, backend);
      const r = exhaustive(t, { bound: 7 });
      assert.is(r.finding, null);
      assert.ok(r.complete);
      assert.ok(r.stats.interleavings >= 5);
    });
  }
}
Fork("refsim races finds it, shrinks it and writes a replay that reproduces it", async () => {
  const r = await raceScenario(forkScenario, NO_SEQ);
  assert.is(r.finding?.kind, "corruption");
  assert.ok(r.asExpected);
  assert.is(r.shrunk!.switches, 2);
  assert.ok(r.replayPassed, "the written scenario reproduces the corruption");
});

const Zap = suite("GUP-fast vs munmap (zap)");
for (const backend of ["engine", "model"] as Backend[]) {
  for (const scheme of [...ERAS, NO_SEQ]) {
    Zap(`${backend} ${typeof scheme === "string" ? scheme : scheme.name}: no violation up to bound 6, every interleaving explored`, async () => {
      const t = await kernelTarget(zapScenario.scenario, zapSection, scheme, backend);
      const r = exhaustive(t, { bound: 6, reduction: false });
      assert.is(r.finding, null);
      assert.ok(r.complete);
      assert.is(r.stats.interleavings, 6, "munmap before begin, after each of the 5 GUP-fast steps (fallback included)");
    });
  }
}

const Reduce = suite("footprints: sleep sets prune the GUP-fast vs fork interleavings");
for (const scheme of [NO_SEQ, "E5"] as const) {
  Reduce(`${typeof scheme === "string" ? scheme : scheme.name}: fewer interleavings with the reduction, the same verdict`, async () => {
    const t = await kernelTarget(forkScenario.scenario, forkSection, scheme);
    const off = exhaustive(t, { bound: 7, reduction: false, stopAtFirst: false });
    const on = exhaustive(t, { bound: 7, stopAtFirst: false });
    assert.is(on.finding?.kind, off.finding?.kind);
    assert.ok(on.stats.pruned > 0, "some steps slept");
    assert.ok(on.stats.interleavings < off.stats.interleavings, `${on.stats.interleavings} < ${off.stats.interleavings}`);
  });
}

Steps.run();
Fork.run();
Zap.run();
Reduce.run();
