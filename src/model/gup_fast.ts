/**
 * GUP-fast for one page and fork's copy_page_range, each cut where the kernel lets
 * other CPUs in (the core's assembly/gup_fast.ts; src/races/gup-fast-steps.ts runs
 * them as steps):
 *   gupFastBegin: FOLL_PIN sets MMF_HAS_PINNED, reads mm->write_protect_seq (odd: fall
 *     back at once), local_irq_save (5.11+ mm/gup.c lockless_pages_from_mm, 6.x gup_fast);
 *   gupFastStep, four times: ptep_get_lockless and its checks (a PMD leaf: pmdp_get_lockless
 *     and gup_huge_pmd's checks, 6.1; gup_fast_pmd_leaf 6.10+; then steps 2 and 3 on the PMD); try_grab_folio
 *     (folio_try_get fails on a count of 0); the PTE re-check (put and bail when the
 *     PTE changed), local_irq_restore; read_seqcount_retry (unpin and bail), else the
 *     page is the caller's (gup_pte_range 5.11-6.5, gup_fast_pte_range 6.10+);
 *   fork_begin (forkBegun after the copy): raw_write_seqcount_begin (COW vmas only) and the copy
 *     without the parent's ptep_set_wrprotect; forkEnd: that write-protect and
 *     raw_write_seqcount_end.
 * With writeProtectSeq off (before 57efa1fe5957, 5.11) nothing reads the seqcount.
 * Walks are numbered from 1; a new walk takes the lowest finished slot (as the core).
 *
 * @example
 * ```ts
 * import { Model } from "./model.ts";
 * const m = Model.create({ scheme: "E4" });
 * const mm = m.mmNew();
 * const addr = m.mmap(mm, { length: 4096 });
 * m.write(mm, addr, 1);
 * const w = m.runDetailed([{ op: "gup_fast_begin", mm, addr, write: true, pin: true }])[0].result;
 * const r = [1, 2, 3, 4].map(() => m.runDetailed([{ op: "gup_fast_step", walk: w }])[0].result);
 * console.log(r, m.page(mm, addr)!.refcount); // [ 1, 1, 1, 1 ] 1025
 * ```
 */
import { FOLL_PIN, FOLL_WRITE, FOLL_LONGTERM, KIND_DEVICE_COHERENT, PTE_WRITE, FOLIO_NR } from "../../assembly/abi.ts";
import { grabHandle, gupPutFolio, tryGrabFolio } from "./gup.ts";
import type { Pte } from "./pgtable.ts";
import type { Mm } from "./mm.ts";
import type { Machine } from "./machine.ts";

const PHASE_PTE = 1; //    next: ptep_get_lockless
const PHASE_GRAB = 2; //   next: try_grab_folio
const PHASE_RECHECK = 3; // next: the PTE re-check
const PHASE_SEQ = 4; //    next: read_seqcount_retry
const PHASE_DONE = 0;

/** One GUP-fast walk in flight. */
export class Walk {
  phase = PHASE_PTE;
  /** The page step 1 read (a PMD leaf's subpage at the walk's address) and the entry's bits (a Pte object changes in place). */
  pfn = 0;
  bits = 0;
  /** Step 1 read a PMD leaf (gup_huge_pmd 6.1, gup_fast_pmd_leaf 6.10+): steps 2 and 3 are on the PMD. */
  pmd = false;
  /** References step 2 took. */
  refs = 0;
  constructor(readonly mm: number, readonly vpn: number, readonly flags: number, readonly seq: number) {}
  /** Between try_grab_folio and the end: it holds what it grabbed. */
  get holding(): number { return this.phase === PHASE_RECHECK || this.phase === PHASE_SEQ ? this.refs : 0; }
  /** The next step is the last (read_seqcount_retry), the one that makes a GUP handle. */
  get atLastStep(): boolean { return this.phase === PHASE_SEQ; }
}

/** The walks and the per-mm seqcount and fork state. */
export class GupFast {
  /** Walks by number; 0 means "fell back". */
  readonly walks: Array<Walk | undefined> = [undefined];
  /** mm->write_protect_seq by mm id (0 when absent). */
  readonly seq = new Map<number, number>();
  /** child mm id -> parent mm id, while a fork is between fork_begin and fork_end. */
  readonly forkParent = new Map<number, number>();
  /** fork_begin copies without write-protecting the parent's entries (read by fork.ts). */
  deferParentWp = false;
  constructor(readonly capacity: number) {}

