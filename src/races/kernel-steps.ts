/**
 * Ops as sequences of atomic steps, cut where the kernel lets other CPUs in.
 * Every op is one step, except a CPU access (read, write) that finds a
 * device-private entry: do_swap_page drops the page-table lock before it calls
 * pgmap->ops->migrate_to_ram, so the fault is three steps:
 *   1. up to the point the PTL is dropped (OP_FAULT_BEGIN; per era, see below),
 *   2. migrate_to_ram, then unlock and put (OP_FAULT_END),
 *   3. the access again: the CPU retries it once the fault returns (a plain op, or
 *      the same three steps if the entry is still device-private).
 * A 6.15 fault whose trylock_page fails takes only step 1 (it returns to refault),
 * so its thread loops; the explorer's per-thread bound unrolls that loop. From 7.0
 * (scheme value 'wait') the losing fault sleeps until the folio is unlocked before
 * it refaults, so its thread is not runnable while the winner holds the lock.
 *
 * The eras' step 1, from mm/memory.c do_swap_page:
 *   5.15: handle_pte_fault read orig_pte without the PTL; do_swap_page sets
 *         vmf->page = pfn_swap_entry_to_page(entry) and calls migrate_to_ram holding
 *         no reference (CVE-2022-3523);
 *   6.1:  pte_offset_map_lock, pte_same(orig_pte), get_page, pte_unmap_unlock
 *         (16ce101db85d, "mm/memory.c: fix race when faulting a device private page");
 *   6.15: the same with trylock_page first; if it fails, pte_unmap_unlock and
 *         return (the fault is retried);
 *   7.0:  if trylock_page fails, softleaf_entry_wait_on_locked sleeps on the folio's
 *         unlock, then returns (b570f37a2ce4, "mm: Fix a hmm_range_fault() livelock /
 *         starvation problem"; stable 6.15+).
 *
 * @example
 * ```ts
 * import { cutPoint } from "./kernel-steps.ts";
 * console.log(cutPoint("read"), cutPoint("munmap")); // true false
 * ```
 */
import { RefsimError } from "../core/errors.ts";
import type { Op } from "../core/ops.ts";
import type { OpOutcome } from "../core/errno.ts";
import type { FrameInfo, PageInfo } from "../core/engine.ts";
import type { Violation } from "../core/violations.ts";
import type { Stats } from "../core/stats.ts";
import type { Scheme } from "../scheme/presets.ts";
import type { OpStep, Step } from "../scenario/types.ts";
import { stepOp, boundValue } from "../scenario/step-op.ts";
import { resolveValue } from "../scenario/values.ts";
import { zapCut } from "./zap-steps.ts";
import { migrateCuts } from "./migrate-steps.ts";
import type { VmaInfo } from "../core/maps.ts";
import { GLOBAL, type Footprint } from "./target.ts";
import { cutByGupFast, cutStep, noCut, forking, lockless, type CutState } from "./gup-fast-steps.ts";
import { zapFootprint } from "./footprints.ts";
import { within } from "./run-op.ts";

/** What the step runner needs of an Engine or a Model. */
export interface Host {
  readonly scheme: Scheme;
  runDetailed(ops: readonly Op[]): OpOutcome[];
  page(mm: number, addr: number): PageInfo | null;
  frame(pfn: number): FrameInfo;
  violations(): Violation[];
  stats(): Stats;
  /** The mm's VMAs (Engine.maps, Model.maps), for footprints. */
  maps?(mm: number): VmaInfo[];
}

/** Ops whose kernel path can be cut into steps (a CPU access may fault on a device-private entry). */
export function cutPoint(op: string): boolean {
  return op === "read" || op === "write";
}

export interface ThreadState extends CutState {
  /** Index of the thread's current op. */
  pc: number;
  /** Fault token of a do_swap_page between its steps 1 and 2, else 0. */
  fault: number;
  /** The pfn whose folio lock a 7.0 do_swap_page sleeps on (softleaf_entry_wait_on_locked), else 0. */
  wait: number;
  /** A cut op between its steps (CutStep.kind) and its token, else "" and 0. */
  cut?: string;
  token?: number;
}

