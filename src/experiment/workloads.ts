/**
 * Experiment workloads: small, seeded op generators that drive one engine
 * through a SamplingTarget and record named measures (deterministic in params and
 * seed). A sweep names them by `workload`; the three here back the examples in
 * examples/. Each takes params with defaults, so a sweep lists only what it varies.
 *
 *  - `seed-churn`: the seed question (spec S1) repeated: mmap anon private, write,
 *    migrate to device-coherent, munmap, check, round after round.
 *  - `fork-cost`: fault in a region, then fork and exit children; measures the
 *    refcount/mapcount atomics and PTEs copied per fork (copy_page_range).
 *  - `migrate-churn`: migrate a region to a device, optionally take FOLL_LONGTERM
 *    pins (which migrate coherent pages back to RAM first), touch, unpin, repeat.
 *
 * @example
 * ```ts
 * import { Engine } from "../core/engine.ts";
 * import { Prng } from "../workload/prng.ts";
 * import { SamplingTarget } from "./sampler.ts";
 * import { EXPERIMENT_WORKLOADS, withDefaults } from "./workloads.ts";
 * const w = EXPERIMENT_WORKLOADS["fork-cost"];
 * const params = withDefaults(w, { pages: 64 });
 * const target = new SamplingTarget(await Engine.create({ scheme: "E4", capacity: w.capacity?.(params) }), 64);
 * const measures: Record<string, number> = {};
 * await w.run({ target, params, prng: new Prng(1), seed: 1, measure: (k, v) => (measures[k] = v) });
 * console.log(measures.ptesCopiedPerFork); // 64
 * ```
 */
import type { Capacity } from "../core/engine.ts";
import { RefsimError, shown } from "../core/errors.ts";
import { PAGE_SIZE } from "../core/ops.ts";
import type { Stats } from "../core/stats.ts";
import type { Prng } from "../workload/prng.ts";
import type { SamplingTarget } from "./sampler.ts";

export type ParamValue = number | string | boolean;
export type Params = Record<string, ParamValue>;

export interface WorkloadContext {
  target: SamplingTarget;
  params: Params;
  prng: Prng;
  /** The seed the prng was made from. */
  seed: number;
  /** Record a named result of this run (deterministic; goes into the results JSON and CSV). */
  measure(name: string, value: number): void;
}

export interface WorkloadDef {
  name: string;
  doc: string;
  params: Record<string, { default: ParamValue; doc: string }>;
  /** Engine capacity the run needs for these params (the default capacity otherwise). */
  capacity?(p: Params): Partial<Capacity>;
  /** Drive the engine. The sweep runner adds a final `teardown` after it. */
  run(ctx: WorkloadContext): void | Promise<void>;
}

/** Params with the workload's defaults filled in; unknown names and wrong types are rejected. */
export function withDefaults(w: WorkloadDef, given: Params = {}): Params {
  const out: Params = {};
  for (const [k, v] of Object.entries(given)) {
    const d = w.params[k];
    if (!d) throw new RefsimError(`workload ${w.name}: unknown param '${k}' (params: ${Object.keys(w.params).join(", ")})`, { field: k });
    if (typeof v !== typeof d.default) throw new RefsimError(`workload ${w.name}: param '${k}' must be a ${typeof d.default}, got ${shown(v)}`, { field: k });
  }
  for (const [k, d] of Object.entries(w.params)) out[k] = k in given ? given[k] : d.default;
  return out;
}

const num = (p: Params, k: string) => p[k] as number;
const atomics = (s: Stats) => s.atomics.refcount + s.atomics.mapcount;

