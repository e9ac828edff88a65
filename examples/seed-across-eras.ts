/**
 * Experiment: the seed question across kernel eras. linux-mm, 2022-02-15: anon
 * private memory migrated into device-coherent pages, then munmap — who drops the
 * reference? Runs the built-in scenarios S1 (seed) and S9 (write fault after fork
 * on a coherent page) under every preset, and the `seed-churn` workload (the S1
 * sequence round after round, 1..maxPages pages a round chosen by the seed), to
 * show the leak growing over time where it exists and nowhere else.
 *
 *   node --import tsx examples/seed-across-eras.ts [--out results] [--quick]
 *   npm run refsim -- report results/seed-across-eras.json
 */
import { runSweep, PRESET_NAMES, type Scenario, type SweepSpec } from "../src/index.ts";
import seed from "../scenarios/seed.json" with { type: "json" };
import wpAfterFork from "../scenarios/coherent-wp-after-fork.json" with { type: "json" };
import { options, write } from "./output.ts";

const { out, quick } = options();
const spec: SweepSpec = {
  name: "seed-across-eras",
  schemes: [...PRESET_NAMES],
  scenarios: [seed as Scenario, wpAfterFork as Scenario],
  workloads: [{ workload: "seed-churn", params: { rounds: quick ? [8] : [32, 128], maxPages: 4 } }],
  seeds: quick ? [1] : [1, 2, 3],
  every: 8,
};
const doc = await runSweep(spec);
write(doc, out, spec.name);

console.log("\nwho leaks, by era (seed-churn: pages leaked per page migrated, mean over seeds):");
for (const scheme of PRESET_NAMES) {
  const runs = doc.runs.filter((r) => r.scheme === scheme && r.subject === "seed-churn");
  const ratio = runs.reduce((n, r) => n + r.violations.leak_page / (r.measures?.pagesMigrated || 1), 0) / runs.length;
  const s1 = doc.runs.find((r) => r.scheme === scheme && r.subject === "seed");
  console.log(`  ${scheme.padEnd(10)} S1: ${s1?.violations.leak_page ? "page and BO leak" : "freed at munmap"}; churn: ${ratio.toFixed(2)}`);
}
