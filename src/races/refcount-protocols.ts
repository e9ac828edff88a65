/**
 * Refcount protocols as programs of atomic steps (./atomics.ts): the folio
 * try-get, put, freeze and unfreeze routines of each protocol, and the ops a
 * protocol scenario's threads run. A protocol ("variant", the scheme of a
 * protocol scenario) is a set of routines; a scenario file may add its own.
 *
 * The three folio_try_get variants debated on "mm: improve folio refcount
 * scalability" (linux-mm, 2025-12 to 2026-06):
 *   cas-loop     today's folio_try_get (6.1 and newest include/linux/page_ref.h:
 *                folio_try_get -> folio_ref_try_add(_rcu) -> page_ref_add_unless ->
 *                atomic_add_unless(&page->_refcount, 1, 0)), whose generic form is
 *                c = atomic_read(v); do { if (c == 0) break; } while (!atomic_try_cmpxchg(v, &c, c + 1))
 *                (include/linux/atomic/atomic-arch-fallback.h, raw_atomic_fetch_add_unless).
 *   locked-bit   Gladyshev / Gorbunov, "mm: implement page refcount locking via dedicated
 *                bit" (RFC 2025-12-19; v1 2026-02-26 with PAGEREF_LOCKED_BIT = 1 << 31; v2
 *                2026-04-20 renamed PAGEREF_FROZEN_BIT; Acked-by Linus Torvalds 2026-03-04):
 *                page_ref_add_unless_zero does an optimistic atomic_add_return() and, if
 *                the result has the locked bit, "reset[s]" the counter "using CAS loop";
 *                a page is frozen by cmpxchg(count -> LOCKED) and freed only after
 *                page_ref_dec_and_test() sets the bit (cmpxchg(0 -> LOCKED)), which stays
 *                until the allocator sets the count to 1 (Linus, 2026-03-04, condition (b)).
 *                MODELLED FROM THE PATCH DESCRIPTIONS AND REVIEW MAILS: the diff body was not
 *                retrievable here, so the fix-up's exact CAS target is our reading ("reset"
 *                to LOCKED while the bit is still set; if the bit is gone, an atomic_set by
 *                unfreeze or allocation has already wiped the increment and nothing is done).
 *   assume-one   Linus Torvalds, "Re: [PATCH 0/1] mm: improve folio refcount scalability"
 *                (2026-03-01), page_ref_add_unless: "Assume count == 1, don't read it!":
 *                int old = 1; do { ret = atomic_try_cmpxchg(&page->_refcount, &old, old+1);
 *                if (likely(ret)) break; } while (old);
 * and one mutation of each that breaks it (they are not kernel code):
 *   check-then-add        atomic_read, test for zero, then a plain atomic_inc;
 *   locked-bit-free-zero  the freed page's count set back to 0 (a set_page_count(page, 0)
 *                         the series must turn into setting PAGEREF_LOCKED_BIT, as Linus
 *                         asked on 2026-03-06);
 *   assume-one-unguarded  the assume-one loop without its `while (old)`;
 *   freeze-any            cas-loop with a folio_ref_freeze that reads the count and freezes
 *                         whatever it found (no expected count).
 *
 * @example
 * ```ts
 * import { protocolTarget } from "./refcount-protocols.ts";
 * import { exhaustive } from "./sleepsets.ts";
 * const spec = { folios: { F: { ref: 1, holders: { B: 1 } } }, threads: {
 *   A: [{ op: "folio_try_get", folio: "F", as: "got" }, { op: "folio_put", folio: "F", if: "got" }],
 *   B: [{ op: "folio_put", folio: "F" }] } };
 * console.log(exhaustive(protocolTarget(spec, "cas-loop"), { bound: 8 }).finding);       // null
 * console.log(exhaustive(protocolTarget(spec, "check-then-add"), { bound: 8 }).finding?.kind); // resurrected
 * ```
 */