/**
 * An op cut into steps in a file of its own (./zap-steps.ts, ./migrate-steps.ts):
 * begin runs its first step and returns a token (null: not cut, the op runs whole);
 * resume runs the next step with it.
 * A step that returns sleep (a pfn) ends the cut there: the thread sleeps until that
 * folio is unlocked, then its op starts again (a fault retried after a wait).
 */
export interface CutStep {
  kind: string;
  cuts(op: string): boolean;
  begin(host: Host, rec: Op): { token: number; label: string; sleep?: number } | null;
  resume(host: Host, token: number, rec: Op): { label: string; opDone: boolean; token?: number; outcome?: OpOutcome; sleep?: number };
}

/** The cut ops, tried in order. */
export const CUTS: CutStep[] = [zapCut, ...migrateCuts];

export interface StepResult {
  label: string;
  opDone: boolean;
  /** The kernel's answer, when the step completed an op. */
  outcome?: OpOutcome;
  /** What the step touched (GLOBAL when not itemised). */
  footprint?: Footprint;
}

type SwapFaultRef = "none" | "get" | "trylock" | "wait";

const BEGIN: Record<SwapFaultRef, string> = {
  none: "do_swap_page: orig_pte is a device-private entry, vmf->page taken with no reference (5.15-6.0 mm/memory.c)",
  get: "do_swap_page: pte_offset_map_lock, pte_same, get_page, pte_unmap_unlock (6.1 mm/memory.c)",
  trylock: "do_swap_page: pte_offset_map_lock, pte_same, trylock_page, get_page, pte_unmap_unlock (6.15 mm/memory.c)",
  wait: "do_swap_page: pte_offset_map_lock, pte_same, trylock_page, get_page, pte_unmap_unlock (7.0 mm/memory.c)",
};
const END: Record<SwapFaultRef, string> = {
  none: "do_swap_page: pgmap->ops->migrate_to_ram, no put (5.15-6.0 mm/memory.c)",
  get: "do_swap_page: pgmap->ops->migrate_to_ram, put_page (6.1 mm/memory.c)",
  trylock: "do_swap_page: pgmap->ops->migrate_to_ram, unlock_page, put_page (6.15 mm/memory.c)",
  wait: "do_swap_page: pgmap->ops->migrate_to_ram, unlock_page, put_page (7.0 mm/memory.c)",
};
const REFAULT = "do_swap_page: trylock_page failed, pte_unmap_unlock, return to refault (6.15 mm/memory.c)";
const SLEEP = "do_swap_page: trylock_page failed, softleaf_entry_wait_on_locked drops the PTL and sleeps until the folio is unlocked, then the fault is retried (7.0 mm/memory.c, b570f37a2ce4)";

/**
 * Runs threads of op steps on a host one atomic step at a time, with the names
 * bound by `as` (shared by all threads, as in a scenario). Thread op lists may
 * grow (a replay scenario starts each op where the interleaving starts it).
 */
export class OpRunner {
  readonly host: Host;
  readonly threads: { name: string; ops: OpStep[] }[];
  names: Map<string, number>;
  #state: ThreadState[];

  constructor(host: Host, threads: readonly { name: string; ops: readonly OpStep[] }[], names: Map<string, number> = new Map()) {
    this.host = host;
    this.threads = threads.map((t) => ({ name: t.name, ops: [...t.ops] }));
    this.names = names;
    this.#state = threads.map(() => ({ pc: 0, fault: 0, wait: 0, ...noCut() }));
  }

