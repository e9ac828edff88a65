/**
 * GUP-fast and fork as steps, cut where the kernel lets other CPUs in. A thread's
 * `gup` op with `fast: true` (pin_user_pages_fast / get_user_pages_fast) runs as
 *   1. gup_fast_begin: MMF_HAS_PINNED, raw_read_seqcount(&mm->write_protect_seq)
 *      (odd: fall back at once), local_irq_save;
 *   2. the lockless PTE read (ptep_get_lockless) and the checks on that value;
 *   3. try_grab_folio: folio_try_get, refused on a count of 0;
 *   4. the re-check pte_val(pte) == pte_val(ptep_get(ptep)) (else gup_put_folio and
 *      fall back), local_irq_restore;
 *   5. read_seqcount_retry(&mm->write_protect_seq) (else unpin and fall back): the
 *      page is pinned;
 * and when it falls back, 6. slow GUP (get_user_pages_unlocked under mmap_read_lock)
 * as one step. Nothing in 1-5 takes a lock, so every other CPU can run between any
 * two of them. A thread's `fork` op runs as
 *   1. fork_begin: dup_mmap -> copy_page_range with raw_write_seqcount_begin, each
 *      PTE's page_needs_cow_for_dma check, reference and rmap, and the child's entry;
 *   2. fork_end: the parent's ptep_set_wrprotect, raw_write_seqcount_end.
 * The cut is inside copy_present_pte, which runs under both page-table locks: only
 * lockless walkers (GUP-fast) get in there, so a fork holds the parent's mmap_lock
 * for write from step 1 to step 2 and every other op on the parent waits (is not
 * enabled) until it ends. For a range of many pages every check comes before every
 * write-protect: each page's window in the kernel lies inside that one.
 *
 * The steps are engine ops (OP_GUP_FAST_BEGIN/STEP, OP_FORK_BEGIN/END, in the core
 * and the model alike), not TS code over engine state: the seqcount, the walk's
 * grabbed references and the deferred write-protect are kernel state the quiesce
 * check, the differential tests and saveState must see.
 *
 * Versions, mm/gup.c and mm/memory.c: 5.10 has no write_protect_seq (has_pinned and
 * copy_present_page's page_maybe_dma_pinned only); 5.11 adds it
 * (57efa1fe5957, lockless_pages_from_mm); 6.10 renames gup_pte_range to
 * gup_fast_pte_range and lockless_pages_from_mm to gup_fast; the scheme rule
 * writeProtectSeq says which.
 *
 * @example
 * ```ts
 * import { cutByGupFast } from "./gup-fast-steps.ts";
 * console.log(cutByGupFast({ op: "gup", fast: true } as never), cutByGupFast({ op: "fork" } as never), cutByGupFast({ op: "gup" } as never)); // true true false
 * ```
 */
import type { Op } from "../core/ops.ts";
import type { OpOutcome } from "../core/errno.ts";
import type { OpStep } from "../scenario/types.ts";
import { GLOBAL, type Footprint } from "./target.ts";
import { read, write, mappedPages, plainPage } from "./footprints.ts";
import type { Host } from "./kernel-steps.ts";

/** A thread's place inside a cut GUP-fast or fork (all 0 outside one). */
export interface CutState {
  /** The GUP-fast walk in flight, -1 once it fell back to slow GUP. */
  walk: number;
  /** The walk's next step, 1-4 (0: gup_fast_begin next). */
  phase: number;
  /** The child of a fork between fork_begin and fork_end. */
  child: number;
  /** Its parent (the mm whose mmap_lock the fork holds), and the page the walk read. */
  parent: number;
  pfn: number;
}

export const noCut = (): CutState => ({ walk: 0, phase: 0, child: 0, parent: 0, pfn: 0 });

/** The runner's services a cut step uses. */
export interface CutHost {
  readonly host: Host;
  record(op: OpStep): Op;
  run(rec: Op): OpOutcome;
}

export interface CutResult {
  label: string;
  opDone: boolean;
  outcome?: OpOutcome;
  footprint: Footprint;
}

