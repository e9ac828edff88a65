// The ioctls of the test_hmm device file (dmirror_fops_unlocked_ioctl, lib/test_hmm.c,
// current mm tree). Every command starts with cmd.cpages = cmd.faults = 0 and
// returns -EINVAL for an empty range (cmd.addr >= cmd.addr + npages pages); only a
// command that returns 0 copies cmd back, so only then do cpages/faults change for
// the caller. The device reads and writes pages through its pt (mirror.ts) and
// faults missing entries in with hmm_range_fault (dmirror_fault), counting one
// fault per round (cmd->faults++).
import {
  ENOENT, EFAULT, EINVAL, EBUSY, EPERM, DPT_TAG_WRITE, DPT_TAG_NONE, DPT_TAG_ATOMIC, KIND_DEVICE_PRIVATE, KIND_DEVICE_COHERENT, V_UAF,
  V_LIVELOCK, ST_DMIRROR_FAULTS, ST_DEVICE_PAGES, HMM_PROT_ERROR, HMM_PROT_NONE, HMM_PROT_READ, HMM_PROT_WRITE,
  HMM_PROT_PMD, HMM_PROT_ZERO, HMM_PROT_DEV_PRIVATE_REMOTE, HMM_PROT_DEV_COHERENT_REMOTE, HMM_CHUNK, SNAPSHOT_MAX,
  HMM_PROT_DEV_PRIVATE_LOCAL, HMM_PROT_DEV_COHERENT_LOCAL, ENOMEM, VM_READ, HMM_DMIRROR_FLAG_FAIL_ALLOC, PT_ENTRIES, PTE_PRESENT, PTE_SPECIAL,
  PTE_DEVICE_PRIVATE, PTE_WRITE, MMU_NOTIFY_MIGRATE, ST_MIGRATE_FAIL, PTE_DEVICE_EXCLUSIVE, PG_ANON, FOLL_WRITE,
  EOPNOTSUPP, MMU_NOTIFY_EXCLUSIVE, SCHEME_DEVICE_FOLIOS, FOLIO_NR, VM_WRITE,
} from "./abi";
import { dmirrorKind, dmirrorOwner, dmirrorOfDriver, dmirrorAllocFolio, setPageMirror } from "./dmirror";
import { driverOf } from "./memremap";
import { fileDevice, filePages, fileRefusesMigrateVma } from "./file";
import { migrateOneToDevice, migratePageToRam, migrateBegin, migrateFinalize, setMigrateMirror, lastDst, lastSrcWrite, notifyHole } from "./migrate";
import { mmuNotifierInvalidate } from "./mmu_notifier";
import { exclusiveKeepsMapcount } from "./exclusive";
import { checkVmaFlags } from "./gup";
import {
  hugeFault, splitHugePmd, splitHugeForMigration, wholeThp, mapDeviceFolioPmd, devicePmdFault, splitDeviceFolio, pmdFaultMoved,
} from "./thp";
import { rule } from "./scheme";
import { bump } from "./stats";
import { setContent, isDevice, kindOf, ref, mapcount, hasFlag } from "./frames";
import { frameUsable, rmapRemove } from "./refcount";
import { mmValid, findVma, vmaEnd, vmaFlags, vmaFile, isAnon, fileIndex } from "./mm";
import { hugeLeaf, ptePtr, ptePfn, mkPte, pmdNone } from "./pgtable";
import { loadPage, storePage, handleFault, takeFaultOom } from "./fault";
import { violation } from "./violations";
import {
  mirrorMm, setMirrorResult, entryAt, setEntry, entryPfn, entryTag, ENTRY_NONE, mirrorFlags, setMirrorFlags,
  eraseEntry, mirrorDevice, anyAtomic,
} from "./mirror";
import {
  hmmRangeFault, hmmPfnAt, HMM_PFN_VALID, HMM_PFN_WRITE, HMM_PFN_ERROR, HMM_PFN_PMD, HMM_PFN_HUGE_ZERO, HMM_PFN_MASK,
} from "./hmm";

