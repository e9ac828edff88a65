// Issue 18's determinism: the same scenario, seed and bound give the same
// exploration on every runtime. `refsim races --json` runs under Node and under
// Deno (V8 15) here, and the two reports (timings and paths aside) and the replay
// scenarios they write must be byte-identical: exhaustive search with sleep sets
// on engine cuts, PCT with its seeded priorities, and a protocol model.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const ROOT = new URL("..", import.meta.url).pathname;
const ENV = { ...process.env, NO_COLOR: "1", FORCE_COLOR: "0" };

/** Fields that measure the run rather than describe it. */
const MEASURED = new Set(["ms", "interleavingsPerSec", "statesPerSec", "shrinkMs", "out"]);

function deterministic(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(deterministic);
  if (v !== null && typeof v === "object") {
    return Object.fromEntries(Object.entries(v).filter(([k]) => !MEASURED.has(k)).map(([k, x]) => [k, deterministic(x)]));
  }
  return v;
}

function races(runtime: "node" | "deno", scenario: string, dir: string): { report: unknown; written: Map<string, string> } {
  const cli = [join(ROOT, "src/cli/main.ts"), "races", join(ROOT, scenario), "--json", "--out", join(dir, "replay.json")];
  const r = runtime === "node"
    ? spawnSync(process.execPath, ["--import", "tsx", ...cli], { cwd: ROOT, encoding: "utf8", env: ENV })
    : spawnSync(join(ROOT, "node_modules/.bin/deno"), ["run", "-A", ...cli], { cwd: ROOT, encoding: "utf8", env: ENV });
  assert.ok(r.status === 0 || r.status === 1, `${runtime} ${scenario}: exit ${r.status}\n${r.stderr}`);
  const written = new Map<string, string>();
  for (const f of readdirSync(dir).sort()) written.set(f, readFileSync(join(dir, f), "utf8"));
  return { report: deterministic(JSON.parse(r.stdout)), written };
}

const SCENARIOS = [
  "scenarios/races/cve-2022-3523.json", // do_swap_page's cut, a violation shrunk and written
  "scenarios/races/gup-fast-vs-fork.json", // GUP-fast and fork cuts, footprints and sleep sets
  "scenarios/races/migrate-collect-vs-fault.json", // migrate_vma_collect's cut, a custom scheme
  "scenarios/races/s21-many-faulters.json", // PCT: seeded priorities and change points
  "scenarios/races/protocols/folio-try-get.json", // refcount protocols over atomic cells
];

for (const scenario of SCENARIOS) {
  test(`refsim races ${scenario}: Node and Deno explore the same interleavings and write the same replays`, () => {
    const nodeDir = mkdtempSync(join(tmpdir(), "races-node-"));
    const denoDir = mkdtempSync(join(tmpdir(), "races-deno-"));
    try {
      const node = races("node", scenario, nodeDir);
      const deno = races("deno", scenario, denoDir);
      assert.equal(deno.report, node.report);
      assert.equal([...deno.written.keys()], [...node.written.keys()]);
      for (const [f, text] of node.written) assert.ok(deno.written.get(f) === text, `${f}: the replay Deno wrote differs from Node's`);
    } finally {
      rmSync(nodeDir, { recursive: true, force: true });
      rmSync(denoDir, { recursive: true, force: true });
    }
  });
}

test.run();
