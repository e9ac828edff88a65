// refsim kernel-check's host side without a guest: the translator's op lists and
// points, the guest output parser, the comparison and the initramfs archive. The
// guest itself runs in `npm run kernel-check` (.ci/run runs it when it can provision).
import { test } from "uvu";
import * as assert from "uvu/assert";
import { Engine } from "../src/core/engine.ts";
import { RefsimError } from "../src/core/errors.ts";
import { parseScenario } from "../src/scenario/parse.ts";
import { ProgramBuilder } from "../src/kernel/translate.ts";
import { translateScenario } from "../src/kernel/scenario.ts";
import { parseGuestOutput, bootTimeout } from "../src/kernel/guest.ts";
import { compareProgram } from "../src/kernel/compare.ts";
import { cpioArchive } from "../src/kernel/cpio.ts";
import { randomTrace, traceProgram } from "../src/kernel/random.ts";
import { closingLine } from "../src/kernel/report.ts";
import { classify } from "../src/kernel/known.ts";

test("translator: fork, COW and a pin become guest lines, and refsim's E2 counts are recorded at the snap", async () => {
  const e = await Engine.create({ scheme: "E2" });
  const b = new ProgramBuilder("t", e);
  const mm = b.run({ op: "mm_new" });
  const vpn = b.run({ op: "mmap", mm, addr: 0x10000000, length: 8192 });
  b.run({ op: "write", mm, addr: 0x10000000, value: 5 });
  const child = b.run({ op: "fork", mm });
  b.run({ op: "gup", mm, addr: 0x10001000, write: true, pin: true, longterm: true });
  b.snapAll("after");
  assert.is(vpn, 0x10000);
  assert.equal(b.lines, [
    `new ${mm}`, `mmap ${mm} 10000000 2 rw a 0 0 0`, `write ${mm} 10000000 5`, `fork ${mm} ${child}`,
    `gup ${mm} 1 10001000 p`, "snap 10000000 2",
  ]);
  const snap = b.points.find((p) => p.kind === "pages");
  assert.ok(snap && snap.kind === "pages");
  assert.is(snap.refsim.get(`${mm}:${0x10000}`)?.refcount, 2); // shared with the child after fork
  assert.is(snap.refsim.get(`${child}:${0x10000}`)?.mapcount, 2);
  assert.is(snap.refsim.get(`${mm}:${0x10001}`)?.refcount, 1025); // unshared by the write pin: 1 + GUP_PIN_COUNTING_BIAS
  assert.is(b.notComparable, null);
});

test("translator: mprotect (PROT_NONE too), mremap in place and moved, and shared anonymous memory become guest lines", async () => {
  const e = await Engine.create({ scheme: "E2" });
  const b = new ProgramBuilder("m", e);
  const mm = b.run({ op: "mm_new" });
  b.run({ op: "mmap", mm, addr: 0x10000000, length: 4 * 4096 });
  b.run({ op: "mmap", mm, addr: 0x20000000, length: 4096, prot: "none" });
  b.run({ op: "mmap", mm, addr: 0x30000000, length: 4096, shared: true });
  b.run({ op: "write", mm, addr: 0x10000000, value: 7 });
  b.run({ op: "mprotect", mm, addr: 0x10001000, length: 4096, prot: "r" });
  b.run({ op: "mprotect", mm, addr: 0x10002000, length: 4096, prot: "none" });
  b.run({ op: "mremap", mm, addr: 0x10003000, length: 4096, newLength: 4096 }); // in place: nothing to do
  const to = b.run({ op: "mremap", mm, addr: 0x10000000, length: 4096, newLength: 2 * 4096, maymove: true, fixed: true, newAddr: 0x40000000 });
  b.snapAll("after");
  assert.is(to, 0x40000);
  assert.equal(b.lines.slice(1), [
    `mmap ${mm} 10000000 4 rw a 0 0 0`, `mmap ${mm} 20000000 1 none a 0 0 0`, `mmap ${mm} 30000000 1 rw s 0 0 0`,
    `write ${mm} 10000000 7`, `mprotect ${mm} 10001000 1 r`, `mprotect ${mm} 10002000 1 none`,
    `mremap ${mm} 10003000 1 10003000 1`, `mremap ${mm} 10000000 1 40000000 2`,
    "snap 10000000 4 20000000 1 30000000 1 40000000 2",
  ]);
  const snap = b.points.find((p) => p.kind === "pages");
  assert.ok(snap && snap.kind === "pages");
  assert.is(snap.refsim.get(`${mm}:${0x40000}`)?.refcount, 1, "the written page moved with the mapping");
  assert.is(b.notComparable, null);
  b.run({ op: "mremap", mm, addr: 0x40000000, length: 4096, newLength: 4096, maymove: true, dontunmap: true });
  assert.match(b.notComparable ?? "", /DONTUNMAP/);
});

