// The workload PRNG's draws are part of every pinned op stream: made faster for issue 14
// (int32 state in a typed array; Weights' steps for draw()), it must draw exactly as before.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { Prng, Weights } from "../src/workload/prng.ts";

test("Prng: the sfc32 stream of a seed is the pinned one", () => {
  const PINNED: Record<number, number[]> = {
    0: [4205396811, 3543653536, 1222415357, 3047368389, 387095348, 2506032770],
    1: [1828152527, 3394835397, 2967886022, 2251045104, 4148684523, 4055680838],
    4294967295: [1413747962, 91561161, 3282502067, 2190738929, 3748440605, 3843617456],
  };
  for (const [seed, want] of Object.entries(PINNED)) {
    const r = new Prng(Number(seed));
    assert.equal(want.map(() => r.u32()), want, `seed ${seed}`);
  }
});

/** The float loop draw() has always used, from the u32 drawn. */
function reference(ws: readonly number[], u: number): number {
  let total = 0;
  for (const w of ws) total += w;
  let x = (u / 4294967296) * total;
  for (let i = 0; i < ws.length; i++) {
    x -= ws[i];
    if (x < 0) return i;
  }
  return ws.length - 1;
}

/** A Prng whose next u32 is `u`. */
function fixed(u: number): Prng {
  const r = new Prng(1);
  Object.defineProperty(r, "u32", { value: () => u });
  return r;
}

test("Weights/draw: the same index as the float loop at every step and around it", () => {
  const sets: number[][] = [
    [1, 0, 3], [5], [0, 0, 0], [0.1, 0.2, 0.3], [1e-9, 1, 1e9], [0, 2, 0, 0, 1, 0], [3, -1, 2], [],
    // mix's default ratios, in MIX_KINDS order
    [0.5, 6, 3, 30, 30, 0.5, 0.5, 3, 0.1, 0.05, 3, 3, 4, 4, 0.01, 0.3, 0, 2, 0.3, 2, 0.5, 0],
  ];
  let x = 99;
  for (const ws of sets) {
    const w = new Weights(ws);
    const us = [0, 1, 4294967295, 4294967294, 2147483648];
    for (const t of w.thresholds) for (let d = -2; d <= 2; d++) if (t + d >= 0 && t + d < 4294967296) us.push(t + d);
    for (let b = 0; b < 256; b++) us.push(b * 16777216, b * 16777216 + 16777215);
    for (let k = 0; k < 20_000; k++) { x = (Math.imul(x, 1103515245) + 12345) | 0; us.push(x >>> 0); }
    for (const u of us) assert.is(fixed(u).draw(w), reference(ws, u), `weights ${JSON.stringify(ws)}, u32 ${u}`);
  }
});

test.run();
