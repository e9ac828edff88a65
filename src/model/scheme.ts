/**
 * The active refcount scheme as the model reads it: the very rule values the core
 * gets in its scheme block (src/scheme/resolve.ts encodeScheme), looked up by
 * name instead of by slot. Like the core, the model never branches on an era
 * name, only on these values.
 *
 * @example
 * ```ts
 * import { Rules } from "./scheme.ts";
 * import { resolveScheme } from "../scheme/resolve.ts";
 * const r = new Rules(resolveScheme("E2"));
 * console.log(r.idleCount(1), r.freeAt(1), r.pinBias, r.pgmapRef); // 0 0 1024 2
 * ```
 */
import * as abi from "../../assembly/abi.ts";
import { encodeScheme } from "../scheme/resolve.ts";
import type { Scheme } from "../scheme/presets.ts";

export class Rules {
  readonly idlePrivate: number;
  readonly freeAtPrivate: number;
  readonly idleCoherent: number;
  readonly freeAtCoherent: number;
  /** migrate_vma maps coherent pages pte_devmap|pte_special (true) or as normal present PTEs. */
  readonly coherentDevmap: boolean;
  /** PG_anon_exclusive exists (5.19+). */
  readonly anonExclusive: boolean;
  /** GUP_PIN_COUNTING_BIAS. */
  readonly pinBias: number;
  /** mmu_gather batch size; 0 puts at once. */
  readonly tlbBatch: number;
  /** What do_swap_page holds across migrate_to_ram: SWAP_FAULT_NO_REF / _GET / _TRYLOCK / _WAIT. */
  readonly swapFaultRef: number;
  /** copy_present_page for maybe-pinned anon pages at fork (5.9+). */
  readonly cowPinnedAtFork: boolean;
  /** Who holds dev_pagemap references: PGMAP_REF_PER_PAGE / _BULK / _PER_ALLOC. */
  readonly pgmapRef: number;
  /** An fsdax fault maps with pte_devmap (no ref, no mapcount). */
  readonly fsdaxDevmap: boolean;
  readonly idleFsdax: number;
  /** A device-dax fault maps with pte_devmap. */
  readonly devdaxDevmap: boolean;
  /** dax_layout_busy_page_range scans files no vma maps (6.15). */
  readonly daxScanUnmapped: boolean;
  /** LRU users skip ZONE_DEVICE pages (3218f8712d6b). */
  readonly lruSkipDevice: boolean;
  /** The device page free path clears page->mapping (7ab0ad0e74f8). */
  readonly clearMappingOnFree: boolean;
  /** release_pages routes devmap pages through put_devmap_managed_page (c5d6c45e90c4). */
  readonly releasePagesDevmap: boolean;
  /** migrate_vma_check_page counts refs on device-private pages (ffa65753c431). */
  readonly migrateCheckDeviceRefs: boolean;
  /** fork and zap batch the PTEs of one large folio (6.9). */
  readonly pteBatch: boolean;
  /** Large device-private folios exist (E5). */
  readonly deviceFolios: boolean;
  /** free_zone_device_folio takes the pgmap before ->folio_free (the 2026 fix). */
  readonly folioFreePgmapSaved: boolean;
  /** change_pte_range makes exclusive anonymous PTEs writable again (can_change_pte_writable, 6.0+). */
  readonly mprotectWriteUpgrade: boolean;
  /** FOLL_PIN takes the pin bias on the shared zero page (before c8070b787519, 6.5). */
  readonly pinZeroPage: boolean;
  /** A R/O FOLL_LONGTERM pin unshares a non-anon page in a COW mapping (84209e87c696, 6.2). */
  readonly longtermUnshareCow: boolean;
  /** check_vma_flags refuses a longterm write pin of a dirty-tracked shared file mapping (476c1dfefab8, 6.5). */
  readonly longtermFileWriteEfault: boolean;
  /** Refcount of a free p2pdma page (1 before 6.15, 0 after). */
  readonly idleP2pdma: number;
  /** do_wp_page reuses an exclusively mapped large anon folio (__wp_can_reuse_large_anon_folio, 1da190f4d0a6, 6.15). */
  readonly largeAnonReuse: boolean;
  /** migrate_vma_collect_pmd splits a PTE-mapped large folio (migrate_vma_split_folio, E5); before, its pages are skipped. */
  readonly migrateSplitLarge: boolean;
  /** A device-exclusive entry keeps its page's mapcount (1a3240bc6379, 6.15); before, it was dropped at conversion. */
  readonly exclusiveKeepsMapcount: boolean;
  /** fork holds mm->write_protect_seq over copy_page_range and GUP-fast FOLL_PIN retries on it (57efa1fe5957, 5.11). */
  readonly writeProtectSeq: boolean;
  readonly madvCollapse: boolean;