const seedChurn: WorkloadDef = {
  name: "seed-churn",
  doc: "the seed question (S1) over time: mmap anon private, write, migrate to device-coherent, munmap, check; round after round",
  params: {
    rounds: { default: 32, doc: "mmap/migrate/munmap rounds" },
    maxPages: { default: 4, doc: "each round maps 1..maxPages pages (chosen by the seed)" },
  },
  capacity: (p) => ({ devicePages: num(p, "rounds") * num(p, "maxPages") + 16 }),
  run({ target: t, params: p, prng, measure }) {
    const [mm] = t.run([{ op: "mm_new" }]);
    const [gpu] = t.run([{ op: "driver_new", kind: "device-coherent", pages: num(p, "rounds") * num(p, "maxPages") }]);
    let pagesMigrated = 0;
    for (let r = 0; r < num(p, "rounds"); r++) {
      const n = 1 + prng.below(num(p, "maxPages"));
      const length = n * PAGE_SIZE;
      const [vpn] = t.run([{ op: "mmap", mm, length }]);
      const addr = vpn * PAGE_SIZE;
      const writes = Array.from({ length: n }, (_, i) => ({ op: "write" as const, mm, addr: addr + i * PAGE_SIZE, value: r * 1000 + i }));
      t.run([...writes, { op: "migrate_to_device", mm, addr, length, driver: gpu }, { op: "munmap", mm, addr, length }, { op: "check" }]);
      pagesMigrated += n;
    }
    measure("pagesMigrated", pagesMigrated);
    measure("deviceFreeAtEnd", t.engine.driverFreePages(gpu));
  },
};

const forkCost: WorkloadDef = {
  name: "fork-cost",
  doc: "fault in `pages` anon pages, then fork and exit `forks` children (each writing `childWrites` random pages); per-fork cost of copy_page_range",
  params: {
    pages: { default: 512, doc: "pages mapped and faulted in by the parent" },
    forks: { default: 4, doc: "children forked (each exits before the next fork)" },
    childWrites: { default: 8, doc: "pages each child writes (write faults: COW copy or reuse)" },
    folio: {
      default: "small",
      doc: "'small' (order-0 folios), 'large' (2 MiB THPs mapped by PMDs: copy_huge_pmd) or 'large-pte' (THPs split into PTEs by MADV_DONTNEED of each one's last page: copy_present_ptes, batched in 6.9+ eras); large needs pages to be a multiple of 512",
    },
  },
  capacity: (p) => ({
    systemPages: num(p, "pages") * 2 + num(p, "forks") * num(p, "childWrites") + 1024,
    pteTables: 64 + Math.ceil(num(p, "pages") / 512) * (num(p, "forks") + 2),
    hugePages: p.folio === "small" ? 0 : Math.ceil(num(p, "pages") / 512),
  }),
  run({ target: t, params: p, prng, measure }) {
    if (p.folio !== "small" && p.folio !== "large" && p.folio !== "large-pte") {
      throw new RefsimError(`fork-cost: folio must be 'small', 'large' or 'large-pte', got '${p.folio}'`, { field: "folio" });
    }
    const pages = num(p, "pages");
    const large = p.folio !== "small";
    if (large && pages % 512 !== 0) throw new RefsimError(`fork-cost: pages must be a multiple of 512 for ${p.folio} folios, got ${pages}`, { field: "pages" });
    const [mm] = t.run([{ op: "mm_new" }]);
    // THPs need a 2 MiB-aligned region (do_huge_pmd_anonymous_page maps whole aligned blocks)
    const [vpn] = t.run([{ op: "mmap", mm, length: pages * PAGE_SIZE, ...(large ? { addr: 0x40000000, huge: true } : {}) }]);
    const addr = vpn * PAGE_SIZE;
    t.run(Array.from({ length: pages }, (_, i) => ({ op: "write" as const, mm, addr: addr + i * PAGE_SIZE, value: i + 1 })));
    if (p.folio === "large-pte") {
      t.run(Array.from({ length: pages / 512 }, (_, b) => ({ op: "madvise_dontneed" as const, mm, addr: addr + (b * 512 + 511) * PAGE_SIZE, length: PAGE_SIZE })));
    }
    let forkAtomics = 0;
    let forkPtes = 0;
    let cowAtomics = 0;
    for (let f = 0; f < num(p, "forks"); f++) {
      const before = t.stats();
      const [child] = t.run([{ op: "fork", mm }]);
      const mid = t.stats();
      forkAtomics += atomics(mid) - atomics(before);
      forkPtes += mid.ptesCopied - before.ptesCopied;
      t.run(Array.from({ length: num(p, "childWrites") }, () => ({ op: "write" as const, mm: child, addr: addr + prng.below(pages) * PAGE_SIZE, value: f })));
      cowAtomics += atomics(t.stats()) - atomics(mid);
      t.run([{ op: "exit", mm: child }]);
    }
    const forks = Math.max(1, num(p, "forks"));
    measure("atomicsPerFork", forkAtomics / forks);
    measure("atomicsPerForkPage", forkAtomics / forks / pages);
    measure("ptesCopiedPerFork", forkPtes / forks);
    measure("cowAtomicsPerFork", cowAtomics / forks);
    measure("thpAllocated", t.stats().thp.allocated);
  },
};

