// The open files of the test_hmm device (struct dmirror, lib/test_hmm.c): each
// mirrors one mm through an mmu_interval_notifier over the whole address space
// (dmirror_fops_open) and keeps a device page table, the xarray `pt`: vpn -> page,
// tagged DPT_XA_TAG_WRITE (3) or DPT_XA_TAG_ATOMIC (1). The pt holds no page
// references: dmirror_interval_invalidate clears entries before the CPU page
// tables change, except the MMU_NOTIFY_MIGRATE events whose owner is its own device
// (range->owner == dmirror->mdevice): those migrations update the pt themselves.
//
// The pt is one open-addressing hash table over all mirrors, keyed by
// (mirror, vpn), with backward-shift deletion so its layout never matters.
import { MAX_MIRRORS, MIRROR_ENTRIES, ST_MIRROR_INVALIDATED, ST_MIRROR_ENTRIES, MMU_NOTIFY_MIGRATE, DMIRROR_OWNER_BASE } from "./abi";
import { bump, stat, setStat } from "./stats";

export const ENTRY_NONE: u32 = 0xffffffff;

export let mirrorCount: i32 = 0; // ids handed out so far (fds are never reused here)
let mirrorCap: i32 = 0;
export let mirrorsOpen: i32 = 0; // while 0, the notifier hook returns at once
let mirDevice: usize = 0;
let mirMm: usize = 0;
let mirOpen: usize = 0;
let mirFlags: usize = 0; // dmirror->flags (HMM_DMIRROR_FLAGS)
let mirCpages: usize = 0; // cmd.cpages / cmd.faults of the last ioctl that succeeded
let mirFaults: usize = 0;
let mirEntries: usize = 0; // entries this mirror has in the table

let tabMask: u32 = 0;
let tabCap: i32 = 0; // entries the table may hold (a power of two, kept at most 3/4 full)
let tabUsed: i32 = 0;
let keyMirror: usize = 0; // i32, -1 empty
let keyVpn: usize = 0;
let entVal: usize = 0; // pfn << 2 | tag
let scratch: usize = 0; // vpns found by a scan, before they are erased

/** Hash slots for MIRROR_ENTRIES entries at most 3/4 full (sizing.ts counts them too). */
export function mirrorSlots(): u32 {
  let slots: u32 = 16;
  while (<i64>slots * 3 < <i64>MIRROR_ENTRIES * 4) slots <<= 1;
  return slots;
}

export function initMirrors(): void {
  const nMirrors = MAX_MIRRORS;
  const nEntries = MIRROR_ENTRIES;
  mirrorCap = nMirrors;
  mirrorCount = 0;
  mirrorsOpen = 0;
  const b = <usize>nMirrors << 2;
  mirDevice = heap.alloc(b);
  mirMm = heap.alloc(b);
  mirOpen = heap.alloc(b);
  mirFlags = heap.alloc(b);
  mirCpages = heap.alloc(b);
  mirFaults = heap.alloc(b);
  mirEntries = heap.alloc(b);
  const slots = mirrorSlots();
  tabMask = slots - 1;
  tabCap = nEntries;
  tabUsed = 0;
  keyMirror = heap.alloc(<usize>slots << 2);
  keyVpn = heap.alloc(<usize>slots << 2);
  entVal = heap.alloc(<usize>slots << 2);
  memory.fill(keyMirror, 0xff, <usize>slots << 2);
  scratch = heap.alloc(<usize>tabCap << 2);
}

@inline function get(base: usize, i: i32): i32 { return load<i32>(base + (<usize>i << 2)); }
@inline function put(base: usize, i: i32, v: i32): void { store<i32>(base + (<usize>i << 2), v); }

