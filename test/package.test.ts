// The package as a user gets it: `npm pack` (after build:dist) holds the compiled
// library, its types (listed first in `exports`), the WASM core (embedded), the
// CLI and the browser page; installed into a scratch project, plain Node (no tsx,
// no build step) imports `refsim` and runs the seed scenario, TypeScript resolves
// its types, and the installed `refsim` bin runs a sweep on worker threads and
// writes a report.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { spawnSync, type SpawnSyncReturns } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { createRequire } from "node:module";
import { join } from "node:path";
import { ensureDist, ROOT } from "./helpers/dist.ts";
import { PLAIN_ENV } from "./helpers/cli.ts";

const TMP = join(ROOT, "tmp", "test-package");
const APP = join(TMP, "app");
const npm = process.platform === "win32" ? "npm.cmd" : "npm";

function run(cmd: string, args: string[], cwd: string): SpawnSyncReturns<string> {
  const r = spawnSync(cmd, args, { cwd, encoding: "utf8", env: { ...process.env, NO_COLOR: "1", npm_config_update_notifier: "false" } });
  assert.is(r.status, 0, `${cmd} ${args.join(" ")} (in ${cwd}) exited ${r.status}:\n${r.stdout}\n${r.stderr}`);
  return r;
}

test("build:dist compiles the whole host with no type error", async () => {
  const b = await ensureDist();
  assert.ok(b.clean, `tsc reported errors:\n${b.output}`);
});

let tarball = "";

