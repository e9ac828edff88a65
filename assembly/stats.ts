// Statistics counters: one i64 per ST_* index, read by the host through a view.
import { ST_WORDS, ST_OPS } from "./abi";

// A static block, 8-aligned: its address is a constant in the code, so a bump is one load and
// one store at a fixed address, no global to load first (performance only).
export const statsBase: usize = memory.data(ST_WORDS << 3, 8);

export function initStats(): void {
  memory.fill(statsBase, 0, ST_WORDS << 3);
}

@inline export function bump(index: i32, by: i64 = 1): void {
  const p = statsBase + (<usize>index << 3);
  store<i64>(p, load<i64>(p) + by);
}

@inline export function stat(index: i32): i64 {
  return load<i64>(statsBase + (<usize>index << 3));
}

@inline export function setStat(index: i32, value: i64): void {
  store<i64>(statsBase + (<usize>index << 3), value);
}

@inline export function countOp(opcode: i32): void {
  bump(ST_OPS + opcode);
}