export function mirrorSlotsLeft(): i32 { return mirrorCap - mirrorCount; }
export function mirrorExists(m: i32): bool { return m >= 0 && m < mirrorCount; }
export function mirrorIsOpen(m: i32): bool { return mirrorExists(m) && get(mirOpen, m) != 0; }
export function mirrorDevice(m: i32): i32 { return get(mirDevice, m); }
export function mirrorMm(m: i32): i32 { return get(mirMm, m); }
export function mirrorFlags(m: i32): i32 { return get(mirFlags, m); }
export function setMirrorFlags(m: i32, f: i32): void { put(mirFlags, m, f); }
export function mirrorCpages(m: i32): i32 { return get(mirCpages, m); }
export function mirrorFaults(m: i32): i32 { return get(mirFaults, m); }
export function mirrorEntryCount(m: i32): i32 { return get(mirEntries, m); }
/** copy_to_user of the cmd: only an ioctl that returned 0 updates what the caller sees. */
export function setMirrorResult(m: i32, cpages: i32, faults: i32): void {
  put(mirCpages, m, cpages);
  put(mirFaults, m, faults);
}
/** Free slots of the pt table: an ioctl that may add n entries needs n (xa_store's GFP_ATOMIC node). */
export function mirrorEntriesLeft(): i32 { return tabCap - tabUsed; }

/** dmirror_fops_open: a new struct dmirror for device dev mirroring mm. */
export function openMirror(dev: i32, mm: i32): i32 {
  const m = mirrorCount++;
  put(mirDevice, m, dev);
  put(mirMm, m, mm);
  put(mirOpen, m, 1);
  put(mirFlags, m, 0);
  put(mirCpages, m, 0);
  put(mirFaults, m, 0);
  put(mirEntries, m, 0);
  mirrorsOpen++;
  return m;
}

/** dmirror_fops_release: mmu_interval_notifier_remove and xa_destroy (the caller evicts the chunks). */
export function closeMirror(m: i32): void {
  eraseAll(m);
  put(mirOpen, m, 0);
  mirrorsOpen--;
}

@inline function slotOf(m: i32, vpn: u32): u32 {
  return ((vpn * 0x9E3779B1) ^ (<u32>m * 0x85EBCA77)) & tabMask;
}

@inline function slotKeyIs(s: u32, m: i32, vpn: u32): bool {
  return get(keyMirror, <i32>s) == m && load<u32>(keyVpn + (<usize>s << 2)) == vpn;
}

function findSlot(m: i32, vpn: u32): i32 {
  let s = slotOf(m, vpn);
  while (get(keyMirror, <i32>s) != -1) {
    if (slotKeyIs(s, m, vpn)) return <i32>s;
    s = (s + 1) & tabMask;
  }
  return -1;
}

/** xa_load: the entry (pfn << 2 | tag) of vpn in m's pt, or ENTRY_NONE. */
export function entryAt(m: i32, vpn: u32): u32 {
  const s = findSlot(m, vpn);
  return s < 0 ? ENTRY_NONE : load<u32>(entVal + (<usize>s << 2));
}

@inline export function entryPfn(e: u32): u32 { return e >> 2; }
@inline export function entryTag(e: u32): u32 { return e & 3; }

/** xa_store (the caller checked mirrorEntriesLeft). */
export function setEntry(m: i32, vpn: u32, pfn: u32, tag: u32): void {
  let s = slotOf(m, vpn);
  while (get(keyMirror, <i32>s) != -1) {
    if (slotKeyIs(s, m, vpn)) {
      store<u32>(entVal + (<usize>s << 2), (pfn << 2) | tag);
      return;
    }
    s = (s + 1) & tabMask;
  }
  put(keyMirror, <i32>s, m);
  store<u32>(keyVpn + (<usize>s << 2), vpn);
  store<u32>(entVal + (<usize>s << 2), (pfn << 2) | tag);
  tabUsed++;
  put(mirEntries, m, get(mirEntries, m) + 1);
  setStat(ST_MIRROR_ENTRIES, stat(ST_MIRROR_ENTRIES) + 1);
}

