/**
 * GUP: get_user_pages (FOLL_GET, +1) and pin_user_pages (FOLL_PIN,
 * +GUP_PIN_COUNTING_BIAS on a small folio), one page per call, each returning a
 * handle that is released with put_page / unpin_user_page. The handles and DMA
 * through a pin are the pinner's (pins.ts).
 *
 * @example
 * ```ts
 * import { Model } from "./model.ts";
 * const m = Model.create({ scheme: "E4" });
 * const mm = m.mmNew();
 * const addr = m.mmap(mm, { length: 4096 });
 * const h = m.gup(mm, addr, { write: true, pin: true });
 * console.log(h, m.page(mm, addr)!.refcount); // 1 1025
 * m.dmaWrite(h, 77);
 * m.unpin(h);
 * console.log(m.page(mm, addr)!.refcount, m.read(mm, addr)); // 1 77
 * ```
 */
import {
  FOLL_WRITE, FOLL_PIN, FOLL_LONGTERM, FOLL_PCI_P2PDMA, KIND_SYSTEM, KIND_DEVICE_COHERENT, KIND_FSDAX, KIND_P2PDMA, EBUSY, EOPNOTSUPP, EREMOTEIO, ENOMEM, EFAULT, VM_READ, VM_WRITE,
  VM_SHARED, MMU_NOTIFY_CLEAR,
} from "../../assembly/abi.ts";
import { folioGet, folioPut } from "./refcount.ts";
import { handleFault, doWpPage, takeFaultOom } from "./fault.ts";
import { migratePageToRam } from "./migrate.ts";
import { mmuNotifierInvalidate } from "./mmu_notifier.ts";
import { hugeFault, HUGE_NONE } from "./thp.ts";
import type { Frame } from "./frames.ts";
import { isFilePage } from "./file.ts";
import type { Mm, Vma } from "./mm.ts";
import type { Machine } from "./machine.ts";
import { kfail } from "./errno.ts";
import { Pin, PIN_NO_REF } from "./pins.ts";

/**
 * check_vma_flags (mm/gup.c 6.x, called by __get_user_pages for each VMA before any
 * fault): may this GUP use the VMA at all? 0, or the errno. (refsim has no FOLL_FORCE.)
 */
export function checkVmaFlags(m: Machine, v: Vma, flags: number): number {
  // 5.13+ (before: check_dax_vmas after the pin, the same errno): no longterm pin of fsdax
  if ((flags & FOLL_LONGTERM) !== 0 && vmaIsFsdax(m, v)) return EOPNOTSUPP;
  // 6.5+ (476c1dfefab8): writable_file_mapping_allowed refuses a longterm write pin that needs dirty tracking
  if ((flags & (FOLL_WRITE | FOLL_PIN | FOLL_LONGTERM)) === (FOLL_WRITE | FOLL_PIN | FOLL_LONGTERM)
      && m.rules.longtermFileWriteEfault && vmaNeedsDirtyTracking(m, v)) return EFAULT;
  // FOLL_WRITE needs VM_WRITE, a read needs VM_READ
  if ((v.flags & ((flags & FOLL_WRITE) !== 0 ? VM_WRITE : VM_READ)) === 0) return EFAULT;
  return 0;
}

/**
 * vma_needs_dirty_tracking (6.5+ mm/mmap.c, 6.12 mm/vma.c): a shared writable file
 * mapping whose file can write back (mapping_can_writeback). refsim's plain files are
 * a disk filesystem's; shmem, device-dax and p2pmem files have no writeback.
 */
function vmaNeedsDirtyTracking(m: Machine, v: Vma): boolean {
  if (v.file < 0 || (v.flags & (VM_SHARED | VM_WRITE)) !== (VM_SHARED | VM_WRITE)) return false;
  const f = m.files.all[v.file];
  return !f.shmem && f.driver < 0;
}

/** vma_is_fsdax: a file on a DAX filesystem (not device-dax, not p2pmem). */
function vmaIsFsdax(m: Machine, v: Vma): boolean {
  const d = v.file >= 0 ? m.files.all[v.file].driver : -1;
  return d >= 0 && m.devices.driver(d)!.kind === KIND_FSDAX;
}

/** GUP took no page: -errno where the kernel names one, else 0 pages (errno 0). */
export function refuse(m: Machine, errno = 0): number {
  m.counters.gupFailed++;
  return errno !== 0 ? kfail(m, errno) : 0;
}