/** The bytes of the last HMM_DMIRROR_SNAPSHOT (one per page), for the host to read. */
export let snapshotBase: usize = 0;
export let snapshotLength: i32 = 0;

export function initDmirrorIoctl(): void {
  snapshotBase = heap.alloc(<usize>SNAPSHOT_MAX);
}

// bounce.cpages of the command being run
let copied: i32 = 0;

/** The pfn the CPU page tables of mm map at vpn (through a PTE, a PMD or a non-present entry), or -1. */
export function mappedPfn(mm: i32, vpn: u32): i64 {
  const leaf = hugeLeaf(mm, vpn);
  if (leaf != 0) {
    const head = ptePfn(leaf);
    return head == 0 ? 0 : <i64>(head + (vpn & 511));
  }
  const p = ptePtr(mm, vpn, false);
  if (p == 0 || load<u32>(p) == 0) return -1;
  return <i64>ptePfn(load<u32>(p));
}

/**
 * The device's memcpy_from_page through its pt entry: a freed frame is a
 * use-after-free (a notifier that should have cleared the entry did not), and
 * while the process still maps the page the data must be what it expects there.
 */
function deviceLoad(mm: i32, vpn: u32, pfn: u32): void {
  bump(ST_DEVICE_PAGES);
  if (pfn != 0 && !frameUsable(pfn)) {
    violation(V_UAF, pfn, mm, <i32>vpn, ref(pfn), mapcount(pfn), 15);
    return;
  }
  if (mappedPfn(mm, vpn) != <i64>pfn) return;
  const v = findVma(mm, vpn);
  if (v >= 0) loadPage(mm, v, vpn, ptePtr(mm, vpn, false), pfn);
}

/** The device's memcpy_to_page through a WRITE entry: the page changes, and so does what its process expects. */
function deviceStore(mm: i32, vpn: u32, pfn: u32, value: u32): void {
  bump(ST_DEVICE_PAGES);
  if (!frameUsable(pfn)) {
    violation(V_UAF, pfn, mm, <i32>vpn, ref(pfn), mapcount(pfn), 16);
    return;
  }
  const v = mappedPfn(mm, vpn) == <i64>pfn ? findVma(mm, vpn) : -1;
  if (v >= 0) storePage(mm, v, vpn, ptePtr(mm, vpn, false), pfn, value);
  else setContent(pfn, value);
}

/** dmirror_do_read over [start, end): -ENOENT at the first page without an entry. */
export function doRead(m: i32, start: u32, end: u32): i32 {
  const mm = mirrorMm(m);
  for (let vpn = start; vpn < end; vpn++) {
    const e = entryAt(m, vpn);
    if (e == ENTRY_NONE) return -ENOENT;
    deviceLoad(mm, vpn, entryPfn(e));
    copied++;
  }
  return 0;
}

/** dmirror_do_write over [start, end): -ENOENT at the first page without a WRITE entry. */
function doWrite(m: i32, base: u32, start: u32, end: u32, value: u32, step: u32): i32 {
  const mm = mirrorMm(m);
  for (let vpn = start; vpn < end; vpn++) {
    const e = entryAt(m, vpn);
    if (e == ENTRY_NONE || entryTag(e) != DPT_TAG_WRITE) return -ENOENT;
    deviceStore(mm, vpn, entryPfn(e), value + (vpn - base) * step);
    copied++;
  }
  return 0;
}

/**
 * dmirror_fault: hmm_range_fault over [start, end) in chunks of HMM_CHUNK pages,
 * each chunk's pages then entered in the pt (dmirror_do_fault: tagged WRITE where
 * the CPU entry is writable; a write that finds a read-only one is -EFAULT).
 */
function dmirrorFault(m: i32, start: u32, end: u32, write: bool): i32 {
  const mm = mirrorMm(m);
  for (let addr = start; addr < end; ) {
    const next = min<u32>(addr + <u32>HMM_CHUNK, end);
    const r = hmmRangeFault(mm, addr, next, true, write, mirrorDevice(m));
    if (r < 0) return r;
    for (let vpn = addr; vpn < next; vpn++) {
      const w = hmmPfnAt(<i32>(vpn - addr));
      if ((w & HMM_PFN_WRITE) == 0 && write) return -EFAULT; // WARN_ON(range->default_flags & HMM_PFN_WRITE)
      setEntry(m, vpn, w & HMM_PFN_MASK, (w & HMM_PFN_WRITE) != 0 ? DPT_TAG_WRITE : DPT_TAG_NONE);
    }
    addr = next;
  }
  return 0;
}

