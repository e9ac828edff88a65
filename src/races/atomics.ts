/**
 * Atomic refcount primitives as explorer steps: a small machine whose threads
 * run programs of atomic operations on shared cells (a folio's _refcount, an
 * xarray slot, a spinlock), so a try-get or freeze protocol can be written as
 * data and every interleaving of it explored (./sleepsets.ts, ./pct.ts).
 *
 * This is a pure protocol model in TypeScript: it does not run the WASM core or
 * the refsim Model (no page tables, no mappings), so the engine/model differential
 * does not apply to it. What it checks is the protocol's own invariants, kept as
 * ghost state next to the cells:
 *   - resurrected: a try-get reported success on a folio that another thread has
 *     frozen (folio_ref_freeze succeeded, not yet unfrozen) or that was freed;
 *   - frozen_while_held: a freeze succeeded while a thread other than the freezer
 *     (and the page cache, whose references the freezer's expected count covers)
 *     believed it held a reference;
 *   - use_after_free: a folio freed while some holder believed it had a reference;
 *   - double_free: a folio freed twice;
 *   - stale_lookup: a page-cache lookup returned a folio that the xarray no longer
 *     holds at that index (what filemap_get_entry's xas_reload re-check prevents);
 *   - underflow: a refcount below zero;
 *   - refcount_mismatch (after the section): a live folio whose count (without
 *     PAGEREF_LOCKED_BIT) differs from the references its holders believe they have.
 *
 * One step is one shared-memory instruction (a load, cmpxchg, add, add_unless,
 * sub_and_test, set, freeze, unfreeze, lock or unlock); the thread-local work
 * around it (branches, register moves, ghost bookkeeping) runs with it, so the
 * per-thread bound counts atomic operations only. Footprints name the cells a
 * step read or wrote (ghost state lives with its folio's refcount cell), so
 * sleep sets prune steps on different cells.
 *
 * Instructions are plain objects, as in a protocol scenario file:
 *   { "do": "load", "cell": "ref:{folio}", "to": "c" }                atomic_read
 *   { "do": "cmpxchg", "cell": C, "expect": E, "new": N, "ok": r, "old": o }
 *                                     atomic_try_cmpxchg: o gets the value found when it fails
 *   { "do": "add", "cell": C, "n": N, "ret": r }                       atomic_add_return
 *   { "do": "add_unless", "cell": C, "n": N, "unless": U, "ok": r }     atomic_add_unless, one step
 *   { "do": "sub_and_test", "cell": C, "n": N, "zero": r }             atomic_sub_and_test
 *   { "do": "set", "cell": C, "value": V }                             atomic_set / xas_store
 *   { "do": "freeze", "cell": C, "expect": E, "frozen": 0, "ok": r }    cmpxchg(E -> frozen), ghost: frozen
 *   { "do": "unfreeze", "cell": C, "value": V }                        atomic_set, ghost: unfrozen
 *   { "do": "lock", "lock": L } / { "do": "unlock", "lock": L }         spin_lock: waits while held
 * Local (no step of their own): { "label": L }, { "do": "goto", "to": L },
 *   { "do": "if", "a": A, "cmp": "==" | "!=" | "&" | "!&", "b": B, "goto": L }, { "do": "let", "to": r, "value": V };
 * ghost: { "do": "got" | "put" | "free", "folio": F }, { "do": "hold" | "drop", "folio": F, "as": "cache" },
 *   { "do": "returns", "folio": F, "index": I }.
 * Operands: a number, "LOCKED" (bit 31), "null", 'name' (a literal), a register, or one
 * binary a+b, a-b, a|b, a&b of those. A cell name may hold {register} parts.
 *
 * @example
 * ```ts
 * import { ProtocolTarget } from "./atomics.ts";
 * import { exhaustive } from "./sleepsets.ts";
 * // A check-then-add "try-get" against the last put: the getter can revive a freed folio.
 * const t = new ProtocolTarget({
 *   cells: { "ref:F": 1 }, holders: { F: { B: 1 } },
 *   threads: [
 *     { name: "A", code: [{ do: "let", to: "folio", value: "'F'" }, { do: "load", cell: "ref:F", to: "c" },
 *       { do: "if", a: "c", cmp: "==", b: 0, goto: "out" }, { do: "add", cell: "ref:F", n: 1 }, { do: "got", folio: "folio" }, { label: "out" }] },
 *     { name: "B", code: [{ do: "let", to: "folio", value: "'F'" }, { do: "sub_and_test", cell: "ref:F", n: 1, zero: "z" },
 *       { do: "put", folio: "folio" }, { do: "if", a: "z", cmp: "==", b: 0, goto: "out" }, { do: "free", folio: "folio" }, { label: "out" }] },
 *   ],
 * });
 * console.log(exhaustive(t, { bound: 4 }).finding?.kind); // resurrected
 * ```
 */
