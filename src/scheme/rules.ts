/**
 * The rules a refcount scheme is made of. Each rule is one word of the core's
 * scheme block; the core branches on rule values, never on era names.
 *
 * @example
 * ```ts
 * import { RULES } from "./rules.ts";
 * console.log(RULES.coherentPte.doc);
 * ```
 */
import * as abi from "../../assembly/abi.ts";

export interface RuleSpec {
  /** Index in the scheme block. */
  readonly slot: number;
  readonly type: "count" | "boolean" | "choice";
  /** For "choice" rules: the names, in the order of their values in the core. */
  readonly choices?: readonly string[];
  /** What the rule decides, naming the kernel function it models. */
  readonly doc: string;
}

export const RULES = {
  idlePrivate: {
    slot: abi.SCHEME_IDLE_PRIVATE,
    type: "count",
    doc: "refcount of a free device-private page (memmap_init_zone_device; 1 before 6.1, 0 after)",
  },
  freeAtPrivate: {
    slot: abi.SCHEME_FREE_AT_PRIVATE,
    type: "count",
    doc: "refcount at which a device-private page goes to page_free (put_devmap_managed_page 2->1 before 5.18; free_zone_device_page 1->0 after)",
  },
  idleCoherent: {
    slot: abi.SCHEME_IDLE_COHERENT,
    type: "count",
    doc: "refcount of a free device-coherent page",
  },
  freeAtCoherent: {
    slot: abi.SCHEME_FREE_AT_COHERENT,
    type: "count",
    doc: "refcount at which a device-coherent page goes to page_free",
  },
  coherentPte: {
    slot: abi.SCHEME_COHERENT_PTE,
    type: "choice",
    choices: ["normal", "devmap"],
    doc: "how migrate_vma_insert_page / remove_migration_pte map a coherent page: 'normal' (refcounted, rmapped) or 'devmap' (pte_devmap|pte_special: no ref, no mapcount, the owner keeps its reference and must unmap_mapping_range)",
  },
  anonExclusive: {
    slot: abi.SCHEME_ANON_EXCLUSIVE,
    type: "boolean",
    doc: "PG_anon_exclusive exists (5.19+): do_wp_page reuses an exclusive page at once; otherwise wp_can_reuse_anon_folio needs page_count == 1",
  },
  pinBias: {
    slot: abi.SCHEME_PIN_BIAS,
    type: "count",
    doc: "GUP_PIN_COUNTING_BIAS added by try_grab_folio for FOLL_PIN on a small folio",
  },
  tlbBatch: {
    slot: abi.SCHEME_TLB_BATCH,
    type: "count",
    doc: "pages per mmu_gather batch before tlb_flush_mmu drops their references (0: put at once)",
  },
  swapFaultRef: {
    slot: abi.SCHEME_SWAP_FAULT_REF,
    type: "choice",
    choices: ["none", "get", "trylock", "wait"],
    doc: "what do_swap_page holds on a device-private page across migrate_to_ram: 'none' (<= 6.0), 'get' (get_page under the PTL, the 6.1 CVE-2022-3523 fix), 'trylock' (trylock + get, refault at once if contended, 6.15), 'wait' (the same, but a contended fault sleeps until the folio is unlocked before it refaults: softleaf_entry_wait_on_locked, b570f37a2ce4, 7.0, stable 6.15+)",
  },
  cowPinnedAtFork: {
    slot: abi.SCHEME_COW_PINNED,
    type: "boolean",
    doc: "copy_present_page gives the child a copy of a maybe-pinned anon page (page_needs_cow_for_dma, 5.9+)",
  },
  pgmapRef: {
    slot: abi.SCHEME_PGMAP_REF,
    type: "choice",
    choices: ["per-page", "bulk", "per-alloc"],
    doc: "who holds dev_pagemap references, so what memunmap_pages waits for: 'per-page' (E0: one per struct page, put_page of every pfn at teardown), 'bulk' (E1: base refs put in bulk, nothing waits for pages in use), 'per-alloc' (E2+: zone_device_page_init takes one per allocated page)",
  },
  fsdaxPte: {
    slot: abi.SCHEME_FSDAX_PTE,
    type: "choice",
    choices: ["normal", "devmap"],
    doc: "how an fsdax fault maps a page: 'devmap' (vmf_insert_mixed: pte_devmap, no ref, no mapcount; <= 6.14) or 'normal' (vmf_insert_page_mkwrite: +1 ref, +1 file rmap; 6.15+)",
  },
  idleFsdax: {
    slot: abi.SCHEME_IDLE_FSDAX,
    type: "count",
    doc: "refcount of an idle fsdax page; truncate waits for the count to return to it (wait_var_event: 1 before 6.15, dax_page_is_idle: 0 after)",
  },
  devdaxPte: {
    slot: abi.SCHEME_DEVDAX_PTE,
    type: "choice",
    choices: ["normal", "devmap"],
    doc: "how a device-dax fault maps a page: 'devmap' (<= 6.14) or 'normal' (device/dax: Properly refcount device dax pages when mapping, 6.15)",
  },
  daxScanUnmapped: {
    slot: abi.SCHEME_DAX_SCAN_UNMAPPED,
    type: "boolean",
    doc: "dax_layout_busy_page_range scans for busy pages even when no vma maps the file (fs/dax: Return unmapped busy pages, 6.15); before, a pin taken before munmap was not waited for",
  },
  lruSkipDevice: {
    slot: abi.SCHEME_LRU_SKIP_DEVICE,
    type: "boolean",
    doc: "code that isolates pages found by vm_normal_page from the LRU (madvise_pageout, NUMA hinting, mlock, KSM, khugepaged) skips ZONE_DEVICE pages (mm: handling Non-LRU pages returned by vm_normal_pages, 3218f8712d6b, 6.0); otherwise folio->lru, which aliases pgmap, is corrupted",
  },
  clearMappingOnFree: {
    slot: abi.SCHEME_CLEAR_MAPPING_ON_FREE,
    type: "boolean",
    doc: "the device page free path clears page->mapping (mm/hmm: fix ZONE_DEVICE anon page mapping reuse, 7ab0ad0e74f8, 2019); otherwise a reused page still looks anon and __page_set_anon_rmap skips it",
  },
  releasePagesDevmap: {
    slot: abi.SCHEME_RELEASE_PAGES_DEVMAP,
    type: "boolean",
    doc: "release_pages (the mmu_gather flush) routes devmap-managed pages through put_devmap_managed_page (mm/swap: fix release_pages() when releasing devmap pages, c5d6c45e90c4, 2019); otherwise their 2->1 page_free never runs",
  },
  migrateCheckDeviceRefs: {
    slot: abi.SCHEME_MIGRATE_CHECK_DEVICE_REFS,
    type: "boolean",
    doc: "migrate_vma_check_page counts extra references on device-private pages (mm/migrate.c: rework migration_entry_wait() to not take a pageref, ffa65753c431, about 5.17); before, it accepted them whatever their count, but migrate_page_move_mapping (5.15 expected_page_refs) still wanted the exact count, so an extra reference failed the migration later, after the driver had allocated its destination page; the same commit made migration_entry_wait wait without a reference (migration_entry_wait_on_locked), where before __migration_entry_wait held get_page_unless_zero's until put_and_wait_on_page_locked's put, which a concurrent migrate_vma_check_page counted (the cut migrate_collect / migration_wait, 5.15 mm/migrate.c)",
  },
  pteBatch: {
    slot: abi.SCHEME_PTE_BATCH,
    type: "boolean",
    doc: "copy_present_ptes and zap_present_ptes batch the PTEs mapping one large folio: one folio_ref_add / folio_put_refs of nr instead of one per PTE (mm/memory: optimize fork() with PTE-mapped THP, 6.9)",
  },
  deviceFolios: {
    slot: abi.SCHEME_DEVICE_FOLIOS,
    type: "boolean",
    doc: "large device-private folios exist: zone_device_folio_init with an order, one folio_free per folio, device-private pgmaps laid out in 2 MiB blocks (mm/zone_device: support large zone device private folios, E5)",
  },
  folioFreePgmapSaved: {
    slot: abi.SCHEME_FOLIO_FREE_PGMAP_SAVED,
    type: "boolean",
    doc: "free_zone_device_folio puts the pgmap references through a pgmap read before ->folio_free (mm/zone_device: do not touch device folio after calling ->folio_free(), 2026); before, it read folio->pgmap afterwards, from pages the driver may already have re-initialised",
  },
  mprotectWriteUpgrade: {
    slot: abi.SCHEME_MPROTECT_WRITE_UPGRADE,
    type: "boolean",
    doc: "mprotect to PROT_WRITE makes the PTEs of exclusive anonymous pages writable at once (change_pte_range -> can_change_pte_writable, 64fe24a3e05e, 6.0); before, every private PTE is left read-only and the next write faults (do_wp_page reuses)",
  },
  pinZeroPage: {
    slot: abi.SCHEME_PIN_ZERO_PAGE,
    type: "boolean",
    doc: "FOLL_PIN of the shared zero page takes GUP_PIN_COUNTING_BIAS on it and unpin puts it back (try_grab_folio / try_grab_page / gup_put_folio); off: the pin takes nothing (mm: Don't pin ZERO_PAGE in pin_user_pages(), c8070b787519, 6.5, also in 6.1.y: 6.1.176 has it). FOLL_GET takes one reference in every era, and the huge zero folio is not is_zero_page, so it is always pinned",
  },
  longtermUnshareCow: {
    slot: abi.SCHEME_LONGTERM_UNSHARE_COW,
    type: "boolean",
    doc: "a read-only FOLL_LONGTERM pin of a page that is not anonymous (page cache, the zero page) in a COW mapping unshares it first: gup_must_unshare -> FAULT_FLAG_UNSHARE -> do_wp_page copies it into an exclusive anon page, which is pinned (mm/gup: reliable R/O long-term pinning in COW mappings, 84209e87c696, 6.2; 6.1 mm.h gup_must_unshare returns false for !PageAnon)",
  },
  longtermFileWriteEfault: {
    slot: abi.SCHEME_LONGTERM_FILE_WRITE_EFAULT,
    type: "boolean",
    doc: "check_vma_flags refuses a FOLL_WRITE|FOLL_PIN|FOLL_LONGTERM GUP of a shared writable file mapping that needs dirty tracking with -EFAULT, before any fault (writable_file_mapping_allowed -> vma_needs_dirty_tracking; mm/gup: disallow FOLL_LONGTERM GUP-nonfast writing to file-backed mappings, 476c1dfefab8, 6.5). refsim's plain files stand for a disk filesystem's (mapping_can_writeback); shmem (and tmpfs), device-dax and p2pmem cannot write back, private mappings are COW, anonymous memory is not file-backed: none is refused. fsdax is refused earlier with -EOPNOTSUPP (vma_is_fsdax)",
  },
  idleP2pdma: {
    slot: abi.SCHEME_IDLE_P2PDMA,
    type: "count",
    doc: "refcount of a free p2pdma page: 1 before 6.15 (__init_zone_device_page sets 0 only for device-private and device-coherent pages, and free_zone_device_folio resets every other kind to 1; 6.1 mm/page_alloc.c, 6.12 mm/mm_init.c, mm/memremap.c), 0 from 6.15 (mm/mm_init: Move p2pdma page refcount initialisation to p2pdma, in the fs/dax refcount series: p2pmem_alloc_mmap sets the count to 1 itself and the free leaves it at 0). A mapped page is at 1 either way (vm_insert_page, then put_page); it is freed on 1->0",
  },
  largeAnonReuse: {
    slot: abi.SCHEME_LARGE_ANON_REUSE,
    type: "boolean",
    doc: "a write (or unshare) fault on a page of a PTE-mapped large anonymous folio that is not PageAnonExclusive reuses it when the folio is mapped only by this process and every reference is a mapping: wp_can_reuse_anon_folio -> __wp_can_reuse_large_anon_folio (folio_large_mapcount > 1, !folio_test_large_maybe_mapped_shared, folio_large_mapcount == folio_ref_count; mm: Copy-on-Write (COW) reuse support for PTE-mapped THP, 1da190f4d0a6, 6.15), and copies when only one page of it is still mapped (to free the large folio). Off: the 6.1 rule, reuse only at folio_ref_count == 1 (do_wp_page; 5.15 page_count of the head), i.e. when the page is the folio's last mapping. The per-MM slots behind maybe_mapped_shared (two mm ids) are taken as exact: a third process mapping the folio while both slots are held is not modelled",
  },
  migrateSplitLarge: {
    slot: abi.SCHEME_MIGRATE_SPLIT_LARGE,
    type: "boolean",
    doc: "migrate_vma_collect_pmd splits a PTE-mapped large folio it meets and migrates its pages (migrate_vma_split_folio, from Balbir Singh's device-private THP series: 'mm/migrate_device: handle partially mapped folios during collection'; in 7.0.0, E5). Off: such a page is not collected (the PTE walk's PageTransCompound test sets mpfn 0, and migrate_vma_check_page refuses compound pages: 5.15 mm/migrate.c, 6.1-6.18 mm/migrate_device.c), so it stays a system page and is not migrated; a PMD-mapped THP is split whole (split_huge_page / split_folio) in every era",
  },
  exclusiveKeepsMapcount: {
    slot: abi.SCHEME_EXCLUSIVE_KEEPS_MAPCOUNT,
    type: "boolean",
    doc: "a device-exclusive entry (make_device_exclusive, HMM_DMIRROR_EXCLUSIVE) keeps its page's mapcount and its PTE's reference, zap removes the rmap and puts the reference as for a present page, and restore_exclusive_pte only rewrites the PTE ('mm/rmap: keep mapcount untouched for device-exclusive entries', 1a3240bc6379, 6.15). Off: 5.14-6.14 page_make_device_exclusive_one drops the mapcount at conversion (the reference stays), restore re-adds the anon rmap, and zap only puts the reference",
  },
  writeProtectSeq: {
    slot: abi.SCHEME_WRITE_PROTECT_SEQ,
    type: "boolean",
    doc: "fork's copy_page_range holds mm->write_protect_seq (raw_write_seqcount_begin/end) while it write-protects the parent's COW entries, and GUP-fast with FOLL_PIN reads it before the lockless walk (odd: fall back) and unpins and falls back to slow GUP when read_seqcount_retry says a fork ran meanwhile (lockless_pages_from_mm; 'mm/gup: prevent gup_fast from racing with COW during fork', 57efa1fe5957, 5.11; 6.x gup_fast). Off (5.9-5.10): only copy_present_page's page_maybe_dma_pinned check protects a pin, so a GUP-fast pin taken between that check and ptep_set_wrprotect survives on a page the child shares, and the next COW leaves the parent's pin behind",
  },
  madvCollapse: {
    slot: abi.SCHEME_MADV_COLLAPSE,
    type: "boolean",
    doc: "madvise(MADV_COLLAPSE) collapses private anonymous memory into THPs (madvise_collapse, mm/khugepaged.c; 'mm/madvise: introduce MADV_COLLAPSE sync hugepage collapse', 7d8faaf15545, 6.1). Off (before 6.1): the advice is unknown, madvise_behavior_valid refuses it and madvise returns -EINVAL with nothing changed",
  },
} as const satisfies Record<string, RuleSpec>;

