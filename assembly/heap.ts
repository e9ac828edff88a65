// Linear memory sized to what the engine needs. The stub runtime grows the memory by
// max(current size, what is missing) when an allocation does not fit, i.e. it doubles
// it; the engine allocates all its tables at once and never frees them, so it grows the
// memory once, by exactly the bytes it is about to allocate, and no allocation grows it.

/** Grow the memory so that `bytes` more of heap fit after the heap's current end. */
export function reserveHeap(bytes: u64): void {
  const end = <u64>heap.alloc(0) + 16 + bytes; // the probe's own 16-byte block, then the tables
  const pages = <i32>((end + 0xffff) >> 16);
  const have = memory.size();
  if (pages > have) memory.grow(pages - have);
}
