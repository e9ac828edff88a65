/**
 * The ioctls of the test_hmm device file (dmirror_fops_unlocked_ioctl): READ and
 * WRITE through the pt with hmm_range_fault rounds (cmd->faults), SNAPSHOT
 * (dmirror_mkentry bytes). Only a command that returns 0 updates cpages/faults.
 * Twin of assembly/dmirror_ioctl.ts.
 *
 * @example
 * ```ts
 * import { Model } from "./model.ts";
 * const m = Model.create({ scheme: "E4" });
 * const mm = m.mmNew();
 * const addr = m.mmap(mm, { length: 4 * 4096 });
 * const gpu = m.dmirrorNew("device-private");
 * const fd = m.dmirrorOpen(gpu, mm);
 * console.log(m.dmirrorRead(fd, addr, 4), m.mirror(fd).faults); // 4 1
 * ```
 */
import {
  ENOENT, EFAULT, EINVAL, EBUSY, EPERM, DPT_TAG_WRITE, DPT_TAG_NONE, DPT_TAG_ATOMIC, KIND_DEVICE_PRIVATE, KIND_DEVICE_COHERENT, V_UAF,
  V_LIVELOCK, HMM_PROT_ERROR, HMM_PROT_NONE, HMM_PROT_READ, HMM_PROT_WRITE, HMM_PROT_PMD, HMM_PROT_ZERO,
  HMM_PROT_DEV_PRIVATE_REMOTE, HMM_PROT_DEV_COHERENT_REMOTE, PT_ENTRIES, HMM_CHUNK, HMM_PROT_DEV_PRIVATE_LOCAL,
  HMM_PROT_DEV_COHERENT_LOCAL, ENOMEM, VM_READ, MMU_NOTIFY_MIGRATE, HMM_DMIRROR_FLAG_FAIL_ALLOC,
  PTE_DEVICE_EXCLUSIVE, FOLL_WRITE, EOPNOTSUPP, MMU_NOTIFY_EXCLUSIVE, FOLIO_NR, VM_WRITE,
} from "../../assembly/abi.ts";
import { dmirrorOfDriver, dmirrorOwner, dmirrorAllocFolio } from "./dmirror.ts";
import { migrateOneToDevice, migratePageToRam, migrateBegin, migrateFinalize, notifyHole } from "./migrate.ts";
import { fileRefusesMigrateVma } from "./file.ts";
import { mmuNotifierInvalidate } from "./mmu_notifier.ts";
import type { Pte } from "./pgtable.ts";
import { loadPage, storePage, handleFault, takeFaultOom } from "./fault.ts";
import { exclusiveKeepsMapcount } from "./exclusive.ts";
import { checkVmaFlags } from "./gup.ts";
import { hugeFault, splitHugePmd, splitHugeForMigration, wholeThp, mapDeviceFolioPmd, devicePmdFault, splitDeviceFolio } from "./thp.ts";
import { rmapRemove } from "./refcount.ts";
import {
  hmmRangeFault, HMM_PFN_VALID, HMM_PFN_WRITE, HMM_PFN_ERROR, HMM_PFN_PMD, HMM_PFN_HUGE_ZERO, HMM_PFN_MASK,
} from "./hmm.ts";
import type { Mirror } from "./mirror.ts";
import type { Mm } from "./mm.ts";
import type { Machine } from "./machine.ts";

/** bounce.cpages of the command being run. */
let copied = 0;

/** The pfn mm's page tables map at vpn (PTE, PMD or a non-present entry), or -1. */
export function mappedPfn(mm: Mm, vpn: number): number {
  const leaf = mm.tables.hugeLeaf(vpn);
  if (leaf) return leaf.pfn === 0 ? 0 : leaf.pfn + (vpn % PT_ENTRIES);
  const pte = mm.tables.get(vpn);
  return pte ? pte.pfn : -1;
}

function deviceLoad(m: Machine, mm: Mm, vpn: number, pfn: number): void {
  m.counters.dmirror.devicePages++;
  const f = m.frames.all[pfn];
  if (pfn !== 0 && !f.usable) {
    m.log.record(V_UAF, pfn, mm.id, vpn, f.refcount, f.mapcount, 15);
    return;
  }
  if (mappedPfn(mm, vpn) !== pfn) return;
  const v = mm.findVma(vpn);
  if (v) loadPage(m, mm, v, vpn, f);
}

