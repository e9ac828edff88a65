// The ioctls of the test_hmm device file (dmirror_fops_unlocked_ioctl, lib/test_hmm.c,
// current mm tree). Every command starts with cmd.cpages = cmd.faults = 0 and
// returns -EINVAL for an empty range (cmd.addr >= cmd.addr + npages pages); only a
// command that returns 0 copies cmd back, so only then do cpages/faults change for
// the caller. The device reads and writes pages through its pt (mirror.ts) and
// faults missing entries in with hmm_range_fault (dmirror_fault), counting one
// fault per round (cmd->faults++).
import {
  ENOENT, EFAULT, EINVAL, EBUSY, DPT_TAG_WRITE, DPT_TAG_NONE, KIND_DEVICE_PRIVATE, KIND_DEVICE_COHERENT, V_UAF,
  V_LIVELOCK, ST_DMIRROR_FAULTS, ST_DEVICE_PAGES, HMM_PROT_ERROR, HMM_PROT_NONE, HMM_PROT_READ, HMM_PROT_WRITE,
  HMM_PROT_PMD, HMM_PROT_ZERO, HMM_PROT_DEV_PRIVATE_REMOTE, HMM_PROT_DEV_COHERENT_REMOTE, HMM_CHUNK, SNAPSHOT_MAX,
} from "./abi";
import { bump } from "./stats";
import { setContent, isDevice, kindOf, ref, mapcount } from "./frames";
import { frameUsable } from "./refcount";
import { mmValid, findVma } from "./mm";
import { hugeLeaf, ptePtr, ptePfn } from "./pgtable";
import { loadPage, storePage } from "./fault";
import { violation } from "./violations";
import { mirrorMm, setMirrorResult, entryAt, setEntry, entryPfn, entryTag, ENTRY_NONE } from "./mirror";
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
    const r = hmmRangeFault(mm, addr, next, true, write);
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
 * dmirror_mkentry: the snapshot byte of one hmm pfn. A device page is "remote":
 * a dmirror device has no memory of its own here yet (dmirror.ts), and
 * hmm_range_fault never reports another device's private page (the owner filter).
 */
export function mkentry(w: u32): u8 {
  if ((w & HMM_PFN_ERROR) != 0) return <u8>HMM_PROT_ERROR;
  if ((w & HMM_PFN_VALID) == 0) return <u8>HMM_PROT_NONE;
  const pfn = w & HMM_PFN_MASK;
  let perm: u32 = HMM_PROT_NONE;
  if ((w & HMM_PFN_HUGE_ZERO) != 0) {
    perm = HMM_PROT_NONE; // the huge zero folio is not is_zero_pfn()
  } else if (isDevice(pfn) && kindOf(pfn) == KIND_DEVICE_PRIVATE) {
    perm = HMM_PROT_DEV_PRIVATE_REMOTE;
  } else if (isDevice(pfn) && kindOf(pfn) == KIND_DEVICE_COHERENT) {
    perm = HMM_PROT_DEV_COHERENT_REMOTE;
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
    const r = hmmRangeFault(mm, addr, next, false, false);
    if (r < 0) return r;
    for (let p = addr; p < next; p++) store<u8>(snapshotBase + <usize>(p - vpn), mkentry(hmmPfnAt(<i32>(p - addr))));
    addr = next;
  }
  snapshotLength = <i32>n;
  setMirrorResult(m, <i32>n, 0);
  return <i32>n;
}