/**
 * HMM_DMIRROR_READ and HMM_DMIRROR_WRITE: copy through the pt, and each time a
 * page has no (WRITE) entry, fault the rest of the range in and go on. Returns
 * cpages, or -errno. On a mirror whose mm is gone, dmirror_fault returns 0 without
 * doing anything and the loop never ends: a livelock.
 */
export function dmirrorReadWrite(m: i32, vpn: u32, n: u32, write: bool, value: u32, step: u32): i32 {
  const mm = mirrorMm(m);
  const end = vpn + n;
  if (!mmValid(mm)) {
    violation(V_LIVELOCK, 0, mm, <i32>vpn, 0, 0, 17); // mmget_not_zero fails, cmd->faults++ forever
    return -EBUSY;
  }
  copied = 0;
  let faults = 0;
  let start = vpn;
  let r = 0;
  for (let round: u32 = 0; ; round++) {
    r = write ? doWrite(m, vpn, start, end, value, step) : doRead(m, start, end);
    if (r != -ENOENT) break;
    if (round > n + 1) { r = -EBUSY; break; } // entries keep vanishing: the kernel would retry forever
    start = vpn + <u32>copied;
    r = dmirrorFault(m, start, end, write);
    if (r < 0) break;
    faults++;
    bump(ST_DMIRROR_FAULTS);
  }
  if (r < 0) return r;
  setMirrorResult(m, copied, faults);
  return copied;
}

/**
 * dmirror_mkentry: the snapshot byte of one hmm pfn, as device dev sees it. A
 * device page is "local" when its chunk belongs to dev (dmirror_page_to_device),
 * else "remote"; hmm_range_fault never reports another device's private page
 * (the owner filter), so a remote private page shows only through a fault.
 */
export function mkentry(w: u32, dev: i32): u8 {
  if ((w & HMM_PFN_ERROR) != 0) return <u8>HMM_PROT_ERROR;
  if ((w & HMM_PFN_VALID) == 0) return <u8>HMM_PROT_NONE;
  const pfn = w & HMM_PFN_MASK;
  let perm: u32 = HMM_PROT_NONE;
  if ((w & HMM_PFN_HUGE_ZERO) != 0) {
    perm = HMM_PROT_NONE; // the huge zero folio is not is_zero_pfn()
  } else if (isDevice(pfn) && kindOf(pfn) == KIND_DEVICE_PRIVATE) {
    perm = dmirrorOfDriver(driverOf(pfn)) == dev ? HMM_PROT_DEV_PRIVATE_LOCAL : HMM_PROT_DEV_PRIVATE_REMOTE;
  } else if (isDevice(pfn) && kindOf(pfn) == KIND_DEVICE_COHERENT) {
    perm = dmirrorOfDriver(driverOf(pfn)) == dev ? HMM_PROT_DEV_COHERENT_LOCAL : HMM_PROT_DEV_COHERENT_REMOTE;
  } else if (pfn == 0) {
    perm = HMM_PROT_ZERO;
  }
  perm |= (w & HMM_PFN_WRITE) != 0 ? HMM_PROT_WRITE : HMM_PROT_READ;
  if ((w & HMM_PFN_PMD) != 0) perm |= HMM_PROT_PMD;
  return <u8>perm;
}

/**
 * HMM_DMIRROR_SNAPSHOT: hmm_range_fault without faulting, HMM_CHUNK pages at a
 * time, one dmirror_mkentry byte per page into the snapshot buffer.
 */
