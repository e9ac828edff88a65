/**
 * A small seeded PRNG (sfc32, seeded through splitmix32): integer-only, so the
 * same seed gives the same stream on every runtime.
 *
 * @example
 * ```ts
 * import { Prng } from "./prng.ts";
 * const r = new Prng(42);
 * console.log(r.below(10)); // 2 (a whole number 0..9, the same on every runtime)
 * ```
 */
/** Weights with more entries than this keep draw()'s float loop (finding the steps is quadratic). */
const MAX_STEPPED = 256;

/** 2^-32, exact. */
const INV_2_32 = 1 / 4294967296;

export class Prng {
  // The state as four int32 words of a typed array: fields holding int32s above 2^30 are no Smis
  // on V8 (pointer compression), so a, b, c, d as properties were boxed doubles, converted on every
  // load and store (below() took 2.7x as long in one process). TypeScript-private, not #private:
  // V8 11.3 (Node 20) checks a #field's brand on every access.
  private readonly s = new Int32Array(4);

  constructor(seed: number) {
    let s = seed >>> 0;
    const next = () => {
      s = (s + 0x9e3779b9) | 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    const st = this.s;
    st[0] = next();
    st[1] = next();
    st[2] = next();
    st[3] = next();
    for (let i = 0; i < 12; i++) this.u32();
  }

  /** Next 32-bit unsigned value (sfc32: a, b, c, d = s[0..3]; every sum wraps mod 2^32). */
  u32(): number {
    const st = this.s;
    const a = st[0], b = st[1], c = st[2], d = st[3];
    const t = (((a + b) | 0) + d) | 0;
    st[3] = (d + 1) | 0;
    st[0] = b ^ (b >>> 9);
    st[1] = (c + (c << 3)) | 0;
    st[2] = (((c << 21) | (c >>> 11)) + t) | 0;
    return t >>> 0;
  }

  /** Uniform whole number in [0, n), n <= 2^32. */
  below(n: number): number {
    // u * 2^-32 is u / 2^32 exactly (a power of two, no rounding), and V8 divides where it could multiply
    return Math.floor(this.u32() * INV_2_32 * n);
  }

  /** True with probability p. */
  chance(p: number): boolean {
    return this.u32() < p * 4294967296;
  }

  /** Pick an index by relative weights. */
  weighted(weights: readonly number[]): number {
    let total = 0;
    for (let i = 0; i < weights.length; i++) total += weights[i]; // indexed: for-of cost 15% of mix's run time

    let x = (this.u32() / 4294967296) * total;
    for (let i = 0; i < weights.length; i++) {
      x -= weights[i];
      if (x < 0) return i;
    }
    return weights.length - 1;
  }

  /**
   * weighted() for weights summed once ({@link Weights}): the same index for the same
   * state and weights. The index only depends on the u32 drawn, and never decreases as it
   * grows, so Weights keeps the u32 where each index starts: a bucket lookup by the top 8
   * bits and a compare or two instead of a subtraction per weight.
   */
  draw(w: Weights): number {
    const u = this.u32();
    if (!w.stepped) return drawOf(w.values, w.total, u);
    const thr = w.thresholds;
    let i = w.bucket[u >>> 24];
    while (u >= thr[i]) i++;
    return i;
  }
}

/** Reference weighted draw from a u32: the float loop weighted() and draw() have always used. */
function drawOf(values: Float64Array, total: number, u: number): number {
  let x = (u / 4294967296) * total;
  for (let i = 0; i < values.length; i++) {
    x -= values[i];
    if (x < 0) return i;
  }
  return values.length - 1;
}

/**
 * Relative weights and their sum, added in index order as weighted() adds them, so
 * draw() and weighted() pick alike.
 *
 * @example
 * ```ts
 * import { Prng, Weights } from "./prng.ts";
 * const w = [1, 0, 3];
 * const a = new Prng(9), b = new Prng(9);
 * const same = Array.from({ length: 1000 }, () => a.weighted(w) === b.draw(new Weights(w))).every(Boolean);
 * console.log(same); // true
 * ```
 */
export class Weights {
  readonly values: Float64Array;
  readonly total: number;
  /**
   * thresholds[i]: the least u32 whose draw is above i (2^32 if none; the last is always
   * 2^32, a sentinel). drawOf's (u / 2^32) * total - w0 - ... - wi is rounded but monotone
   * in u, so the draw is a step function of u and these steps reproduce it exactly.
   */
  readonly thresholds: Float64Array;
  /** bucket[b]: the draw of u = b * 2^24, the least in the bucket of u32s with top byte b. */
  readonly bucket: Int32Array;
  /** False (draw() takes the float loop) unless the steps hold: weights given and a finite total >= 0. */
  readonly stepped: boolean;
  constructor(weights: readonly number[]) {
    this.values = Float64Array.from(weights);
    let total = 0;
    for (let i = 0; i < weights.length; i++) total += weights[i];
    this.total = total;
    // (u / 2^32) * total grows with u only for a total >= 0; every later step (x - w, rounded) keeps the order.
    // The steps cost 32 reference draws per weight to find, so long lists keep the loop.
    this.stepped = weights.length > 0 && weights.length <= MAX_STEPPED && Number.isFinite(total) && total >= 0;
    const n = this.stepped ? weights.length : 1;
    this.thresholds = new Float64Array(n).fill(4294967296);
    this.bucket = new Int32Array(256);
    if (!this.stepped) return;
    for (let i = 0; i < n - 1; i++) {
      // binary search for the least u with drawOf(u) > i
      let lo = 0;
      let hi = 4294967296;
      while (lo < hi) {
        const mid = Math.floor((lo + hi) / 2);
        if (drawOf(this.values, total, mid) > i) hi = mid;
        else lo = mid + 1;
      }
      this.thresholds[i] = lo;
    }
    for (let b = 0; b < 256; b++) {
      let i = 0;
      while (b * 16777216 >= this.thresholds[i]) i++;
      this.bucket[b] = i;
    }
  }
}
