// Atomic refcount primitives as explorer steps (src/races/atomics.ts), the folio_try_get
// protocols of the 2026 refcount-scalability debate (src/races/refcount-protocols.ts) and
// the page-cache lookup against migration's and split's freeze (src/races/pagecache-target.ts):
// the primitives' semantics, every protocol scenario in scenarios/races/protocols/ giving
// what its race.expect says (a found violation shrunk and replayed), determinism, and bad
// input refused. Pure protocol models: no engine or model differential applies.
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { spawnSync } from "node:child_process";
import { ProtocolTarget, LOCKED } from "../src/races/atomics.ts";
import { protocolTarget, VARIANTS } from "../src/races/refcount-protocols.ts";
import { PAGECACHE_ROUTINES } from "../src/races/pagecache-target.ts";
import { parseProtocol, raceProtocol, fileTarget } from "../src/races/protocol-search.ts";
import { loadProtocol } from "../src/cli/races-protocol.ts";
import { exhaustive } from "../src/races/sleepsets.ts";
import { pct } from "../src/races/pct.ts";
import { RefsimError } from "../src/core/errors.ts";
import { PLAIN_ENV } from "./helpers/cli.ts";

const DIR = "scenarios/races/protocols";
const files = readdirSync(DIR).filter((f) => f.endsWith(".json")).sort();

const Prim = suite("atomic primitives");
const one = (code: object[], cells: Record<string, number> = { "ref:F": 1 }) => {
  const t = new ProtocolTarget({ cells, holders: { F: { A: 1 } }, threads: [{ name: "A", code: code as never }] });
  while (t.enabled(0)) t.step(0);
  return t;
};
Prim("load, cmpxchg (success and failure, old gets the value found), add, add_unless, sub_and_test", () => {
  let t = one([{ do: "load", cell: "ref:F", to: "c" }, { do: "cmpxchg", cell: "ref:F", expect: "c", new: "c+1", ok: "ok", old: "o" }]);
  assert.is(t.cell("ref:F"), 2); assert.is(t.reg(0, "ok"), 1); assert.is(t.reg(0, "o"), 1);
  t = one([{ do: "cmpxchg", cell: "ref:F", expect: 5, new: 6, ok: "ok", old: "o" }]);
  assert.is(t.cell("ref:F"), 1); assert.is(t.reg(0, "ok"), 0); assert.is(t.reg(0, "o"), 1, "atomic_try_cmpxchg writes back the count it found");
  t = one([{ do: "add_unless", cell: "ref:F", n: 1, unless: 0, ok: "a" }], { "ref:F": 0 });
  assert.is(t.cell("ref:F"), 0); assert.is(t.reg(0, "a"), 0);
  t = one([{ do: "add", cell: "ref:F", n: 2, ret: "v" }, { do: "sub_and_test", cell: "ref:F", n: 3, zero: "z" }]);
  assert.is(t.reg(0, "v"), 3); assert.is(t.reg(0, "z"), 1); assert.is(t.cell("ref:F"), 0);
});
Prim("freeze is cmpxchg(expected -> frozen value); unfreeze sets the count; LOCKED is bit 31", () => {
  let t = one([{ do: "freeze", cell: "ref:F", expect: 1, frozen: "LOCKED", ok: "ok" }]);
  assert.is(t.cell("ref:F"), LOCKED); assert.is(t.reg(0, "ok"), 1);
  t = one([{ do: "freeze", cell: "ref:F", expect: 2, ok: "ok" }]);
  assert.is(t.cell("ref:F"), 1); assert.is(t.reg(0, "ok"), 0, "a freeze with the wrong expected count fails");
  t = one([{ do: "freeze", cell: "ref:F", expect: 1, ok: "ok" }, { do: "unfreeze", cell: "ref:F", value: 3 }]);
  assert.is(t.cell("ref:F"), 3);
});
Prim("a step's footprint names its cell; loads of one cell commute, a lock waits while held", () => {
  const t = new ProtocolTarget({ cells: { "ref:F": 1, "ref:G": 1 }, threads: [
    { name: "A", code: [{ do: "load", cell: "ref:F", to: "x" }, { do: "lock", lock: "xa" }, { do: "add", cell: "ref:G", n: 1 }] },
    { name: "B", code: [{ do: "load", cell: "ref:F", to: "x" }, { do: "lock", lock: "xa" }] },
  ] });
  const a = t.step(0), b = t.step(1);
  assert.equal(a.footprint, b.footprint); assert.is(a.footprint.length, 1); assert.is(a.footprint[0] & 1, 0, "a read");
  t.step(0);
  assert.is(t.enabled(1), false, "B waits for the xa lock A holds");
  t.step(0);
});
Prim("the explorer's sleep sets prune commuting steps and find the same violations as plain DFS", () => {
  const spec = loadProtocol(join(DIR, "folio-try-get.json")).protocol;
  for (const v of ["cas-loop", "check-then-add", "freeze-any"]) {
    const a = exhaustive(protocolTarget(spec, v), { bound: 10 });
    const b = exhaustive(protocolTarget(spec, v), { bound: 10, reduction: false });
    assert.is(a.finding?.kind, b.finding?.kind, v);
  }
  const cas = exhaustive(protocolTarget(spec, "cas-loop"), { bound: 10 });
  const plain = exhaustive(protocolTarget(spec, "cas-loop"), { bound: 10, reduction: false });
  assert.ok(cas.stats.interleavings < plain.stats.interleavings, `sleep sets: ${cas.stats.interleavings} < ${plain.stats.interleavings}`);
  assert.is(cas.stats.states < plain.stats.states, true);
});
Prim.run();