function deviceStore(m: Machine, mm: Mm, vpn: number, pfn: number, value: number): void {
  m.counters.dmirror.devicePages++;
  const f = m.frames.all[pfn];
  if (!f.usable) {
    m.log.record(V_UAF, pfn, mm.id, vpn, f.refcount, f.mapcount, 16);
    return;
  }
  const v = mappedPfn(mm, vpn) === pfn ? mm.findVma(vpn) : undefined;
  if (v) storePage(m, mm, v, vpn, f, value);
  else f.content = value;
}

/** dmirror_do_read: -ENOENT at the first page without an entry. */
export function doRead(m: Machine, fd: Mirror, start: number, end: number): number {
  const mm = m.mms.all[fd.mm];
  for (let vpn = start; vpn < end; vpn++) {
    const e = fd.pt.get(vpn);
    if (!e) return -ENOENT;
    deviceLoad(m, mm, vpn, e.pfn);
    copied++;
  }
  return 0;
}

function doWrite(m: Machine, fd: Mirror, base: number, start: number, end: number, value: number, step: number): number {
  const mm = m.mms.all[fd.mm];
  for (let vpn = start; vpn < end; vpn++) {
    const e = fd.pt.get(vpn);
    if (!e || e.tag !== DPT_TAG_WRITE) return -ENOENT;
    deviceStore(m, mm, vpn, e.pfn, (value + Math.imul(vpn - base, step)) | 0);
    copied++;
  }
  return 0;
}

/** dmirror_fault: hmm_range_fault in HMM_CHUNK-page chunks, each chunk entered in the pt. */
function dmirrorFault(m: Machine, fd: Mirror, start: number, end: number, write: boolean): number {
  const mm = m.mms.all[fd.mm];
  const out: number[] = [];
  for (let addr = start; addr < end; ) {
    const next = Math.min(addr + HMM_CHUNK, end);
    const r = hmmRangeFault(m, mm, addr, next, true, write, out, fd.device);
    if (r < 0) return r;
    for (let vpn = addr; vpn < next; vpn++) {
      const w = out[vpn - addr];
      const writable = (w & HMM_PFN_WRITE) !== 0;
      if (!writable && write) return -EFAULT;
      m.mirrors.setEntry(fd, vpn, w % (HMM_PFN_MASK + 1), writable ? DPT_TAG_WRITE : DPT_TAG_NONE);
    }
    addr = next;
  }
  return 0;
}

/** HMM_DMIRROR_READ / _WRITE: cpages, or -errno; a mirror whose mm is gone livelocks. */
export function dmirrorReadWrite(m: Machine, fd: Mirror, vpn: number, n: number, write: boolean, value: number, step: number): number {
  const end = vpn + n;
  if (!m.mms.live(fd.mm)) {
    m.log.record(V_LIVELOCK, 0, fd.mm, vpn, 0, 0, 17);
    return -EBUSY;
  }
  copied = 0;
  let faults = 0;
  let start = vpn;
  let r = 0;
  for (let round = 0; ; round++) {
    r = write ? doWrite(m, fd, vpn, start, end, value, step) : doRead(m, fd, start, end);
    if (r !== -ENOENT) break;
    if (round > n + 1) { r = -EBUSY; break; }
    start = vpn + copied;
    r = dmirrorFault(m, fd, start, end, write);
    if (r < 0) break;
    faults++;
    m.counters.dmirror.faults++;
  }
  if (r < 0) return r;
  fd.cpages = copied;
  fd.faults = faults;
  return copied;
}