export function dmirrorSnapshot(m: i32, vpn: u32, n: u32): i32 {
  const mm = mirrorMm(m);
  if (!mmValid(mm)) return -EINVAL; // mmget_not_zero
  const end = vpn + n;
  for (let addr = vpn; addr < end; ) {
    const next = min<u32>(addr + <u32>HMM_CHUNK, end);
    const r = hmmRangeFault(mm, addr, next, false, false, mirrorDevice(m));
    if (r < 0) return r;
    for (let p = addr; p < next; p++) store<u8>(snapshotBase + <usize>(p - vpn), mkentry(hmmPfnAt(<i32>(p - addr)), mirrorDevice(m)));
    addr = next;
  }
  snapshotLength = <i32>n;
  setMirrorResult(m, <i32>n, 0);
  return <i32>n;
}

/** migrate_vma_setup's VMA test: DAX and VM_SPECIAL (VM_MIXEDMAP: p2pmem, a test_hmm mapping) VMAs are refused (hugetlb is not modelled). */
function migrateRefused(v: i32): bool {
  return fileRefusesMigrateVma(vmaFile(v));
}

/**
 * The end of the next migrate_vma piece from addr (dmirror_migrate_to_device /
 * _to_system): at most PTRS_PER_PTE pages, not past the VMA; 0 when vma_lookup
 * finds none, the VMA lacks VM_READ, or migrate_vma_setup refuses it (-EINVAL).
 */
function pieceEnd(mm: i32, addr: u32, end: u32): u32 {
  const v = findVma(mm, addr);
  if (v < 0 || (vmaFlags(v) & VM_READ) == 0 || migrateRefused(v)) return 0;
  return min<u32>(min<u32>(end, addr + <u32>PT_ENTRIES), vmaEnd(v));
}

/**
 * HMM_DMIRROR_MIGRATE_TO_DEV (dmirror_migrate_to_device, current mm tree; 6.1 the
 * same loop): piece by piece, migrate_vma_setup with MIGRATE_VMA_SELECT_SYSTEM and
 * the device as pgmap_owner (its own mirrors skip the MIGRATE notification),
 * dmirror_migrate_alloc_and_copy (a device page per selected source; FAIL_ALLOC
 * fails one), migrate_vma_pages, dmirror_migrate_finalize_and_map (a pt entry per
 * migrated page, WRITE if the source PTE was writable), migrate_vma_finalize. Then
 * dmirror_do_read over the whole range: -ENOENT if some page has no pt entry (not
 * migrated and not mirrored before); else cpages. E5 adds MIGRATE_VMA_SELECT_COMPOUND
 * for either kind (migrateCompound: a device-coherent device never has a large folio, so its blocks fall back
 * to small pages, a THP split, after FAIL_ALLOC was spent on the large allocation); before E5 a THP is split first.
 */
export function dmirrorMigrateToDev(m: i32, vpn: u32, n: u32): i32 {
  const mm = mirrorMm(m);
  if (!mmValid(mm)) return -EINVAL; // mmget_not_zero
  const owner = dmirrorOwner(mirrorDevice(m));
  const end = vpn + n;
  for (let addr = vpn; addr < end; ) {
    const next = pieceEnd(mm, addr, end);
    if (next == 0) return -EINVAL;
    migrateBegin(mm, addr, next, owner);
    setMigrateMirror(m);
    if (rule(SCHEME_DEVICE_FOLIOS) != 0) migrateCompound(m, mm, addr, next); // either kind: SELECT_COMPOUND is the driver's, not the kind's
    splitHugeForMigration(mm, addr, next); // migrate_vma_collect_pmd: split_folio, or skip
    for (let p = addr; p < next; p++) {
      const leaf = hugeLeaf(mm, p);
      if (leaf != 0) { // a THP that could not be split stays
        if ((leaf & PTE_PRESENT) != 0) bump(ST_MIGRATE_FAIL);
        continue;
      }
      if (migrateOneToDevice(mm, p, -1, 0)) setEntry(m, p, lastDst, lastSrcWrite ? DPT_TAG_WRITE : DPT_TAG_NONE);
    }
    setMigrateMirror(-1);
    migrateFinalize();
    addr = next;
  }
  copied = 0;
  const r = doRead(m, vpn, end); // "Return the migrated data for verification"
  if (r < 0) return r;
  setMirrorResult(m, copied, 0);
  return copied;
}

