// Random inputs for the fuzz suite, all from one seeded Prng: JS values of every type
// (what a careless API caller passes), JSON values (what a mangled file holds), and
// the whole numbers that sit on boundaries (0, 1, 2^k ± 1, 2^31 - 1, negatives).
import { Prng } from "../../src/workload/prng.ts";

export const PROTOTYPE_NAMES = ["toString", "__proto__", "constructor", "hasOwnProperty", "valueOf", "isPrototypeOf"];

export class Values {
  constructor(readonly rng: Prng) {}

  pick<T>(xs: readonly T[]): T {
    return xs[this.rng.below(xs.length)];
  }

  /** A whole number near a boundary, or small. */
  boundaryInt(): number {
    const r = this.rng;
    switch (r.below(8)) {
      case 0: return r.below(4);
      case 1: return r.below(64);
      case 2: return -1 - r.below(3);
      case 3: return 2 ** (1 + r.below(31)) + r.below(3) - 1;
      case 4: return this.pick([2 ** 31 - 1, 2 ** 31, -(2 ** 31), 2 ** 32 - 1, 2 ** 32, 2 ** 53 - 1]);
      case 5: return 0x10000 + r.below(64); // vpns near MMAP_BASE
      case 6: return 4096 * r.below(1024); // page-aligned byte addresses and lengths
      default: return r.below(1 << 20);
    }
  }

  /** Any JS value, of every type, including ones JSON cannot hold. */
  anyValue(depth = 0): unknown {
    const r = this.rng;
    switch (r.below(depth > 1 ? 12 : 15)) {
      case 0: return undefined;
      case 1: return null;
      case 2: return r.chance(0.5);
      case 3: return this.boundaryInt();
      case 4: return this.pick([NaN, Infinity, -Infinity, -0, 1.5, 0.1, 1e308, -1e-300]);
      case 5: return BigInt(this.boundaryInt());
      case 6: return Symbol("fuzz");
      case 7: return this.pick(["", "x", "4K", "0x1000", "E2", "mmap", "device-private", "toString", "\u0000", "é", "p+4K"]);
      case 8: return this.pick(PROTOTYPE_NAMES);
      case 9: return () => 1;
      case 10: return new Int32Array(r.below(20));
      case 11: return String(this.boundaryInt());
      case 12: return Array.from({ length: r.below(4) }, () => this.anyValue(depth + 1));
      case 13: {
        const o: Record<string, unknown> = {};
        for (let i = r.below(4); i > 0; i--) o[this.pick(["op", "mm", "addr", "length", "x", ...PROTOTYPE_NAMES])] = this.anyValue(depth + 1);
        return o;
      }
      default: return this.deep(1 + r.below(3000));
    }
  }

  /** A value JSON can hold: what a mangled file may contain. */
  jsonValue(depth = 0): unknown {
    const r = this.rng;
    switch (r.below(depth > 1 ? 7 : 10)) {
      case 0: return null;
      case 1: return r.chance(0.5);
      case 2: return this.boundaryInt();
      case 3: return this.pick([1.5, 1e308, -0.5, 1e-7]);
      case 4: return this.pick(["", "x", "4K", "2M", "0x10000001", "0x1000", "p", "buf+4K", "buf-1", "nobody", "E0-devmap", "leak_page", "live", "device-coherent", ...PROTOTYPE_NAMES]);
      case 5: return "y".repeat(r.below(3) ? 10 : 100_000);
      case 6: return String(this.boundaryInt());
      case 7: return Array.from({ length: r.below(4) }, () => this.jsonValue(depth + 1));
      case 8: {
        const o: Record<string, unknown> = {};
        for (let i = r.below(4); i > 0; i--) o[this.pick(["*", "E2", "E0-devmap", "mm", "addr", "leak_page", "wpCopy", "a", ...PROTOTYPE_NAMES])] = this.jsonValue(depth + 1);
        return o;
      }
      default: return this.deep(1 + r.below(500)); // deeper ones are written as text (JSON.stringify recurses)
    }
  }

  /** JSON text nested `n` deep, built as text. */
  deepText(n: number): string {
    return this.rng.chance(0.5) ? `${"[".repeat(n)}1${"]".repeat(n)}` : `${'{"a":'.repeat(n)}1${"}".repeat(n)}`;
  }

  /** Objects or arrays nested `n` deep (built iteratively). */
  deep(n: number): unknown {
    let v: unknown = 1;
    const arrays = this.rng.chance(0.5);
    for (let i = 0; i < n; i++) v = arrays ? [v] : { a: v };
    return v;
  }

  /** A random capacity object: boundary values, wrong types, unknown and prototype keys. */
  capacity(fields: readonly string[]): Record<string, unknown> {
    const r = this.rng;
    const c: Record<string, unknown> = {};
    for (let i = 1 + r.below(4); i > 0; i--) {
      const k = r.chance(0.9) ? this.pick(fields) : this.pick(["frames", "", ...PROTOTYPE_NAMES]);
      let v: unknown;
      switch (r.below(6)) {
        case 0: v = this.pick([0, 1, 2]); break;
        case 1: v = 1 + r.below(5000); break;
        case 2: v = 2 ** (28 + r.below(4)) - r.below(2); break; // too large for any field: refused before anything is allocated
        case 3: v = this.pick([-1, 1.5, NaN, "16", null, 2 ** 31, true]); break;
        case 4: v = 1 + r.below(1 << 14); break;
        default: v = 2 ** 31 - 1;
      }
      c[k] = v;
    }
    return c;
  }
}