/**
 * __get_user_pages for one page: fault it in (a write fault for FOLL_WRITE, a read
 * fault otherwise: untouched anonymous memory gets the shared zero page, or in a
 * THP vma the huge zero page), unshare what gup_must_unshare names before FOLL_PIN,
 * migrate a coherent page to RAM before FOLL_LONGTERM
 * (check_and_migrate_movable_pages), then try_grab_folio. Returns the handle, 0 if
 * the page could not be taken.
 */
export function gup(m: Machine, mm: Mm, v: Vma, vpn: number, flags: number): number {
  const write = (flags & FOLL_WRITE) !== 0;
  // gup_must_unshare for a page that is not anonymous (6.2+ mm/internal.h): only a
  // R/O FOLL_LONGTERM pin, and only in a COW mapping (is_cow_mapping: private).
  const unshareOther = (flags & (FOLL_PIN | FOLL_LONGTERM | FOLL_WRITE)) === (FOLL_PIN | FOLL_LONGTERM)
    && m.rules.longtermUnshareCow && (v.flags & VM_SHARED) === 0;
  // follow_pmd_mask -> follow_trans_huge_pmd: a PMD mapping (or a THP fault) is
  // returned as it is, the subpage of the THP or the huge zero page (no split).
  if (!mm.tables.get(vpn)) {
    const huge = hugeFault(m, mm, v, vpn, write, (flags & FOLL_PIN) !== 0, unshareOther);
    if (huge !== HUGE_NONE) return huge !== 0 ? grab(m, mm, v, vpn, m.frames.all[huge], flags) : grabZero(m, mm, vpn, flags, true);
  }
  // faultin_page: FAULT_FLAG_WRITE only for FOLL_WRITE (6.1 mm/gup.c)
  const pte = handleFault(m, mm, v, vpn, write);
  if (takeFaultOom(m)) return refuse(m, ENOMEM); // faultin_page: vm_fault_to_errno(VM_FAULT_OOM) (as the core)
  if (!pte.present) return refuse(m); // migrate_to_ram failed: no page to take
  let page = m.frames.all[pte.pfn];
  if (!pte.special && (flags & FOLL_PIN) !== 0 && m.rules.anonExclusive && page.anon && !page.anonExclusive) {
    doWpPage(m, mm, v, vpn, pte, pte.writable); // FAULT_FLAG_UNSHARE
    page = m.frames.all[pte.pfn];
  } else if (unshareOther && !pte.writable && (pte.special ? pte.pfn === 0 : !page.anon)) {
    // the zero page or a page-cache page: do_wp_page copies it into an exclusive anon page, left R/O
    doWpPage(m, mm, v, vpn, pte, false); // FAULT_FLAG_UNSHARE (84209e87c696, 6.2)
    page = m.frames.all[pte.pfn];
  }
  // follow_page_pte: vm_normal_page is NULL, but is_zero_pfn: the zero page is returned
  if (pte.special && pte.pfn === 0) return grabZero(m, mm, vpn, flags, false);
  if ((flags & FOLL_LONGTERM) !== 0 && !pte.special && page.kind === KIND_DEVICE_COHERENT) {
    // migrate_device_coherent_folio has no migrate_vma: try_to_migrate_one unmaps this mapping too, notifying CLEAR (6.x mm/rmap.c)
    mmuNotifierInvalidate(m, mm.id, vpn, vpn + 1, MMU_NOTIFY_CLEAR, -1);
    if (!migratePageToRam(m, page, 0, mm.id, vpn)) return refuse(m, EBUSY); // migrate_longterm_unpinnable_folios (6.0+): migrate_device_coherent_folio failed
    page = m.frames.all[pte.pfn];
  }
  if (page.pfn === 0 || !page.allocated) return refuse(m);
  return grab(m, mm, v, vpn, page, flags);
}

/**
 * try_grab_folio on the zero page. Frame 0 stands for the shared zero page and the
 * huge zero folio; its refcount is the GUP references on them (the kernel's own
 * base reference not counted), and it is never freed. FOLL_GET takes 1; FOLL_PIN
 * takes the bias only while pinZeroPage (6.5+ and 6.1.y: nothing, is_zero_page);
 * the huge zero folio is not is_zero_page, so a pin of it takes 1 (_pincount not kept).
 */
function grabZero(m: Machine, mm: Mm, vpn: number, flags: number, huge: boolean): number {
  const pin = (flags & FOLL_PIN) !== 0;
  const refs = !pin || huge ? 1 : m.rules.pinZeroPage ? m.rules.pinBias : 0;
  if (refs > 0) {
    m.frames.all[0].refcount += refs;
    m.counters.atomicRef++;
  }
  const h = newHandle(m, new Pin(0, refs > 0 ? refs : PIN_NO_REF, mm.id, flags, -1, vpn));
  if (pin) mm.pinned++; // MMF_HAS_PINNED
  m.counters.pins++;
  return h;
}

