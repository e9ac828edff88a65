// The command line as a user meets it (issue 16 item 4, issue 17 item 6): one list
// of commands behind --help, per-command help and flags, --version, the one number
// format, colour only where asked, TAP output, workload's exit status and JSON,
// progress with an ETA, and the bench's one flag set for npm run bench and refsim bench.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PLAIN_ENV } from "./helpers/cli.ts";
import { COMMANDS, commandsMarkdown, dispatch } from "../src/cli/commands.ts";
import { RefsimError } from "../src/core/errors.ts";
import { countArg, parseFlags } from "../src/cli/flags.ts";
import { Progress, clock } from "../src/cli/progress.ts";
import { colourOn } from "../src/cli/style.ts";
import { withCommandTable } from "../scripts/docs.ts";

const refsim = (args: string[], env: NodeJS.ProcessEnv = PLAIN_ENV) =>
  spawnSync(process.execPath, ["--import", "tsx", "src/cli/main.ts", ...args], { encoding: "utf8", env });

test("--version prints package.json's version; --help lists every command; CMD --help its own flags", () => {
  const pkg = JSON.parse(readFileSync("package.json", "utf8"));
  const v = refsim(["--version"]);
  assert.is(v.status, 0);
  assert.is(v.stdout.trim(), `refsim ${pkg.version}`);
  const h = refsim(["--help"]);
  assert.is(h.status, 0);
  for (const c of COMMANDS.filter((c) => c.name)) assert.match(h.stdout, new RegExp(`\\n  ${c.name}\\b`), c.name);
  const s = refsim(["sweep", "--help"]);
  assert.is(s.status, 0, s.stderr);
  assert.match(s.stdout, /^usage: refsim sweep <sweep\.json> \[options\]/);
  assert.match(s.stdout, /--workers N/);
  assert.not.match(s.stdout, /--kinds/, "only sweep's own flags");
  assert.is(refsim(["help", "explore"]).stdout, refsim(["explore", "--help"]).stdout);
});

