// percpu_ref (include/linux/percpu-refcount.h; Overstreet 2012, Heo 2014): in
// percpu mode get/put is this_cpu_add/sub on the CPU's own counter (no atomic, no
// shared line) and a put never tests for zero. percpu_ref_kill switches to atomic
// mode: the shared count carries a bias so it cannot hit zero, and after an RCU
// grace period the per-CPU counts are summed into it (one remote read per CPU);
// from then on puts are dec-and-test. Kill is the owner's decision; for a page the
// model kills when a put leaves it with no mapping and no page cache entry, the
// point where nothing can look it up any more. A zero declared in atomic mode
// reinitialises the ref (percpu_ref_reinit, PERCPU_REF_ALLOW_REINIT).
// Memory is O(objects x CPUs), as for OSDI'10 sloppy counters: bounded here by the
// frame capacity and reported per page.
import { PG_PAGECACHE, ST_CTR_KILLS, ST_CTR_FLUSHES } from "../abi";
import { bump } from "../stats";
import { mapcount, hasFlag } from "../frames";
import { ncpus, lineRmw, lineWrite, localAccess, remotePrivateRead, clockOf, now } from "../cpus";
import { declareZero } from "./zero";

const MODE_PERCPU: u8 = 0;
const MODE_DYING: u8 = 1; // killed, waiting for the grace period
const MODE_ATOMIC: u8 = 2;

let frames: u32 = 0;
let pcpuBase: usize = 0; // i32 [pfn][cpu]
let atomBase: usize = 0; // i32 per pfn: the shared atomic_long_t count (unbiased)
let modeBase: usize = 0; // u8 per pfn
let killerBase: usize = 0; // i32 per pfn: CPU that killed it (runs the RCU callback)
let qPfn: usize = 0; //   ring of killed pfns
let qDue: usize = 0; //   f64: grace period end
let qHead: u32 = 0;
let qLen: u32 = 0;
let grace: f64 = 0;

export function percpuBytes(nFrames: u32, cpus: i32): u64 {
  return <u64>nFrames * (<u64>cpus * 4 + 4 + 1 + 4 + 4 + 8);
}

export function initPercpu(nFrames: u32, graceNs: f64): void {
  frames = nFrames;
  grace = graceNs;
  const pc = <usize>nFrames * <usize>ncpus << 2;
  pcpuBase = heap.alloc(pc);
  memory.fill(pcpuBase, 0, pc);
  atomBase = heap.alloc(<usize>nFrames << 2);
  memory.fill(atomBase, 0, <usize>nFrames << 2);
  modeBase = heap.alloc(<usize>nFrames);
  memory.fill(modeBase, 0, <usize>nFrames);
  killerBase = heap.alloc(<usize>nFrames << 2);
  qPfn = heap.alloc(<usize>nFrames << 2);
  qDue = heap.alloc(<usize>nFrames << 3);
}

@inline function pcpuAt(pfn: u32, c: i32): usize { return pcpuBase + ((<usize>pfn * <usize>ncpus + <usize>c) << 2); }
@inline function mode(pfn: u32): u8 { return load<u8>(modeBase + <usize>pfn); }
@inline function setMode(pfn: u32, m: u8): void { store<u8>(modeBase + <usize>pfn, m); }
@inline function atom(pfn: u32): i32 { return load<i32>(atomBase + (<usize>pfn << 2)); }
@inline function setAtom(pfn: u32, v: i32): void { store<i32>(atomBase + (<usize>pfn << 2), v); }

export function percpuGet(pfn: u32, n: i32, c: i32): void {
  if (mode(pfn) == MODE_PERCPU) {
    const p = pcpuAt(pfn, c);
    store<i32>(p, load<i32>(p) + n);
    localAccess(c);
    return;
  }
  setAtom(pfn, atom(pfn) + n);
  lineRmw(pfn, c);
}

export function percpuPut(pfn: u32, n: i32, c: i32): void {
  const m = mode(pfn);
  if (m == MODE_PERCPU) {
    const p = pcpuAt(pfn, c);
    store<i32>(p, load<i32>(p) - n);
    localAccess(c);
    if (mapcount(pfn) == 0 && !hasFlag(pfn, PG_PAGECACHE)) kill(pfn, c);
    return;
  }
  setAtom(pfn, atom(pfn) - n);
  lineRmw(pfn, c);
  if (m == MODE_ATOMIC && atom(pfn) == 0) {
    declareZero(pfn, clockOf(c));
    setMode(pfn, MODE_PERCPU); // percpu_ref_reinit
  }
}

/** A plain store of the count (allocation): it lands in the atomic part. */
export function percpuStore(pfn: u32, diff: i32, c: i32): void {
  setAtom(pfn, atom(pfn) + diff);
  lineWrite(pfn, c);
}

/** percpu_ref_kill: set __PERCPU_REF_ATOMIC|DEAD and the bias (one RMW), sum after a grace period. */
function kill(pfn: u32, c: i32): void {
  setMode(pfn, MODE_DYING);
  lineRmw(pfn, c);
  bump(ST_CTR_KILLS);
  store<i32>(killerBase + (<usize>pfn << 2), c);
  const i = (qHead + qLen) % frames;
  store<u32>(qPfn + (<usize>i << 2), pfn);
  store<f64>(qDue + (<usize>i << 3), clockOf(c) + grace);
  qLen++;
}

/** Grace periods that have ended by now: sum the per-CPU counts into the atomic count. */
export function percpuTick(): void {
  while (qLen > 0) {
    const due = load<f64>(qDue + (<usize>qHead << 3));
    if (due > now) return;
    const pfn = load<u32>(qPfn + (<usize>qHead << 2));
    qHead = (qHead + 1) % frames;
    qLen--;
    const c = load<i32>(killerBase + (<usize>pfn << 2));
    let sum = atom(pfn);
    for (let o = 0; o < ncpus; o++) {
      const p = pcpuAt(pfn, o);
      sum += load<i32>(p);
      store<i32>(p, 0);
      remotePrivateRead(c, o);
    }
    lineRmw(pfn, c); // atomic_long_add of the sum, minus the bias
    bump(ST_CTR_FLUSHES);
    setAtom(pfn, sum);
    setMode(pfn, MODE_ATOMIC);
    if (sum == 0) {
      declareZero(pfn, due);
      setMode(pfn, MODE_PERCPU);
    }
  }
}

export function percpuPending(): bool { return qLen > 0; }
export function percpuNextDue(): f64 { return qLen > 0 ? load<f64>(qDue + (<usize>qHead << 3)) : Infinity; }
