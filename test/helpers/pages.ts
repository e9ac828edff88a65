// The setup the page-accounting specifications share (test/ops-system, test/ops-device,
// test/spec-scenarios, test/thp): one engine size, the page a test must find mapped, the
// one-anon-page process most scenarios start from, and the counter deltas they assert on.
import * as assert from "uvu/assert";
import { Engine, type PageInfo } from "../../src/core/engine.ts";
import type { Stats } from "../../src/core/stats.ts";
import type { SchemeInput } from "../../src/scheme/resolve.ts";

export const PAGE = 4096;
/** System pages of the engines these tests build. */
export const SYS = 256;
export const CAP = { systemPages: SYS, devicePages: 64 };
/** pfn of the first page of the first driver: device frames follow pfn 0 and the system pages. */
export const DEV0 = SYS + 1;

/** An engine of CAP's size (or `capacity` over it) under `scheme`. */
export function engine(scheme: SchemeInput = "E2", capacity: Record<string, number> = {}): Promise<Engine> {
  return Engine.create({ scheme, capacity: { ...CAP, ...capacity } });
}

/** A scheme as a test title shows it: a preset's name, a custom scheme as its JSON. */
export function schemeName(scheme: SchemeInput): string {
  return typeof scheme === "string" ? scheme : JSON.stringify(scheme);
}

/** page() that must be mapped. */
export function pg(e: Engine, mm: number, addr: number): PageInfo {
  const p = e.page(mm, addr);
  assert.ok(p, `expected a mapping at 0x${addr.toString(16)} in mm ${mm}`);
  return p!;
}

/**
 * A fresh engine and a process with `pages` anonymous private pages, written with `value`
 * (one page) or value, value + 1, ... (several): the setup most scenarios start from.
 */
export async function anonPage(scheme: SchemeInput, pages = 1, value = 5): Promise<{ e: Engine; mm: number; a: number }> {
  const e = await engine(scheme);
  const mm = e.mmNew();
  const a = e.mmap(mm, { length: pages * PAGE });
  for (let i = 0; i < pages; i++) e.write(mm, a + i * PAGE, pages === 1 ? value : value + i);
  return { e, mm, a };
}

/** Tear down and expect no violation. */
export function cleanEnd(e: Engine): void {
  e.teardown();
  assert.equal(e.violations(), []);
}

/** Counter deltas between two stats snapshots. */
export function delta(a: Stats, b: Stats) {
  return {
    ref: b.atomics.refcount - a.atomics.refcount,
    map: b.atomics.mapcount - a.atomics.mapcount,
    wpCopy: b.wpCopy - a.wpCopy,
    wpReuse: b.wpReuse - a.wpReuse,
    tlbFlushes: b.tlbFlushes - a.tlbFlushes,
    ptesCopied: b.ptesCopied - a.ptesCopied,
    ptesZapped: b.ptesZapped - a.ptesZapped,
    live: b.frames.live - a.frames.live,
    freed: b.frames.freed - a.frames.freed,
    allocated: b.frames.allocated - a.frames.allocated,
  };
}