const Var = suite("the three folio_try_get protocols");
Var("cas-loop, locked-bit and assume-one keep 'a frozen or freed folio is never resurrected'; each mutation breaks it", () => {
  const spec = loadProtocol(join(DIR, "folio-try-get.json")).protocol;
  const kind = (v: string) => exhaustive(protocolTarget(spec, v), { bound: 10 }).finding?.kind ?? "none";
  assert.equal(
    Object.fromEntries(["cas-loop", "locked-bit", "assume-one", "check-then-add", "locked-bit-free-zero", "assume-one-unguarded", "freeze-any"].map((v) => [v, kind(v)])),
    { "cas-loop": "none", "locked-bit": "none", "assume-one": "none", "check-then-add": "resurrected", "locked-bit-free-zero": "resurrected", "assume-one-unguarded": "resurrected", "freeze-any": "frozen_while_held" },
  );
});
Var("locked-bit: a get on a frozen count leaves it LOCKED after the fix-up, and the unfreeze wipes the stray add", () => {
  const t = protocolTarget({ folios: { F: { ref: 1, holders: { B: 1 } } }, threads: {
    A: [{ op: "folio_try_get", folio: "F", as: "got" }],
    B: [{ op: "folio_ref_freeze", folio: "F", expected: 1 }, { op: "folio_ref_unfreeze", folio: "F", count: 1 }] } }, "locked-bit");
  t.step(1); // B: freeze 1 -> LOCKED
  t.step(0); // A: atomic_add_return: LOCKED + 1
  assert.is(t.cell("ref:F"), LOCKED + 1);
  t.step(0); // A: the fix-up CAS resets it
  assert.is(t.cell("ref:F"), LOCKED);
  assert.is(t.reg(0, "got"), 0);
  t.step(1);
  assert.is(t.cell("ref:F"), 1);
  assert.equal(t.violations(), []);
  assert.equal(t.epilogue(), []);
});
Var("a scenario file defines its own protocol: a try-get from the add_unless primitive keeps the invariant, one that adds unconditionally does not", () => {
  const own = (code: object[]) => parseProtocol({
    name: "own", variants: ["mine"],
    protocol: {
      folios: { F: { ref: 1, holders: { B: 1 } } },
      threads: { A: [{ op: "folio_try_get", folio: "F", as: "got" }, { op: "folio_put", folio: "F", if: "got" }],
                 B: [{ op: "folio_ref_freeze", folio: "F", expected: 1, as: "f" }, { op: "folio_ref_unfreeze", folio: "F", count: 1, if: "f" }, { op: "folio_put", folio: "F" }] },
      variants: { mine: { base: "cas-loop", routines: { folio_try_get: code } } },
    },
  }, "own.json");
  const good = own([{ do: "add_unless", cell: "ref:{folio}", n: 1, unless: 0, ok: "ret" }, { do: "if", a: "ret", cmp: "==", b: 0, goto: "out" }, { do: "got", folio: "folio" }, { label: "out" }]);
  assert.is(raceProtocol(good, "mine").finding, null);
  const badOwn = own([{ do: "add", cell: "ref:{folio}", n: 1 }, { do: "got", folio: "folio" }, { do: "let", to: "ret", value: 1 }]);
  assert.is(raceProtocol(badOwn, "mine").finding?.kind, "resurrected");
});
Var("every variant has a source line; mutations say so", () => {
  for (const v of Object.values(VARIANTS)) {
    assert.ok(v.source.length > 10, v.name);
    assert.is(v.source.startsWith("MUTATION"), v.mutation === true, v.name);
  }
});
Var.run();

