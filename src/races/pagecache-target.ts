/**
 * A speculative page-cache lookup against folio_ref_freeze, as routines of the
 * protocol machine (./atomics.ts, ./refcount-protocols.ts). The page cache is an
 * xarray of slots ("slot:<index>" holds a folio name); its lock is "xa". Each
 * routine calls the protocol variant's folio_try_get / folio_put /
 * folio_ref_freeze / folio_ref_unfreeze, so a lookup can be explored under each
 * try-get protocol. Pure protocol model: no engine, no refsim Model.
 *
 *   filemap_get_entry   6.1 mm/filemap.c mapping_get_entry, newest filemap_get_entry:
 *                       rcu_read_lock; repeat: folio = xas_load(&xas); if (!folio) out;
 *                       if (!folio_try_get(folio)) goto repeat (6.1: folio_try_get_rcu);
 *                       if (unlikely(folio != xas_reload(&xas))) { folio_put(folio); goto repeat; }
 *   folio_migrate_mapping  6.1 mm/migrate.c folio_migrate_mapping, newest __folio_migrate_mapping:
 *                       xas_lock_irq; if (!folio_ref_freeze(folio, expected_count)) { unlock; -EAGAIN }
 *                       folio_ref_add(newfolio, nr); xas_store(&xas, newfolio);
 *                       folio_ref_unfreeze(folio, expected_count - nr); xas_unlock
 *   split_folio         6.1 mm/huge_memory.c split_huge_page_to_list + __split_huge_page, newest
 *                       __folio_split: xas_lock; folio_ref_freeze(folio, 1 + extra_pins) (extra_pins:
 *                       the page cache's nr references); each tail's count set
 *                       (__split_huge_page_tail: page_ref_unfreeze(page_tail, 2) in 6.1) and
 *                       __xa_store(..., head + i); the head back to 2 (6.1: page_ref_add(head, 2)
 *                       on the count frozen at 0, modelled as folio_ref_unfreeze(head, 2));
 *                       xa_unlock; put_page(subpage) drops the tails' caller references.
 * Here a 2-page folio stands for a THP: index 0 stays with the head, index 1 becomes the tail.
 *
 * Mutations (not kernel code), as protocol variants:
 *   no-recheck   filemap_get_entry without the xas_reload re-check;
 *   freeze-any   (./refcount-protocols.ts) folio_ref_freeze without the expected count;
 *   locked-bit-split-add  the locked-bit protocol with 6.1's page_ref_add(head, 2) giving the split head back.
 *
 * @example
 * ```ts
 * import { protocolTarget } from "./refcount-protocols.ts";
 * import { PAGECACHE_ROUTINES } from "./pagecache-target.ts";
 * import { exhaustive } from "./sleepsets.ts";
 * const spec = { folios: { F: { ref: 2, holders: { cache: 1, B: 1 } }, N: { ref: 1, holders: { B: 1 } } }, slots: { 0: "F" },
 *   threads: { A: [{ op: "filemap_get_entry", index: 0, as: "page" }, { op: "folio_put", folio: "$page", if: "page" }],
 *              B: [{ op: "folio_migrate_mapping", folio: "F", new: "N", index: 0, expected: 2 }] } };
 * console.log(exhaustive(protocolTarget(spec, "cas-loop", PAGECACHE_ROUTINES), { bound: 12 }).finding);               // null
 * console.log(exhaustive(protocolTarget(spec, "no-recheck", PAGECACHE_ROUTINES), { bound: 12 }).finding?.kind); // stale_lookup
 * ```
 */
import type { Instr } from "./atomics.ts";
import { VARIANTS, type Routines } from "./refcount-protocols.ts";

const lookup = (recheck: boolean): Instr[] => [
  { label: "repeat" },
  { do: "load", cell: "slot:{index}", to: "page", note: "filemap_get_entry: folio = xas_load(&xas), under rcu_read_lock only (6.1 mapping_get_entry, newest filemap_get_entry, mm/filemap.c)" },
  { do: "if", a: "page", cmp: "==", b: "null", goto: "none" },
  { do: "let", to: "folio", value: "page" },
  { do: "call", routine: "folio_try_get" },
  { do: "if", a: "ret", cmp: "==", b: 0, goto: "repeat" },
  ...(recheck ? [
    { do: "load", cell: "slot:{index}", to: "again", note: "filemap_get_entry: if (unlikely(folio != xas_reload(&xas))) (mm/filemap.c)" },
    { do: "if", a: "again", cmp: "==", b: "page", goto: "found" },
    { do: "call", routine: "folio_put" },
    { do: "goto", to: "repeat" },
  ] as Instr[] : []),
  { label: "found" },
  { do: "returns", folio: "page", index: "index" },
  { do: "let", to: "ret", value: "page" },
  { do: "goto", to: "out" },
  { label: "none" },
  { do: "let", to: "ret", value: "null" },
  { label: "out" },
];

