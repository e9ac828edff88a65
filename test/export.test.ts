// The bridge to kernel tooling (issue 16 item 8): a trace as text, one page
// frame's history in the shape of the page_ref_* tracepoints, replay under
// another scheme, and scenarios exported as C programs that a C compiler accepts
// (and, for the ones that need no device, that run here and print what the
// kernel shows). Compiling is skipped, with the reason, where no compiler exists.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { spawnSync } from "node:child_process";
import { mkdirSync, readdirSync, rmSync, writeFileSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { PLAIN_ENV } from "./helpers/cli.ts";
import { announceSkip } from "./helpers/chromium.ts";
import { exportC, notExportable } from "../src/export/c.ts";
import { loadScenario } from "../src/scenario/load.ts";
import { Engine } from "../src/core/engine.ts";
import { TraceRecorder } from "../src/trace/record.ts";
import { dumpTrace, pageHistory, formatPageEvent } from "../src/trace/dump.ts";

const TMP = join(process.cwd(), "tmp", "test-export");
rmSync(TMP, { recursive: true, force: true });
mkdirSync(TMP, { recursive: true });

const refsim = (args: string[]) => spawnSync(process.execPath, ["--import", "tsx", "src/cli/main.ts", ...args], { encoding: "utf8", env: PLAIN_ENV });
const CC = ["gcc", "clang", "cc"].find((c) => spawnSync(c, ["--version"]).status === 0);
const ccTest: typeof test = CC ? test : test.skip;
if (!CC) announceSkip("C export compile tests (test/export.test.ts)", "no C compiler (gcc, clang or cc) on PATH");

/** A pinned page shared by fork: its count goes up at the pin and the child's exit drops a mapping. */
async function pinForkTrace(): Promise<Uint8Array> {
  const rec = new TraceRecorder(await Engine.create({ scheme: "E0" }), { source: "test pin fork" });
  rec.run([
    { op: "mm_new" }, { op: "mmap", mm: 0, length: 4096 }, { op: "write", mm: 0, addr: 0x10000000, value: 1 },
    { op: "fork", mm: 0 }, { op: "gup", mm: 0, addr: 0x10000000, pin: true, longterm: true }, { op: "exit", mm: 1 },
  ]);
  return rec.finish();
}

test("dump: the header and one line per record, addresses in bytes", async () => {
  const lines = [...dumpTrace(await pinForkTrace())];
  assert.match(lines[0], /^# refsim trace: test pin fork; scheme E0, .* 6 ops in 1 blocks/);
  assert.is(lines.filter((l) => l.startsWith("op ")).length, 6);
  assert.ok(lines.includes("op 2 write mm=0 addr=0x10000000 value=1"), lines.join("\n"));
  assert.ok(lines.includes("op 1 mmap mm=0 addr=any length=4096 vmflags=0xb file=-1 offset=0"), lines.join("\n"));
});

test("page history: every op that changed the frame, as page_ref_* names the change", async () => {
  const t = await pinForkTrace();
  const h = await pageHistory(t, 1);
  assert.equal(h.events.map((e) => [e.op, e.event, e.after.refcount, e.after.mapcount]), [
    [2, "page_ref_set", 1, 1], // the write fault allocates it (set_page_refcounted)
    [3, "page_ref_mod", 2, 2], // fork shares it (copy_present_pte)
    [4, "page_ref_mod", 1026, 2], // E0's pin on a shared anon page: GUP_PIN_COUNTING_BIAS, no unshare
    [5, "page_ref_mod", 1025, 1], // the child's exit zaps its mapping
  ]);
  assert.match(formatPageEvent(h.events[2]), /^page_ref_mod: pfn=0x1 flags=anon count=1026 mapcount=2 pincount=0 val=1024 kind=system <- op 4 gup /);
  // The same trace under E4 (page_try_share_anon_rmap / unshare at pin): the pin copies the page for the parent.
  const e4 = await pageHistory(t, 1, { scheme: "E4" });
  assert.equal(e4.events.map((e) => [e.op, e.after.refcount]), [[2, 1], [3, 2], [4, 1], [5, 0]]);
  assert.is(e4.events[3].event, "page_ref_mod_and_test");
});

test("CLI: dump, dump --page and replay --schemes", async () => {
  const file = join(TMP, "pin.rstrace");
  writeFileSync(file, await pinForkTrace());
  const d = refsim(["dump", file]);
  assert.is(d.status, 0, d.stderr);
  assert.match(d.stdout, /op 4 gup mm=0 addr=0x10000000 gupflags=0x/);
  const p = refsim(["dump", file, "--page", "1"]);
  assert.is(p.status, 0, p.stderr);
  assert.match(p.stdout, /^# pfn 0x1 \(1\) .* under E0: 4 op\(s\) changed it, of 6/m);
  assert.match(p.stdout, /^page_ref_mod: pfn=0x1 .*count=1026 /m);
  const again = refsim(["replay", file]);
  assert.is(again.status, 0, again.stdout + again.stderr);
  const other = refsim(["replay", file, "--schemes", "E4,E0", "--json"]);
  assert.is(other.status, 0, other.stderr);
  const docs = JSON.parse(other.stdout) as { scheme: string; recordedScheme: string; identical: boolean }[];
  assert.equal(docs.map((x) => [x.scheme, x.recordedScheme, x.identical]), [["E4", "E0", false], ["E0", "E0", true]]);
  const bad = refsim(["dump", file, "--schemes", "E4"]);
  assert.is(bad.status, 2);
  assert.match(bad.stderr, /--page/);
});

test("export: every built-in scenario exports; steps with no user-space counterpart say why", async () => {
  for (const f of readdirSync("scenarios").filter((x) => /\.(json|ts)$/.test(x))) {
    const { scenario } = await loadScenario(join("scenarios", f));
    const c = exportC(scenario, { source: f });
    assert.match(c, /int main\(void\)/, f);
    for (const n of notExportable(scenario)) assert.ok(c.includes(`step ${n.step}: ${n.op}: not exportable: `) || n.op === "file_new" || n.op === "driver_new", `${f} step ${n.step}`);
  }
  const { scenario } = await loadScenario("scenarios/s04-swap-fault-vs-munmap.json");
  assert.ok(notExportable(scenario).some((n) => n.op === "fault_begin" && /do_swap_page/.test(n.reason)));
  const bad = refsim(["export", "scenarios/seed.json", "--frobnicate"]);
  assert.is(bad.status, 2);
});

ccTest("export: the C programs compile (-Wall -Werror), and one that needs no device runs and prints the kernel's view", async () => {
  for (const f of readdirSync("scenarios").filter((x) => /\.(json|ts)$/.test(x))) {
    const out = join(TMP, f.replace(/\.\w+$/, ".c"));
    const r = refsim(["export", join("scenarios", f), "--out", out]);
    assert.is(r.status, 0, r.stderr);
    const cc = spawnSync(CC!, ["-O1", "-Wall", "-Werror", "-o", out.replace(/\.c$/, ""), out], { encoding: "utf8" });
    assert.is(cc.status, 0, `${f}: ${cc.stderr}`);
  }
  // mprotect, mremap, an expected signal and an expected errno, a fork and a shared binding.
  const sc = {
    name: "c-run", schemes: ["E4"], steps: [
      { op: "mm_new", as: "p" },
      { op: "mmap", mm: "p", length: "8K", as: "a" },
      { op: "write", mm: "p", addr: "a", value: 7 },
      { op: "fork", mm: "p", as: "c" },
      { op: "mprotect", mm: "p", addr: "a", length: "4K", prot: "r" },
      { op: "write", mm: "p", addr: "a", value: 8, signal: "SIGSEGV" },
      { op: "mremap", mm: "c", addr: "a", length: "8K", newLength: "16K", maymove: true, as: "b" },
      { op: "munmap", mm: "c", addr: "0x7000", length: "4K", errno: "none" },
      { label: "child's moved page", expect: { read: { mm: "c", addr: "b" }, value: 7 } },
      { label: "parent's page", expect: { page: { mm: "p", addr: "a" }, refcount: 2 } }, // the child still maps it at its new address
      { op: "exit", mm: "c" },
    ],
  };
  const file = join(TMP, "c-run.json");
  writeFileSync(file, JSON.stringify(sc));
  assert.is(refsim(["run", file]).status, 0, "the scenario holds in refsim");
  const out = join(TMP, "c-run.c");
  assert.is(refsim(["export", file, "--out", out]).status, 0);
  const cc = spawnSync(CC!, ["-O1", "-Wall", "-Werror", "-o", join(TMP, "c-run"), out], { encoding: "utf8" });
  assert.is(cc.status, 0, cc.stderr);
  const run = spawnSync(join(TMP, "c-run"), [], { encoding: "utf8", timeout: 120_000 });
  assert.is(run.status, 0, run.stdout + run.stderr);
  assert.match(run.stdout, /\[mm 1\] step 6: raised a signal; refsim expects signal "SIGSEGV"/);
  assert.match(run.stdout, /\[mm 2\] child's moved page: read 7; refsim expects value 7/);
  assert.match(run.stdout, /\[mm 1\] parent's page: 0x[0-9a-f]+ (pfn|not present)/);
  assert.match(run.stdout, /^done$/m);
  assert.ok(readFileSync(out, "utf8").includes("MREMAP_MAYMOVE"));
});

test.run();
