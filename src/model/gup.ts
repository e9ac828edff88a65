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
} from "../../assembly/abi.ts";
import { folioGet, folioPut } from "./refcount.ts";
import { handleFault, doWpPage } from "./fault.ts";
import { migratePageToRam } from "./migrate.ts";
import { hugeFault, HUGE_NONE } from "./thp.ts";
import type { Frame } from "./frames.ts";
import { isFilePage } from "./file.ts";
import type { Mm, Vma } from "./mm.ts";
import type { Machine } from "./machine.ts";
import { kfail } from "./errno.ts";
import { Pin } from "./pins.ts";

/**
 * check_vma_flags (mm/gup.c 6.x, called by __get_user_pages for each VMA before any
 * fault): may this GUP use the VMA at all? 0, or the errno. (refsim has no FOLL_FORCE.)
 */
export function checkVmaFlags(m: Machine, v: Vma, flags: number): number {
  // 5.13+ (before: check_dax_vmas after the pin, the same errno): no longterm pin of fsdax
  if ((flags & FOLL_LONGTERM) !== 0 && vmaIsFsdax(m, v)) return EOPNOTSUPP;
  // FOLL_WRITE needs VM_WRITE, a read needs VM_READ
  if ((v.flags & ((flags & FOLL_WRITE) !== 0 ? VM_WRITE : VM_READ)) === 0) return EFAULT;
  return 0;
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
 * __get_user_pages for one page: fault it in (a write fault for FOLL_WRITE or an
 * anon vma), unshare a shared anon page before FOLL_PIN (5.19+), migrate a
 * coherent page to RAM before FOLL_LONGTERM (check_and_migrate_movable_pages),
 * then try_grab_folio. Returns the handle, 0 if the page could not be taken.
 */
export function gup(m: Machine, mm: Mm, v: Vma, vpn: number, flags: number): number {
  // follow_pmd_mask: a PMD mapping (or a THP fault) pins the subpage of the THP;
  // the zero page gets a real one, as a pin must have one.
  if (!mm.tables.get(vpn)) {
    const huge = hugeFault(m, mm, v, vpn, (flags & FOLL_WRITE) !== 0 || v.anon, (flags & FOLL_PIN) !== 0);
    if (huge !== HUGE_NONE && huge !== 0) return grab(m, mm, v, vpn, m.frames.all[huge], flags);
  }
  // faultin_page: a write fault for FOLL_WRITE; an unpopulated (or zero-page) anon
  // address also gets a real page, as the pin must have one.
  const cur = mm.tables.ensureTable(m.tablePool, vpn).entries.get(vpn);
  const noPage = !cur || (cur.present && cur.special && cur.pfn === 0);
  const pte = handleFault(m, mm, v, vpn, (flags & FOLL_WRITE) !== 0 || (v.anon && noPage));
  if (!pte.present) return refuse(m); // migrate_to_ram failed: no page to take
  let page = m.frames.all[pte.pfn];
  if (!pte.special && (flags & FOLL_PIN) !== 0 && m.rules.anonExclusive && page.anon && !page.anonExclusive) {
    doWpPage(m, mm, v, vpn, pte, pte.writable); // FAULT_FLAG_UNSHARE
    page = m.frames.all[pte.pfn];
  }
  if ((flags & FOLL_LONGTERM) !== 0 && !pte.special && page.kind === KIND_DEVICE_COHERENT) {
    if (!migratePageToRam(m, page, 0, mm.id, vpn)) return refuse(m, EBUSY); // migrate_longterm_unpinnable_folios (6.0+): migrate_device_coherent_folio failed
    page = m.frames.all[pte.pfn];
  }
  if (page.pfn === 0 || !page.allocated) return refuse(m);
  if (page.kind === KIND_P2PDMA && (flags & FOLL_PCI_P2PDMA) === 0) return refuse(m, EREMOTEIO); // try_grab_folio (6.2+): needs FOLL_PCI_P2PDMA
  return grab(m, mm, v, vpn, page, flags);
}

/** try_grab_folio and a handle: FOLL_GET +1; FOLL_PIN +bias on a small folio, +1 and _pincount +1 on a large one. */
function grab(m: Machine, mm: Mm, v: Vma, vpn: number, page: Frame, flags: number): number {
  const folio = m.frames.folioOf(page);
  if (folio.refcount === 0) return refuse(m, ENOMEM); // try_grab_folio (6.x): WARN and -ENOMEM on a count-0 folio
  const refs = (flags & FOLL_PIN) !== 0 && !page.large ? m.rules.pinBias : 1;
  folioGet(m, page, refs, mm.id, vpn); // try_grab_folio
  if ((flags & FOLL_PIN) !== 0 && page.large) folio.pincount++;
  // Remember what the pinner meant: a file block, or an address of its own.
  const filePage = isFilePage(m, page);
  const file = !filePage ? -1 : page.kind === KIND_SYSTEM ? v.file : -page.owner - 1;
  const pin = new Pin(page.pfn, refs, mm.id, flags, file, filePage ? page.index : vpn);
  const pins = m.pins;
  let h = pins.free.pop();
  if (h === undefined) {
    h = pins.handles.length;
    pins.handles.push(pin);
  } else {
    pins.handles[h] = pin;
  }
  if ((flags & FOLL_PIN) !== 0) mm.pinned++; // MMF_HAS_PINNED
  m.counters.pins++;
  return h;
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
  // gup_put_folio: a large folio's _pincount (a split needs no pins, so it is still large)
  if ((pin.flags & FOLL_PIN) !== 0 && page.large) m.frames.folioOf(page).pincount--;
  page.lastOp = m.log.currentOp;
  folioPut(m, page, refs, pin.mm, -1); // gup_put_folio: folio_put_refs of 1 or the pin bias
}