/** dmirror_mkentry as device dev sees it: a device page of its own chunks is "local", any other "remote". */
export function mkentry(m: Machine, w: number, dev: number): number {
  if ((w & HMM_PFN_ERROR) !== 0) return HMM_PROT_ERROR;
  if ((w & HMM_PFN_VALID) === 0) return HMM_PROT_NONE;
  const pfn = w % (HMM_PFN_MASK + 1);
  const f = m.frames.all[pfn];
  let perm = HMM_PROT_NONE;
  if ((w & HMM_PFN_HUGE_ZERO) !== 0) perm = HMM_PROT_NONE;
  else if (m.frames.isDevice(pfn) && f.kind === KIND_DEVICE_PRIVATE) {
    perm = f.driver && dmirrorOfDriver(f.driver) === dev ? HMM_PROT_DEV_PRIVATE_LOCAL : HMM_PROT_DEV_PRIVATE_REMOTE;
  } else if (m.frames.isDevice(pfn) && f.kind === KIND_DEVICE_COHERENT) {
    perm = f.driver && dmirrorOfDriver(f.driver) === dev ? HMM_PROT_DEV_COHERENT_LOCAL : HMM_PROT_DEV_COHERENT_REMOTE;
  } else if (pfn === 0) perm = HMM_PROT_ZERO;
  perm |= (w & HMM_PFN_WRITE) !== 0 ? HMM_PROT_WRITE : HMM_PROT_READ;
  if ((w & HMM_PFN_PMD) !== 0) perm |= HMM_PROT_PMD;
  return perm;
}

/** HMM_DMIRROR_SNAPSHOT: the bytes go to m.snapshot. */
export function dmirrorSnapshot(m: Machine, fd: Mirror, vpn: number, n: number): number {
  const mm = m.mms.live(fd.mm);
  if (!mm) return -EINVAL;
  const out: number[] = [];
  const bytes = new Uint8Array(n);
  for (let addr = vpn; addr < vpn + n; ) {
    const next = Math.min(addr + HMM_CHUNK, vpn + n);
    const r = hmmRangeFault(m, mm, addr, next, false, false, out, fd.device);
    if (r < 0) return r;
    for (let p = addr; p < next; p++) {
      bytes[p - vpn] = mkentry(m, out[p - addr], fd.device);
    }
    addr = next;
  }
  m.snapshot = bytes;
  fd.cpages = n;
  fd.faults = 0;
  return n;
}

/** The end of the next migrate_vma piece from addr, or 0 for -EINVAL (as the core's pieceEnd). */
function pieceEnd(m: Machine, mm: Mm, addr: number, end: number): number {
  const v = mm.findVma(addr);
  if (!v || (v.flags & VM_READ) === 0) return 0;
  if (fileRefusesMigrateVma(m, v.file)) return 0;
  return Math.min(end, addr + PT_ENTRIES, v.end);
}

/** HMM_DMIRROR_MIGRATE_TO_DEV (as the core's dmirrorMigrateToDev). */
export function dmirrorMigrateToDev(m: Machine, fd: Mirror, vpn: number, n: number): number {
  const mm = m.mms.live(fd.mm);
  if (!mm) return -EINVAL; // mmget_not_zero
  const owner = dmirrorOwner(fd.device);
  const end = vpn + n;
  for (let addr = vpn; addr < end; ) {
    const next = pieceEnd(m, mm, addr, end);
    if (next === 0) return -EINVAL;
    migrateBegin(m, mm, addr, next, owner);
    m.migration.toMirror = fd;
    if (m.rules.deviceFolios) migrateCompound(m, fd, mm, addr, next); // either kind (as the core)
    splitHugeForMigration(m, mm, addr, next); // migrate_vma_collect_pmd: split_folio, or skip
    for (let p = addr; p < next; p++) {
      const leaf = mm.tables.hugeLeaf(p);
      if (leaf) { // a THP that could not be split stays
        if (leaf.present) m.counters.migrateFailed++;
        continue;
      }
      if (migrateOneToDevice(m, mm, p, null, null)) {
        m.mirrors.setEntry(fd, p, m.migration.lastDst!.pfn, m.migration.lastSrcWrite ? DPT_TAG_WRITE : DPT_TAG_NONE);
      }
    }
    m.migration.toMirror = null;
    migrateFinalize(m);
    addr = next;
  }
  copied = 0;
  const r = doRead(m, fd, vpn, end);
  if (r < 0) return r;
  fd.cpages = copied;
  fd.faults = 0;
  return copied;
}

