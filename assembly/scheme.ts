// The active refcount scheme: one i32 per rule (SCHEME_* in abi.ts), written by the
// host. The core never branches on an era name, only on these rule values.
import {
  SCHEME_WORDS, SCHEME_IDLE_PRIVATE, SCHEME_FREE_AT_PRIVATE, SCHEME_IDLE_COHERENT,
  SCHEME_FREE_AT_COHERENT, KIND_DEVICE_PRIVATE, KIND_DEVICE_COHERENT, SCHEME_PIN_BIAS,
} from "./abi";

export let schemeBase: usize = 0;

export function initScheme(): void {
  schemeBase = heap.alloc(SCHEME_WORDS << 2);
  memory.fill(schemeBase, 0, SCHEME_WORDS << 2);
}

@inline export function rule(index: i32): i32 {
  return load<i32>(schemeBase + (<usize>index << 2));
}

/** Refcount of a free page of this kind on its free list (the era's idle value). */
export function idleCount(kind: i32): i32 {
  if (kind == KIND_DEVICE_PRIVATE) return rule(SCHEME_IDLE_PRIVATE);
  if (kind == KIND_DEVICE_COHERENT) return rule(SCHEME_IDLE_COHERENT);
  return 0;
}

/** Refcount at which a page of this kind is handed back (buddy or page_free). */
export function freeAt(kind: i32): i32 {
  if (kind == KIND_DEVICE_PRIVATE) return rule(SCHEME_FREE_AT_PRIVATE);
  if (kind == KIND_DEVICE_COHERENT) return rule(SCHEME_FREE_AT_COHERENT);
  return 0;
}

@inline export function pinBias(): i32 {
  return rule(SCHEME_PIN_BIAS);
}
