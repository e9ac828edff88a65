// The workload generators' PRNG inside the core: the same sequence as src/workload/prng.ts's Prng
// (seeded by splitmix32 into four words, then a small chaotic counter generator), so a generator
// running here draws exactly what its TypeScript twin draws for the same seed. No kernel analogue:
// it stands for the user program's choices, not for anything in mm/.

let s0: i32 = 0;
let s1: i32 = 0;
let s2: i32 = 0;
let s3: i32 = 0;
let seedState: u32 = 0;

@inline function splitmix(): i32 {
  seedState += 0x9e3779b9;
  let z = seedState;
  z = (z ^ (z >>> 16)) * 0x85ebca6b;
  z = (z ^ (z >>> 13)) * 0xc2b2ae35;
  return <i32>(z ^ (z >>> 16));
}

/** Seed the generator as `new Prng(seed)` does (four splitmix32 words, 12 draws thrown away). */
export function prngSeed(seed: u32): void {
  seedState = seed;
  s0 = splitmix();
  s1 = splitmix();
  s2 = splitmix();
  s3 = splitmix();
  for (let i = 0; i < 12; i++) prngU32();
}

/** The next 32 random bits, as Prng.u32() (returned as i32: the same bits). */
export function prngU32(): i32 {
  const a = s0, b = s1, c = s2, d = s3;
  const t = a + b + d;
  s3 = d + 1;
  s0 = b ^ <i32>(<u32>b >>> 9);
  s1 = c + (c << 3);
  s2 = ((c << 21) | <i32>(<u32>c >>> 11)) + t;
  return t;
}

const INV_2_32: f64 = 1.0 / 4294967296.0;

/** Below this n, prngBelow's double product floors to the integer one (see there). */
const BELOW_EXACT: u32 = 1 << 20;

/**
 * Prng.below(n): floor(u32 * 2^-32 * n) in doubles, as src/workload/prng.ts computes it (exact for every n).
 * For 0 <= n <= 2^20 that is (u32 * n) >> 32 in integers (performance only, the same number): the exact
 * product q = u * n / 2^32 < 2^20 is at least 2^-32 from any integer it is not, and the double product
 * is within half an ulp of q, at most 2^-33 there, so both floor to the same integer.
 */
@inline export function prngBelow(n: i32): i32 {
  const u = <u32>prngU32();
  if (<u32>n <= BELOW_EXACT) return <i32>((<u64>u * <u64><u32>n) >>> 32);
  wideBelows++;
  return <i32>Math.floor(<f64>u * INV_2_32 * <f64>n);
}

/**
 * prngBelow's draws that took the double product (n above 2^20). Performance only: the count's store gives
 * that branch an effect, so Binaryen keeps the test of n a branch; with both arms pure it made it a select,
 * and every draw computed the double product too.
 */
export let wideBelows: i32 = 0;

/**
 * prngBelow(n) for a caller that guarantees 0 <= n <= 2^20: its integer product alone. Performance only,
 * the same number, without prngBelow's test of n and its double-product arm inlined at every call.
 */
@inline export function prngBelowSmall(n: i32): i32 {
  return <i32>((<u64><u32>prngU32() * <u64><u32>n) >>> 32);
}

/** Prng.chance(p). */
@inline export function prngChance(p: f64): bool {
  return <f64><u32>prngU32() < p * 4294967296.0;
}

/**
 * Prng.draw over `count` relative weights (f64s at `weights`) summing to `total` (added in index order):
 * the float loop the TypeScript Weights' steps reproduce exactly (src/workload/prng.ts drawOf).
 */
export function prngDraw(weights: usize, count: i32, total: f64): i32 {
  return drawOf(weights, count, total, <u32>prngU32());
}

/** prngDraw's float loop for the u32 `u` (the draw is this of the next u32). */
@inline function drawOf(weights: usize, count: i32, total: f64, u: u32): i32 {
  let x = (<f64>u / 4294967296.0) * total;
  for (let i = 0; i < count; i++) {
    x -= load<f64>(weights + (<usize>i << 3));
    if (x < 0) return i;
  }
  return count - 1;
}

/** Bytes stepWeights writes for `count` weights: count thresholds (u64) and 256 bucket bytes. */
export function stepsBytes(count: i32): usize { return (<usize>count << 3) + 256; }

/**
 * Performance only, the same draws: src/workload/prng.ts's Weights steps in the core. For weights >= 0
 * and a finite total >= 0, drawOf(u) never decreases as u grows (every rounded step keeps the order),
 * so it is a step function of u: threshold i is the least u32 whose draw is above i (2^32 for the last),
 * found by binary search with drawOf itself, and bucket b the draw of u = b * 2^24. prngDrawStepped
 * then takes a bucket lookup and a compare or two instead of a subtraction per weight.
 */
export function stepWeights(weights: usize, count: i32, total: f64, steps: usize): void {
  let lo: u64 = 0;
  for (let i = 0; i < count - 1; i++) { // the least u with drawOf(u) > i, at least the last threshold
    let hi: u64 = 1 << 32;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (drawOf(weights, count, total, <u32>mid) > i) hi = mid;
      else lo = mid + 1;
    }
    store<u64>(steps + (<usize>i << 3), lo);
  }
  store<u64>(steps + (<usize>(count - 1) << 3), 1 << 32);
  const bucket = steps + (<usize>count << 3);
  let i = 0;
  for (let b = 0; b < 256; b++) {
    while ((<u64>b << 24) >= load<u64>(steps + (<usize>i << 3))) i++;
    store<u8>(bucket + <usize>b, <u8>i);
  }
}

/** prngDraw(weights, count, total) from the steps stepWeights made of them (count <= 255): the same index. */
@inline export function prngDrawStepped(steps: usize, count: i32): i32 {
  const u = <u64><u32>prngU32();
  let i = <i32>load<u8>(steps + (<usize>count << 3) + <usize>(u >> 24));
  while (u >= load<u64>(steps + (<usize>i << 3))) i++;
  return i;
}

/**
 * Store a generator's turn weights w0.. (the first `count`, at most 8) into `table` for prngDraw, and
 * return their sum added in index order (the TypeScript Weights' total).
 */
export function setWeights(table: usize, count: i32, w0: f64, w1: f64, w2: f64, w3: f64, w4: f64, w5: f64, w6: f64, w7: f64): f64 {
  store<f64>(table, w0); // plain stores, no array: the core allocates only through heap.alloc
  if (count > 1) store<f64>(table, w1, 8);
  if (count > 2) store<f64>(table, w2, 16);
  if (count > 3) store<f64>(table, w3, 24);
  if (count > 4) store<f64>(table, w4, 32);
  if (count > 5) store<f64>(table, w5, 40);
  if (count > 6) store<f64>(table, w6, 48);
  if (count > 7) store<f64>(table, w7, 56);
  let total: f64 = 0;
  for (let i = 0; i < count; i++) total += load<f64>(table + (<usize>i << 3));
  return total;
}

/** The generator's four words into `to` (16 bytes): a generator inside the core goes back to them when a step must wait for its batch. */
export function prngState(to: usize): void {
  store<i32>(to, s0);
  store<i32>(to, s1, 4);
  store<i32>(to, s2, 8);
  store<i32>(to, s3, 12);
}

/** The four words prngState saved. */
export function prngSetState(from: usize): void {
  s0 = load<i32>(from);
  s1 = load<i32>(from, 4);
  s2 = load<i32>(from, 8);
  s3 = load<i32>(from, 12);
}