import { RefsimError } from "../core/errors.ts";
import { checkCode, ProtocolTarget, type Instr, type Value } from "./atomics.ts";

export type Routines = Record<string, readonly Instr[]>;

const REF = "ref:{folio}";

// --- cas-loop: today's protocol (6.1 and newest include/linux/page_ref.h, include/linux/mm.h) ---

const casLoopTryGet: Instr[] = [
  { do: "load", cell: REF, to: "c", note: "folio_try_get -> atomic_add_unless: c = atomic_read(&folio->_refcount) (raw_atomic_fetch_add_unless, include/linux/atomic/atomic-arch-fallback.h)" },
  { label: "loop" },
  { do: "if", a: "c", cmp: "==", b: 0, goto: "fail" },
  { do: "cmpxchg", cell: REF, expect: "c", new: "c+1", ok: "ok", old: "c", note: "atomic_try_cmpxchg(&v, &c, c + 1); on failure c is the count found" },
  { do: "if", a: "ok", cmp: "==", b: 0, goto: "loop" },
  { do: "got", folio: "folio" },
  { do: "let", to: "ret", value: 1 },
  { do: "goto", to: "out" },
  { label: "fail" },
  { do: "let", to: "ret", value: 0 },
  { label: "out" },
];

const testzeroPut: Instr[] = [
  { do: "sub_and_test", cell: REF, n: 1, zero: "z", note: "folio_put -> folio_put_testzero -> page_ref_dec_and_test: atomic_dec_and_test (include/linux/mm.h, page_ref.h)" },
  { do: "put", folio: "folio" },
  { do: "if", a: "z", cmp: "==", b: 0, goto: "out" },
  { do: "free", folio: "folio" },
  { label: "out" },
];

const zeroFreeze: Instr[] = [
  { do: "freeze", cell: REF, expect: "expected", frozen: 0, ok: "ret", note: "folio_ref_freeze -> page_ref_freeze: atomic_cmpxchg(&page->_refcount, count, 0) == count (include/linux/page_ref.h)" },
];

const setUnfreeze: Instr[] = [
  { do: "unfreeze", cell: REF, value: "count", note: "folio_ref_unfreeze -> page_ref_unfreeze: atomic_set_release(&page->_refcount, count) (include/linux/page_ref.h)" },
];

// --- locked-bit (PAGEREF_LOCKED_BIT series, 2025-12 .. 2026-04; modelled from its descriptions) ---

const lockedTryGet: Instr[] = [
  { do: "add", cell: REF, n: 1, ret: "v", note: "page_ref_add_unless_zero (locked-bit series): optimistic atomic_add_return(1, &page->_refcount)" },
  { do: "if", a: "v", cmp: "&", b: "LOCKED", goto: "fixup" },
  { do: "got", folio: "folio" },
  { do: "let", to: "ret", value: 1 },
  { do: "goto", to: "out" },
  { label: "fixup" },
  { do: "let", to: "old", value: "v" },
  { label: "loop" },
  { do: "if", a: "old", cmp: "!&", b: "LOCKED", goto: "fail" },
  { do: "cmpxchg", cell: REF, expect: "old", new: "LOCKED", ok: "ok", old: "old", note: "locked-bit series fix-up: the locked count reset with a CAS loop (no overflow from failed gets)" },
  { do: "if", a: "ok", cmp: "==", b: 0, goto: "loop" },
  { label: "fail" },
  { do: "let", to: "ret", value: 0 },
  { label: "out" },
];

const lockedPut: Instr[] = [
  { do: "add", cell: REF, n: -1, ret: "v", note: "folio_put -> page_ref_dec_and_test (locked-bit series): atomic_dec_return" },
  { do: "put", folio: "folio" },
  { do: "if", a: "v", cmp: "!=", b: 0, goto: "out" },
  { do: "cmpxchg", cell: REF, expect: 0, new: "LOCKED", ok: "z", note: "page_ref_dec_and_test (locked-bit series): zero -> PAGEREF_LOCKED_BIT; only the winner frees" },
  { do: "if", a: "z", cmp: "==", b: 0, goto: "out" },
  { do: "free", folio: "folio" },
  { label: "out" },
];

