/**
 * Scheme presets: the kernel eras of ../shared/spec/kernel-semantics.md as rule
 * values, plus E0-devmap, the fsdax-style model the Feb 2022 thread asked about.
 *
 * @example
 * ```ts
 * import { PRESETS } from "./presets.ts";
 * console.log(PRESETS.E2.rules.idlePrivate); // 0
 * ```
 */
import type { SchemeRules } from "./rules.ts";

export interface Scheme {
  readonly name: string;
  readonly kernels: string;
  readonly description: string;
  readonly rules: Readonly<SchemeRules>;
}

// mmu_gather: MAX_GATHER_BATCH is about a page of pointers.
const TLB_BATCH = 510;

// The 2019 fixes (7ab0ad0e74f8, c5d6c45e90c4) predate every era here; ffa65753c431 is
// taken to be in E0 (about 5.17, version unverified in the spec).
const common = {
  pinBias: 1024, tlbBatch: TLB_BATCH, cowPinnedAtFork: true, deviceFolios: false, folioFreePgmapSaved: true,
  clearMappingOnFree: true, releasePagesDevmap: true, migrateCheckDeviceRefs: true,
} as const;
// fsdax and device-dax before 6.15: devmap PTEs, idle at 1, busy scan skipped for unmapped files
const daxOld = { fsdaxPte: "devmap", idleFsdax: 1, devdaxPte: "devmap", daxScanUnmapped: false } as const;
// 6.15+: mapped like page cache, idle at 0, busy scan always
const daxNew = { fsdaxPte: "normal", idleFsdax: 0, devdaxPte: "normal", daxScanUnmapped: true } as const;