test("npm pack: dist (library, types, CLI, page), the embedded core and the scenarios; exports list types first", async () => {
  await ensureDist();
  rmSync(TMP, { recursive: true, force: true });
  mkdirSync(APP, { recursive: true });
  const r = run(npm, ["pack", "--json", "--ignore-scripts", "--pack-destination", TMP], ROOT);
  const [info] = JSON.parse(r.stdout.slice(r.stdout.indexOf("["))) as { filename: string; files: { path: string }[] }[];
  tarball = join(TMP, info.filename);
  const files = info.files.map((f) => f.path);
  for (const f of ["dist/src/index.js", "dist/src/index.d.ts", "dist/src/core/generated/bindings.js", "dist/src/core/generated/wasm.js", "dist/src/cli/main.js",
    "dist/src/cli/sweep-worker.js", "dist/web/index.html", "dist/web/chart.umd.min.js", "dist/web/scenarios.json", "dist/src/web/app.js", "scenarios/seed.json", "package.json"]) {
    assert.ok(files.includes(f), `${f} is in the package`);
  }
  assert.not.ok(files.some((f) => f.startsWith("test/") || f.startsWith("src/") || f.startsWith("tmp/")), "no tests, sources or scratch files");
  assert.not.ok(files.some((f) => /^dist\/(bench|test)\//.test(f)), "no compiled bench or test code either");
  const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8"));
  assert.is(Object.keys(pkg.exports["."])[0], "types", "types condition first");
  assert.is(pkg.bin.refsim, "dist/src/cli/main.js");
});

test("installed: plain Node imports refsim and runs the seed scenario; tsc resolves its types", async () => {
  assert.ok(tarball && existsSync(tarball), "the packed tarball (previous test)");
  writeFileSync(join(APP, "package.json"), JSON.stringify({ name: "refsim-user", private: true, type: "module" }));
  run(npm, ["install", "--no-audit", "--no-fund", "--prefer-offline", "--no-package-lock", tarball], APP);
  writeFileSync(join(APP, "seed.mjs"), `
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { Engine, parseScenario, runScenario, REFSIM_VERSION } from "refsim";
const path = createRequire(import.meta.url).resolve("refsim/package.json").replace(/package\\.json$/, "scenarios/seed.json");
const loaded = parseScenario(readFileSync(path, "utf8"), "seed.json");
const out = {};
for (const s of ["E0-devmap", "E2"]) {
  const r = await runScenario(loaded, s, ["E0-devmap", "E2"]);
  out[s] = { passed: r.passed, violations: r.violations.map((v) => v.kind) };
}
const e = await Engine.create({ scheme: "E4" });
out.engine = typeof e.mmNew();
out.version = REFSIM_VERSION;
console.log(JSON.stringify(out));
`);
  const r = run(process.execPath, ["seed.mjs"], APP);
  const out = JSON.parse(r.stdout);
  assert.equal(out["E0-devmap"], { passed: true, violations: ["leak_page", "leak_bo"] });
  assert.equal(out.E2, { passed: true, violations: [] });
  assert.is(out.engine, "number");
  assert.is(out.version, JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")).version);

  writeFileSync(join(APP, "typed.ts"), `
import { Engine, runSweep, type ResultsDoc, type Stats } from "refsim";
const e: Engine = await Engine.create({ scheme: "E2" });
const s: Stats = e.stats();
const doc: ResultsDoc = await runSweep({ name: "t", schemes: ["E2"], workloads: [{ workload: "seed-churn" }] });
export const n: number = s.atomics.refcount + doc.runs.length;
`);
  const tsc = createRequire(join(ROOT, "package.json")).resolve("typescript/bin/tsc");
  writeFileSync(join(APP, "tsconfig.json"), JSON.stringify({
    compilerOptions: { noEmit: true, strict: true, module: "nodenext", moduleResolution: "nodenext", target: "es2022", lib: ["es2022", "dom"], types: [], skipLibCheck: false },
    files: ["typed.ts"],
  }));
  run(process.execPath, [tsc, "-p", "tsconfig.json"], APP);
});

test("installed: trace, explore and export APIs; replay under another scheme; bench and .ts scenarios say what they need", async () => {
  writeFileSync(join(APP, "trace.mjs"), `
import { Engine, TraceRecorder, replayTrace, dumpTrace, explore, exportC } from "refsim";
const rec = new TraceRecorder(await Engine.create({ scheme: "E0" }), { source: "installed" });
rec.run([{ op: "mm_new" }, { op: "mmap", mm: 0, length: 4096 }, { op: "write", mm: 0, addr: 0x10000000, value: 1 }]);
const t = rec.finish();
const again = await replayTrace(t);
const other = await replayTrace(t, { scheme: "E4" });
const found = await explore({ scheme: "E0-devmap", budgetOps: 20000, seed: 1 });
console.log(JSON.stringify({ identical: again.identical, other: other.engine.scheme.name, lines: [...dumpTrace(t)].length, explored: typeof found.ops, c: exportC({ name: "t", steps: [{ op: "mm_new" }] }).includes("int main") }));
`);
  // The README's library example, as written (it imports "refsim"), runs against the installed package.
  const readme = readFileSync(join(ROOT, "README.md"), "utf8");
  const example = /## Library\n\n```ts\n([\s\S]*?)```/.exec(readme)![1];
  assert.match(example, /from "refsim"/);
  writeFileSync(join(APP, "readme.mjs"), example);
  assert.match(run(process.execPath, ["readme.mjs"], APP).stdout, /^freed /);
  const out = JSON.parse(run(process.execPath, ["trace.mjs"], APP).stdout);
  assert.equal(out, { identical: true, other: "E4", lines: 6, explored: "number", c: true });
  const bin = join(APP, "node_modules", ".bin", "refsim");
  const bench = spawnSync(bin, ["bench"], { cwd: APP, encoding: "utf8", env: PLAIN_ENV });
  assert.is(bench.status, 2);
  assert.match(bench.stderr, /bench: the benchmarks are not part of the installed package .* npm run bench/);
  writeFileSync(join(APP, "s.ts"), `export default { name: "ts", schemes: ["E2"], steps: [{ op: "mm_new", as: "p" }] };\n`);
  // Beside tsx (the repository's, above tmp/), the installed CLI runs a .ts scenario through tsx's tsImport.
  const ts = spawnSync(bin, ["run", "s.ts"], { cwd: APP, encoding: "utf8", env: PLAIN_ENV });
  assert.is(ts.status, 0, ts.stderr);
  assert.match(ts.stdout, /expectations\s+pass/);
  // Where no TypeScript loader can be found, it says what to do, without a stack trace.
  const lone = mkdtempSync(join(tmpdir(), "refsim-ts-"));
  try {
    writeFileSync(join(lone, "s.ts"), readFileSync(join(APP, "s.ts")));
    const none = spawnSync(bin, ["run", "s.ts"], { cwd: lone, encoding: "utf8", env: PLAIN_ENV });
    if (!process.features.typescript && !existsSync(join(tmpdir(), "node_modules")) && !existsSync("/node_modules/tsx")) {
      assert.is(none.status, 2, none.stdout);
      assert.match(none.stderr, /s\.ts: a \.ts scenario needs a TypeScript loader, .*npm i -D tsx/);
      assert.not.match(none.stderr, /\n\s+at /, "no stack trace");
    }
  } finally {
    rmSync(lone, { recursive: true, force: true });
  }
});

test("installed: the refsim bin sweeps on worker threads (compiled .js workers), merges shards and writes the report", async () => {
  assert.ok(existsSync(join(APP, "node_modules/.bin/refsim")), "bin linked");
  const bin = join(APP, "node_modules/.bin/refsim");
  writeFileSync(join(APP, "sweep.json"), JSON.stringify({ name: "installed", schemes: ["E0-devmap", "E2"], scenarios: ["seed"], workloads: [{ workload: "seed-churn", params: { rounds: 4 } }], seeds: [1, 2] }));
  run(bin, ["sweep", "sweep.json", "--workers", "2", "--out", "all.json"], APP);
  run(bin, ["sweep", "sweep.json", "--workers", "2", "--shard", "0/2", "--out", "s0.json"], APP);
  run(bin, ["sweep", "sweep.json", "--workers", "1", "--shard", "1/2", "--out", "s1.json"], APP);
  run(bin, ["merge", "s0.json", "s1.json", "--out", "merged.json"], APP);
  const det = (f: string) => {
    const d = JSON.parse(readFileSync(join(APP, f), "utf8"));
    delete d.meta;
    return JSON.stringify(d);
  };
  assert.ok(det("merged.json") === det("all.json"), "merged shards == unsharded");
  run(bin, ["report", "merged.json"], APP);
  const html = readFileSync(join(APP, "merged.html"), "utf8");
  assert.ok(html.length > 100_000 && html.includes("Chart.js") && html.includes('id="violations-by-kind"'), "report with Chart.js inlined");
  assert.ok(existsSync(join(APP, "merged.md")) && existsSync(join(APP, "all.csv")), "Markdown summary and CSV");
});

test("examples/cluster/Dockerfile: its build stage's npm scripts exist, and its runtime stage's install and entrypoint work on the packed tarball", () => {
  // No Docker engine on the test machines: the Dockerfile is parsed and its
  // runtime stage's commands run here, with /pkg the tarball's directory and the
  // global prefix a scratch directory.
  assert.ok(tarball && existsSync(tarball), "the packed tarball (earlier test)");
  const text = readFileSync(join(ROOT, "examples/cluster/Dockerfile"), "utf8");
  const lines = text.split("\n").filter((l) => l.trim() && !l.startsWith("#"));
  const stages = lines.join("\n").split(/^FROM /m).filter(Boolean).map((st) => st.split("\n"));
  assert.is(stages.length, 2, "a build stage and a runtime stage");
  const node = /node:(\d+)/.exec(stages[1][0])?.[1];
  assert.ok(node && Number(node) >= Number(/\d+/.exec(JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")).engines.node)![0]), `runtime image's Node ${node} meets engines.node`);
  const scripts = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")).scripts;
  for (const l of stages[0].filter((x) => x.startsWith("RUN "))) for (const m of l.matchAll(/npm run ([\w:-]+)/g)) assert.ok(scripts[m[1]], `npm run ${m[1]} exists`);
  assert.ok(stages[0].some((l) => /npm pack .*--pack-destination \/pkg/.test(l)), "the build stage packs into /pkg");
  const install = stages[1].find((l) => l.startsWith("RUN npm install -g"))!;
  const prefix = join(TMP, "docker-prefix");
  const cmd = install.slice(4).replace(/\/pkg\/refsim-\*\.tgz/, tarball).replace(/ && rm -rf \/pkg$/, "");
  const r = spawnSync("bash", ["-c", cmd], { cwd: TMP, encoding: "utf8", env: { ...process.env, npm_config_prefix: prefix, npm_config_update_notifier: "false" } });
  assert.is(r.status, 0, `${cmd}: ${r.stdout}\n${r.stderr}`);
  assert.not.match(`${r.stdout}${r.stderr}`, /prepare|WARN/i, "no install-time warning");
  const entry = JSON.parse(stages[1].find((l) => l.startsWith("ENTRYPOINT "))!.slice(11)) as string[];
  const defaults = JSON.parse(stages[1].find((l) => l.startsWith("CMD "))!.slice(4)) as string[];
  const bin = join(prefix, "bin", entry[0]);
  const work = join(TMP, "docker-work");
  mkdirSync(join(work, "examples/cluster"), { recursive: true });
  writeFileSync(join(work, "examples/cluster/sweep.json"), readFileSync(join(ROOT, "examples/cluster/sweep.json")));
  const help = run(bin, [...entry.slice(1), ...defaults], work);
  assert.match(help.stdout, /usage: refsim/);
  run(bin, [...entry.slice(1), "sweep", "examples/cluster/sweep.json", "--out", "results/all.json", "--quiet"], work);
  assert.ok(existsSync(join(work, "results/all.json")) && existsSync(join(work, "results/all.runs.ndjson")), "the image's usage line runs a sweep");
});

test.run();