/** E5 MIGRATE_VMA_SELECT_COMPOUND of whole blocks into large device folios (as the core's migrateCompound). */
function migrateCompound(m: Machine, fd: Mirror, mm: Mm, start: number, end: number): void {
  for (let blk = Math.ceil(start / FOLIO_NR) * FOLIO_NR; blk + FOLIO_NR <= end; blk += FOLIO_NR) {
    const v = mm.findVma(blk)!;
    const leaf = mm.tables.hugeLeaf(blk);
    const src = leaf && leaf.pfn !== 0 ? m.frames.all[leaf.pfn] : null;
    if (!leaf) {
      if (!mm.tables.pmdNone(blk) || !v.anon) continue; // holes page by page; file memory is not populated
    } else if (!leaf.present || (src && !wholeThp(src))) {
      continue; // a device-private PMD; a held THP takes the split path
    }
    if ((fd.flags & HMM_DMIRROR_FLAG_FAIL_ALLOC) !== 0) {
      fd.flags &= ~HMM_DMIRROR_FLAG_FAIL_ALLOC; // the large allocation fails once: order 0 from here
      continue;
    }
    const dst = dmirrorAllocFolio(m, fd.device);
    if (!dst) continue;
    if (!src) notifyHole(m, mm, blk);
    const write = src !== null && leaf!.writable; // MIGRATE_PFN_WRITE from pmd_write
    mapDeviceFolioPmd(m, mm, v, blk, src, dst, src ? write : (v.flags & VM_WRITE) !== 0);
    for (let i = 0; i < FOLIO_NR; i++) {
      m.dmirrors.pageMirror.set(dst.pfn + i, fd.id); // rpage->zone_device_data = dmirror
      m.mirrors.setEntry(fd, blk + i, dst.pfn + i, write ? DPT_TAG_WRITE : DPT_TAG_NONE);
    }
  }
}

/** MIGRATE_TO_SYS of the device's own device-private PMDs in [start, end) (as the core's devicePmdsToSys). */
function devicePmdsToSys(m: Machine, fd: Mirror, mm: Mm, start: number, end: number): number {
  let moved = 0;
  for (let b = start - (start % FOLIO_NR); b < end; b += FOLIO_NR) {
    const leaf = mm.tables.hugeLeaf(b);
    if (!leaf || !leaf.devicePrivate || !ownPage(m, leaf, fd.device)) continue;
    const head = m.frames.all[leaf.pfn];
    if (b < start || b + FOLIO_NR > end) {
      splitDeviceFolio(m, head, null, 0);
      continue;
    }
    const fail = (fd.flags & HMM_DMIRROR_FLAG_FAIL_ALLOC) !== 0;
    fd.flags &= ~HMM_DMIRROR_FLAG_FAIL_ALLOC;
    moved += devicePmdFault(m, mm, b, head, fail) ? 1 : m.migration.pmdFaultMoved;
  }
  return moved;
}

/** Is pte a page of device dev's kind and chunks (as the core's ownPage)? */
function ownPage(m: Machine, pte: Pte, dev: number): boolean {
  const f = m.frames.all[pte.pfn];
  if (m.dmirrors.kind(dev) === KIND_DEVICE_PRIVATE) {
    if (!pte.devicePrivate) return false;
  } else if (!pte.normalPresent || !m.frames.isDevice(pte.pfn) || f.kind !== KIND_DEVICE_COHERENT) {
    return false;
  }
  return f.driver !== null && dmirrorOfDriver(f.driver) === dev;
}

/** HMM_DMIRROR_MIGRATE_TO_SYS (as the core's dmirrorMigrateToSys). */
export function dmirrorMigrateToSys(m: Machine, fd: Mirror, vpn: number, n: number): number {
  const mm = m.mms.live(fd.mm);
  if (!mm) return -EINVAL;
  const dev = fd.device;
  const end = vpn + n;
  let cpages = 0;
  for (let addr = vpn; addr < end; ) {
    const next = pieceEnd(m, mm, addr, end);
    if (next === 0) return -EINVAL;
    mmuNotifierInvalidate(m, mm.id, addr, next, MMU_NOTIFY_MIGRATE, dmirrorOwner(dev)); // migrate_vma_collect
    cpages += devicePmdsToSys(m, fd, mm, addr, next);
    const own: [number, Pte][] = [];
    for (const [p, pte] of mm.tables.entriesIn(addr, next)) if (ownPage(m, pte, dev)) own.push([p, pte]);
    if (own.length > 0 && (fd.flags & HMM_DMIRROR_FLAG_FAIL_ALLOC) !== 0) {
      fd.flags &= ~HMM_DMIRROR_FLAG_FAIL_ALLOC;
      return -ENOMEM; // VM_FAULT_OOM at the first selected page
    }
    for (const [p, pte] of own) {
      m.mirrors.erase(fd, p); // xa_erase(&dmirror->pt, addr)
      if (migratePageToRam(m, m.frames.all[pte.pfn], 0, mm.id, p)) cpages++;
    }
    addr = next;
  }
  fd.cpages = cpages;
  fd.faults = 0;
  return cpages;
}

