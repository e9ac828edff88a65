// Statistics counters: one i64 per ST_* index, read by the host through a view.
import { ST_WORDS, ST_OPS } from "./abi";

export let statsBase: usize = 0;

export function initStats(): void {
  statsBase = heap.alloc(ST_WORDS << 3);
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