/**
 * E5 (6.19 lib/test_hmm.c and mm/migrate_device.c, the device-private THP series)
 * for every PMD-aligned block wholly in [start, end): migrate_vma_collect_hole
 * (pmd_none in an anonymous VMA, or the huge zero page) and
 * migrate_vma_collect_huge_pmd (a THP only its PMD maps and nothing else holds)
 * select it as one MIGRATE_PFN_COMPOUND entry; dmirror_migrate_alloc_and_copy asks
 * for a large device folio (dmirror_devmem_alloc_page(is_large)), and the block
 * becomes a device-private PMD with 512 pt entries (dmirror_migrate_finalize_and_map:
 * WRITE when the source PMD was writable; a hole is never). With FAIL_ALLOC (one-shot)
 * or no large folio free, the driver falls back to 512 small pages: the block is
 * left to the per-page path, which splits a THP (migrate_vma_split_pages) or the
 * huge zero PMD (migrate_vma_insert_page) and allocates page by page.
 * A THP with other holders is refsim's split path as before (the kernel would
 * migrate a THP shared with another process whole, all its PMDs).
 */
function migrateCompound(m: i32, mm: i32, start: u32, end: u32): void {
  const dev = mirrorDevice(m);
  for (let blk = (start + <u32>FOLIO_NR - 1) & ~(<u32>FOLIO_NR - 1); blk + <u32>FOLIO_NR <= end; blk += FOLIO_NR) {
    const v = findVma(mm, blk);
    const leaf = hugeLeaf(mm, blk);
    const src = ptePfn(leaf);
    if (leaf == 0) {
      if (!pmdNone(mm, blk) || !isAnon(v)) continue; // a pte table: holes page by page; file memory is not populated
    } else if ((leaf & PTE_PRESENT) == 0 || (src != 0 && !wholeThp(src))) {
      continue; // a device-private PMD is not system memory; a held THP takes the split path
    }
    const f = mirrorFlags(m);
    if ((f & HMM_DMIRROR_FLAG_FAIL_ALLOC) != 0) {
      setMirrorFlags(m, f & ~HMM_DMIRROR_FLAG_FAIL_ALLOC); // the large allocation fails once: order 0 from here
      continue;
    }
    const dst = dmirrorAllocFolio(dev);
    if (dst == 0) continue;
    if (src == 0) notifyHole(mm, blk); // __migrate_device_pages: a hole's range notification
    const write = src != 0 && (leaf & PTE_WRITE) != 0; // MIGRATE_PFN_WRITE from pmd_write
    mapDeviceFolioPmd(mm, v, blk, src, dst, src != 0 ? write : (vmaFlags(v) & VM_WRITE) != 0);
    for (let i: u32 = 0; i < <u32>FOLIO_NR; i++) {
      setPageMirror(dst + i, m); // rpage->zone_device_data = dmirror
      setEntry(m, blk + i, dst + i, write ? DPT_TAG_WRITE : DPT_TAG_NONE);
    }
  }
}

/**
 * MIGRATE_TO_SYS of the device's own device-private PMDs in [start, end) (E5,
 * MIGRATE_VMA_SELECT_COMPOUND): a block wholly in the range moves whole through
 * dmirror_devmem_fault_alloc_and_copy (devicePmdFault: a THP, or 512 small pages with
 * FAIL_ALLOC, cleared, or no THP free), counting as dmirror_successful_migrated_pages
 * does: one src entry for the whole folio, one per page after a split. A block the
 * range only partly covers is split (the folio's fallback split_folio) and left to
 * the per-page path.
 */