export type RuleName = keyof typeof RULES;

export interface SchemeRules {
  idlePrivate: number;
  freeAtPrivate: number;
  idleCoherent: number;
  freeAtCoherent: number;
  coherentPte: "normal" | "devmap";
  anonExclusive: boolean;
  pinBias: number;
  tlbBatch: number;
  swapFaultRef: "none" | "get" | "trylock" | "wait";
  cowPinnedAtFork: boolean;
  pgmapRef: "per-page" | "bulk" | "per-alloc";
  fsdaxPte: "normal" | "devmap";
  idleFsdax: number;
  devdaxPte: "normal" | "devmap";
  daxScanUnmapped: boolean;
  lruSkipDevice: boolean;
  clearMappingOnFree: boolean;
  releasePagesDevmap: boolean;
  migrateCheckDeviceRefs: boolean;
  pteBatch: boolean;
  deviceFolios: boolean;
  folioFreePgmapSaved: boolean;
  mprotectWriteUpgrade: boolean;
  pinZeroPage: boolean;
  longtermUnshareCow: boolean;
  longtermFileWriteEfault: boolean;
  idleP2pdma: number;
  largeAnonReuse: boolean;
  migrateSplitLarge: boolean;
  exclusiveKeepsMapcount: boolean;
  writeProtectSeq: boolean;
  madvCollapse: boolean;
}

export const RULE_NAMES = Object.keys(RULES) as RuleName[];
