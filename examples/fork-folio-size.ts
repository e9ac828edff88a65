/**
 * Experiment: the cost of fork (copy_page_range) for small and large folios.
 * The `fork-cost` workload faults in a region, then forks and exits children;
 * measures are `_refcount`/`_mapcount` atomics and PTEs copied per fork, and the
 * COW atomics of the children's writes. A small (order-0) folio costs one
 * reference and one mapcount per PTE copied; a PMD-mapped 2 MiB THP one of each
 * per 512 pages (copy_huge_pmd); a THP mapped by PTEs one mapcount per PTE and,
 * with 6.9's PTE batching (E4, not E0/E2), one reference per folio.
 *
 *   node --import tsx examples/fork-folio-size.ts [--out results] [--quick]
 */
import { runSweep, type SweepSpec } from "../src/index.ts";
import { options, write } from "./output.ts";

const { out, quick } = options();
const spec: SweepSpec = {
  name: "fork-folio-size",
  schemes: ["E0", "E2", "E4"],
  workloads: [{ workload: "fork-cost", params: { pages: quick ? [512] : [512, 4096, 16384], folio: ["small", "large", "large-pte"], forks: 4, childWrites: 16 } }],
  seeds: quick ? [1] : [1, 2],
  every: quick ? 64 : 1024,
};
const doc = await runSweep(spec);
write(doc, out, spec.name);

console.log("\nper fork (first seed):");
for (const r of doc.runs.filter((r) => r.seed === spec.seeds![0])) {
  const m = r.measures ?? {};
  const what = r.error ? `not run: ${r.error}` : `${m.atomicsPerFork} atomics (${m.atomicsPerForkPage} a page), ${m.ptesCopiedPerFork} PTEs copied, ${m.cowAtomicsPerFork} COW atomics`;
  console.log(`  ${r.scheme.padEnd(4)} ${String(r.params.pages).padStart(6)} pages, ${String(r.params.folio).padEnd(9)} folios: ${what}`);
}