test("translator: what the guest cannot do is not comparable, with the reason", async () => {
  const l = parseScenario(JSON.stringify({ name: "dp", steps: [
    { op: "driver_new", kind: "device-private", pages: 4, as: "d" }] }), "dp.json");
  const t = await translateScenario(l);
  assert.match(t.notComparable ?? "", /DEVICE_PRIVATE/);
  const e = await Engine.create({ scheme: "E2" });
  const b = new ProgramBuilder("g", e);
  const mm = b.run({ op: "mm_new" });
  b.run({ op: "mmap", mm, addr: 0x10000000, length: 4096 });
  b.run({ op: "gup", mm, addr: 0x10000000, write: true });
  assert.match(b.notComparable ?? "", /FOLL_GET/);
});

test("translator: a step naming an unbound value is refsim's bad input (a RefsimError, not comparable), not a crash", async () => {
  const l = parseScenario(JSON.stringify({ name: "bad", steps: [{ op: "mm_new", as: "p" }, { op: "mmap", mm: "q", length: 4096 }] }), "bad.json");
  const t = await translateScenario(l); // resolveValue threw a plain Error, which kernel-check rethrew (exit 3)
  assert.match(t.notComparable ?? "", /'q' is not a name bound by an earlier step's "as"/);
});

test("translator: an mremap step's 'as' binds the new address in bytes, as refsim run binds it (decodeResult)", async () => {
  const l = parseScenario(JSON.stringify({ name: "mr", steps: [
    { op: "mm_new", as: "p" }, { op: "mmap", mm: "p", length: 4096, as: "a" },
    { op: "mremap", mm: "p", addr: "a", length: 4096, newLength: 8192, maymove: true, as: "b" },
    { op: "write", mm: "p", addr: "b", value: 1 }] }), "mr.json");
  const t = await translateScenario(l);
  assert.equal(t.notComparable, null);
  assert.equal(t.builder.lines.at(-1), "write 0 10000000 1", "the write goes to the page mremap returned (it bound the page number, 0x10000 bytes)");
});

test("guest output: runs of pages expand, results and snapshots attach to their op, and the comparison finds the field", () => {
  const out = parseGuestOutput([
    "prog t", "= 0 ok", "= 1 ok", "p 1 40000 6600 n 1 1 0 0 1 1 0 1 0 1 9 b0014 3", "= 2 ok", "= 3 val 7", "= 4 err 14", "endprog 99", "",
  ].join("\n"));
  assert.is(out.length, 1);
  const g = out[0];
  assert.is(g.guestUs, 99);
  const pages = g.pages.get(2)!;
  assert.is(pages.size, 3);
  assert.is(pages.get("1:262146")?.pfn, 0x6602);
  assert.is(pages.get("1:262146")?.entireMapcount, 1);
  const base = { mapped: true, zero: false, refcount: 1, mapcount: 0, entireMapcount: 1, pincount: 0, large: true, pmd: true, devmap: false };
  const refsim = new Map([["1:262144", base], ["1:262145", base], ["1:262146", { ...base, refcount: 2 }]]);
  const r = compareProgram([
    { kind: "pages", label: "s", at: 2, step: 0, after: null, ranges: [[0x40000, 3]], mms: [1], refsim },
    { kind: "value", label: "v", at: 3, step: 1, after: null, refsim: 7 },
    { kind: "result", label: "g", at: 4, step: 2, after: null, what: "gup", refsim: "err" },
  ], g);
  assert.equal(r.map((x) => x.agree), [false, true, true]);
  assert.equal(r[0].rows.map((x) => [x.page, x.field, x.refsim, x.kernel]), [["1:0x40002000", "refcount", 2, 1]]);
  assert.is(closingLine({ agree: 2, differ: 1, notComparable: 0 }), "kernel-check: 2 agree, 1 differ, 0 not comparable");
});

test("known differences: matched at the op before, later ones at the same address are consequences, others unexplained", () => {
  const read = { code: 4 /* OP_READ */, args: [1, 0x10000, 0, 0, 0, 0, 0], result: 0, fsdax: true, toEof: false, daxTruncateWaiting: false };
  const write = { ...read, code: 5 /* OP_WRITE */ };
  const row = (page: string, field: string, refsim: unknown, kernel: unknown) => ({ page, field, refsim, kernel, agree: false });
  const pts = [
    { kind: "value" as const, label: "a", at: 0, step: 0, after: read, refsim: 0 },
    { kind: "value" as const, label: "b", at: 1, step: 1, after: write, refsim: 0 },
    { kind: "value" as const, label: "c", at: 2, step: 2, after: write, refsim: 0 },
  ];
  const res = [
    { label: "a", step: 0, at: 0, agree: false, rows: [{ ...row("2:0x10000000", "zero", false, true), kernelZero: true }, { ...row("1:0x10000000", "mapped", true, true), kernelZero: true }] },
    { label: "b", step: 1, at: 1, agree: false, rows: [row("2:0x10000000", "refcount", 1, 0)] },
    { label: "c", step: 2, at: 2, agree: false, rows: [row("1:0x10005000", "mapcount", 1, 2)] },
  ];
  // a stand-in known difference (KNOWN itself empties as refsim fixes them): a read that shows the kernel's zero page
  const known = [{ id: "read-zero", kernel: "", status: "", matches: (after: { code: number }, rows: { kernelZero?: boolean; field: string }[]) => after.code === 4 && rows.every((r) => r.kernelZero === true || r.field === "zero") }];
  const c = classify(pts, res, known as never);
  assert.equal(c.map((x) => x.known), ["read-zero", "read-zero", undefined]);
  assert.equal(classify(pts, res, []).map((x) => x.known), [undefined, undefined, undefined], "nothing known: all unexplained");
});

test("REFSIM_KERNEL_TIMEOUT: unset is 600 s, whole seconds are taken, anything else is refused naming it", () => {
  assert.is(bootTimeout(undefined), 600);
  assert.is(bootTimeout(""), 600);
  assert.is(bootTimeout("2400"), 2400);
  for (const bad of ["0", "-5", "1.5", "abc", "1e3", "99999999999999999999"]) {
    assert.throws(() => bootTimeout(bad), /REFSIM_KERNEL_TIMEOUT/, bad);
    assert.throws(() => bootTimeout(bad), (e: unknown) => e instanceof RefsimError && e.field === "REFSIM_KERNEL_TIMEOUT", `${bad}: a RefsimError naming the variable`);
  }
});

test("cpio: newc headers, 4-byte alignment and the trailer", () => {
  const a = cpioArchive([{ name: "input", data: new TextEncoder().encode("abc") }]);
  const text = new TextDecoder().decode(a);
  assert.is(text.slice(0, 6), "070701");
  assert.is(a.length % 4, 0);
  assert.ok(text.includes("input\0"));
  assert.ok(text.includes("TRAILER!!!\0"));
  assert.is(parseInt(text.slice(54, 62), 16), 3); // c_filesize
});

test("random traces: deterministic, comparable, every op followed by a snapshot", async () => {
  const a = await traceProgram("a", randomTrace(11, 30));
  const b = await traceProgram("a", randomTrace(11, 30));
  assert.is(a.builder.text(), b.builder.text());
  assert.is(a.builder.notComparable, null);
  // one snapshot after every op that ran from the first mmap on (before it there is nothing to read)
  const t = randomTrace(11, 30);
  const firstMap = a.ran.findIndex((i) => t.code(i) === 2 /* OP_MMAP */);
  const snaps = a.builder.points.filter((p) => p.kind === "pages").length;
  assert.is(snaps, a.ran.length - firstMap);
});

test.run();