import { RefsimError } from "../core/errors.ts";
import { readOf, writeOf, type StepInfo, type StepTarget } from "./target.ts";

/** PAGEREF_LOCKED_BIT of the 2026 series: bit 31 of _refcount marks a frozen or freed page. */
export const LOCKED = 0x80000000;

export type Value = number | string | null;

export interface Instr {
  do?: string;
  label?: string;
  /** The kernel code this instruction models, for step labels. */
  note?: string;
  [field: string]: unknown;
}

export interface ThreadCode {
  name: string;
  code: readonly Instr[];
}

export interface MachineSpec {
  /** Shared cells and their values at the section start (refcounts "ref:F", slots "slot:0", locks). */
  cells: Record<string, Value>;
  /** Who believes they hold references at the start: folio -> holder -> count. */
  holders?: Record<string, Record<string, number>>;
  threads: readonly ThreadCode[];
}

const SHARED = new Set(["load", "cmpxchg", "add", "add_unless", "sub_and_test", "set", "freeze", "unfreeze", "lock", "unlock"]);
const LOCAL = new Set(["goto", "if", "let", "got", "put", "free", "hold", "drop", "returns"]);

interface Ghost {
  /** Thread index that froze the folio, or -1. */
  frozenBy: number;
  freed: boolean;
  holders: Map<string, number>;
}

interface State {
  cells: Map<string, Value>;
  regs: Map<string, Value>[];
  pc: number[];
  ghost: Map<string, Ghost>;
  violations: string[];
  steps: number;
}

function copyState(s: State): State {
  return {
    cells: new Map(s.cells),
    regs: s.regs.map((r) => new Map(r)),
    pc: [...s.pc],
    ghost: new Map([...s.ghost].map(([k, g]) => [k, { frozenBy: g.frozenBy, freed: g.freed, holders: new Map(g.holders) }])),
    violations: [...s.violations],
    steps: s.steps,
  };
}

/** Is an instruction a step (shared memory) rather than thread-local work? */
export function isShared(i: Instr): boolean {
  return i.do !== undefined && SHARED.has(i.do);
}

/** Shape checks for a program, so a bad protocol is a RefsimError before anything runs. */
export function checkCode(code: readonly Instr[], where: string): void {
  const labels = new Set(code.filter((i) => i.label !== undefined).map((i) => i.label));
  code.forEach((i, n) => {
    const at = `${where} instruction ${n + 1}`;
    if (i === null || typeof i !== "object" || Array.isArray(i)) throw new RefsimError(`${at}: must be an object like { "do": "load", ... }`, { field: "do", code: "BAD_SCENARIO" });
    if (i.label !== undefined) {
      if (typeof i.label !== "string") throw new RefsimError(`${at}: "label" must be a string`, { field: "label", code: "BAD_SCENARIO" });
      return;
    }
    if (typeof i.do !== "string" || (!SHARED.has(i.do) && !LOCAL.has(i.do))) {
      throw new RefsimError(`${at}: unknown "do" '${String(i.do)}' (one of ${[...SHARED, ...LOCAL].join(", ")})`, { field: "do", code: "BAD_SCENARIO" });
    }
    const target = i.do === "goto" ? i.to : i.do === "if" ? i.goto : undefined;
    if ((i.do === "goto" || i.do === "if") && (typeof target !== "string" || !labels.has(target))) {
      throw new RefsimError(`${at}: no label '${String(target)}' in this program`, { field: i.do === "goto" ? "to" : "goto", code: "BAD_SCENARIO" });
    }
    const need: Record<string, string[]> = {
      load: ["cell", "to"], cmpxchg: ["cell", "expect", "new"], add: ["cell", "n"], add_unless: ["cell", "n", "unless", "ok"],
      sub_and_test: ["cell", "n", "zero"], set: ["cell", "value"], freeze: ["cell", "expect", "ok"], unfreeze: ["cell", "value"],
      lock: ["lock"], unlock: ["lock"], if: ["a", "cmp", "b"], let: ["to", "value"], got: ["folio"], put: ["folio"], free: ["folio"],
      hold: ["folio"], drop: ["folio"], returns: ["folio", "index"],
    };
    for (const f of need[i.do] ?? []) if (i[f] === undefined) throw new RefsimError(`${at}: '${i.do}' needs "${f}"`, { field: f, code: "BAD_SCENARIO" });
    if (i.do === "if" && !["==", "!=", "&", "!&"].includes(i.cmp as string)) throw new RefsimError(`${at}: "cmp" must be ==, !=, & or !&`, { field: "cmp", code: "BAD_SCENARIO" });
  });
}