for (const f of files) {
  const s = suite(`${DIR}/${f}`);
  s("every variant gives what race.expect says; a violation is shrunk (>= 1 switch) and its written replay reproduces it", () => {
    const p = loadProtocol(join(DIR, f));
    for (const v of p.variants) {
      const want = p.race?.expect?.[v] ?? p.race?.expect?.["*"];
      assert.ok(want, `${v}: race.expect has an entry`);
      const r = raceProtocol(p, v);
      if (want === "none") {
        assert.is(r.finding, null, `${v}: found ${r.finding?.kind} at ${JSON.stringify(r.finding?.schedule)}`);
        assert.ok(r.complete, `${v}: every interleaving up to bound ${r.bound} explored`);
      } else {
        assert.is(r.finding?.kind, want, v);
        assert.ok(r.shrunk && r.shrunk.switches >= 1, `${v}: a race needs a context switch`);
        assert.ok(r.replayPassed, `${v}: the written replay reproduces ${want}`);
        const again = raceProtocol(parseProtocol(JSON.parse(JSON.stringify(r.replay)), "replay"), v);
        assert.ok(again.replayed && again.asExpected, `${v}: the written file, replayed`);
      }
      assert.ok(r.asExpected, v);
    }
  });
  s("deterministic: the same search twice gives the same finding, interleavings and states; PCT with one seed, the same runs", () => {
    const p = loadProtocol(join(DIR, f));
    for (const v of p.variants) {
      const a = raceProtocol(p, v, { shrink: false }), b = raceProtocol(p, v, { shrink: false });
      assert.equal(a.finding, b.finding, v);
      assert.equal({ ...a.stats, ms: 0 }, { ...b.stats, ms: 0 }, v);
      const x = pct(fileTarget(p, v), { bound: 12, depth: 2, runs: 50, seed: 9 }), y = pct(fileTarget(p, v), { bound: 12, depth: 2, runs: 50, seed: 9 });
      assert.equal(x.finding, y.finding, v);
      assert.equal({ ...x.stats, ms: 0 }, { ...y.stats, ms: 0 }, v);
    }
  });
  s.run();
}

const Page = suite("page-cache lookup vs freeze");
Page("with the xas_reload re-check the lookup never returns a stale folio; without it, migration and split both give stale_lookup", () => {
  for (const f of ["pagecache-vs-migrate.json", "pagecache-vs-split.json"]) {
    const p = loadProtocol(join(DIR, f));
    assert.is(exhaustive(fileTarget(p, "cas-loop"), { bound: 12 }).finding, null, f);
    assert.is(exhaustive(fileTarget(p, "no-recheck"), { bound: 12 }).finding?.kind, "stale_lookup", f);
  }
});
Page("the lookup under cas-loop retries while migration holds the folio frozen, and returns the new folio", () => {
  const p = loadProtocol(join(DIR, "pagecache-vs-migrate.json"));
  const t = protocolTarget({ ...p.protocol, threads: { A: [{ op: "filemap_get_entry", index: 0, as: "page" }], B: p.protocol.threads.B } }, "cas-loop", PAGECACHE_ROUTINES);
  t.step(1); t.step(1); // B: xas_lock, freeze F
  t.step(0); t.step(0); // A: xas_load F, atomic_read 0: folio_try_get fails, repeat
  assert.is(t.reg(0, "ret"), 0);
  while (t.enabled(1)) t.step(1);
  while (t.enabled(0)) t.step(0);
  assert.is(t.reg(0, "page"), "N");
  assert.equal(t.violations(), []);
});
Page.run();

const Bad = suite("protocol bad input");
Bad("unknown instruction, label, op, variant or register: RefsimError naming the field", () => {
  const bad = (f: () => unknown, field: string) => {
    try { f(); assert.unreachable("no error"); } catch (e) { assert.instance(e, RefsimError); assert.is((e as RefsimError).field, field, (e as Error).message); }
  };
  bad(() => new ProtocolTarget({ cells: {}, threads: [{ name: "A", code: [{ do: "xchg" }] }] }), "do");
  bad(() => new ProtocolTarget({ cells: {}, threads: [{ name: "A", code: [{ do: "goto", to: "nowhere" }] }] }), "to");
  bad(() => protocolTarget({ folios: {}, threads: { A: [{ op: "folio_tryget", folio: "F" }] } }, "cas-loop"), "op");
  bad(() => protocolTarget({ folios: {}, threads: { A: [{ op: "folio_put", folio: "F" }] } }, "cas-lop"), "variants");
  bad(() => parseProtocol({ name: "x", protocol: { threads: {} }, variants: ["cas-loop"], extra: 1 }, "x.json"), "extra");
  const t = new ProtocolTarget({ cells: { "ref:F": 1 }, threads: [{ name: "A", code: [{ do: "add", cell: "ref:F", n: "nope" }] }] });
  bad(() => t.step(0), "nope");
});
Bad.run();

const Cli = suite("refsim races on a protocol scenario");
Cli("prints 'no violation up to bound k' with speed for the correct protocols, the shrunk interleaving for the mutations; exit 0; bad variant exit 2", () => {
  const run = (args: string[]) => spawnSync(process.execPath, ["--import", "tsx", "src/cli/main.ts", ...args], { encoding: "utf8", env: PLAIN_ENV });
  const r = run(["races", join(DIR, "folio-try-get.json"), "--schemes", "cas-loop,check-then-add", "--no-shrink"]);
  assert.is(r.status, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /cas-loop: no violation up to bound 10: [\d,]+ interleavings, [\d,]+ states in [\d.]+ s/);
  assert.match(r.stdout, /check-then-add: resurrected \(exhaustive, bound 10\)/);
  assert.match(r.stdout, /<- resurrected/);
  const b = run(["races", join(DIR, "folio-try-get.json"), "--schemes", "no-such"]);
  assert.is(b.status, 2, b.stdout + b.stderr);
  assert.match(b.stderr, /unknown protocol variant 'no-such'/);
});
Cli.run();
