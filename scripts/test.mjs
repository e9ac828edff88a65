// The test command: uvu over test/**/*.test.ts under tsx, then the closing line
// "N passed, N failed" that CI reads. Extra suites (e.g. Deno) can add their
// counts through REFSIM_EXTRA_SUITES later.
import { spawnSync } from "node:child_process";

const suites = [
  { name: "uvu (node)", cmd: process.execPath, args: ["--import", "tsx", "node_modules/uvu/bin.js", "test", "\\.test\\.ts$"] },
];

let passed = 0;
let failed = 0;
for (const s of suites) {
  const r = spawnSync(s.cmd, s.args, { encoding: "utf8", env: { ...process.env, NO_COLOR: "1" }, maxBuffer: 1 << 28 });
  process.stdout.write(r.stdout ?? "");
  process.stderr.write(r.stderr ?? "");
  const total = Number(/Total:\s+(\d+)/.exec(r.stdout ?? "")?.[1] ?? NaN);
  const ok = Number(/Passed:\s+(\d+)/.exec(r.stdout ?? "")?.[1] ?? NaN);
  const skipped = Number(/Skipped:\s+(\d+)/.exec(r.stdout ?? "")?.[1] ?? 0);
  if (Number.isNaN(total) || Number.isNaN(ok)) {
    console.error(`${s.name}: no summary (exit ${r.status}); counting the suite as one failure`);
    failed += 1;
    continue;
  }
  passed += ok;
  failed += total - ok - skipped;
  if (r.status !== 0 && total - ok - skipped === 0) failed += 1; // crashed outside a test
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