  save(): { names: [string, number][]; threads: ThreadState[] } {
    return { names: [...this.names], threads: this.#state.map((s) => ({ ...s })) };
  }

  load(s: { names: [string, number][]; threads: ThreadState[] }): void {
    this.names = new Map(s.names);
    this.#state = s.threads.map((x) => ({ ...x }));
  }

  /** Index of the thread called name (added, with no ops, when new). */
  thread(name: string): number {
    let i = this.threads.findIndex((t) => t.name === name);
    if (i < 0) {
      i = this.threads.push({ name, ops: [] }) - 1;
      this.#state.push({ pc: 0, fault: 0, wait: 0, ...noCut() });
    }
    return i;
  }

  finished(t: number): boolean { return this.#state[t].pc >= this.threads[t].ops.length; }

  /**
   * Thread t cannot step: it sleeps on a folio lock that is still held (7.0 do_swap_page), or its next
   * step needs the mmap_lock of an mm another thread is forking (gup-fast-steps.ts). (A fault on a
   * migration entry sleeps through its cut's own sleep result, not here.)
   */
  blocked(t: number): boolean {
    const st = this.#state[t];
    if (st.wait !== 0) return this.host.frame(st.wait).locked;
    const op = this.threads[t].ops[st.pc];
    if (!op) return false;
    if (lockless(op, st)) return false;
    const held = this.#state.map((s, u) => (u === t ? -1 : forking(s))).filter((mm) => mm >= 0);
    if (held.length === 0) return false;
    if (op.op === "teardown") return true;
    let mm: unknown;
    try {
      mm = (this.#record(op, "") as { mm?: unknown }).mm;
    } catch {
      return false; // the step itself reports the bad name
    }
    return typeof mm === "number" && held.includes(mm);
  }

  #record(op: OpStep, where: string): Op {
    return stepOp(op, (v, k) => {
      try {
        return resolveValue(v, this.names, `${where} field '${k}'`);
      } catch (e) {
        const name = /'([A-Za-z_][\w-]*)' is not a name bound/.exec((e as Error).message)?.[1];
        const by = name === undefined ? undefined : this.threads.find((t) => t.ops.some((x) => x.as === name));
        const hint = by ? `; '${name}' is bound by thread ${by.name}'s op inside the section, and in some interleavings this op runs first: bind it before the "threads" step` : "";
        throw new RefsimError((e as Error).message + hint, { field: k, code: "BAD_SCENARIO" });
      }
    }) as unknown as Op;
  }

  #run(rec: Op, where: string): OpOutcome {
    return within(where, () => this.host.runDetailed([rec])[0]);
  }

  /** One atomic step of thread t's current op. */
  step(t: number): StepResult {
    const th = this.threads[t];
    const st = this.#state[t];
    const op = th.ops[st.pc];
    if (!op) throw new RefsimError(`thread ${th.name} has no op left to step`, { field: "step", code: "BAD_SCENARIO" });
    const where = `thread ${th.name} op ${st.pc + 1} (${op.op})`;
    if (this.blocked(t)) {
      const why = st.wait !== 0 ? `sleeps on pfn ${st.wait}'s folio lock, which no step has released` : "waits for the mmap_lock of an mm another thread is forking";
      throw new RefsimError(`${where}: the thread ${why}`, { field: "threads", code: "BAD_SCENARIO" });
    }
    st.wait = 0; // woken: softleaf_entry_wait_on_locked returned, the access is retried
    const mode = this.host.scheme.rules.swapFaultRef as SwapFaultRef;
    if (st.fault !== 0) {
      this.#run({ op: "fault_end", fault: st.fault } as Op, where);
      st.fault = 0;
      return { label: END[mode], opDone: false };
    }
    if (st.cut) {
      const c = CUTS.find((x) => x.kind === st.cut)!;
      const rec = this.#record(op, where);
      const r = within(where, () => c.resume(this.host, st.token!, rec));
      if (!r.opDone && r.sleep !== undefined) { st.cut = ""; st.token = 0; st.wait = r.sleep; return { label: r.label, opDone: false }; }
      if (!r.opDone) { st.token = r.token ?? st.token; return { label: r.label, opDone: false }; }
      st.cut = ""; st.token = 0;
      return this.#done(st, op, r.outcome!, r.label);
    }
    if (cutByGupFast(op)) {
      const r = cutStep({ host: this.host, record: (o) => this.#record(o, where), run: (x) => this.#run(x, where) }, op, st);
      return r.opDone ? { ...this.#done(st, op, r.outcome!, r.label), footprint: r.footprint } : r;
    }
    const rec = this.#record(op, where);
    for (const c of CUTS) {
      if (!c.cuts(op.op)) continue;
      const b = within(where, () => c.begin(this.host, rec));
      if (b && b.sleep !== undefined) { st.wait = b.sleep; return { label: b.label, opDone: false }; }
      if (b) { st.cut = c.kind; st.token = b.token; return { label: b.label, opDone: false }; }
    }
    const pfn = cutPoint(op.op) ? this.#devicePrivate(rec) : 0;
    if (pfn !== 0) {
      const o = this.#run({ op: "fault_begin", mm: (rec as { mm: number }).mm, addr: (rec as { addr: number }).addr } as Op, where);
      if (o.result === 0 && mode === "wait") {
        st.wait = pfn;
        return { label: SLEEP, opDone: false };
      }
      if (o.result === 0) return { label: REFAULT, opDone: false };
      st.fault = o.result;
      return { label: BEGIN[mode], opDone: false };
    }
    const footprint = this.#footprint(rec);
    return { ...this.#done(st, op, this.#run(rec, where), `${op.op}: the whole op, one atomic step`), footprint };
  }

  #done(st: ThreadState, op: OpStep, outcome: OpOutcome, label: string): StepResult {
    const v = boundValue(op.op, outcome.result, outcome);
    if (op.as && v !== undefined) this.names.set(op.as, v);
    st.pc++;
    return { label, opDone: true, outcome };
  }

  /** Run thread t's current op to completion. */
  finish(t: number): StepResult[] {
    const out: StepResult[] = [];
    for (let i = 0; i < 1000; i++) {
      const r = this.step(t);
      out.push(r);
      if (r.opDone) return out;
    }
    throw new RefsimError(`thread ${this.threads[t].name}: op ${this.#state[t].pc + 1} did not complete in 1000 steps (a refault loop no other thread breaks)`, { field: "threads", code: "BAD_SCENARIO" });
  }

  /** Run op steps one after another, each to completion; expect steps are skipped. */
  runSerial(steps: readonly Step[], what: string): void {
    steps.forEach((s, i) => {
      if (!("op" in s)) return;
      const rec = this.#record(s as OpStep, `${what} step ${i + 1}`);
      const o = this.#run(rec, `${what} step ${i + 1} (${(s as OpStep).op})`);
      const v = boundValue((s as OpStep).op, o.result, o);
      if ((s as OpStep).as && v !== undefined) this.names.set((s as OpStep).as!, v);
    });
  }

  /** A whole op's footprint, taken before it runs: munmap's is itemised (footprints.ts), the rest GLOBAL. */
  #footprint(rec: Op): Footprint {
    const r = rec as { op: string; mm?: unknown; addr?: unknown; length?: unknown };
    if (r.op === "munmap" && typeof r.mm === "number" && typeof r.addr === "number" && typeof r.length === "number" && r.addr % 4096 === 0) {
      return zapFootprint(this.host, r.mm, r.addr / 4096, Math.ceil(r.length / 4096));
    }
    return [GLOBAL];
  }

  /** The pfn of the device-private page the access would fault on, else 0. */
  #devicePrivate(rec: Op): number {
    const { mm, addr } = rec as { mm?: unknown; addr?: unknown };
    if (typeof mm !== "number" || typeof addr !== "number") return 0;
    let p: PageInfo | null;
    try {
      p = this.host.page(mm, addr - (addr % 4096));
    } catch {
      return 0; // no such mm: the op itself reports it
    }
    return p !== null && p.pte.devicePrivate && p.kind === "device-private" ? p.pfn : 0;
  }
}
