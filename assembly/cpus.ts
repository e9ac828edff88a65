// Simulated CPUs and a MESI-like cache-line ownership model. Each CPU has its own
// clock (ns); an access advances only that CPU's clock. A shared line has an owner
// (exclusive: M/E) or a set of sharers (S), and a time until which it is busy: a
// transfer waits for the line's earlier transfers, so a line hammered by many CPUs
// serializes them (the shared counter's ceiling). Each other CPU queued on the line
// since it was last idle adds COST_CONTENDER to a transfer (arbitration). Lines
// private to one CPU (per-CPU counters, Refcache's delta cache) hold no state: they
// are always local hits for their owner.
//
// Counts (hits, transfers, RMWs) are exact for the model; the ns figures are a model.
import {
  MAX_CPUS, CPU_STAT_WORDS, COST_LOCAL, COST_ATOMIC, COST_TRANSFER, COST_CROSS_SOCKET, COST_CONTENDER, COST_OP,
  ST_CTR_LOCAL, ST_CTR_TRANSFERS, ST_CTR_CROSS, ST_CTR_RMW, ST_CTR_OPS,
} from "./abi";
import { bump } from "./stats";

export let ncpus: i32 = 1;
export let curCpu: i32 = 0;
let perSocket: i32 = 1;
let costLocal: f64 = 1;
let costAtomic: f64 = 3;
let costTransfer: f64 = 40;
let costCross: f64 = 100;
let costContender: f64 = 0;
let costOp: f64 = 0;

export let clockBase: usize = 0; //   f64 per CPU
export let cpuStatBase: usize = 0; // i64 x CPU_STAT_WORDS per CPU
/** The run's time: the largest CPU clock (CPUs run in parallel). */
export let now: f64 = 0;

let lineCount: u32 = 0;
let ownerBase: usize = 0; //   i32: exclusive owner, -1 shared or uncached
let busyBase: usize = 0; //    f64: the line's last transfer ends here
let sharerBase: usize = 0; //  2 x u64: CPUs holding a copy
let waiterBase: usize = 0; //  2 x u64: CPUs queued since the line was last idle

const CS_LOCAL = 0;
const CS_TRANSFER = 1;
const CS_RMW = 2;
const CS_OPS = 3;

export function setCpu(c: i32): void { curCpu = c; }

export function initCpus(n: i32, socketSize: i32, costs: usize, lines: u32): void {
  ncpus = n;
  perSocket = max<i32>(socketSize, 1);
  costLocal = load<f64>(costs + (<usize>COST_LOCAL << 3));
  costAtomic = load<f64>(costs + (<usize>COST_ATOMIC << 3));
  costTransfer = load<f64>(costs + (<usize>COST_TRANSFER << 3));
  costCross = load<f64>(costs + (<usize>COST_CROSS_SOCKET << 3));
  costContender = load<f64>(costs + (<usize>COST_CONTENDER << 3));
  costOp = load<f64>(costs + (<usize>COST_OP << 3));
  clockBase = heap.alloc(<usize>MAX_CPUS << 3);
  memory.fill(clockBase, 0, <usize>MAX_CPUS << 3);
  cpuStatBase = heap.alloc(<usize>MAX_CPUS * CPU_STAT_WORDS << 3);
  memory.fill(cpuStatBase, 0, <usize>MAX_CPUS * CPU_STAT_WORDS << 3);
  lineCount = lines;
  ownerBase = heap.alloc(<usize>lines << 2);
  memory.fill(ownerBase, 0xff, <usize>lines << 2);
  busyBase = heap.alloc(<usize>lines << 3);
  memory.fill(busyBase, 0, <usize>lines << 3);
  sharerBase = heap.alloc(<usize>lines << 4);
  memory.fill(sharerBase, 0, <usize>lines << 4);
  waiterBase = heap.alloc(<usize>lines << 4);
  memory.fill(waiterBase, 0, <usize>lines << 4);
}

/** Bytes of per-line state the model keeps for `lines` lines (for the memory check). */
export function lineStateBytes(lines: u32): u64 { return <u64>lines * 44; }

@inline export function clockOf(c: i32): f64 { return load<f64>(clockBase + (<usize>c << 3)); }
@inline function setClock(c: i32, t: f64): void {
  store<f64>(clockBase + (<usize>c << 3), t);
  if (t > now) now = t;
}
@inline function cpuBump(c: i32, k: i32): void {
  const p = cpuStatBase + ((<usize>c * CPU_STAT_WORDS + <usize>k) << 3);
  store<i64>(p, load<i64>(p) + 1);
}
@inline function socketOf(c: i32): i32 { return c / perSocket; }

/** Advance the run's time without any CPU working (draining: idle CPUs' timers still fire). */
export function idleUntil(t: f64): void { if (t > now) now = t; }

/** Charge an op's unitemized work to the current CPU. */
export function chargeOp(): void {
  setClock(curCpu, clockOf(curCpu) + costOp);
  cpuBump(curCpu, CS_OPS);
  bump(ST_CTR_OPS);
}