  get slotsLeft(): number { return this.capacity - this.walks.filter((w) => w && w.phase !== PHASE_DONE).length; }
  live(w: number): Walk | undefined {
    const x = w > 0 && w < this.walks.length ? this.walks[w] : undefined;
    return x && x.phase !== PHASE_DONE ? x : undefined;
  }
  seqOf(mm: number): number { return this.seq.get(mm) ?? 0; }
  /** Some fork of parent is between fork_begin and fork_end: its mmap_lock is held for write. */
  forking(parent: number): boolean { return [...this.forkParent.values()].includes(parent); }
  /** A walk of mm is in flight: its task holds mm_users, so the mm cannot exit (gup_fast walks current->mm, mm/gup.c). */
  walking(mm: number): boolean { return this.walks.some((w) => w !== undefined && w.phase !== PHASE_DONE && w.mm === mm); }
}

/** The PTE a lockless walk sees at vpn: none under a PMD leaf. */
function lockless(mm: Mm, vpn: number): Pte | undefined {
  return mm.tables.hugeLeaf(vpn) ? undefined : mm.tables.get(vpn);
}

/**
 * Step 1 at a PMD leaf: pmdp_get_lockless and gup_huge_pmd's checks on that value (6.1;
 * gup_fast_pmd_leaf 6.10+): !pmd_present (a device-private or migration PMD entry) and
 * !pmd_access_permitted fall back, and so does the huge zero page's PMD (pmd_special in the
 * newest kernels; 6.1 would grab the huge zero folio, which refsim leaves to slow GUP).
 */
function pmdLeafRead(w: Walk, leaf: Pte): number {
  if (!leaf.present || leaf.special) return bail(w);
  if ((w.flags & FOLL_WRITE) !== 0 && !leaf.writable) return bail(w);
  w.pmd = true;
  w.pfn = leaf.pfn + (w.vpn & (FOLIO_NR - 1));
  w.bits = leaf.bits;
  w.phase = PHASE_GRAB;
  return 1;
}

/** gup_fast up to the walk: has_pinned, the seqcount read, local_irq_save. Returns the walk, or 0 (fall back). */
export function gupFastBegin(m: Machine, mm: Mm, vpn: number, flags: number): number {
  if ((flags & FOLL_PIN) !== 0) mm.pinned++; // mm_set_has_pinned_flag (MMF_HAS_PINNED; 5.9-5.x atomic_set(has_pinned)) before the walk
  let seq = 0;
  if ((flags & FOLL_PIN) !== 0 && m.rules.writeProtectSeq) {
    seq = m.gupFast.seqOf(mm.id); // raw_read_seqcount
    if ((seq & 1) !== 0) return 0; // a fork is write-protecting: gup_fast gives up before it starts
  }
  // the lowest finished slot, else a new one (the caller checked slotsLeft)
  const walks = m.gupFast.walks;
  let id = 1;
  while (id < walks.length && walks[id]!.phase !== PHASE_DONE) id++;
  walks[id] = new Walk(mm.id, vpn, flags, seq);
  return id;
}

