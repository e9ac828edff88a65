// The test command: uvu over test/**/*.test.ts under tsx, then the library subset
// under Deno (test/deno/, `deno test`; its "ok | N passed | N failed" line is
// parsed), then the closing line "N passed, N failed" that CI reads, summing both.
import { spawnSync } from "node:child_process";

const suites = [
  { name: "uvu (node)", cmd: process.execPath, args: ["--import", "tsx", "node_modules/uvu/bin.js", "test", "\\.test\\.ts$"] },
  // Type checking is tsc's job (npm run typecheck); Deno runs the same sources as they are.
  { name: "deno", cmd: "node_modules/.bin/deno", args: ["test", "test/deno/"], parse: denoSummary },
];

/** Deno's closing line: "ok | 7 passed | 0 failed" (or "FAILED | ..."). */
function denoSummary(out) {
  const m = /(?:ok|FAILED)\s*\|\s*(\d+) passed(?:\s*\(\d+ steps?\))?\s*\|\s*(\d+) failed/.exec(out);
  return m ? { total: Number(m[1]) + Number(m[2]), ok: Number(m[1]), skipped: 0 } : { total: NaN, ok: NaN, skipped: 0 };
}

let passed = 0;
let failed = 0;
for (const s of suites) {
  const r = spawnSync(s.cmd, s.args, { encoding: "utf8", env: { ...process.env, NO_COLOR: "1" }, maxBuffer: 1 << 28 });
  process.stdout.write(r.stdout ?? "");
  process.stderr.write(r.stderr ?? "");
  const { total, ok, skipped } = s.parse ? s.parse(r.stdout ?? "") : {
    total: Number(/Total:\s+(\d+)/.exec(r.stdout ?? "")?.[1] ?? NaN),
    ok: Number(/Passed:\s+(\d+)/.exec(r.stdout ?? "")?.[1] ?? NaN),
    skipped: Number(/Skipped:\s+(\d+)/.exec(r.stdout ?? "")?.[1] ?? 0),
  };
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
