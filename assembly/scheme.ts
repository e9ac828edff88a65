// The active refcount scheme: one i32 per rule (SCHEME_* in abi.ts), written by the
// host. The core never branches on an era name, only on these rule values.
import {
  SCHEME_WORDS, SCHEME_IDLE_PRIVATE, SCHEME_FREE_AT_PRIVATE, SCHEME_IDLE_COHERENT, SCHEME_FREE_AT_COHERENT,
  SCHEME_IDLE_FSDAX, KIND_DEVICE_PRIVATE, KIND_DEVICE_COHERENT, KIND_FSDAX, KIND_DEVDAX, SCHEME_PIN_BIAS,
  KIND_P2PDMA, SCHEME_IDLE_P2PDMA,
} from "./abi";

export let schemeBase: usize = 0;

export function initScheme(): void {
  schemeBase = heap.alloc(SCHEME_WORDS << 2);
  memory.fill(schemeBase, 0, SCHEME_WORDS << 2);
}

@inline export function rule(index: i32): i32 {
  return load<i32>(schemeBase + (<usize>index << 2));
}

/** Refcount of a free (or, for DAX, idle) page of this kind: the era's base value. */
export function idleCount(kind: i32): i32 {
  if (kind == KIND_DEVICE_PRIVATE) return rule(SCHEME_IDLE_PRIVATE);
  if (kind == KIND_DEVICE_COHERENT) return rule(SCHEME_IDLE_COHERENT);
  if (kind == KIND_FSDAX) return rule(SCHEME_IDLE_FSDAX); // 1 before 6.15, 0 after
  if (kind == KIND_DEVDAX) return 1; // MEMORY_DEVICE_GENERIC idles at 1 in every era
  // __init_zone_device_page sets 0 for p2pdma only from 6.15; before, free pages sit at 1 and
  // free_zone_device_folio resets them to 1 (6.1 mm/page_alloc.c, 6.12 mm/mm_init.c, mm/memremap.c)
  if (kind == KIND_P2PDMA) return rule(SCHEME_IDLE_P2PDMA);
  return 0; // system RAM
}

/**
 * Refcount at which a page of this kind is released: buddy free, page_free, or for
 * DAX the idle wakeup (wake_up_var). No put may take a page below it.
 */
export function freeAt(kind: i32): i32 {
  if (kind == KIND_DEVICE_PRIVATE) return rule(SCHEME_FREE_AT_PRIVATE);
  if (kind == KIND_DEVICE_COHERENT) return rule(SCHEME_FREE_AT_COHERENT);
  if (kind == KIND_FSDAX || kind == KIND_DEVDAX) return idleCount(kind);
  return 0;
}

/** DAX pages belong to a file (or a dax device); a mapping or pin adds to the idle count. */
@inline export function isDaxKind(kind: i32): bool { return kind == KIND_FSDAX || kind == KIND_DEVDAX; }

@inline export function pinBias(): i32 {
  return rule(SCHEME_PIN_BIAS);
}