/** The walk's next step: 1 when it goes on, the GUP handle when it is done, 0 when it bailed (fall back to slow GUP). */
export function gupFastStep(m: Machine, id: number): number {
  const w = m.gupFast.walks[id]!;
  const mm = m.mms.all[w.mm];
  if (w.phase === PHASE_PTE) {
    const leaf = mm.tables.hugeLeaf(w.vpn);
    if (leaf) return pmdLeafRead(w, leaf);
    // ptep_get_lockless: no PTL
    const pte = lockless(mm, w.vpn);
    // pte_present, pte_access_permitted(pte, FOLL_WRITE), !pte_special (zero page, devmap)
    if (!pte || !pte.present || pte.special) return bail(w);
    if ((w.flags & FOLL_WRITE) !== 0 && !pte.writable) return bail(w);
    // gup_fast_folio_allowed / folio_is_longterm_pinnable: a coherent page is migrated by slow GUP
    if ((w.flags & FOLL_LONGTERM) !== 0 && m.frames.all[pte.pfn].kind === KIND_DEVICE_COHERENT) return bail(w);
    w.pfn = pte.pfn;
    w.bits = pte.bits;
    w.phase = PHASE_GRAB;
    return 1;
  }
  if (w.phase === PHASE_GRAB) {
    // try_grab_folio(_fast): folio_try_get (folio_ref_try_add), which never raises a count of 0;
    // for a PMD leaf the subpage with the refs of the one page in range (gup_huge_pmd 6.1, gup_fast_pmd_leaf 6.10+)
    const page = m.frames.all[w.pfn];
    if (!page.allocated || m.frames.folioOf(page).refcount === 0) return bail(w);
    const refs = tryGrabFolio(m, w.mm, w.vpn, page, w.flags); // 0: a p2pdma page without FOLL_PCI_P2PDMA (6.2+), NULL
    if (refs === 0) return bail(w);
    w.refs = refs;
    w.phase = PHASE_RECHECK;
    return 1;
  }
  if (w.phase === PHASE_RECHECK && w.pmd) {
    // pmd_val(orig) != pmd_val(*pmdp): zapped, split, write-protected or replaced meanwhile (gup_huge_pmd 6.1, gup_fast_pmd_leaf 6.10+)
    const now = mm.tables.hugeLeaf(w.vpn);
    if (!now || now.pfn + (w.vpn & (FOLIO_NR - 1)) !== w.pfn || now.bits !== w.bits) return putBack(m, w);
    // !pmd_write && gup_must_unshare: a R/O pin of a shared anon THP needs slow GUP's unshare (the THP's AnonExclusive is its head's)
    const head = m.frames.folioOf(m.frames.all[w.pfn]);
    if ((w.bits & PTE_WRITE) === 0 && (w.flags & FOLL_PIN) !== 0 && m.rules.anonExclusive && head.anon && !head.anonExclusive) return putBack(m, w);
    w.phase = PHASE_SEQ; // local_irq_restore
    return 1;
  }
  if (w.phase === PHASE_RECHECK) {
    // pte_val(pte) != pte_val(ptep_get(ptep)): zapped, write-protected or replaced meanwhile
    const now = lockless(mm, w.vpn);
    if (!now || now.pfn !== w.pfn || now.bits !== w.bits) return putBack(m, w);
    // !pte_write && gup_must_unshare (5.19+): a R/O pin of a shared anon page needs slow GUP's unshare
    const page = m.frames.all[w.pfn];
    if ((w.bits & PTE_WRITE) === 0 && (w.flags & FOLL_PIN) !== 0 && m.rules.anonExclusive && page.anon && !page.anonExclusive) return putBack(m, w);
    w.phase = PHASE_SEQ; // local_irq_restore
    return 1;
  }
  // PHASE_SEQ: read_seqcount_retry (FOLL_PIN, 5.11+); the page is the caller's otherwise
  if ((w.flags & FOLL_PIN) !== 0 && m.rules.writeProtectSeq && m.gupFast.seqOf(w.mm) !== w.seq) return putBack(m, w);
  w.phase = PHASE_DONE;
  return grabHandle(m, mm, mm.findVma(w.vpn), w.vpn, m.frames.all[w.pfn], w.flags, w.refs); // MMF_HAS_PINNED was set at gup_fast_begin
}

/** The walk gave up before taking anything. */
function bail(w: Walk): number {
  w.phase = PHASE_DONE;
  return 0;
}

/** gup_put_folio / unpin_user_pages_lockless of what the walk took, and bail. */
function putBack(m: Machine, w: Walk): number {
  const page = m.frames.all[w.pfn];
  w.phase = PHASE_DONE;
  gupPutFolio(m, page, w.refs, w.flags, w.mm, w.vpn);
  return 0;
}

/**
 * copy_page_range of one COW vma (fork.ts): raw_write_seqcount_begin/_end of mm->write_protect_seq,
 * only when is_cow_mapping (5.11+ 57efa1fe5957; 6.1 mm/memory.c copy_page_range). fork_begin leaves
 * it odd (its write-protect waits for fork_end), so later COW vmas add 2 and fork_end closes it.
 */
export function copyCowSeq(m: Machine, mm: Mm): void {
  if (!m.rules.writeProtectSeq) return;
  const s = m.gupFast.seqOf(mm.id);
  m.gupFast.seq.set(mm.id, s + (m.gupFast.deferParentWp && (s & 1) === 0 ? 1 : 2));
}

/** fork_begin's copy is done: the child remembers its parent (copyCowSeq left the seqcount odd if it had a COW vma). */
export function forkBegun(m: Machine, parent: Mm, child: Mm): void {
  m.gupFast.forkParent.set(child.id, parent.id);
}

/**
 * The rest of copy_present_pte / copy_nonpresent_pte for the parent: ptep_set_wrprotect
 * of every writable entry of a COW vma that the child now shares (same page), then
 * raw_write_seqcount_end. A page the child got a copy of (page_needs_cow_for_dma) keeps
 * its writable PTE; a THP was write-protected by copy_huge_pmd at once.
 */
export function forkEnd(m: Machine, child: Mm): void {
  const parent = m.mms.all[m.gupFast.forkParent.get(child.id)!];
  m.gupFast.forkParent.delete(child.id);
  for (const v of parent.vmas) {
    if (!v.cow) continue;
    for (const [vpn, pte] of parent.tables.entriesIn(v.start, v.end)) {
      if (parent.tables.hugeLeaf(vpn)) continue;
      if (!pte.writable || !(pte.present || pte.devicePrivate)) continue;
      const dst = child.tables.get(vpn);
      if (!dst || dst.pfn !== pte.pfn) continue;
      pte.bits &= ~PTE_WRITE;
    }
  }
  const s = m.gupFast.seqOf(parent.id);
  if ((s & 1) !== 0) m.gupFast.seq.set(parent.id, s + 1); // raw_write_seqcount_end (odd only with the rule)
}
