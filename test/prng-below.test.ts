// The core's prngBelow (assembly/workload_prng.ts) computes Prng.below(n) = floor(u * 2^-32 * n)
// in doubles as (u * n) >> 32 in integers for 0 <= n <= 2^20, claiming both are the same number
// there. Checked here where the two could part: the u just below and at each multiple of 2^32 / n
// (where the exact product is an integer or 2^-32 under one), for n up to the bound; and that the
// bound matters (past 2^21 some n and u give another number). The op streams of the core's
// generators against their TypeScript twins (test/workload-core) check the core code itself.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { Prng } from "../src/workload/prng.ts";

const INV_2_32 = 1 / 4294967296;
const BOUND = 1 << 20; // assembly/workload_prng.ts BELOW_EXACT

const float = (u: number, n: number) => Math.floor(u * INV_2_32 * n);
const exact = (u: number, n: number) => Number((BigInt(u) * BigInt(n)) >> 32n);

/** u with u * n = -1 (mod 2^32), n odd: u * n / 2^32 is 2^-32 under an integer, as near as it gets. */
function nearest(n: number): number {
  // n's inverse mod 2^32 by Newton's iteration (each step doubles the bits that are right)
  const M = 4294967296n;
  const N = BigInt(n);
  let x = N;
  for (let i = 0; i < 5; i++) x = (x * (2n - N * x)) % M;
  return Number((M - ((x % M) + M) % M) % M);
}

/** The u around each integer step of u * n / 2^32 (k of them, spread over [0, n)), and nearest(n). */
function stepsOf(n: number, k: number, rng: Prng): number[] {
  const us: number[] = [0, 4294967295];
  if (n <= 1) return us;
  if (n % 2 === 1) us.push(nearest(n));
  for (let i = 0; i < k; i++) {
    const j = 1 + rng.below(n - 1);
    const u = Number((BigInt(j) * 4294967296n + BigInt(n) - 1n) / BigInt(n)); // the first u with floor = j
    for (const d of [-2, -1, 0, 1]) if (u + d >= 0 && u + d < 4294967296) us.push(u + d);
  }
  return us;
}

test("prngBelow's integer form: the double floor's number for every n up to 2^20, at each step's edge", () => {
  const rng = new Prng(7);
  const ns = [0, 1, 2, 3, 7, 10, 24, 100, 2048, 65535, 65536, 99991, BOUND - 1, BOUND];
  for (let i = 0; i < 300; i++) ns.push(1 + rng.below(BOUND));
  let checked = 0;
  for (const n of ns) {
    for (const u of stepsOf(n, 40, rng)) {
      assert.is(exact(u, n), float(u, n), `u ${u} n ${n}`);
      checked++;
    }
  }
  assert.ok(checked > 40000, `checked ${checked}`);
});

test("prngBelow's bound matters: far past 2^21 the double floor and the integer one part for some u", () => {
  const rng = new Prng(9);
  let parted = 0;
  for (let i = 0; i < 50; i++) {
    const n = (0x7fff0000 + rng.below(0xffff)) | 1;
    const u = nearest(n);
    assert.is((BigInt(u) * BigInt(n)) % 4294967296n, 4294967295n, `nearest(${n})`);
    if (exact(u, n) !== float(u, n)) parted++;
  }
  assert.ok(parted > 0, `${parted} of 50 part`);
});

test.run();