/** Remove slot s, shifting later entries of its probe run back so lookups still find them. */
function removeSlot(s: u32): void {
  const m = get(keyMirror, <i32>s);
  put(mirEntries, m, get(mirEntries, m) - 1);
  tabUsed--;
  setStat(ST_MIRROR_ENTRIES, stat(ST_MIRROR_ENTRIES) - 1);
  let hole = s;
  let j = (s + 1) & tabMask;
  while (get(keyMirror, <i32>j) != -1) {
    const home = slotOf(get(keyMirror, <i32>j), load<u32>(keyVpn + (<usize>j << 2)));
    // j may move into the hole if its home is not in the cyclic interval (hole, j]
    const inRange = hole <= j ? (home > hole && home <= j) : (home > hole || home <= j);
    if (!inRange) {
      put(keyMirror, <i32>hole, get(keyMirror, <i32>j));
      store<u32>(keyVpn + (<usize>hole << 2), load<u32>(keyVpn + (<usize>j << 2)));
      store<u32>(entVal + (<usize>hole << 2), load<u32>(entVal + (<usize>j << 2)));
      hole = j;
    }
    j = (j + 1) & tabMask;
  }
  put(keyMirror, <i32>hole, -1);
}

/** xa_erase of one vpn; returns whether there was an entry. */
export function eraseEntry(m: i32, vpn: u32): bool {
  const s = findSlot(m, vpn);
  if (s < 0) return false;
  removeSlot(<u32>s);
  return true;
}

/** Erase every entry of m with first <= vpn <= last. */
function eraseRange(m: i32, first: u32, last: u32, counted: bool): void {
  const n = get(mirEntries, m);
  if (n == 0) return;
  if (<u64>last - <u64>first < <u64>n * 4) {
    for (let vpn = first; ; vpn++) {
      if (eraseEntry(m, vpn) && counted) bump(ST_MIRROR_INVALIDATED);
      if (vpn == last) break;
    }
    return;
  }
  // A wide range with few entries: find them by one scan of the table, then erase.
  let k = 0;
  for (let s: u32 = 0; s <= tabMask; s++) {
    const vpn = load<u32>(keyVpn + (<usize>s << 2));
    if (get(keyMirror, <i32>s) == m && vpn >= first && vpn <= last) {
      store<u32>(scratch + (<usize>k << 2), vpn);
      k++;
    }
  }
  for (let i = 0; i < k; i++) {
    eraseEntry(m, load<u32>(scratch + (<usize>i << 2)));
    if (counted) bump(ST_MIRROR_INVALIDATED);
  }
}

function eraseAll(m: i32): void {
  if (get(mirEntries, m) > 0) eraseRange(m, 0, 0xffffffff, false);
}

/**
 * The mmu-notifier hook (mmu_notifier_invalidate_range_start on mm over the vpns
 * [start, end)): every open mirror of mm runs dmirror_interval_invalidate, which
 * erases its entries through dmirror_do_update (lib/test_hmm.c, 6.1 and current):
 * xa_for_each_range(start >> PAGE_SHIFT, end >> PAGE_SHIFT) takes the last index
 * inclusively, so the page just past the range goes too.
 */
export function mirrorsInvalidate(mm: i32, start: u32, end: u32, event: i32, owner: i32): void {
  if (mirrorsOpen == 0 || end <= start) return;
  for (let m = 0; m < mirrorCount; m++) {
    if (get(mirOpen, m) == 0 || get(mirMm, m) != mm) continue;
    if (event == MMU_NOTIFY_MIGRATE && owner == DMIRROR_OWNER_BASE + get(mirDevice, m)) continue; // its own device's migration (dmirrorOwner)
    eraseRange(m, start, end, true);
  }
}

/** dmirror_check_atomic: -EPERM if any page of [start, end) is still mapped for atomic access. */
export function anyAtomic(m: i32, start: u32, end: u32, atomicTag: u32): bool {
  for (let vpn = start; vpn < end; vpn++) {
    const e = entryAt(m, vpn);
    if (e != ENTRY_NONE && entryTag(e) == atomicTag) return true;
  }
  return false;
}

