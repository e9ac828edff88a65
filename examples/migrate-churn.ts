/**
 * Experiment: migration churn with and without long-term pins. The
 * `migrate-churn` workload migrates a region to device memory round after round;
 * with `longterm`, a share of its pages is pinned FOLL_LONGTERM each round, and
 * a coherent page must first go back to system RAM (check_and_migrate_movable_pages),
 * so the next round migrates it again. Device-private pages also come back on
 * every CPU touch (do_swap_page → migrate_to_ram). Measures: pages migrated per
 * round, pins taken, pins that failed; plus violations per era.
 *
 *   node --import tsx examples/migrate-churn.ts [--out results] [--quick]
 */
import { runSweep, type SweepSpec } from "../src/index.ts";
import { options, write } from "./output.ts";

const { out, quick } = options();
const spec: SweepSpec = {
  name: "migrate-churn",
  schemes: ["E0-devmap", "E0", "E1", "E2", "E4"],
  workloads: [{ workload: "migrate-churn", params: { kind: ["device-coherent", "device-private"], longterm: [false, true], pages: quick ? 32 : 256, rounds: quick ? 4 : 32, pinPercent: 25 } }],
  seeds: quick ? [1] : [1, 2, 3],
  every: quick ? 16 : 128,
};
const doc = await runSweep(spec);
write(doc, out, spec.name);

console.log("\npages migrated per round (mean over seeds):");
for (const kind of ["device-coherent", "device-private"]) {
  for (const longterm of [false, true]) {
    const cells = spec.schemes.map((s) => {
      const runs = doc.runs.filter((r) => r.scheme === s && r.params.kind === kind && r.params.longterm === longterm);
      const mean = runs.reduce((n, r) => n + (r.measures?.migratedPerRound ?? 0), 0) / runs.length;
      const leaks = runs.reduce((n, r) => n + r.violations.leak_page, 0);
      return `${s} ${mean.toFixed(1)}${leaks ? ` (${leaks} leaked)` : ""}`;
    });
    console.log(`  ${kind.padEnd(15)} ${longterm ? "with pins   " : "without pins"}  ${cells.join("  ")}`);
  }
}