const migrateChurn: WorkloadDef = {
  name: "migrate-churn",
  doc: "migrate a region to device memory, optionally pin a fraction of its pages FOLL_LONGTERM (coherent pages migrate back to RAM first), touch, unpin; repeat",
  params: {
    pages: { default: 64, doc: "pages in the region" },
    rounds: { default: 16, doc: "migrate/pin/touch/unpin rounds" },
    kind: { default: "device-coherent", doc: "'device-coherent' or 'device-private'" },
    longterm: { default: false, doc: "take FOLL_LONGTERM pins (pin_user_pages) each round" },
    pinPercent: { default: 25, doc: "percent of pages pinned per round when longterm" },
  },
  capacity: (p) => ({ devicePages: num(p, "pages") * 2 + 16, gupHandles: num(p, "pages") + 16 }),
  run({ target: t, params: p, prng, measure }) {
    if (p.kind !== "device-coherent" && p.kind !== "device-private") throw new RefsimError(`migrate-churn: kind must be device-coherent or device-private, got '${p.kind}'`, { field: "kind" });
    const pages = num(p, "pages");
    const length = pages * PAGE_SIZE;
    const [mm] = t.run([{ op: "mm_new" }]);
    const [vpn] = t.run([{ op: "mmap", mm, length }]);
    const addr = vpn * PAGE_SIZE;
    const [gpu] = t.run([{ op: "driver_new", kind: p.kind, pages: pages * 2 }]);
    t.run(Array.from({ length: pages }, (_, i) => ({ op: "write" as const, mm, addr: addr + i * PAGE_SIZE, value: i + 1 })));
    let pins = 0;
    let pinFailed = 0;
    const migratedBefore = t.stats().migrated;
    for (let r = 0; r < num(p, "rounds"); r++) {
      t.run([{ op: "migrate_to_device", mm, addr, length, driver: gpu }]);
      const handles: number[] = [];
      if (p.longterm) {
        const gups = [];
        for (let i = 0; i < pages; i++) {
          if (prng.below(100) < num(p, "pinPercent")) gups.push({ op: "gup" as const, mm, addr: addr + i * PAGE_SIZE, write: true, pin: true, longterm: true });
        }
        for (const h of t.run(gups)) (h > 0 ? handles : []).push(h);
        pins += handles.length;
        pinFailed += gups.length - handles.length;
      }
      const touches = Array.from({ length: Math.max(1, pages >> 2) }, () => {
        const i = prng.below(pages);
        return { op: "write" as const, mm, addr: addr + i * PAGE_SIZE, value: r * pages + i };
      });
      t.run([...touches, ...handles.map((handle) => ({ op: "unpin" as const, handle }))]);
    }
    measure("pins", pins);
    measure("pinFailed", pinFailed);
    measure("migratedPerRound", (t.stats().migrated - migratedBefore) / Math.max(1, num(p, "rounds")));
  },
};

/** The built-in experiment workloads, by name. */
export const EXPERIMENT_WORKLOADS: Record<string, WorkloadDef> = {
  [seedChurn.name]: seedChurn,
  [forkCost.name]: forkCost,
  [migrateChurn.name]: migrateChurn,
};