test("each command accepts only its own flags: another command's flag is refused naming the command and its flags", () => {
  const r = refsim(["sweep", "x.json", "--kinds", "thp"]);
  assert.is(r.status, 2);
  assert.match(r.stderr, /sweep: unknown option --kinds \(sweep takes --workers, --shard, --out/);
  const u = refsim(["frobnicate"]);
  assert.is(u.status, 2);
  assert.match(u.stderr, /unknown command 'frobnicate' \(commands: run, list/);
});

/** What dispatch(argv) printed with console.log. */
async function printed(argv: string[]): Promise<string> {
  const lines: string[] = [];
  const log = console.log;
  console.log = (...a: unknown[]) => void lines.push(a.join(" "));
  try {
    assert.is(await dispatch(argv), 0, argv.join(" "));
  } finally {
    console.log = log;
  }
  return lines.join("\n");
}

test("every command (the default job, kernel-check and any added later) has its own help and refuses any flag not its own", async () => {
  for (const c of COMMANDS) {
    const who = c.name || "refsim";
    const own = Object.entries(c.flags).filter(([, f]) => !f.renamedTo && !f.deprecated).map(([n]) => `--${n}`);
    const help = await printed([...(c.name ? [c.name] : []), "--help"]);
    assert.ok(help.startsWith(`usage: refsim${c.name ? ` ${c.name}` : ""}${c.args ? ` ${c.args}` : ""}`), `${who} --help: ${help.split("\n")[0]}`);
    const listed = [...help.matchAll(/^ {2}(--[\w-]+)/gm)].map((m) => m[1]);
    assert.equal(listed, c.name ? own : [...own, "--help", "--version"], `${who} --help lists exactly its own flags`);
    const foreign = ["--kinds", "--workers"].find((f) => !own.includes(f))!;
    for (const flag of ["--no-such-flag", foreign]) {
      let err: unknown;
      try {
        await dispatch([...(c.name ? [c.name] : []), flag]);
      } catch (e) {
        err = e;
      }
      assert.ok(err instanceof RefsimError, `${who} ${flag}: a RefsimError (exit 2), got ${String(err)}`);
      const expected = `${c.name ? `${c.name}: ` : ""}unknown option ${flag} (${who} takes ${own.join(", ") || "no options"}; see refsim ${c.name ? `${c.name} ` : ""}--help)`;
      assert.is((err as Error).message, expected);
    }
  }
});

test("the README's command table is the command list (npm run docs writes it)", () => {
  const readme = readFileSync("README.md", "utf8");
  assert.ok(readme === withCommandTable(readme), "README.md's table differs from src/cli/commands.ts: run npm run docs");
  assert.ok(readme.includes(commandsMarkdown()));
});

test("one number format: 5000, 5_000, 5k, 2.5M, 1e6; fractions and words refused naming the flag", () => {
  assert.equal(["5000", "5_000", "5k", "2.5M", "1G", "1e6"].map((s) => countArg(s, "--ops")), [5000, 5000, 5000, 2_500_000, 1e9, 1e6]);
  for (const bad of ["2.5", "five", "-3", "1.5e-1k", ""]) assert.throws(() => countArg(bad, "--ops"), /--ops must be a whole number/);
  assert.throws(() => countArg("0", "--rounds", 1), /--rounds must be at least 1, got 0/);
  const r = refsim(["workload", "mix", "--ops", "20k", "--json"]);
  assert.is(JSON.parse(r.stdout)[0].ops, 20000);
});

test("old flag names still work, with a note: --scheme is --schemes, --budget --ops", () => {
  const { values } = parseFlags("explore", ["--scheme", "E4"], { schemes: { type: "string", doc: "" }, scheme: { type: "string", doc: "", renamedTo: "schemes" } }, () => {});
  assert.is(values.schemes, "E4");
  const r = refsim(["workload", "mix", "--scheme", "E4", "--ops", "2k", "--json"]);
  assert.match(r.stderr, /--scheme is now --schemes/);
  assert.is(JSON.parse(r.stdout)[0].scheme, "E4");
});

test("workload --json names the scheme of every entry, and workload exits 1 when it finds violations", () => {
  const r = refsim(["workload", "gpu-churn", "--schemes", "E0-devmap,E4", "--ops", "5000", "--json"]);
  const runs = JSON.parse(r.stdout) as { scheme: string; violations: { total: number } }[];
  assert.equal(runs.map((x) => x.scheme), ["E0-devmap", "E4"]);
  assert.ok(runs[0].violations.total > 0 && runs[1].violations.total === 0, JSON.stringify(runs.map((x) => x.violations.total)));
  assert.is(r.status, 1, "E0-devmap leaks: exit 1");
  const clean = refsim(["workload", "gpu-churn", "--schemes", "E4", "--ops", "5000", "--json"]);
  assert.is(clean.status, 0, clean.stderr);
});

test("run --tap: TAP version 13, one test point per scenario and scheme, failures as YAML diagnostics", () => {
  const ok = refsim(["run", "seed", "--schemes", "E0-devmap,E4", "--tap"]);
  assert.is(ok.status, 0, ok.stderr);
  assert.equal(ok.stdout.trim().split("\n").filter((l) => !l.startsWith("#")), ["TAP version 13", "ok 1 seed [E0-devmap]", "ok 2 seed [E4]", "1..2"]);
  const dir = mkdtempSync(join(tmpdir(), "refsim-tap-"));
  const file = join(dir, "wrong.json");
  writeFileSync(file, JSON.stringify({
    name: "wrong", schemes: ["E2"], steps: [
      { op: "mm_new", as: "p" }, { op: "mmap", mm: "p", length: "4K", as: "a" }, { op: "write", mm: "p", addr: "a", value: 1 },
      { label: "after write", expect: { page: { mm: "p", addr: "a" }, refcount: 7 } },
    ],
  }));
  const bad = refsim(["run", file, "--tap"]);
  assert.is(bad.status, 1);
  assert.match(bad.stdout, /^not ok 1 wrong \[E2\]\n  ---\n  failed:\n    - "step 4 after write: refcount expected 7, observed 1"\n  \.\.\.$/m);
  assert.match(bad.stdout, /\n1\.\.1\n$/);
});

test("colour: off in a pipe and with NO_COLOR, on with FORCE_COLOR (not FORCE_COLOR=0)", () => {
  assert.is(colourOn({ isTTY: false }, {}), false);
  assert.is(colourOn({ isTTY: true }, {}), true);
  assert.is(colourOn({ isTTY: true }, { NO_COLOR: "1" }), false);
  assert.is(colourOn({ isTTY: false }, { FORCE_COLOR: "1" }), true);
  assert.is(colourOn({ isTTY: true }, { FORCE_COLOR: "0" }), false);
  const plain = refsim(["run", "seed", "--schemes", "E4"]);
  assert.not.match(plain.stdout, /\x1b\[/, "no escape codes in a pipe");
  const forced = refsim(["run", "seed", "--schemes", "E4"], { ...PLAIN_ENV, NO_COLOR: undefined, FORCE_COLOR: "1" });
  assert.match(forced.stdout, /\x1b\[32mok\x1b\[39m/, "ok in green");
});

test("progress: done/total, rate and ETA; drawn only on a terminal or when forced", () => {
  let drawn = "";
  const p = new Progress("sweep s", 40, "runs", true, { write: (s: string) => (drawn += s) });
  p.update(10);
  assert.match(p.line(performance.now() + 2000), /^sweep s \[#{6}\.{18}\]  25% 10\/40 runs, [\d.]+ runs\/s, ETA \d+:\d\d$/);
  assert.is(drawn, "", "nothing in the first second");
  let quiet = "";
  const q = new Progress("x", 10, "ops", false, { write: (s: string) => (quiet += s), isTTY: false });
  q.update(5);
  q.end();
  assert.is(quiet, "");
  assert.equal([clock(5), clock(65), clock(3725)], ["0:05", "1:05", "1:02:05"]);
});

test("every long command (workload, explore, sweep, bench, compare) draws done/total and an ETA with --progress", () => {
  const dir = mkdtempSync(join(tmpdir(), "refsim-progress-"));
  const sweep = join(dir, "s.json");
  writeFileSync(sweep, JSON.stringify({ name: "p", schemes: ["E2", "E4"], scenarios: ["seed"] }));
  const runs: [string, string[], RegExp][] = [
    ["workload", ["workload", "mix", "--ops", "20k", "--json"], /mix E4 \[[#.]+\] +\d+% \d+\/20000 ops, .* ETA \d+:\d\d/],
    // explore reports once a second: a 2 s budget reports once.
    ["explore", ["explore", "--schemes", "E4", "--time", "2s", "--json", "--out", join(dir, "x.json")], /explore E4 \[[#.]+\] +\d+% \d\/2 s, .* ETA \d+:\d\d/],
    ["sweep", ["sweep", sweep, "--workers", "1", "--out", join(dir, "r.json")], /sweep p \[[#.]+\] +\d+% \d\/2 runs, .* ETA \d+:\d\d/],
    ["bench", ["bench", "--quick", "--only", "churn-small", "--targets", "wasm", "--rounds", "1", "--out", join(dir, "b.json")], /bench \[[#.]+\] +\d+% \d\/1 cases, .* ETA (\d+:\d\d|\?)/],
    ["compare", ["compare", "--ops", "2k", "--cpus", "1,2", "--counters", "atomic"], /compare shared-pages \[[#.]+\] +\d+% \d\/2 runs, .* ETA \d+:\d\d/],
  ];
  for (const [name, args, line] of runs) {
    const r = refsim([...args, "--progress"], { ...PLAIN_ENV, REFSIM_PROGRESS_AFTER_MS: "0" });
    assert.ok(r.status === 0 || r.status === 1, `${name}: exit ${r.status}\n${r.stderr}`);
    assert.match(r.stderr, line, `${name}'s progress line: ${JSON.stringify(r.stderr.slice(0, 300))}`);
    const quiet = refsim(args, { ...PLAIN_ENV, REFSIM_PROGRESS_AFTER_MS: "0" });
    assert.not.match(quiet.stderr, /ETA/, `${name}: no progress line in a pipe without --progress`);
  }
});

test("bench: npm run bench and refsim bench read the same flags and refuse the same bad ones", () => {
  for (const args of [["--targets", "gpu"], ["--rounds", "0"], ["--frobnicate"]]) {
    const a = refsim(["bench", ...args]);
    const b = spawnSync(process.execPath, ["--import", "tsx", "bench/main.ts", ...args], { encoding: "utf8", env: PLAIN_ENV });
    assert.is(a.status, 2, a.stderr);
    assert.is(b.status, 2, b.stderr);
    assert.is(a.stderr.replace(/^refsim: /, ""), b.stderr.replace(/^bench: /, ""), args.join(" "));
  }
  const h = spawnSync(process.execPath, ["--import", "tsx", "bench/main.ts", "--help"], { encoding: "utf8", env: PLAIN_ENV });
  assert.match(h.stdout, /usage: npm run bench --/);
  for (const f of ["--rounds", "--only", "--targets", "--engine", "--json", "--out"]) assert.match(h.stdout, new RegExp(`${f}\\b`));
  // bench --json names the scheme of every case (the record's shape only; nothing here is timed).
  const out = join(mkdtempSync(join(tmpdir(), "refsim-bench-")), "b.json");
  const j = refsim(["bench", "--quick", "--only", "churn-small", "--targets", "wasm", "--rounds", "1", "--json", "--out", out]);
  assert.is(j.status, 0, j.stderr);
  const record = JSON.parse(j.stdout) as { cases: { id: string; scheme: string }[] };
  assert.equal(record.cases.map((c) => [c.id, c.scheme]), [["churn-small", "E4"]]);
});

test.run();