const lockedFreeze: Instr[] = [
  { do: "freeze", cell: REF, expect: "expected", frozen: "LOCKED", ok: "ret", note: "page_ref_freeze (locked-bit series): cmpxchg(count -> PAGEREF_LOCKED_BIT)" },
];

// --- assume-one (Linus Torvalds, 2026-03-01) ---

const assumeOneTryGet = (guarded: boolean): Instr[] => [
  { do: "let", to: "old", value: 1 },
  { label: "loop" },
  { do: "cmpxchg", cell: REF, expect: "old", new: "old+1", ok: "ok", old: "old", note: "page_ref_add_unless (Torvalds 2026-03-01): \"Assume count == 1, don't read it!\" atomic_try_cmpxchg(&page->_refcount, &old, old+1)" },
  { do: "if", a: "ok", cmp: "!=", b: 0, goto: "won" },
  guarded ? { do: "if", a: "old", cmp: "!=", b: 0, goto: "loop" } : { do: "goto", to: "loop" },
  { do: "let", to: "ret", value: 0 },
  { do: "goto", to: "out" },
  { label: "won" },
  { do: "got", folio: "folio" },
  { do: "let", to: "ret", value: 1 },
  { label: "out" },
];

// --- mutations (not kernel code) ---

const checkThenAdd: Instr[] = [
  { do: "load", cell: REF, to: "c", note: "MUTATION: atomic_read, then test for zero" },
  { do: "if", a: "c", cmp: "==", b: 0, goto: "fail" },
  { do: "add", cell: REF, n: 1, note: "MUTATION: then a plain atomic_inc, no cmpxchg" },
  { do: "got", folio: "folio" },
  { do: "let", to: "ret", value: 1 },
  { do: "goto", to: "out" },
  { label: "fail" },
  { do: "let", to: "ret", value: 0 },
  { label: "out" },
];

const freeZeroPut: Instr[] = [
  ...lockedPut.slice(0, -1),
  { do: "set", cell: REF, value: 0, note: "MUTATION: set_page_count(page, 0) on the freed page; the locked bit is lost" },
  { label: "out" },
];

const freezeAny: Instr[] = [
  { do: "load", cell: REF, to: "seen", note: "MUTATION: folio_ref_freeze without the expected count: read the count" },
  { do: "freeze", cell: REF, expect: "seen", frozen: 0, ok: "ret", note: "MUTATION: and freeze whatever was read (cmpxchg(seen -> 0))" },
];

export interface Variant {
  name: string;
  /** What it is, with its source. */
  source: string;
  /** The bug it should show, for mutations. */
  mutation?: boolean;
  routines: Routines;
}

const base = { folio_put: testzeroPut, folio_ref_freeze: zeroFreeze, folio_ref_unfreeze: setUnfreeze };

