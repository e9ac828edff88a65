// How a generator inside the core issues ops: it writes op records straight into the op buffer
// (the one runBatch reads, so every op goes through exactly the per-op path a host's batch takes)
// and runBatch folds each record into the stream's FNV-1a hash, the same hash src/workload/encoder.ts keeps
// (test/workload-streams.test.ts pins it). No kernel analogue: this is the user program's side.
import { OP_WORDS } from "./abi";

const FNV_PRIME: i32 = 0x01000193;

/** The stream hash so far (the host passes the encoder's hash in and reads it back). */
export let emitHash: i32 = 0;

export function setEmitHash(h: i32): void { emitHash = h; }

/**
 * True while runBatch runs a batch of a generator inside the core (its records written with
 * record3 / record7): runBatch folds each record into emitHash as it reads it (foldRecord). Performance
 * only: the hash's multiplies are one serial chain; folded in the fill they ran alone, folded
 * beside each op's own work (which does not depend on them) they overlap it. The same hash.
 */
export let hashInRun = false;
export function setHashInRun(on: bool): void { hashInRun = on; }

/** FNV_PRIME to the 4th (mod 2^32): four fnv steps over zero words are one multiply by it. */
const FNV_PRIME4: i32 = FNV_PRIME * FNV_PRIME * FNV_PRIME * FNV_PRIME;

/**
 * h continued over the OP_WORDS words of the record at w. Most records (record3's) end in
 * four zero words, and fnv(h, 0) is h * FNV_PRIME: those four steps are one multiply by
 * FNV_PRIME4, the same hash with a shorter multiply chain (performance only).
 */
@inline export function foldRecord(h: i32, w: usize): i32 {
  h = fnv(h, load<i32>(w));
  h = fnv(h, load<i32>(w, 4));
  h = fnv(h, load<i32>(w, 8));
  h = fnv(h, load<i32>(w, 12));
  if ((load<i64>(w, 16) | load<i64>(w, 24)) == 0) return h * FNV_PRIME4;
  h = fnv(h, load<i32>(w, 16));
  h = fnv(h, load<i32>(w, 20));
  h = fnv(h, load<i32>(w, 24));
  return fnv(h, load<i32>(w, 28));
}

/** Record slot n: a record of up to three arguments (the rest 0); runBatch hashes it (hashInRun). */
@inline export function record3(ops: usize, n: i32, code: i32, a0: i32, a1: i32, a2: i32): void {
  const w = ops + (<usize>n * OP_WORDS << 2);
  store<i32>(w, code);
  store<i32>(w, a0, 4);
  store<i32>(w, a1, 8);
  store<i32>(w, a2, 12);
  store<i64>(w, 0, 16);
  store<i64>(w, 0, 24);
}

/** Record slot n: a full record of seven arguments; runBatch hashes it (hashInRun). */
export function record7(ops: usize, n: i32, code: i32, a0: i32, a1: i32, a2: i32, a3: i32, a4: i32, a5: i32, a6: i32): void {
  const w = ops + (<usize>n * OP_WORDS << 2);
  store<i32>(w, code);
  store<i32>(w, a0, 4);
  store<i32>(w, a1, 8);
  store<i32>(w, a2, 12);
  store<i32>(w, a3, 16);
  store<i32>(w, a4, 20);
  store<i32>(w, a5, 24);
  store<i32>(w, a6, 28);
}

@inline function fnv(h: i32, w: i32): i32 { return (h ^ w) * FNV_PRIME; }
