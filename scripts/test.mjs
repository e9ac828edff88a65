// The test command: uvu over test/**/*.test.ts under tsx, then the library subset
// under Deno (test/deno/, `deno test`; its "ok | N passed | N failed" line is
// parsed), then the closing line CI reads, summing both:
//   "N passed, N failed, N skipped" (with the reasons for skipped tests after it).
// A test that cannot run here (no Chromium for the browser tests) is skipped and
// prints "# refsim-skip: WHAT: REASON" (test/helpers/chromium.ts); those reasons
// are repeated under the closing line so a skip is never silent.
import { spawnSync } from "node:child_process";

const suites = [
  { name: "uvu (node)", cmd: process.execPath, args: ["--import", "tsx", "node_modules/uvu/bin.js", "test", "\\.test\\.ts$"], parse: uvuSummary },
  // Type checking is tsc's job (npm run typecheck); Deno runs the same sources as they are.
  { name: "deno", cmd: "node_modules/.bin/deno", args: ["test", "test/deno/"], parse: denoSummary },
];

/** uvu's summary: "Total: N" counts the tests that ran (skipped ones are not in it), "Passed: N", "Skipped: N". */
function uvuSummary(out) {
  const num = (re, dflt) => Number(re.exec(out)?.[1] ?? dflt);
  const ran = num(/Total:\s+(\d+)/, NaN);
  const ok = num(/Passed:\s+(\d+)/, NaN);
  return { failed: ran - ok, ok, skipped: num(/Skipped:\s+(\d+)/, 0) };
}

/** Deno's closing line: "ok | 7 passed | 0 failed" (or "FAILED | ..."), maybe "| 1 ignored". */
function denoSummary(out) {
  const m = /(?:ok|FAILED)\s*\|\s*(\d+) passed(?:\s*\(\d+ steps?\))?\s*\|\s*(\d+) failed(?:\s*\|\s*(\d+) ignored)?/.exec(out);
  return m ? { ok: Number(m[1]), failed: Number(m[2]), skipped: Number(m[3] ?? 0) } : { ok: NaN, failed: NaN, skipped: 0 };
}

let passed = 0;
let failed = 0;
let skipped = 0;
const reasons = new Set();
for (const s of suites) {
  const r = spawnSync(s.cmd, s.args, { encoding: "utf8", env: { ...process.env, NO_COLOR: "1" }, maxBuffer: 1 << 28 });
  const out = r.stdout ?? "";
  process.stdout.write(out);
  process.stderr.write(r.stderr ?? "");
  for (const m of out.matchAll(/^# refsim-skip: (.*)$/gm)) reasons.add(m[1]);
  const got = s.parse(out);
  if (Number.isNaN(got.ok) || Number.isNaN(got.failed)) {
    console.error(`${s.name}: no summary (exit ${r.status}); counting the suite as one failure`);
    failed += 1;
    continue;
  }
  passed += got.ok;
  failed += got.failed;
  skipped += got.skipped;
  if (r.status !== 0 && got.failed === 0) failed += 1; // crashed outside a test
}
console.log(`${passed} passed, ${failed} failed, ${skipped} skipped`);
for (const why of reasons) console.log(`  skipped: ${why}`);
process.exit(failed === 0 ? 0 : 1);
