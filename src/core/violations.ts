/**
 * Violation records as plain objects.
 *
 * @example
 * ```ts
 * import { VIOLATION_KINDS } from "./violations.ts";
 * console.log(VIOLATION_KINDS[0]); // "leak_page"
 * ```
 */
import * as abi from "../../assembly/abi.ts";

export const VIOLATION_KINDS = [
  "leak_page", "leak_bo", "use_after_free", "underflow", "double_free", "corruption", "early_free",
  "refcount_mismatch", "mapcount_mismatch", "hang", "livelock", "counter_zero",
] as const;
export type ViolationKind = (typeof VIOLATION_KINDS)[number];

export const VIOLATION_TEXT: Record<ViolationKind, string> = {
  leak_page: "page leaked: allocated, but no mapping, pin or page cache reaches it",
  leak_bo: "buffer object leaked: every page it still holds is leaked",
  use_after_free: "use after free: a mapping, pin or put reached a frame already handed back",
  underflow: "refcount or mapcount dropped below its floor",
  double_free: "frame handed back twice",
  corruption: "data corruption: a read did not return what this process last wrote or inherited at fork (file pages: what is on disk)",
  early_free: "page freed (page_free / buddy) while still mapped",
  refcount_mismatch: "refcount differs from base + mappings + pins + page cache + owner ref",
  mapcount_mismatch: "mapcount differs from the number of refcounted mappings",
  hang: "a waiter nothing will wake: memunmap_pages or a DAX truncate still waiting at a check",
  livelock: "migrate_to_ram cannot make progress: other in-flight faults' references block it",
  counter_zero: "the counter implementation declared zero while the true _refcount was not zero (extra: counter kind)",
};

/**
 * What a violation's two count fields hold, as text: a corruption carries the value
 * read and the value expected there, a BO leak the pages it still holds.
 *
 * @example
 * ```ts
 * import { violationCounts } from "./violations.ts";
 * const v = { kind: "corruption", op: 9, pfn: 198, mm: 3, vpn: 65538, refcount: 7, mapcount: 5, extra: 0 } as const;
 * console.log(violationCounts(v)); // "read 7, expected 5"
 * ```
 */
export function violationCounts(v: Violation): string {
  if (v.kind === "corruption") return `read ${v.refcount}, expected ${v.mapcount}`;
  if (v.kind === "leak_bo") return `${v.refcount} page(s) held`;
  return `refcount ${v.refcount}, mapcount ${v.mapcount}`;
}

export interface Violation {
  kind: ViolationKind;
  /** Sequence number of the op that caused it (for leaks: that dropped the last holder). */
  op: number;
  /** Frame involved (0 for a BO leak). */
  pfn: number;
  /** Address space, or -1. */
  mm: number;
  /** Virtual page number (or file index / page index), or -1. */
  vpn: number;
  /** The frame's refcount; for a corruption the value read, for a BO leak the pages it holds. */
  refcount: number;
  /** The frame's mapcount; for a corruption the value expected. */
  mapcount: number;
  /** Kind-specific: expected value for mismatches, BO id for leak_bo, read value... */
  extra: number;
}

export function readViolations(words: Int32Array, n: number): Violation[] {
  const out: Violation[] = [];
  for (let i = 0; i < n; i++) {
    const w = i * abi.VIOLATION_WORDS;
    out.push({
      kind: VIOLATION_KINDS[words[w]],
      op: words[w + 1], pfn: words[w + 2], mm: words[w + 3], vpn: words[w + 4],
      refcount: words[w + 5], mapcount: words[w + 6], extra: words[w + 7],
    });
  }
  return out;
}