/** Interned ids of cell names, for footprints (stable: a name keeps its id). */
class Interner {
  #ids = new Map<string, number>();
  id(name: string): number {
    let i = this.#ids.get(name);
    if (i === undefined) { i = this.#ids.size; this.#ids.set(name, i); }
    return i;
  }
}

/** The refcount cell of a folio, where its ghost state lives. */
const refCell = (folio: string) => `ref:${folio}`;

export class ProtocolTarget implements StepTarget {
  readonly threads: number;
  readonly names: string[];
  readonly spec: MachineSpec;
  #labels: Map<string, number>[];
  #s!: State;
  #ids = new Interner();
  #foot: number[] = [];
  #thread = 0;

  constructor(spec: MachineSpec) {
    spec.threads.forEach((t) => checkCode(t.code, `thread ${t.name}`));
    this.spec = spec;
    this.threads = spec.threads.length;
    this.names = spec.threads.map((t) => t.name);
    this.#labels = spec.threads.map((t) => new Map(t.code.flatMap((i, n) => (i.label !== undefined ? [[i.label, n] as [string, number]] : []))));
    this.reset();
  }

  reset(): void {
    const ghost = new Map<string, Ghost>();
    for (const [f, hs] of Object.entries(this.spec.holders ?? {})) ghost.set(f, { frozenBy: -1, freed: false, holders: new Map(Object.entries(hs)) });
    this.#s = { cells: new Map(Object.entries(this.spec.cells)), regs: this.spec.threads.map(() => new Map()), pc: this.spec.threads.map(() => 0), ghost, violations: [], steps: 0 };
    for (let t = 0; t < this.threads; t++) { this.#thread = t; this.#advance(t); }
  }

  finished(t: number): boolean { return this.#s.pc[t] >= this.spec.threads[t].code.length; }

  enabled(t: number): boolean {
    if (this.finished(t)) return false;
    const i = this.spec.threads[t].code[this.#s.pc[t]];
    return i.do !== "lock" || (this.#s.cells.get(this.#lockCell(i)) ?? 0) === 0;
  }

  step(t: number): StepInfo {
    if (!this.enabled(t)) throw new RefsimError(`thread ${this.names[t]} cannot step`, { field: "step", code: "BAD_SCENARIO" });
    this.#foot = [];
    this.#thread = t;
    const i = this.spec.threads[t].code[this.#s.pc[t]];
    const label = this.#exec(t, i);
    this.#s.pc[t]++;
    this.#s.steps++;
    this.#advance(t);
    return { footprint: this.#foot, label, opDone: this.finished(t) };
  }

  violations(): readonly string[] { return this.#s.violations; }

  epilogue(): readonly string[] {
    const out: string[] = [];
    for (const [f, g] of this.#s.ghost) {
      if (g.freed) continue;
      const v = this.#s.cells.get(refCell(f));
      if (typeof v !== "number") continue;
      const count = v >= LOCKED ? v - LOCKED : v;
      const held = [...g.holders.values()].reduce((a, b) => a + b, 0);
      if (count !== held) out.push("refcount_mismatch");
    }
    return out;
  }

  save(): State { return copyState(this.#s); }
  load(s: unknown): void { this.#s = copyState(s as State); }

  /** A cell's value now (for tests and reports). */
  cell(name: string): Value | undefined { return this.#s.cells.get(name); }
  /** A thread's register now. */
  reg(t: number, name: string): Value | undefined { return this.#s.regs[t].get(name); }
  /** Whether a folio was freed. */
  freed(folio: string): boolean { return this.#s.ghost.get(folio)?.freed ?? false; }

  // --- execution ---

  #lockCell(i: Instr): string { return `lock:${this.#name(i.lock as string)}`; }

  #read(c: string): void { this.#foot.push(readOf(this.#ids.id(c))); }
  #write(c: string): void { this.#foot.push(writeOf(this.#ids.id(c))); }

  #name(template: string): string {
    return template.replace(/\{(\w+)\}/g, (_, r: string) => String(this.#reg(r)));
  }

  #reg(r: string): Value {
    const regs = this.#s.regs[this.#thread];
    if (!regs.has(r)) throw new RefsimError(`thread ${this.names[this.#thread]}: register '${r}' read before it was set`, { field: r, code: "BAD_SCENARIO" });
    return regs.get(r)!;
  }

  #atom(a: string): Value {
    if (/^-?\d+$/.test(a)) return Number(a);
    if (a === "LOCKED") return LOCKED;
    if (a === "null") return null;
    if (/^'.*'$/.test(a)) return a.slice(1, -1);
    return this.#reg(a);
  }

  /** An operand's value (see the file comment). */
  value(x: unknown): Value {
    if (typeof x === "number" || x === null) return x;
    if (typeof x !== "string") throw new RefsimError(`operand ${JSON.stringify(x)} must be a number or a string`, { field: "operand", code: "BAD_SCENARIO" });
    const s = x.replace(/\s+/g, "");
    const m = /^(.+?)([+\-|&])(.+)$/.exec(s);
    if (!m || /^-?\d+$/.test(s)) return this.#atom(s);
    const a = this.#num(this.#atom(m[1]), x);
    const b = this.#num(this.#atom(m[3]), x);
    switch (m[2]) {
      case "+": return a + b;
      case "-": return a - b;
      case "|": return (a | b) >>> 0;
      default: return (a & b) >>> 0;
    }
  }

  #num(v: Value, what: unknown): number {
    if (typeof v !== "number") throw new RefsimError(`operand ${JSON.stringify(what)}: ${JSON.stringify(v)} is not a number`, { field: "operand", code: "BAD_SCENARIO" });
    return v;
  }

  #set(r: unknown, v: Value): void {
    if (typeof r === "string") this.#s.regs[this.#thread].set(r, v);
  }

  #cellNum(c: string): number {
    const v = this.#s.cells.get(c) ?? 0;
    if (typeof v !== "number") throw new RefsimError(`cell '${c}' holds ${JSON.stringify(v)}, not a count`, { field: "cell", code: "BAD_SCENARIO" });
    return v;
  }

  #store(c: string, v: Value): void {
    this.#s.cells.set(c, v);
    if (typeof v === "number" && v < 0) this.#s.violations.push("underflow");
  }

  #ghost(folio: string): Ghost {
    let g = this.#s.ghost.get(folio);
    if (!g) { g = { frozenBy: -1, freed: false, holders: new Map() }; this.#s.ghost.set(folio, g); }
    return g;
  }

  /** The folio a refcount cell belongs to ("ref:F" -> "F"), or null. */
  #folioOf(c: string): string | null { return c.startsWith("ref:") ? c.slice(4) : null; }

  /** Run one shared instruction; returns the step's label. */
  #exec(t: number, i: Instr): string {
    const c = i.cell !== undefined ? this.#name(i.cell as string) : "";
    const label = (what: string) => `${what}${i.note ? `: ${i.note}` : ""}`;
    switch (i.do) {
      case "load": {
        this.#read(c);
        const v = this.#s.cells.get(c) ?? 0;
        this.#set(i.to, v);
        return label(`${i.to} = load ${c} (${JSON.stringify(v)})`);
      }
      case "cmpxchg": {
        this.#write(c);
        const cur = this.#s.cells.get(c) ?? 0;
        const exp = this.value(i.expect);
        const ok = cur === exp;
        if (ok) this.#store(c, this.value(i.new));
        this.#set(i.ok, ok ? 1 : 0);
        this.#set(i.old, cur);
        return label(`cmpxchg ${c} ${fmt(exp)} -> ${fmt(ok ? this.#s.cells.get(c)! : this.value(i.new))}: ${ok ? "ok" : `failed, found ${fmt(cur)}`}`);
      }
      case "add": {
        this.#write(c);
        const v = this.#cellNum(c) + this.#num(this.value(i.n), i.n);
        this.#store(c, v);
        this.#set(i.ret, v);
        return label(`add ${fmt(this.value(i.n))} to ${c}, now ${fmt(v)}`);
      }
      case "add_unless": {
        this.#write(c);
        const cur = this.#cellNum(c);
        const ok = cur !== this.value(i.unless);
        if (ok) this.#store(c, cur + this.#num(this.value(i.n), i.n));
        this.#set(i.ok, ok ? 1 : 0);
        return label(`add_unless ${c} (${fmt(cur)}): ${ok ? "added" : "unchanged"}`);
      }
      case "sub_and_test": {
        this.#write(c);
        const v = this.#cellNum(c) - this.#num(this.value(i.n), i.n);
        this.#store(c, v);
        this.#set(i.zero, v === 0 ? 1 : 0);
        return label(`sub ${fmt(this.value(i.n))} from ${c}, now ${fmt(v)}`);
      }
      case "set": {
        this.#write(c);
        const v = this.value(i.value);
        this.#store(c, v);
        return label(`set ${c} = ${fmt(v)}`);
      }
      case "freeze": {
        this.#write(c);
        const cur = this.#s.cells.get(c) ?? 0;
        const exp = this.value(i.expect);
        const ok = cur === exp;
        const frozen = i.frozen === undefined ? 0 : this.value(i.frozen);
        if (ok) {
          this.#store(c, frozen);
          const f = this.#folioOf(c);
          if (f !== null) {
            const g = this.#ghost(f);
            g.frozenBy = t;
            const others = [...g.holders].filter(([h, n]) => n > 0 && h !== this.names[t] && h !== "cache");
            if (others.length) this.#s.violations.push("frozen_while_held");
          }
        }
        this.#set(i.ok, ok ? 1 : 0);
        return label(`freeze ${c} (${fmt(exp)} -> ${fmt(frozen)}): ${ok ? "frozen" : `failed, found ${fmt(cur)}`}`);
      }
      case "unfreeze": {
        this.#write(c);
        const v = this.value(i.value);
        this.#store(c, v);
        const f = this.#folioOf(c);
        if (f !== null) this.#ghost(f).frozenBy = -1;
        return label(`unfreeze ${c} = ${fmt(v)}`);
      }
      case "lock": {
        const l = this.#lockCell(i);
        this.#write(l);
        this.#s.cells.set(l, t + 1);
        return label(`lock ${l.slice(5)}`);
      }
      case "unlock": {
        const l = this.#lockCell(i);
        this.#write(l);
        this.#s.cells.set(l, 0);
        return label(`unlock ${l.slice(5)}`);
      }
    }
    throw new RefsimError(`'${String(i.do)}' is not a step`, { field: "do", code: "BAD_SCENARIO" });
  }

  /** Run thread-local instructions until the next step or the end of the program. */
  #advance(t: number): void {
    const code = this.spec.threads[t].code;
    for (let guard = 0; this.#s.pc[t] < code.length; guard++) {
      if (guard > 10_000) throw new RefsimError(`thread ${this.names[t]}: a loop with no atomic step in it`, { field: "code", code: "BAD_SCENARIO" });
      const i = code[this.#s.pc[t]];
      if (isShared(i)) return;
      this.#s.pc[t]++;
      if (i.label !== undefined) continue;
      this.#local(t, i);
    }
  }

  #local(t: number, i: Instr): void {
    const jump = (l: string) => { this.#s.pc[t] = this.#labels[t].get(l)!; };
    const me = this.names[t];
    switch (i.do) {
      case "goto": jump(i.to as string); return;
      case "let": this.#set(i.to, this.value(i.value)); return;
      case "if": {
        const a = this.value(i.a), b = this.value(i.b);
        const yes = i.cmp === "==" ? a === b : i.cmp === "!=" ? a !== b
          : i.cmp === "&" ? ((this.#num(a, i.a) & this.#num(b, i.b)) >>> 0) !== 0 : ((this.#num(a, i.a) & this.#num(b, i.b)) >>> 0) === 0;
        if (yes) jump(i.goto as string);
        return;
      }
    }
    const f = String(this.value(i.folio));
    const g = this.#ghost(f);
    const holder = typeof i.as === "string" ? i.as : me;
    const cell = refCell(f);
    switch (i.do) {
      case "got":
        this.#write(cell);
        if (g.freed || (g.frozenBy >= 0 && g.frozenBy !== t)) this.#s.violations.push("resurrected");
        g.holders.set(holder, (g.holders.get(holder) ?? 0) + 1);
        return;
      case "hold":
        this.#write(cell);
        g.holders.set(holder, (g.holders.get(holder) ?? 0) + 1);
        return;
      case "put":
      case "drop":
        this.#write(cell);
        g.holders.set(holder, (g.holders.get(holder) ?? 0) - 1);
        return;
      case "free": {
        this.#write(cell);
        if (g.freed) { this.#s.violations.push("double_free"); return; }
        g.freed = true;
        g.frozenBy = -1;
        if ([...g.holders.values()].some((n) => n > 0)) this.#s.violations.push("use_after_free");
        return;
      }
      case "returns": {
        const slot = `slot:${String(this.value(i.index))}`;
        this.#read(slot);
        this.#read(cell);
        if (g.freed) this.#s.violations.push("use_after_free");
        else if (this.#s.cells.get(slot) !== f) this.#s.violations.push("stale_lookup");
        return;
      }
    }
  }
}

function fmt(v: Value): string {
  if (typeof v === "number" && v >= LOCKED) return v === LOCKED ? "LOCKED" : `LOCKED+${v - LOCKED}`;
  return JSON.stringify(v);
}