function devicePmdsToSys(m: i32, mm: i32, start: u32, end: u32): i32 {
  const dev = mirrorDevice(m);
  let moved = 0;
  for (let b = start & ~(<u32>FOLIO_NR - 1); b < end; b += FOLIO_NR) {
    const leaf = hugeLeaf(mm, b);
    if (leaf == 0 || (leaf & PTE_DEVICE_PRIVATE) == 0 || !ownPage(leaf, dev)) continue;
    const head = ptePfn(leaf);
    if (b < start || b + <u32>FOLIO_NR > end) {
      splitDeviceFolio(head, 0, 0);
      continue;
    }
    const f = mirrorFlags(m);
    if ((f & HMM_DMIRROR_FLAG_FAIL_ALLOC) != 0) setMirrorFlags(m, f & ~HMM_DMIRROR_FLAG_FAIL_ALLOC);
    moved += devicePmdFault(mm, b, head, (f & HMM_DMIRROR_FLAG_FAIL_ALLOC) != 0) ? 1 : pmdFaultMoved;
  }
  return moved;
}

/** Is the entry pte a page of device dev's kind and chunks (migrate_vma_collect_pmd with SELECT_DEVICE_* and pgmap_owner)? */
function ownPage(pte: u32, dev: i32): bool {
  const pfn = ptePfn(pte);
  if (dmirrorKind(dev) == KIND_DEVICE_PRIVATE) {
    if ((pte & PTE_DEVICE_PRIVATE) == 0) return false;
  } else if ((pte & (PTE_PRESENT | PTE_SPECIAL)) != PTE_PRESENT || !isDevice(pfn) || kindOf(pfn) != KIND_DEVICE_COHERENT) {
    return false; // vm_normal_page skips a devmap PTE
  }
  return dmirrorOfDriver(driverOf(pfn)) == dev;
}

/**
 * HMM_DMIRROR_MIGRATE_TO_SYS (dmirror_migrate_to_system, current mm tree): piece by
 * piece, migrate_vma_setup selecting the device's own pages of its kind, then
 * dmirror_devmem_fault_alloc_and_copy: a system page per selected page and its pt
 * entry erased; with FAIL_ALLOC the first selected page gets none, the piece is
 * finalized untouched and the ioctl fails with -ENOMEM (VM_FAULT_OOM). cpages:
 * the pages migrate_vma_pages moved (dmirror_successful_migrated_pages).
 */
export function dmirrorMigrateToSys(m: i32, vpn: u32, n: u32): i32 {
  const mm = mirrorMm(m);
  if (!mmValid(mm)) return -EINVAL; // mmget_not_zero
  const dev = mirrorDevice(m);
  const end = vpn + n;
  let cpages = 0;
  for (let addr = vpn; addr < end; ) {
    const next = pieceEnd(mm, addr, end);
    if (next == 0) return -EINVAL;
    mmuNotifierInvalidate(mm, addr, next, MMU_NOTIFY_MIGRATE, dmirrorOwner(dev)); // migrate_vma_collect
    cpages += devicePmdsToSys(m, mm, addr, next);
    for (let p = addr; p < next; p++) {
      const at = ptePtr(mm, p, false);
      const pte = at == 0 ? 0 : load<u32>(at);
      if (pte == 0 || !ownPage(pte, dev)) continue;
      const f = mirrorFlags(m);
      if ((f & HMM_DMIRROR_FLAG_FAIL_ALLOC) != 0) {
        setMirrorFlags(m, f & ~HMM_DMIRROR_FLAG_FAIL_ALLOC);
        return -ENOMEM; // the first selected page (the flag is one-shot): nothing of this piece was touched yet
      }
      eraseEntry(m, p); // xa_erase(&dmirror->pt, addr)
      if (migratePageToRam(ptePfn(pte), 0, mm, p)) cpages++;
    }
    addr = next;
  }
  setMirrorResult(m, cpages, 0);
  return cpages;
}

/**
 * make_device_exclusive (current mm/rmap.c) for the page at vpn, no owner (test_hmm
 * passes NULL). First GUP with FOLL_WRITE | FOLL_SPLIT_PMD: no vma, or a vma the
 * write may not reach (check_vma_flags), is -EFAULT. A THP fault or a PMD mapping is
 * split into PTEs, and a write fault makes the page writable and exclusive (COW
 * broken; an exclusive entry restored). Then a page that is not anonymous is
 * -EOPNOTSUPP. Otherwise MMU_NOTIFY_EXCLUSIVE and the PTE becomes the entry (refcount
 * kept; mapcount by era). The GUP reference is put by the caller at once
 * (dmirror_exclusive's folio_put): net nothing. Returns the pfn, or -errno.
 * The caller checked the frames and tables a write fault needs.
 */