  constructor(scheme: Scheme) {
    const b = encodeScheme(scheme);
    this.idlePrivate = b[abi.SCHEME_IDLE_PRIVATE];
    this.freeAtPrivate = b[abi.SCHEME_FREE_AT_PRIVATE];
    this.idleCoherent = b[abi.SCHEME_IDLE_COHERENT];
    this.freeAtCoherent = b[abi.SCHEME_FREE_AT_COHERENT];
    this.coherentDevmap = b[abi.SCHEME_COHERENT_PTE] === abi.PTE_FORM_DEVMAP;
    this.anonExclusive = b[abi.SCHEME_ANON_EXCLUSIVE] !== 0;
    this.pinBias = b[abi.SCHEME_PIN_BIAS];
    this.tlbBatch = b[abi.SCHEME_TLB_BATCH];
    this.swapFaultRef = b[abi.SCHEME_SWAP_FAULT_REF];
    this.cowPinnedAtFork = b[abi.SCHEME_COW_PINNED] !== 0;
    this.pgmapRef = b[abi.SCHEME_PGMAP_REF];
    this.fsdaxDevmap = b[abi.SCHEME_FSDAX_PTE] === abi.PTE_FORM_DEVMAP;
    this.idleFsdax = b[abi.SCHEME_IDLE_FSDAX];
    this.devdaxDevmap = b[abi.SCHEME_DEVDAX_PTE] === abi.PTE_FORM_DEVMAP;
    this.daxScanUnmapped = b[abi.SCHEME_DAX_SCAN_UNMAPPED] !== 0;
    this.lruSkipDevice = b[abi.SCHEME_LRU_SKIP_DEVICE] !== 0;
    this.clearMappingOnFree = b[abi.SCHEME_CLEAR_MAPPING_ON_FREE] !== 0;
    this.releasePagesDevmap = b[abi.SCHEME_RELEASE_PAGES_DEVMAP] !== 0;
    this.migrateCheckDeviceRefs = b[abi.SCHEME_MIGRATE_CHECK_DEVICE_REFS] !== 0;
    this.pteBatch = b[abi.SCHEME_PTE_BATCH] !== 0;
    this.deviceFolios = b[abi.SCHEME_DEVICE_FOLIOS] !== 0;
    this.folioFreePgmapSaved = b[abi.SCHEME_FOLIO_FREE_PGMAP_SAVED] !== 0;
    this.mprotectWriteUpgrade = b[abi.SCHEME_MPROTECT_WRITE_UPGRADE] !== 0;
    this.pinZeroPage = b[abi.SCHEME_PIN_ZERO_PAGE] !== 0;
    this.longtermUnshareCow = b[abi.SCHEME_LONGTERM_UNSHARE_COW] !== 0;
    this.longtermFileWriteEfault = b[abi.SCHEME_LONGTERM_FILE_WRITE_EFAULT] !== 0;
    this.idleP2pdma = b[abi.SCHEME_IDLE_P2PDMA];
    this.largeAnonReuse = b[abi.SCHEME_LARGE_ANON_REUSE] !== 0;
    this.migrateSplitLarge = b[abi.SCHEME_MIGRATE_SPLIT_LARGE] !== 0;
    this.exclusiveKeepsMapcount = b[abi.SCHEME_EXCLUSIVE_KEEPS_MAPCOUNT] !== 0;
    this.writeProtectSeq = b[abi.SCHEME_WRITE_PROTECT_SEQ] !== 0;
    this.madvCollapse = b[abi.SCHEME_MADV_COLLAPSE] !== 0;
  }

  /** Refcount of a free (or, for DAX, idle) page of this kind: the era's base value. */
  idleCount(kind: number): number {
    if (kind === abi.KIND_DEVICE_PRIVATE) return this.idlePrivate;
    if (kind === abi.KIND_DEVICE_COHERENT) return this.idleCoherent;
    if (kind === abi.KIND_FSDAX) return this.idleFsdax; // 1 before 6.15, 0 after
    if (kind === abi.KIND_DEVDAX) return 1; // MEMORY_DEVICE_GENERIC idles at 1 in every era
    // __init_zone_device_page sets 0 for p2pdma only from 6.15; before, free pages sit at 1 and
    // free_zone_device_folio resets them to 1 (6.1 mm/page_alloc.c, 6.12 mm/mm_init.c, mm/memremap.c)
    if (kind === abi.KIND_P2PDMA) return this.idleP2pdma;
    return 0; // system RAM
  }

  /** Refcount at which a page of this kind is released (buddy, page_free, DAX idle wakeup). */
  freeAt(kind: number): number {
    if (kind === abi.KIND_DEVICE_PRIVATE) return this.freeAtPrivate;
    if (kind === abi.KIND_DEVICE_COHERENT) return this.freeAtCoherent;
    if (kind === abi.KIND_FSDAX || kind === abi.KIND_DEVDAX) return this.idleCount(kind);
    return 0;
  }
}