/** The built-in protocols. */
export const VARIANTS: Record<string, Variant> = {
  "cas-loop": { name: "cas-loop", source: "atomic_add_unless CAS loop: folio_try_get in 6.1 and newest include/linux/page_ref.h", routines: { ...base, folio_try_get: casLoopTryGet } },
  "locked-bit": {
    name: "locked-bit", source: "PAGEREF_LOCKED_BIT optimistic add with fix-up (Gladyshev/Gorbunov 2025-12..2026-04, acked by Torvalds 2026-03-04; modelled from the descriptions)",
    routines: { folio_try_get: lockedTryGet, folio_put: lockedPut, folio_ref_freeze: lockedFreeze, folio_ref_unfreeze: setUnfreeze },
  },
  "assume-one": { name: "assume-one", source: "assume count == 1 cmpxchg loop (Torvalds, 2026-03-01 reply on the series)", routines: { ...base, folio_try_get: assumeOneTryGet(true) } },
  "check-then-add": { name: "check-then-add", mutation: true, source: "MUTATION of cas-loop: read, test, then atomic_inc", routines: { ...base, folio_try_get: checkThenAdd } },
  "locked-bit-free-zero": {
    name: "locked-bit-free-zero", mutation: true, source: "MUTATION of locked-bit: a freed page's count set to 0 (Torvalds 2026-03-04, condition (b))",
    routines: { folio_try_get: lockedTryGet, folio_put: freeZeroPut, folio_ref_freeze: lockedFreeze, folio_ref_unfreeze: setUnfreeze },
  },
  "assume-one-unguarded": { name: "assume-one-unguarded", mutation: true, source: "MUTATION of assume-one: no `while (old)`", routines: { ...base, folio_try_get: assumeOneTryGet(false) } },
  "freeze-any": { name: "freeze-any", mutation: true, source: "MUTATION of cas-loop: folio_ref_freeze freezes the count it read, no expected count", routines: { ...base, folio_try_get: casLoopTryGet, folio_ref_freeze: freezeAny } },
};

/** Routines every protocol shares (page-cache ops are added by ./pagecache-target.ts). */
export const SHARED_ROUTINES: Routines = {};

/** An op a protocol scenario's thread runs: a routine name and its arguments. */
export interface ProtocolOp {
  op: string;
  /** Register the op's result (`ret`) goes to. */
  as?: string;
  /** Run only if this register is non-zero. */
  if?: string;
  note?: string;
  [arg: string]: unknown;
}

export interface ProtocolSpec {
  /** Folios: refcount at the start and who holds those references ("cache" for the page cache). */
  folios: Record<string, { ref: number; holders?: Record<string, number> }>;
  /** Page-cache xarray: index -> folio name. */
  slots?: Record<string, string | null>;
  threads: Record<string, ProtocolOp[]>;
  /** Routines of this scenario's own (override a variant's by name). */
  routines?: Routines;
  /** Protocols of this scenario's own: a name, a built-in base and the routines it replaces. */
  variants?: Record<string, { base: string; routines: Routines; source?: string }>;
}