const migrate: Instr[] = [
  { do: "lock", lock: "xa", note: "folio_migrate_mapping: xas_lock_irq(&xas) (6.1 folio_migrate_mapping, newest __folio_migrate_mapping, mm/migrate.c)" },
  { do: "call", routine: "folio_ref_freeze" },
  { do: "if", a: "ret", cmp: "!=", b: 0, goto: "frozen" },
  { do: "unlock", lock: "xa", note: "folio_migrate_mapping: folio_ref_freeze failed: xas_unlock_irq, return -EAGAIN" },
  { do: "let", to: "ret", value: 0 },
  { do: "goto", to: "out" },
  { label: "frozen" },
  { do: "add", cell: "ref:{new}", n: 1, note: "folio_migrate_mapping: folio_ref_add(newfolio, nr), the page cache's reference" },
  { do: "hold", folio: "new", as: "cache" },
  { do: "set", cell: "slot:{index}", value: "new", note: "folio_migrate_mapping: xas_store(&xas, newfolio)" },
  { do: "let", to: "count", value: "expected-1" },
  { do: "call", routine: "folio_ref_unfreeze" },
  { do: "drop", folio: "folio", as: "cache" },
  { do: "unlock", lock: "xa", note: "folio_migrate_mapping: xas_unlock(&xas)" },
  { do: "let", to: "ret", value: 1 },
  { label: "out" },
];

const split: Instr[] = [
  { do: "lock", lock: "xa", note: "split: xas_lock(&xas) (6.1 split_huge_page_to_list, newest __folio_split, mm/huge_memory.c)" },
  { do: "call", routine: "folio_ref_freeze" },
  { do: "if", a: "ret", cmp: "!=", b: 0, goto: "frozen" },
  { do: "unlock", lock: "xa", note: "split: folio_ref_freeze(folio, 1 + extra_pins) failed: unlock, return -EAGAIN" },
  { do: "let", to: "ret", value: 0 },
  { do: "goto", to: "out" },
  { label: "frozen" },
  { do: "set", cell: "ref:{tail}", value: 2, note: "__split_huge_page_tail: the tail's count set to 2, the caller's and the page cache's (6.1 page_ref_unfreeze(page_tail, 2))" },
  { do: "hold", folio: "tail", as: "cache" },
  { do: "hold", folio: "tail" },
  { do: "set", cell: "slot:{index}", value: "tail", note: "__split_huge_page: __xa_store(&mapping->i_pages, head[i].index, head + i, 0)" },
  { do: "let", to: "count", value: 2 },
  { do: "call", routine: "split_unfreeze_head" },
  { do: "drop", folio: "folio", as: "cache" },
  { do: "unlock", lock: "xa", note: "__split_huge_page: xa_unlock(&head->mapping->i_pages)" },
  { do: "let", to: "folio", value: "tail" },
  { do: "call", routine: "folio_put" },
  { do: "let", to: "ret", value: 1 },
  { label: "out" },
];

/** The page-cache ops a protocol scenario's threads can run, on top of a variant's refcount routines. */
export const PAGECACHE_ROUTINES: Routines = {
  filemap_get_entry: lookup(true),
  folio_migrate_mapping: migrate,
  split_folio: split,
  // The head's frozen count given back: an unfreeze by default (equal to 6.1's page_ref_add(head, 2) on a count frozen at 0).
  split_unfreeze_head: [{ do: "call", routine: "folio_ref_unfreeze" }],
};

// 6.1's literal page_ref_add(head, 2) under the locked-bit protocol: the add leaves PAGEREF_LOCKED_BIT set, and a
// getter's fix-up then resets the count to LOCKED, losing the split's references. Not a claim about the series'
// code (its v2 1/2 reworks such set/add sites); it shows that a frozen count must be given back with an unfreeze.
VARIANTS["locked-bit-split-add"] = {
  name: "locked-bit-split-add", mutation: true,
  source: "MUTATION of locked-bit: the split head unfrozen with 6.1's page_ref_add(head, 2) instead of folio_ref_unfreeze",
  routines: {
    ...VARIANTS["locked-bit"].routines,
    split_unfreeze_head: [{ do: "add", cell: "ref:{folio}", n: "count", note: "MUTATION under locked-bit: 6.1 __split_huge_page page_ref_add(head, 2) on the frozen head; the locked bit stays" }],
  },
};

// The lookup mutation is a protocol variant like the try-get ones: registered with them.
VARIANTS["no-recheck"] = {
  name: "no-recheck", mutation: true, source: "MUTATION of cas-loop: filemap_get_entry without the xas_reload re-check",
  routines: { ...VARIANTS["cas-loop"].routines, filemap_get_entry: lookup(false) },
};
