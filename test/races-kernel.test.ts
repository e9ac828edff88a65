// The explorer over the real kernel model (src/races/kernel-target.ts): from the
// plain ops "read on thread A, munmap on thread B", with no hand-placed split, it
// finds CVE-2022-3523 where do_swap_page holds no reference on the device-private
// page (5.15-6.0: E0, E1) and nothing within the bound from 6.1 (E2+); the Engine
// and the Model agree step for step.
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { kernelTarget, type Backend } from "../src/races/kernel-target.ts";
import { exhaustive } from "../src/races/sleepsets.ts";
import { pct } from "../src/races/pct.ts";
import { runSchedule } from "../src/races/schedule.ts";
import type { Section } from "../src/races/format.ts";
import type { OpStep } from "../src/scenario/types.ts";

const setup: OpStep[] = [
  { op: "mm_new", as: "p" },
  { op: "mmap", mm: "p", addr: "0x10000000", length: "4K", prot: "rw", as: "buf" },
  { op: "write", mm: "p", addr: "buf", value: 7 },
  { op: "driver_new", kind: "device-private", pages: 4, as: "gpu" },
  { op: "migrate_to_device", mm: "p", addr: "buf", length: "4K", driver: "gpu" },
];
const section = (threads: Record<string, OpStep[]>): Section => ({
  setup, threads: Object.entries(threads).map(([name, ops]) => ({ name, ops })), epilogue: [{ op: "teardown" }], at: setup.length,
});
const readVsMunmap = section({
  A: [{ op: "read", mm: "p", addr: "buf" }],
  B: [{ op: "munmap", mm: "p", addr: "buf", length: "4K" }],
});
const sc = { name: "cve-2022-3523", steps: [] };
const BOUND = 6;

const Cve = suite("CVE-2022-3523 found from plain ops");
for (const backend of ["engine", "model"] as Backend[]) {
  for (const scheme of ["E0", "E1"]) {
    Cve(`${backend} ${scheme}: use after free when munmap frees the page between do_swap_page's steps`, async () => {
      const t = await kernelTarget(sc, readVsMunmap, scheme, backend);
      const r = exhaustive(t, { bound: BOUND });
      assert.is(r.finding?.kind, "use_after_free");
      assert.equal(r.finding!.schedule, [0, 1, 0], "A's fault entry, B's munmap, A's migrate_to_ram");
      assert.match(r.finding!.labels[0], /no reference/);
      assert.match(r.finding!.labels[2], /migrate_to_ram/);
      assert.is(r.finding!.atEpilogue, false);
    });
  }
  for (const scheme of ["E2", "E3", "E4", "E5"]) {
    Cve(`${backend} ${scheme}: no violation up to bound ${BOUND}, every interleaving explored`, async () => {
      const t = await kernelTarget(sc, readVsMunmap, scheme, backend);
      const r = exhaustive(t, { bound: BOUND });
      assert.is(r.finding, null);
      assert.ok(r.complete);
      assert.is(r.stats.cut, 0, "no interleaving reached the bound");
      assert.ok(r.stats.interleavings >= 3);
    });
  }
}
Cve("the rule is what matters: E2 with swapFaultRef none has the race again", async () => {
  const t = await kernelTarget(sc, readVsMunmap, { name: "E2-no-ref", base: "E2", rules: { swapFaultRef: "none" } });
  assert.is(exhaustive(t, { bound: BOUND }).finding?.kind, "use_after_free");
});
Cve("a serial run (no switch inside the fault) is clean in every era: the race needs the interleaving", async () => {
  for (const scheme of ["E0", "E1", "E2", "E4"]) {
    const t = await kernelTarget(sc, readVsMunmap, scheme);
    assert.is(runSchedule(t, [0, 0, 0, 1]).finding, null, `${scheme} A then B`);
    assert.is(runSchedule(t, [1, 0]).finding, null, `${scheme} B then A (the read gets SIGSEGV)`);
  }
});
Cve("the found schedule replays to the same violation; the Engine and the Model agree on every search", async () => {
  for (const scheme of ["E0", "E2", "E4"]) {
    const e = exhaustive(await kernelTarget(sc, readVsMunmap, scheme, "engine"), { bound: BOUND, stopAtFirst: false });
    const m = exhaustive(await kernelTarget(sc, readVsMunmap, scheme, "model"), { bound: BOUND, stopAtFirst: false });
    assert.equal({ ...e.stats, ms: 0 , executed: 0 }, { ...m.stats, ms: 0, executed: 0 }, scheme);
    assert.equal(e.finding, m.finding, scheme);
    if (e.finding) {
      const t = await kernelTarget(sc, readVsMunmap, scheme);
      assert.is(runSchedule(t, e.finding.schedule).finding?.kind, e.finding.kind);
    }
  }
});