/** Ops this file cuts into steps. */
export function cutByGupFast(op: OpStep): boolean {
  return (op.op === "gup" && (op as { fast?: unknown }).fast === true) || op.op === "fork";
}

const BEGIN_SEQ = "gup_fast: mm_set_has_pinned_flag, raw_read_seqcount(&mm->write_protect_seq) even, local_irq_save (5.11+ mm/gup.c lockless_pages_from_mm; 6.10 gup_fast)";
const BEGIN_NOSEQ = "internal_get_user_pages_fast: atomic_set(&mm->has_pinned, 1), local_irq_save (5.10 mm/gup.c: no write_protect_seq)";
const BEGIN_ODD = "gup_fast: write_protect_seq is odd (a fork is write-protecting): return 0, fall back to slow GUP (5.11+ mm/gup.c)";
const PHASE: Record<number, [string, string]> = {
  1: ["gup_pte_range: pte = ptep_get_lockless(ptep), pte_access_permitted, !pte_special (5.10-6.9 mm/gup.c; gup_fast_pte_range 6.10+)",
    "gup_pte_range: the lockless PTE is not present, writable or normal: goto pte_unmap, fall back (mm/gup.c)"],
  2: ["try_grab_folio: folio_try_get (folio_ref_try_add) on a live folio (try_grab_compound_head 5.10-5.19, try_grab_folio 6.0, try_grab_folio_fast 6.10 mm/gup.c)",
    "try_grab_folio: folio_try_get refused a folio whose count is 0: fall back (mm/gup.c)"],
  3: ["gup_pte_range: pte_val(pte) == pte_val(ptep_get(ptep)), local_irq_restore (5.10+ mm/gup.c)",
    "gup_pte_range: pte_val(pte) != pte_val(ptep_get(ptep)): gup_put_folio, fall back (5.10+ mm/gup.c)"],
};
const DONE_SEQ = "lockless_pages_from_mm: read_seqcount_retry(&mm->write_protect_seq) unchanged: the page is pinned (5.11+ mm/gup.c)";
const DONE_NOSEQ = "internal_get_user_pages_fast: the page is pinned (5.10 mm/gup.c: nothing to retry)";
const RETRY = "lockless_pages_from_mm: read_seqcount_retry: a fork ran meanwhile, unpin_user_pages, fall back (5.11+ mm/gup.c)";
const SLOW = "__gup_longterm_unlocked -> get_user_pages_unlocked: slow GUP under mmap_read_lock, one step (mm/gup.c)";
const FORK_BEGIN_SEQ = "copy_page_range: raw_write_seqcount_begin(&src_mm->write_protect_seq) if is_cow_mapping; copy_present_pte: page_needs_cow_for_dma, get, rmap dup, the child's PTE; not yet ptep_set_wrprotect (5.11+ mm/memory.c)";
const FORK_BEGIN_NOSEQ = "copy_present_pte: copy_present_page's page_maybe_dma_pinned check, get_page, page_dup_rmap, the child's PTE; not yet ptep_set_wrprotect (5.10 mm/memory.c)";
const FORK_END_SEQ = "copy_present_pte: ptep_set_wrprotect(src_mm, addr, src_pte); copy_page_range: raw_write_seqcount_end (5.11+ mm/memory.c)";
const FORK_END_NOSEQ = "copy_present_pte: ptep_set_wrprotect(src_mm, addr, src_pte) (5.10 mm/memory.c)";