function makeDeviceExclusive(mm: i32, vpn: u32): i32 {
  const v = findVma(mm, vpn);
  if (v < 0) return -EFAULT;
  if (checkVmaFlags(v, FOLL_WRITE) != 0) return -EFAULT;
  // pmd_none: faultin_page may make a THP; a device-private PMD comes back to RAM
  const leaf0 = hugeLeaf(mm, vpn);
  const p0 = ptePtr(mm, vpn, false);
  // a file page past EOF: filemap_fault's VM_FAULT_SIGBUS, which faultin_page turns into -EFAULT
  // (reading the file's slot there was out of bounds; found by the differential trace)
  if (leaf0 == 0 && (p0 == 0 || load<u32>(p0) == 0) && vmaFile(v) >= 0 && fileIndex(v, vpn) >= filePages(vmaFile(v))) return -EFAULT;
  if (leaf0 != 0 ? (leaf0 & PTE_PRESENT) == 0 : p0 == 0 || load<u32>(p0) == 0) hugeFault(mm, v, vpn, true, false);
  // follow_pmd_mask with FOLL_SPLIT_PMD: a PMD mapping is split before the PTE-level fault
  const leaf = hugeLeaf(mm, vpn);
  if (leaf != 0 && (leaf & PTE_PRESENT) != 0) splitHugePmd(mm, vpn);
  const p = handleFault(mm, v, vpn, true);
  if (takeFaultOom()) return -ENOMEM; // get_user_page_vma_remote -> faultin_page: VM_FAULT_OOM is -ENOMEM
  const pte = load<u32>(p);
  if ((pte & PTE_PRESENT) == 0 || (pte & PTE_WRITE) == 0) return -EFAULT;
  const pfn = ptePfn(pte);
  if ((pte & PTE_SPECIAL) != 0 || !hasFlag(pfn, PG_ANON)) return -EOPNOTSUPP; // !folio_test_anon
  mmuNotifierInvalidate(mm, vpn, vpn + 1, MMU_NOTIFY_EXCLUSIVE, -1);
  store<u32>(p, mkPte(pfn, PTE_DEVICE_EXCLUSIVE));
  if (!exclusiveKeepsMapcount()) rmapRemove(pfn, mm, <i32>vpn); // page_remove_rmap (<= 6.14)
  return <i32>pfn;
}

/**
 * HMM_DMIRROR_EXCLUSIVE (dmirror_exclusive, current mm tree): page by page,
 * make_device_exclusive (exclusive.ts) and dmirror_atomic_map (the pt entry tagged
 * ATOMIC; the conversion's own notification came before it); the first error ends
 * the ioctl. Then dmirror_do_read over the range, as MIGRATE_TO_DEV: cpages.
 */
export function dmirrorExclusive(m: i32, vpn: u32, n: u32): i32 {
  const mm = mirrorMm(m);
  if (!mmValid(mm)) return -EINVAL; // mmget_not_zero
  const end = vpn + n;
  for (let addr = vpn; addr < end; addr++) {
    const pfn = makeDeviceExclusive(mm, addr);
    if (pfn < 0) return pfn;
    setEntry(m, addr, <u32>pfn, DPT_TAG_ATOMIC);
  }
  copied = 0;
  const r = doRead(m, vpn, end); // "Return the migrated data for verification"
  if (r < 0) return r;
  setMirrorResult(m, copied, 0);
  return copied;
}

/**
 * HMM_DMIRROR_CHECK_EXCLUSIVE (dmirror_check_atomic, 5.14 8b2a105c3794 to the
 * current tree): -EPERM while any page of the range is still mapped ATOMIC in the
 * pt, 0 once every one was revoked (or never was). A hole is no error.
 */
export function dmirrorCheckExclusive(m: i32, vpn: u32, n: u32): i32 {
  if (anyAtomic(m, vpn, vpn + n, DPT_TAG_ATOMIC)) return -EPERM;
  setMirrorResult(m, 0, 0);
  return 0;
}