const Trylock = suite("6.15 trylock: a second faulter refaults");
Trylock("two readers of one device-private page under E3: the loser's trylock fails and it loops, bounded", async () => {
  const two = section({ A: [{ op: "read", mm: "p", addr: "buf" }], B: [{ op: "read", mm: "p", addr: "buf" }] });
  const t = await kernelTarget(sc, two, "E3");
  const r = runSchedule(t, [0, 1, 0, 0, 1]);
  assert.is(r.finding, null);
  assert.match(r.labels[1], /trylock_page failed/);
  const x = exhaustive(await kernelTarget(sc, two, "E3"), { bound: 4 });
  assert.is(x.finding, null);
  assert.ok(x.stats.cut > 0, "some interleavings spin in the refault loop until the bound");
});
for (const backend of ["engine", "model"] as Backend[]) {
  Trylock(`${backend} E5 (7.0): the loser sleeps on the folio lock instead of spinning, so no interleaving reaches the bound`, async () => {
    const two = section({ A: [{ op: "read", mm: "p", addr: "buf" }], B: [{ op: "read", mm: "p", addr: "buf" }] });
    const t = await kernelTarget(sc, two, "E5", backend);
    const r = runSchedule(t, [0, 1]);
    assert.match(r.labels[1], /softleaf_entry_wait_on_locked/);
    t.reset();
    t.step(0);
    t.step(1); // B's trylock fails while A holds the lock
    assert.is(t.enabled(1), false, "B sleeps while A holds the folio lock");
    t.step(0); // A: migrate_to_ram, unlock_page, put_page
    assert.is(t.enabled(1), true, "A's unlock wakes B");
    const x = exhaustive(await kernelTarget(sc, two, "E5", backend), { bound: 4 });
    assert.is(x.finding, null);
    assert.ok(x.complete);
    assert.is(x.stats.cut, 0, "no refault loop to cut");
    const e4 = exhaustive(await kernelTarget(sc, two, "E4", backend), { bound: 4 });
    assert.ok(e4.stats.cut > 0, "6.17 (E4) refaults at once: its loops reach the bound");
  });
}
Trylock("a custom scheme with swapFaultRef 'trylock' on E5 spins again: the rule is what matters", async () => {
  const two = section({ A: [{ op: "read", mm: "p", addr: "buf" }], B: [{ op: "read", mm: "p", addr: "buf" }] });
  const t = await kernelTarget(sc, two, { name: "E5-spin", base: "E5", rules: { swapFaultRef: "trylock" } });
  assert.ok(exhaustive(t, { bound: 4 }).stats.cut > 0);
});
Trylock("PCT with a seed is deterministic and finds the E0 race", async () => {
  const run = async () => pct(await kernelTarget(sc, readVsMunmap, "E0"), { bound: BOUND, depth: 2, runs: 200, seed: 1 });
  const a = await run();
  const b = await run();
  assert.is(a.finding?.kind, "use_after_free");
  assert.equal(a.finding, b.finding);
  assert.is(a.stats.interleavings, b.stats.interleavings);
});

Cve.run();
Trylock.run();

const Never = suite("race.never: a statistic's growth is a violation");
Never("device.pageFree grows when A's migration frees the device page (E2): found as 'device.pageFree grew'; an unknown statistic is refused", async () => {
  const { targetFactory } = await import("../src/races/kernel-target.ts");
  const { RefsimError } = await import("../src/core/errors.ts");
  const make = await targetFactory(sc, "E2", "engine", "device.pageFree");
  const r = exhaustive(make(readVsMunmap), { bound: BOUND });
  assert.is(r.finding?.kind, "device.pageFree grew");
  assert.equal(r.finding!.schedule, [0, 0], "A's fault entry, then its migrate_to_ram and put free the device page");
  const bad = await targetFactory(sc, "E2", "engine", "device.nope");
  assert.throws(() => bad(readVsMunmap), (e: unknown) => e instanceof RefsimError && e.field === "race.never");
});
Never.run();