/** A hit on a line private to CPU c (its per-CPU counter, its delta cache). */
export function localAccess(c: i32): void {
  setClock(c, clockOf(c) + costLocal);
  cpuBump(c, CS_LOCAL);
  bump(ST_CTR_LOCAL);
}

/** CPU c reads a line private to CPU other (percpu_ref's sum reading every CPU's count). */
export function remotePrivateRead(c: i32, other: i32): void {
  if (c == other) { localAccess(c); return; }
  const cross = socketOf(c) != socketOf(other);
  setClock(c, clockOf(c) + (cross ? costCross : costTransfer));
  cpuBump(c, CS_TRANSFER);
  bump(ST_CTR_TRANSFERS);
  if (cross) bump(ST_CTR_CROSS);
}

@inline function bitAt(base: usize, line: u32, c: i32): usize { return base + (<usize>line << 4) + (<usize>(c >> 6) << 3); }
@inline function hasBit(base: usize, line: u32, c: i32): bool { return ((load<u64>(bitAt(base, line, c)) >> <u64>(c & 63)) & 1) != 0; }
@inline function setBit(base: usize, line: u32, c: i32): void {
  const p = bitAt(base, line, c);
  store<u64>(p, load<u64>(p) | (<u64>1 << <u64>(c & 63)));
}
@inline function onlyBit(base: usize, line: u32, c: i32): void {
  const p = base + (<usize>line << 4);
  store<u64>(p, c < 64 ? <u64>1 << <u64>c : 0);
  store<u64>(p, c >= 64 ? <u64>1 << <u64>(c - 64) : 0, 8);
}
@inline function bitCount(base: usize, line: u32): i32 {
  const p = base + (<usize>line << 4);
  return <i32>(popcnt<u64>(load<u64>(p)) + popcnt<u64>(load<u64>(p, 8)));
}

/** Where a transfer to CPU c comes from: the farthest holder decides the cost. */
function transferCost(line: u32, c: i32): f64 {
  const own = load<i32>(ownerBase + (<usize>line << 2));
  if (own >= 0) return socketOf(own) == socketOf(c) ? costTransfer : costCross;
  const p = sharerBase + (<usize>line << 4);
  if ((load<u64>(p) | load<u64>(p, 8)) == 0) return costTransfer; // uncached: from memory
  const s = socketOf(c);
  for (let o = 0; o < ncpus; o++) if (o != c && hasBit(sharerBase, line, o) && socketOf(o) != s) return costCross;
  return costTransfer;
}

/** The line moves to CPU c: wait for its earlier transfers, pay the transfer and the queue. */
function transfer(line: u32, c: i32, extra: f64): void {
  const t = clockOf(c);
  const busyP = busyBase + (<usize>line << 3);
  const busy = load<f64>(busyP);
  if (t >= busy) onlyBit(waiterBase, line, c); // idle: the queue starts over
  else setBit(waiterBase, line, c);
  const contenders = bitCount(waiterBase, line) - 1;
  const x = transferCost(line, c);
  const end = max<f64>(t, busy) + x + <f64>contenders * costContender + extra;
  store<f64>(busyP, end);
  setClock(c, end);
  cpuBump(c, CS_TRANSFER);
  bump(ST_CTR_TRANSFERS);
  if (x == costCross) bump(ST_CTR_CROSS);
}

@inline function exclusiveHere(line: u32, c: i32): bool {
  return load<i32>(ownerBase + (<usize>line << 2)) == c;
}

function takeExclusive(line: u32, c: i32, extra: f64): void {
  transfer(line, c, extra);
  store<i32>(ownerBase + (<usize>line << 2), c);
  onlyBit(sharerBase, line, c);
}

/** An atomic read-modify-write of a shared line by CPU c (lock xadd / cmpxchg). */
export function lineRmw(line: u32, c: i32): void {
  cpuBump(c, CS_RMW);
  bump(ST_CTR_RMW);
  if (exclusiveHere(line, c)) {
    setClock(c, clockOf(c) + costAtomic);
    cpuBump(c, CS_LOCAL);
    bump(ST_CTR_LOCAL);
    return;
  }
  takeExclusive(line, c, costAtomic);
}

/** A plain store to a shared line by CPU c (set_page_refcounted on allocation). */
export function lineWrite(line: u32, c: i32): void {
  if (exclusiveHere(line, c)) { localAccess(c); return; }
  takeExclusive(line, c, costLocal);
}

/** A plain load of a shared line by CPU c: it joins the sharers. */
export function lineRead(line: u32, c: i32): void {
  const own = load<i32>(ownerBase + (<usize>line << 2));
  if (own == c || (own < 0 && hasBit(sharerBase, line, c))) { localAccess(c); return; }
  transfer(line, c, costLocal);
  store<i32>(ownerBase + (<usize>line << 2), -1);
  setBit(sharerBase, line, c); // the old owner keeps its copy (its bit is already set)
}