/** A protocol by name: a built-in one or one the spec defines. */
export function variant(spec: ProtocolSpec, name: string): Variant {
  const own = spec.variants?.[name];
  if (own) {
    const b = VARIANTS[own.base];
    if (!b) throw new RefsimError(`protocol variant '${name}': unknown base '${own.base}' (built-in: ${Object.keys(VARIANTS).join(", ")})`, { field: "variants", code: "BAD_SCENARIO" });
    return { name, source: own.source ?? `custom, based on ${own.base}`, routines: { ...b.routines, ...own.routines } };
  }
  const v = VARIANTS[name];
  if (!v) throw new RefsimError(`unknown protocol variant '${name}' (built-in: ${Object.keys(VARIANTS).join(", ")}${spec.variants ? `; this file's: ${Object.keys(spec.variants).join(", ")}` : ""})`, { field: "variants", code: "BAD_SCENARIO" });
  return v;
}

/** Inline `{ "do": "call", "routine": R }`, giving each copy's labels a prefix of its own. */
export function expand(code: readonly Instr[], routines: Routines, prefix: string, depth = 0): Instr[] {
  if (depth > 8) throw new RefsimError(`routine calls nest deeper than 8 at '${prefix}' (a routine calling itself?)`, { field: "routine", code: "BAD_SCENARIO" });
  const out: Instr[] = [];
  code.forEach((i, n) => {
    if (i.label !== undefined) { out.push({ ...i, label: prefix + i.label }); return; }
    if (i.do === "call") {
      const r = routines[i.routine as string];
      if (!r) throw new RefsimError(`${prefix || "program"}: no routine '${String(i.routine)}' (routines: ${Object.keys(routines).join(", ")})`, { field: "routine", code: "BAD_SCENARIO" });
      out.push(...expand(r, routines, `${prefix}${String(i.routine)}#${n}.`, depth + 1));
      return;
    }
    if (i.do === "goto") { out.push({ ...i, to: prefix + String(i.to) }); return; }
    if (i.do === "if") { out.push({ ...i, goto: prefix + String(i.goto) }); return; }
    out.push(i);
  });
  return out;
}

const OP_FIELDS = new Set(["op", "as", "if", "note"]);

/** A thread's ops as one program: each op sets its arguments as registers, then runs its routine. */
export function compileThread(name: string, ops: readonly ProtocolOp[], routines: Routines): Instr[] {
  const code: Instr[] = [];
  ops.forEach((o, n) => {
    const where = `thread ${name} op ${n + 1}`;
    if (o === null || typeof o !== "object" || typeof o.op !== "string") throw new RefsimError(`${where}: must be an op like { "op": "folio_try_get", "folio": "F" }`, { field: "op", code: "BAD_SCENARIO" });
    if (!routines[o.op]) throw new RefsimError(`${where}: unknown op '${o.op}' (ops: ${Object.keys(routines).join(", ")})`, { field: "op", code: "BAD_SCENARIO" });
    const end = `op${n}.end`;
    for (const [k, v] of Object.entries(o)) {
      if (OP_FIELDS.has(k)) continue;
      if (typeof v !== "number" && typeof v !== "string" && v !== null) throw new RefsimError(`${where}: field '${k}' must be a number or a name`, { field: k, code: "BAD_SCENARIO" });
      // A name is a literal (a folio, an index), unless written "$reg" (another op's result).
      const value: Value = typeof v === "string" ? (v.startsWith("$") ? v.slice(1) : `'${v}'`) : v;
      code.push({ do: "let", to: k, value });
    }
    if (o.if !== undefined) code.push({ do: "if", a: String(o.if), cmp: "==", b: 0, goto: end }, { do: "if", a: String(o.if), cmp: "==", b: "null", goto: end });
    code.push(...expand([{ do: "call", routine: o.op }], routines, `op${n}.`));
    if (o.as !== undefined) code.push({ do: "let", to: String(o.as), value: "ret" });
    code.push({ label: end });
  });
  // Registers an `if` may read before any op set them start at 0.
  const firsts = ops.filter((o) => o.if !== undefined).map((o) => String(o.if));
  const init = [...new Set(firsts)].map((r): Instr => ({ do: "let", to: r, value: 0 }));
  const all = [...init, ...code];
  checkCode(all, `thread ${name}`);
  return all;
}

/** The explorer's target for a protocol spec under one protocol variant. */
export function protocolTarget(spec: ProtocolSpec, variantName: string, extra: Routines = SHARED_ROUTINES): ProtocolTarget {
  const v = variant(spec, variantName);
  const routines: Routines = { ...extra, ...v.routines, ...spec.routines };
  const cells: Record<string, Value> = {};
  const holders: Record<string, Record<string, number>> = {};
  for (const [f, x] of Object.entries(spec.folios ?? {})) {
    if (!Number.isInteger(x?.ref) || x.ref < 0) throw new RefsimError(`folio '${f}': "ref" must be a whole number >= 0`, { field: "folios", code: "BAD_SCENARIO" });
    cells[`ref:${f}`] = x.ref;
    holders[f] = { ...(x.holders ?? {}) };
  }
  for (const [i, f] of Object.entries(spec.slots ?? {})) cells[`slot:${i}`] = f;
  const threads = Object.entries(spec.threads ?? {});
  if (threads.length < 1 || threads.length > 8) throw new RefsimError(`"threads" must name 1 to 8 threads, got ${threads.length}`, { field: "threads", code: "BAD_SCENARIO" });
  return new ProtocolTarget({ cells, holders, threads: threads.map(([name, ops]) => ({ name, code: compileThread(name, ops, routines) })) });
}