/** One step of a cut op (cutByGupFast(op)); the caller binds `as` and moves on when opDone. */
export function cutStep(h: CutHost, op: OpStep, st: CutState): CutResult {
  const rec = h.record(op) as unknown as { mm: number; addr: number; write?: boolean; pin?: boolean; longterm?: boolean; p2pdma?: boolean };
  const seq = h.host.scheme.rules.writeProtectSeq;
  if (op.op === "fork") return forkStep(h, rec.mm, st, seq);
  const vpn = Math.floor(rec.addr / 4096);
  const pte = `pte:${rec.mm}:${vpn}`;
  if (st.walk < 0) {
    // the fallback: one whole op, whatever it touches
    const outcome = h.run(rec as unknown as Op);
    Object.assign(st, noCut());
    return { label: SLOW, opDone: true, outcome, footprint: [GLOBAL] };
  }
  if (st.walk === 0) {
    const o = h.run({ op: "gup_fast_begin", mm: rec.mm, addr: rec.addr, write: rec.write, pin: rec.pin, longterm: rec.longterm, p2pdma: rec.p2pdma } as Op);
    const fp = [write(`pinned:${rec.mm}`), read(`seq:${rec.mm}`)];
    if (o.result === 0) { st.walk = -1; return { label: BEGIN_ODD, opDone: false, footprint: fp }; }
    st.walk = o.result;
    st.phase = 1;
    return { label: seq && rec.pin ? BEGIN_SEQ : BEGIN_NOSEQ, opDone: false, footprint: fp };
  }
  const phase = st.phase;
  const o = h.run({ op: "gup_fast_step", walk: st.walk } as Op);
  let fp: Footprint;
  if (phase === 1) {
    fp = [read(pte)];
    const p = plainPage(h.host, rec.mm, vpn);
    st.pfn = p !== null && p !== "none" ? p.pfn : -1; // the page the PTE read names (a THP or device page: GLOBAL below)
  } else if (phase === 2 || phase === 3) {
    fp = st.pfn < 0 ? [GLOBAL] : phase === 2 ? [write(`folio:${st.pfn}`)] : [read(pte), write(`folio:${st.pfn}`)];
  } else {
    fp = st.pfn < 0 ? [GLOBAL] : [read(`seq:${rec.mm}`), write(`folio:${st.pfn}`), write("pins"), read(`vmas:${rec.mm}`)];
  }
  if (o.result === 0) {
    st.walk = -1;
    st.phase = 0;
    return { label: phase === 4 ? RETRY : PHASE[phase][1], opDone: false, footprint: fp };
  }
  if (phase < 4) {
    st.phase++;
    return { label: PHASE[phase][0], opDone: false, footprint: fp };
  }
  Object.assign(st, noCut());
  return { label: seq && rec.pin ? DONE_SEQ : DONE_NOSEQ, opDone: true, outcome: o, footprint: fp };
}

function forkStep(h: CutHost, mm: number, st: CutState, seq: boolean): CutResult {
  if (st.child === 0) {
    const pages = mappedPages(h.host, mm);
    const o = h.run({ op: "fork_begin", mm } as Op);
    // reads every PTE (writes none), writes every folio, the seqcount, the mm table
    const fp = pages === null ? [GLOBAL]
      : [write(`seq:${mm}`), read(`pinned:${mm}`), read(`vmas:${mm}`), write("mms"), write("frames"), ...pages.flatMap(([v, pfn]) => [read(`pte:${mm}:${v}`), write(`folio:${pfn}`)])];
    if (o.errno || o.signal || o.result < 0) return { label: "fork: failed", opDone: true, outcome: o, footprint: [GLOBAL] };
    st.child = o.result;
    st.parent = mm;
    return { label: seq ? FORK_BEGIN_SEQ : FORK_BEGIN_NOSEQ, opDone: false, footprint: fp };
  }
  const pages = mappedPages(h.host, mm);
  const child = st.child;
  h.run({ op: "fork_end", child } as Op);
  const fp = pages === null ? [GLOBAL] : [write(`seq:${mm}`), ...pages.map(([v]) => write(`pte:${mm}:${v}`))];
  Object.assign(st, noCut());
  return { label: seq ? FORK_END_SEQ : FORK_END_NOSEQ, opDone: true, outcome: { result: child }, footprint: fp };
}

/** The mm whose mmap_lock a thread in the middle of a fork holds for write, else -1. */
export function forking(st: CutState): number {
  return st.child !== 0 ? st.parent : -1;
}

/** Thread's next step takes no lock another thread's fork could hold (GUP-fast's walk, the fork's own end). */
export function lockless(op: OpStep, st: CutState): boolean {
  if (st.child !== 0) return true;
  return op.op === "gup" && (op as { fast?: unknown }).fast === true && st.walk >= 0;
}