/** make_device_exclusive for the page at vpn (as the core's makeDeviceExclusive): the pfn, or -errno. */
function makeDeviceExclusive(m: Machine, mm: Mm, vpn: number): number {
  const v = mm.findVma(vpn);
  if (!v) return -EFAULT;
  if (checkVmaFlags(m, v, FOLL_WRITE) !== 0) return -EFAULT;
  // pmd_none: faultin_page may make a THP; a device-private PMD comes back to RAM
  const leaf0 = mm.tables.hugeLeaf(vpn);
  // a file page past EOF: VM_FAULT_SIGBUS, -EFAULT from faultin_page (as the core)
  if (!leaf0 && !mm.tables.get(vpn) && v.file >= 0 && v.fileIndex(vpn) >= m.files.all[v.file].pages) return -EFAULT;
  if (leaf0 ? !leaf0.present : !mm.tables.get(vpn)) hugeFault(m, mm, v, vpn, true, false);
  // follow_pmd_mask with FOLL_SPLIT_PMD: a PMD mapping is split before the PTE-level fault
  const leaf = mm.tables.hugeLeaf(vpn);
  if (leaf && leaf.present) splitHugePmd(m, mm, vpn);
  const pte = handleFault(m, mm, v, vpn, true);
  if (takeFaultOom(m)) return -ENOMEM; // get_user_page_vma_remote: VM_FAULT_OOM is -ENOMEM (as the core)
  if (!pte.present || !pte.writable) return -EFAULT;
  const page = m.frames.all[pte.pfn];
  if (pte.special || !page.anon) return -EOPNOTSUPP; // !folio_test_anon
  mmuNotifierInvalidate(m, mm.id, vpn, vpn + 1, MMU_NOTIFY_EXCLUSIVE, -1);
  pte.bits = PTE_DEVICE_EXCLUSIVE;
  if (!exclusiveKeepsMapcount(m)) rmapRemove(m, page, mm.id, vpn); // page_remove_rmap (<= 6.14)
  return pte.pfn;
}

/** HMM_DMIRROR_EXCLUSIVE (as the core's dmirrorExclusive): make_device_exclusive and an ATOMIC pt entry per page, then dmirror_do_read. */
export function dmirrorExclusive(m: Machine, fd: Mirror, vpn: number, n: number): number {
  const mm = m.mms.live(fd.mm);
  if (!mm) return -EINVAL; // mmget_not_zero
  const end = vpn + n;
  for (let addr = vpn; addr < end; addr++) {
    const pfn = makeDeviceExclusive(m, mm, addr);
    if (pfn < 0) return pfn;
    m.mirrors.setEntry(fd, addr, pfn, DPT_TAG_ATOMIC); // dmirror_atomic_map
  }
  copied = 0;
  const r = doRead(m, fd, vpn, end); // "Return the migrated data for verification"
  if (r < 0) return r;
  fd.cpages = copied;
  fd.faults = 0;
  return copied;
}

/** HMM_DMIRROR_CHECK_EXCLUSIVE (dmirror_check_atomic): -EPERM while a page of the range is still ATOMIC in the pt. */
export function dmirrorCheckExclusive(fd: Mirror, vpn: number, n: number): number {
  for (let p = vpn; p < vpn + n; p++) if (fd.pt.get(p)?.tag === DPT_TAG_ATOMIC) return -EPERM;
  fd.cpages = 0;
  fd.faults = 0;
  return 0;
}