/** A handle number for pin: a released one first (last-in first-out). */
export function newHandle(m: Machine, pin: Pin): number {
  const pins = m.pins;
  let h = pins.free.pop();
  if (h === undefined) {
    h = pins.handles.length;
    pins.handles.push(pin);
  } else {
    pins.handles[h] = pin;
  }
  return h;
}

/** try_grab_folio and a handle: FOLL_GET +1; FOLL_PIN +bias on a small folio, +1 and _pincount +1 on a large one. */
function grab(m: Machine, mm: Mm, v: Vma, vpn: number, page: Frame, flags: number): number {
  const folio = m.frames.folioOf(page);
  if (folio.refcount === 0) return refuse(m, ENOMEM); // try_grab_folio (6.x): WARN and -ENOMEM on a count-0 folio
  const refs = tryGrabFolio(m, mm.id, vpn, page, flags);
  if (refs === 0) return refuse(m, EREMOTEIO); // try_grab_page (6.2+): -EREMOTEIO for a p2pdma page
  const h = grabHandle(m, mm, v, vpn, page, flags, refs);
  if ((flags & FOLL_PIN) !== 0) mm.pinned++; // MMF_HAS_PINNED
  return h;
}

/**
 * The handle for what try_grab_folio took (slow GUP's grab and GUP-fast's last step):
 * it remembers what the pinner meant, a file block or an address of its own (v: the
 * vma at vpn, undefined when none is left). The engine's grabHandle (assembly/gup.ts).
 */
export function grabHandle(m: Machine, mm: Mm, v: Vma | undefined, vpn: number, page: Frame, flags: number, refs: number): number {
  const filePage = isFilePage(m, page);
  const file = !filePage ? -1 : page.kind === KIND_SYSTEM ? (v ? v.file : -1) : -page.owner - 1;
  const h = newHandle(m, new Pin(page.pfn, refs, mm.id, flags, file, filePage ? page.index : vpn));
  m.counters.pins++;
  return h;
}

/**
 * try_grab_folio (mm/gup.c), shared by slow GUP's grab and GUP-fast's walk, on a page
 * whose count the caller found above 0: refuse a p2pdma page without FOLL_PCI_P2PDMA
 * (6.2+, 4003f107fa2e; no era gate, as the core), else take FOLL_GET +1, FOLL_PIN +bias
 * on a small folio, +1 and _pincount +1 on a large one. Returns the references taken,
 * 0 when it refused (nothing taken).
 */
export function tryGrabFolio(m: Machine, mm: number, vpn: number, page: Frame, flags: number): number {
  if (page.kind === KIND_P2PDMA && (flags & FOLL_PCI_P2PDMA) === 0) return 0;
  const refs = (flags & FOLL_PIN) !== 0 && !page.large ? m.rules.pinBias : 1;
  folioGet(m, page, refs, mm, vpn);
  if ((flags & FOLL_PIN) !== 0 && page.large) m.frames.folioOf(page).pincount++;
  return refs;
}

/** unpin_user_page / put_page for a live handle (gup_put_folio). */
export function unpin(m: Machine, h: number): void {
  const pin = m.pins.handles[h]!;
  const refs = pin.refs;
  pin.refs = 0;
  m.pins.free.push(h);
  // MMF_HAS_PINNED stays set once set: fork keeps copying maybe-pinned pages.
  m.counters.pins--;
  const page = m.frames.all[pin.pfn];
  if (page.pfn === 0) {
    // gup_put_folio on the zero page: what grabZero took (a 6.5+ pin took nothing)
    if (refs > 0) {
      page.refcount -= refs;
      m.counters.atomicRef++;
    }
    return;
  }
  page.lastOp = m.log.currentOp;
  gupPutFolio(m, page, refs, pin.flags, pin.mm, -1);
}

/**
 * gup_put_folio (mm/gup.c) of what try_grab_folio took, for unpin and GUP-fast's put-back:
 * a large folio's _pincount (a split needs no pins, so it is still large), then
 * folio_put_refs of 1 or the pin bias. The engine's gupPutFolio (assembly/gup.ts).
 */
export function gupPutFolio(m: Machine, page: Frame, refs: number, flags: number, mm: number, vpn: number): void {
  if ((flags & FOLL_PIN) !== 0 && page.large) m.frames.folioOf(page).pincount--;
  folioPut(m, page, refs, mm, vpn);
}