export const PRESETS: Record<string, Scheme> = {
  E0: {
    name: "E0",
    kernels: "<= 5.17 (with the v6 DEVICE_COHERENT proposal)",
    description:
      "free device pages idle at refcount 1; put_page calls page_free on 2->1 (put_devmap_managed_page); coherent pages mapped by a normal present PTE as in Alex Sierra's v6 patch; no PG_anon_exclusive, so do_wp_page reuses only at page_count == 1",
    rules: {
      idlePrivate: 1, freeAtPrivate: 1, idleCoherent: 1, freeAtCoherent: 1,
      coherentPte: "normal", anonExclusive: false, swapFaultRef: "none", pgmapRef: "per-page", lruSkipDevice: false, pteBatch: false, ...common, ...daxOld, mprotectWriteUpgrade: false,
      pinZeroPage: true, longtermUnshareCow: false, longtermFileWriteEfault: false, idleP2pdma: 1,
      largeAnonReuse: false, migrateSplitLarge: false, exclusiveKeepsMapcount: false, writeProtectSeq: true, madvCollapse: false,
    },
  },
  "E0-devmap": {
    name: "E0-devmap",
    kernels: "hypothetical: E0 with coherent anon pages mapped the fsdax way",
    description:
      "E0, but migrate_vma maps coherent pages with pte_devmap: no reference and no mapcount per mapping, the driver keeps its allocation reference and would have to purge mappings with unmap_mapping_range before dropping it (Jason Gunthorpe's question, linux-mm 2022-02-15)",
    rules: {
      idlePrivate: 1, freeAtPrivate: 1, idleCoherent: 1, freeAtCoherent: 1,
      coherentPte: "devmap", anonExclusive: false, swapFaultRef: "none", pgmapRef: "per-page", lruSkipDevice: false, pteBatch: false, ...common, ...daxOld, mprotectWriteUpgrade: false,
      pinZeroPage: true, longtermUnshareCow: false, longtermFileWriteEfault: false, idleP2pdma: 1,
      largeAnonReuse: false, migrateSplitLarge: false, exclusiveKeepsMapcount: false, writeProtectSeq: true, madvCollapse: false,
    },
  },
  E1: {
    name: "E1",
    kernels: "5.19 - 6.0",
    description:
      "mm: remove the extra ZONE_DEVICE struct page refcount (27674ef6c73f): device pages freed on 1->0 by free_zone_device_page, then reset to 1; driver allocation only locks the page; pgmap holds bulk base refs, so memunmap_pages waits for nothing in use; PG_anon_exclusive (6c287605fd56, 5.19); 5.18 is E1-5.18",
    rules: {
      idlePrivate: 1, freeAtPrivate: 0, idleCoherent: 1, freeAtCoherent: 0,
      coherentPte: "normal", anonExclusive: true, swapFaultRef: "none", pgmapRef: "bulk", lruSkipDevice: true, pteBatch: false,
      ...common, ...daxOld,
      mprotectWriteUpgrade: false, // 64fe24a3e05e came in 6.0, the end of this range: E1 is taken at 5.19
      pinZeroPage: true, longtermUnshareCow: false, longtermFileWriteEfault: false, idleP2pdma: 1,
      largeAnonReuse: false, migrateSplitLarge: false, exclusiveKeepsMapcount: false, writeProtectSeq: true, madvCollapse: false,
    },
  },
  "E1-5.18": {
    name: "E1-5.18",
    kernels: "5.18",
    description:
      "E1 before PG_anon_exclusive: 27674ef6c73f (5.18) frees device pages on 1->0 and resets them to 1, but 'mm: remember exclusively mapped anonymous pages with PG_anon_exclusive' (6c287605fd56) came in 5.19, so do_wp_page reuses an anon page only at page_count == 1 and FOLL_PIN does not unshare; LRU users do not skip ZONE_DEVICE pages yet (3218f8712d6b, 6.0)",
    rules: {
      idlePrivate: 1, freeAtPrivate: 0, idleCoherent: 1, freeAtCoherent: 0,
      coherentPte: "normal", anonExclusive: false, swapFaultRef: "none", pgmapRef: "bulk", lruSkipDevice: false, pteBatch: false,
      ...common, ...daxOld,
      mprotectWriteUpgrade: false,
      pinZeroPage: true, longtermUnshareCow: false, longtermFileWriteEfault: false, idleP2pdma: 1,
      largeAnonReuse: false, migrateSplitLarge: false, exclusiveKeepsMapcount: false, writeProtectSeq: true, madvCollapse: false,
    },
  },
  E2: {
    name: "E2",
    kernels: "6.1 - 6.14",
    description:
      "mm: free device private pages have zero refcount (ef233450898f): free pages idle at 0, zone_device_page_init sets 1 and takes a pgmap ref, page_free on 1->0 with no reset, memunmap_pages waits for every allocated page; do_swap_page takes a ref before migrate_to_ram (16ce101db85d)",
    rules: {
      idlePrivate: 0, freeAtPrivate: 0, idleCoherent: 0, freeAtCoherent: 0,
      coherentPte: "normal", anonExclusive: true, swapFaultRef: "get", pgmapRef: "per-alloc", lruSkipDevice: true,
      pteBatch: false, // fork/zap PTE batching came in 6.9, inside this range: E2 is taken at its start
      ...common, ...daxOld, mprotectWriteUpgrade: true,
      // c8070b787519 (6.5) is in 6.1.y too (6.1.176, the kernel-check kernel, has it); 84209e87c696 came in 6.2: 6.1 does not
      // unshare; 476c1dfefab8 (6.5) is not in 6.1.176: a longterm write pin of a shared file mapping is allowed
      pinZeroPage: false, longtermUnshareCow: false, longtermFileWriteEfault: false, idleP2pdma: 1,
      largeAnonReuse: false, migrateSplitLarge: false, exclusiveKeepsMapcount: false, writeProtectSeq: true, madvCollapse: true,
    },
  },
  E3: {
    name: "E3",
    kernels: "6.15 - 6.16",
    description:
      "fs/dax: Fix ZONE_DEVICE page reference counts (7851bf649d42): fsdax and device-dax mapped with a reference and a file rmap, fsdax idle at 0, truncate scans unmapped files too; do_swap_page trylocks the page (mm/migrate: Trylock device page in do_swap_page)",
    rules: {
      idlePrivate: 0, freeAtPrivate: 0, idleCoherent: 0, freeAtCoherent: 0,
      coherentPte: "normal", anonExclusive: true, swapFaultRef: "trylock", pgmapRef: "per-alloc", lruSkipDevice: true, pteBatch: true, ...common, ...daxNew, mprotectWriteUpgrade: true,
      pinZeroPage: false, longtermUnshareCow: true, longtermFileWriteEfault: true, idleP2pdma: 0,
      largeAnonReuse: true, migrateSplitLarge: false, exclusiveKeepsMapcount: true, writeProtectSeq: true, madvCollapse: true,
    },
  },
  E4: {
    name: "E4",
    kernels: ">= 6.17",
    description:
      "mm: Remove pXX_devmap page table bit and pfn_t type: no devmap PTEs at all (vmf_insert_mixed makes pte_special); refcount rules as E3",
    rules: {
      idlePrivate: 0, freeAtPrivate: 0, idleCoherent: 0, freeAtCoherent: 0,
      coherentPte: "normal", anonExclusive: true, swapFaultRef: "trylock", pgmapRef: "per-alloc", lruSkipDevice: true, pteBatch: true, ...common, ...daxNew, mprotectWriteUpgrade: true,
      pinZeroPage: false, longtermUnshareCow: true, longtermFileWriteEfault: true, idleP2pdma: 0,
      largeAnonReuse: true, migrateSplitLarge: false, exclusiveKeepsMapcount: true, writeProtectSeq: true, madvCollapse: true,
    },
  },
  E5: {
    name: "E5",
    kernels: "about 6.19+ (current mm tree)",
    description:
      "mm/zone_device: support large zone device private folios: device-private folios of order 9 (zone_device_folio_init takes 512 pgmap refs, one folio_free per folio), device-private pgmaps in 2 MiB blocks; the free path already takes the pgmap before ->folio_free (the 2026 fix 'mm/zone_device: do not touch device folio after calling ->folio_free()', 39928984956037, mainline via mm-hotfixes in April 2026 and backported to 7.0.y stable as 85be0a262e39; 6.19.y and the 7.0 releases before that backport lack it: a custom scheme with folioFreePgmapSaved off); a CPU fault that finds a device-private folio locked sleeps until it is unlocked and then refaults (do_swap_page -> softleaf_entry_wait_on_locked, b570f37a2ce4 'mm: Fix a hmm_range_fault() livelock / starvation problem', 7.0-rc, stable 6.15+) where 6.15-6.18 refault at once",
    rules: {
      idlePrivate: 0, freeAtPrivate: 0, idleCoherent: 0, freeAtCoherent: 0,
      coherentPte: "normal", anonExclusive: true, swapFaultRef: "wait", pgmapRef: "per-alloc", lruSkipDevice: true, pteBatch: true, ...common, ...daxNew, mprotectWriteUpgrade: true, deviceFolios: true,
      pinZeroPage: false, longtermUnshareCow: true, longtermFileWriteEfault: true, idleP2pdma: 0,
      largeAnonReuse: true, migrateSplitLarge: true, exclusiveKeepsMapcount: true, writeProtectSeq: true, madvCollapse: true,
    },
  },
};

export const PRESET_NAMES = Object.keys(PRESETS);
