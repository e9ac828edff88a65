// The binary interface between the WASM core and the TypeScript host.
// Plain integer constants only, so this one file compiles both as AssemblyScript
// (assembly/) and as TypeScript (src/): op codes, error codes, statistics and
// violation kinds exist exactly once.

// ---- Op records: OP_WORDS i32 words each: [opcode, a0, a1, a2, a3, a4, a5, a6] ----
export const OP_WORDS = 8;

export const OP_MM_NEW = 1; //            () -> mm                       a fresh, empty address space (exec)
export const OP_MMAP = 2; //              (mm, vpn, npages, vmflags, file, pgoff) -> vpn   do_mmap
export const OP_MUNMAP = 3; //            (mm, vpn, npages)              __do_munmap -> unmap_region -> zap_pte_range
export const OP_READ = 4; //              (mm, vpn) -> value             CPU load; faults as handle_mm_fault
export const OP_WRITE = 5; //             (mm, vpn, value)               CPU store; faults as handle_mm_fault
export const OP_FORK = 6; //              (mm) -> child mm               dup_mmap -> copy_page_range
export const OP_EXIT = 7; //              (mm)                           exit_mmap
export const OP_MADV_DONTNEED = 8; //     (mm, vpn, npages)              madvise_dontneed_single_vma -> zap
export const OP_FILE_NEW = 9; //          (npages, driver+1) -> file     a file of npages (on device driver if a1 > 0)
export const OP_DRIVER_NEW = 10; //       (kind, nframes) -> driver      memremap_pages of a device pgmap
export const OP_MIGRATE_TO_DEVICE = 11; // (mm, vpn, npages, driver, bo) -> bo   migrate_vma_setup/pages/finalize
export const OP_MIGRATE_TO_RAM = 12; //   (mm, vpn, npages) -> migrated  driver-initiated migrate_vma with SELECT_DEVICE_*
export const OP_GUP = 13; //              (mm, vpn, gupflags) -> handle  get_user_pages / pin_user_pages (one page)
export const OP_UNPIN = 14; //            (handle)                       put_page / unpin_user_page
export const OP_CHECK = 15; //            ()                             quiesce: invariants, leaks, dangling entries
export const OP_TEARDOWN = 16; //         ()                             exit every mm, drop page cache, then OP_CHECK
export const OP_DROP_CACHE = 17; //       (file)                         invalidate_mapping_pages: evict unmapped, unpinned pages
export const OP_DRIVER_TEARDOWN = 18; //  (driver, evict)                memunmap_pages, after migrate_device_range if evict
export const OP_EVICT_BO = 19; //         (bo) -> migrated               migrate_device_range over the BO's pages
export const OP_FAULT_BEGIN = 20; //      (mm, vpn) -> fault             do_swap_page up to dropping the PTL (0: refault)
export const OP_FAULT_END = 21; //        (fault)                        the rest of do_swap_page: migrate_to_ram, put
export const OP_TRUNCATE = 22; //         (file, index, npages) -> waited truncate / hole punch (dax_layout_busy_page_range)
export const OP_DMA_WRITE = 23; //        (handle, value)                a device writes through a GUP pin
export const OP_MADV_PAGEOUT = 24; //     (mm, vpn, npages) -> isolated  madvise_pageout: isolate each normal page from the LRU
export const OP_DRIVER_ALLOC = 25; //     (driver, order, wait) -> bo    the driver allocates a folio for its own use (zone_device_folio_init); wait: a blocked allocation served at the next free
export const OP_DRIVER_FREE = 26; //      (bo)                           the driver drops its own folios of bo (folio_put -> folio_free)
export const OP_ZAP_BEGIN = 27; //        (mm, vpn, npages, order) -> window   madvise(MADV_DONTNEED)'s zap up to tlb_finish_mmu (zap_window.ts)
export const OP_ZAP_END = 28; //          (window)                       its tlb_finish_mmu: the gathered puts (free_pages_and_swap_cache)
export const OP_MIGRATE_COLLECT = 37; //  (mm, vpn, driver, bo) -> migration   migrate_vma_collect of one page, up to dropping the PTL (migrate_steps.ts)
export const OP_MIGRATE_FINISH = 38; //   (migration) -> bo             migrate_device_unmap's check, migrate_vma_pages, migrate_vma_finalize
export const OP_MIGRATION_WAIT = 39; //   (mm, vpn, waiter) -> waiter   migration_entry_wait on the entry: waiter 0 begins (a reference before 5.17), else its put
export const OP_MPROTECT = 40; //         (mm, vpn, npages, prot)        do_mprotect_pkey (prot: VM_READ | VM_WRITE bits; 0 is PROT_NONE)
export const OP_MREMAP = 41; //           (mm, vpn, oldN, newN, flags, newVpn) -> vpn   do_mremap (MREMAP_* flags)
export const OP_DMIRROR_MMAP = 42; //     (mirror, vpn, npages, prot) -> vpn  mmap of the test_hmm file (dmirror_fops_mmap: VM_MIXEDMAP, vm_insert_page), MAP_PRIVATE
export const OP_MADV_COLLAPSE = 43; //     (mm, vpn, npages) -> 0 | -errno     madvise(MADV_COLLAPSE): madvise_collapse, private anonymous VMAs
// The test_hmm device (lib/test_hmm.c, "dmirror"): a mirror is one open file of a device, for one mm.
export const OP_DMIRROR_NEW = 50; //      (kind, chunk) -> device         dmirror_device_init (KIND_DEVICE_PRIVATE / _COHERENT; chunk pages, 0: DMIRROR_CHUNK_PAGES)
export const OP_DMIRROR_OPEN = 51; //     (device, mm) -> mirror          dmirror_fops_open (mmu_interval_notifier_insert on mm)
export const OP_DMIRROR_CLOSE = 52; //    (mirror)                        dmirror_fops_release
export const OP_DMIRROR_READ = 53; //     (mirror, vpn, npages) -> cpages HMM_DMIRROR_READ (hmm_range_fault, faulting)
export const OP_DMIRROR_WRITE = 54; //    (mirror, vpn, npages, value, step) -> cpages  HMM_DMIRROR_WRITE
export const OP_DMIRROR_MIGRATE_TO_DEV = 55; // (mirror, vpn, npages) -> cpages  HMM_DMIRROR_MIGRATE_TO_DEV (dmirror_migrate_to_device)
export const OP_DMIRROR_MIGRATE_TO_SYS = 56; // (mirror, vpn, npages) -> cpages  HMM_DMIRROR_MIGRATE_TO_SYS (dmirror_migrate_to_system)
export const OP_DMIRROR_SNAPSHOT = 57; // (mirror, vpn, npages) -> cpages HMM_DMIRROR_SNAPSHOT (bytes: Engine.lastSnapshot)
export const OP_DMIRROR_EXCLUSIVE = 58; // (mirror, vpn, npages) -> cpages  HMM_DMIRROR_EXCLUSIVE (dmirror_exclusive: make_device_exclusive per page)
export const OP_DMIRROR_CHECK_EXCLUSIVE = 59; // (mirror, vpn, npages)     HMM_DMIRROR_CHECK_EXCLUSIVE (dmirror_check_atomic: -EPERM while a page is atomic)
export const OP_DMIRROR_RELEASE = 60; //  (mirror, vpn, npages)           HMM_DMIRROR_RELEASE (dmirror_device_remove_chunks; the range is only checked)
export const OP_DMIRROR_FLAGS = 61; //    (mirror, vpn, flags)            HMM_DMIRROR_FLAGS (dmirror->flags = cmd.npages)
export const OP_WRITE_RANGE = 62; //      (mm, vpn, npages, value, step)  a user-space store loop, one write per page
export const OP_READ_RANGE = 63; //       (mm, vpn, npages, value, step, check) -> mismatches  a user-space load loop
// GUP-fast and fork cut into steps for the interleaving explorer (src/races/gup-fast-steps.ts; assembly/gup_fast.ts):
export const OP_GUP_FAST_BEGIN = 33; //   (mm, vpn, gupflags) -> walk     gup_fast: has_pinned, write_protect_seq read, local_irq_save (0: seq odd, fall back)
export const OP_GUP_FAST_STEP = 34; //    (walk) -> 1 | handle | 0        the walk's next step: lockless PTE read, try_grab_folio, PTE recheck, seq retry (0: bailed)
export const OP_FORK_BEGIN = 35; //       (mm) -> child mm                dup_mmap -> copy_page_range up to (not including) the parent's write-protect
export const OP_FORK_END = 36; //         (child)                         ptep_set_wrprotect of the parent's shared entries, raw_write_seqcount_end
export const OP_COUNT = 64; // 32 is OP_CPU (end of file); 33-39 divergences, 40-49 mmops, 50-63 dmirror, 64-79 races

// The order of a zap_begin window (a3 of OP_ZAP_BEGIN): the kernel's, or a mutation for the explorer to break
export const ZAP_ORDER_KERNEL = 0; //    PTE and rmap removed under the PTL, the reference put after the TLB flush
export const ZAP_ORDER_PUT_FIRST = 1; // mutated: the PTE's reference put first, PTE and rmap removed at the end
export const ZAP_WINDOW_SLOTS = 8; //    zap windows open at once
export const ZAP_WINDOW_PAGES = 16; //   pages one zap window may cover
export const MIGRATE_CUT_SLOTS = 8; //   migrate_collect cuts (and migration_wait waiters) open at once

// mmap flags (vmflags of OP_MMAP)
export const VM_READ = 1;
export const VM_WRITE = 2;
export const VM_SHARED = 4;
export const VM_ANON = 8; // anonymous memory (no file)
export const VM_FILE = 16; // file-backed
export const VM_HUGEPAGE = 32; // MADV_HUGEPAGE: anon faults may map a PMD-sized THP (do_huge_pmd_anonymous_page)
export const VM_VALID = 63;

// mremap flags (a4 of OP_MREMAP): the kernel's MREMAP_* values
export const MREMAP_MAYMOVE = 1;
export const MREMAP_FIXED = 2;
export const MREMAP_DONTUNMAP = 4;
export const MREMAP_VALID = 7;

// GUP flags (a2 of OP_GUP)
export const FOLL_WRITE = 1;
export const FOLL_PIN = 2; // pin_user_pages: GUP_PIN_COUNTING_BIAS on a small folio
export const FOLL_LONGTERM = 4;
export const FOLL_PCI_P2PDMA = 8;
export const FOLL_VALID = 15;

// Page frame kinds (enum memory_type, plus ordinary RAM)
export const KIND_SYSTEM = 0;
export const KIND_DEVICE_PRIVATE = 1;
export const KIND_DEVICE_COHERENT = 2;
export const KIND_FSDAX = 3; //       MEMORY_DEVICE_FS_DAX: pmem under a DAX filesystem
export const KIND_DEVDAX = 4; //      MEMORY_DEVICE_GENERIC: /dev/daxX.Y
export const KIND_P2PDMA = 5; //      MEMORY_DEVICE_PCI_P2PDMA: PCI BAR memory
export const KIND_COUNT = 6;

// ---- Scheme block: one i32 per rule, written by the host (src/scheme/) ----
export const SCHEME_IDLE_PRIVATE = 0; //      refcount of a free device-private page on the driver's free list
export const SCHEME_FREE_AT_PRIVATE = 1; //   refcount at which a device-private page is handed to page_free
export const SCHEME_IDLE_COHERENT = 2;
export const SCHEME_FREE_AT_COHERENT = 3;
export const SCHEME_COHERENT_PTE = 4; //      how migrate_vma maps a coherent page: PTE_FORM_*
export const SCHEME_ANON_EXCLUSIVE = 5; //    1: PG_anon_exclusive exists (5.19+); 0: reuse decided by page_count alone
export const SCHEME_PIN_BIAS = 6; //          GUP_PIN_COUNTING_BIAS
export const SCHEME_TLB_BATCH = 7; //         mmu_gather batch size; 0 puts at once
export const SCHEME_SWAP_FAULT_REF = 8; //    do_swap_page takes a page ref before migrate_to_ram (6.1 fix)
export const SCHEME_COW_PINNED = 9; //        copy_present_page for maybe-pinned anon pages at fork (5.9+)
export const SCHEME_PGMAP_REF = 10; //        who holds pgmap refs: PGMAP_REF_*
export const SCHEME_FSDAX_PTE = 11; //        how an fsdax fault maps: PTE_FORM_*
export const SCHEME_IDLE_FSDAX = 12; //       refcount of an idle fsdax page (1 before 6.15, 0 after)
export const SCHEME_DEVDAX_PTE = 13; //       how a device-dax fault maps: PTE_FORM_*
export const SCHEME_DAX_SCAN_UNMAPPED = 14; // dax_layout_busy_page_range scans a file no vma maps (6.15 fix)
export const SCHEME_LRU_SKIP_DEVICE = 15; //  LRU users skip ZONE_DEVICE pages from vm_normal_page (3218f8712d6b, 6.0)
export const SCHEME_CLEAR_MAPPING_ON_FREE = 16; // page_free path clears page->mapping (7ab0ad0e74f8, 2019)
export const SCHEME_RELEASE_PAGES_DEVMAP = 17; // release_pages routes devmap pages via put_devmap_managed_page (c5d6c45e90c4)
export const SCHEME_MIGRATE_CHECK_DEVICE_REFS = 18; // migrate_vma_check_page counts refs on device-private pages (ffa65753c431)
export const SCHEME_PTE_BATCH = 19; //        fork/zap batch the PTEs of one large folio: one folio_ref_add/sub of nr (6.9+)
export const SCHEME_DEVICE_FOLIOS = 20; //    large device-private folios (zone_device_folio_init with an order, E5)
export const SCHEME_FOLIO_FREE_PGMAP_SAVED = 21; // free_zone_device_folio puts pgmap refs through a pgmap saved before ->folio_free (2026 fix)
export const SCHEME_PIN_ZERO_PAGE = 22; //     FOLL_PIN takes the pin bias on the shared zero page (before c8070b787519, 6.5)
export const SCHEME_LONGTERM_UNSHARE_COW = 23; // a R/O FOLL_LONGTERM pin unshares a non-anon page in a COW mapping (84209e87c696, 6.2)
export const SCHEME_LONGTERM_FILE_WRITE_EFAULT = 24; // FOLL_LONGTERM write pin of a dirty-tracked shared file mapping: -EFAULT (writable_file_mapping_allowed, 6.5)
export const SCHEME_IDLE_P2PDMA = 25; //      refcount of a free p2pdma page (1 before 6.15, 0 after: __init_zone_device_page)
export const SCHEME_LARGE_ANON_REUSE = 26; //  do_wp_page reuses an exclusively mapped large anon folio (__wp_can_reuse_large_anon_folio, 1da190f4d0a6, 6.15)
export const SCHEME_MIGRATE_SPLIT_LARGE = 27; // migrate_vma_collect_pmd splits a PTE-mapped large folio (migrate_vma_split_folio, device-private THP series, E5)
export const SCHEME_MPROTECT_WRITE_UPGRADE = 28; // change_pte_range makes exclusive anon PTEs writable (can_change_pte_writable, 6.0+)
export const SCHEME_EXCLUSIVE_KEEPS_MAPCOUNT = 29; // a device-exclusive entry keeps its page's mapcount (1a3240bc6379, 6.15); before, make_device_exclusive drops it
export const SCHEME_WRITE_PROTECT_SEQ = 30; // fork holds mm->write_protect_seq over copy_page_range and GUP-fast FOLL_PIN retries on it (57efa1fe5957, 5.11)
export const SCHEME_MADV_COLLAPSE = 31; //     madvise(MADV_COLLAPSE) exists (7d8faaf15545, 6.1); before, madvise_behavior_valid refuses it: -EINVAL
export const SCHEME_WORDS = 32;

export const PGMAP_REF_PER_PAGE = 0; // E0: one per struct page, dropped when its count reaches 0
export const PGMAP_REF_BULK = 1; //     E1: bulk base refs, put in bulk at teardown (not tied to use)
export const PGMAP_REF_PER_ALLOC = 2; // E2+: one per allocated private/coherent page

export const SWAP_FAULT_NO_REF = 0; //  do_swap_page calls migrate_to_ram without a reference (<= 6.0)
export const SWAP_FAULT_GET = 1; //     get_page under the PTL first (6.1, CVE-2022-3523 fix)
export const SWAP_FAULT_TRYLOCK = 2; // trylock + get; a contended lock refaults (6.15)
export const SWAP_FAULT_WAIT = 3; //    trylock + get; a contended lock sleeps until unlock, then refaults (b570f37a2ce4, 7.0)

export const PTE_FORM_NORMAL = 0; // ordinary present PTE, refcounted and rmapped like anon
export const PTE_FORM_DEVMAP = 1; // pte_devmap|pte_special: no ref, no mapcount; the owner keeps its ref

// ---- PTE encoding: pfn << PTE_PFN_SHIFT | flag bits; 0 is pte_none ----
export const PTE_PRESENT = 1;
export const PTE_WRITE = 2;
export const PTE_SPECIAL = 4; // vm_normal_page() returns NULL (zero page, devmap, vmf_insert_mixed)
export const PTE_DEVMAP = 8;
export const PTE_DEVICE_PRIVATE = 16; // non-present device-private swap entry
export const PTE_MIGRATION = 32; // non-present migration entry (only inside one op)
export const PTE_DEVICE_EXCLUSIVE = 64; // non-present device-exclusive entry (make_device_exclusive; one type, SWP_DEVICE_EXCLUSIVE, 6.15)
export const PTE_PFN_SHIFT = 7;
export const MAX_FRAMES = 1 << 25;

// ---- Frame flags (low bits of the flags word; kind in bits 8..10) ----
export const PG_ALLOCATED = 1; // in use: not on the buddy or a driver free list
export const PG_ANON = 2; // folio_test_anon
export const PG_ANON_EXCLUSIVE = 4; // PageAnonExclusive
export const PG_OWNER_REF = 8; // the device owner still holds its allocation reference (devmap model)
export const PG_LEAK_REPORTED = 16;
export const PG_PAGECACHE = 32;
export const PG_EARLY_FREED = 64; // handed back (page_free) while still mapped; mappings may still be zapped
export const PG_GONE = 128; // struct page torn down by memunmap_pages while something still referenced it
export const PG_LOCKED = 2048; // folio_lock
export const PG_NO_PGMAP_REF = 4096; // allocated after memunmap_pages began: zone_device_page_init's tryget failed
export const PG_TRUNCATE_WAIT = 8192; // a truncate waits for this DAX page to go idle
export const PG_HANG_REPORTED = 16384;
export const PG_HEAD = 32768; // first page of a large (PMD-order) folio: it holds the folio's refcount
export const PG_TAIL = 65536; // any other page of a large folio (compound_head = pfn & ~(FOLIO_NR - 1))
export const PG_DRIVER_HELD = 131072; // a device folio the driver allocated for itself (OP_DRIVER_ALLOC): its reference is the driver's
export const PG_KIND_SHIFT = 8;

// ---- Large folios: PMD order only (HPAGE_PMD_ORDER 9, 2 MiB) ----
export const FOLIO_ORDER = 9;
export const FOLIO_NR = 512;
/** A pmd slot mapping a THP: the slot keeps its deposited pte table (pgtable_trans_huge_deposit) | PMD_HUGE. */
export const PMD_HUGE = 1 << 30;

// ---- Errors (negative result of a rejected op; nothing was changed) ----
export const ERR_NONE = 0;
export const ERR_BAD_OP = 1;
export const ERR_BAD_MM = 2;
export const ERR_SEGV = 3; //    only fault_begin outside any VMA; CPU accesses raise SIGSEGV (errno.ts)
export const ERR_ACCESS = 4; //  no longer raised: SIGSEGV / EFAULT are kernel results (errno.ts)
export const ERR_OVERLAP = 5; // no longer raised: mmap over a mapping is EEXIST
export const ERR_RANGE = 6;
export const ERR_NOMEM_FRAMES = 7;
export const ERR_NOMEM_TABLES = 8;
export const ERR_NOMEM_MM = 9;
export const ERR_NOMEM_VMA = 10;
export const ERR_BAD_FILE = 11;
export const ERR_BAD_DRIVER = 12;
export const ERR_BAD_BO = 13;
export const ERR_BAD_HANDLE = 14;
export const ERR_NOT_ANON = 15; // no longer raised: migrate_to_device works on any VMA (migrate_vma_setup)
export const ERR_NOMEM_DEVICE = 16;
export const ERR_BAD_ARG = 17;
export const ERR_NOMEM_OBJECTS = 18;
export const ERR_BAD_STATE = 19;
export const ERR_BAD_DMIRROR = 30; // no such test_hmm device
export const ERR_BAD_MIRROR = 31; //  no such open test_hmm file (never opened, or closed)
export const ERR_COUNT = 32; // 20-23 divergences, 24-29 mmops (unused so far)

// Op fields at fault: the index of the argument an ERR_* names (the host reads OP_FIELDS[op][index] in
// src/core/ops.ts; test/field-names.test.ts checks every name against it). F_<OP>_<FIELD> is that op's own;
// the shared ones, for a check one function makes for several ops, say which.
export const NO_FIELD = -1; // no field: the error is about the engine (out of frames, slots, tables), not one argument
export const F_ACCESS_ADDR = 1; // field 1 ("addr") of the ops that access a page: read, write, gup, write_range, read_range
export const F_CPU_CPU = 0;
export const F_DMA_WRITE_HANDLE = 0;
export const F_DMIRROR_ADDR = 1; // field 1 ("addr") of the dmirror range ops (read, write, snapshot, migrate_to_dev/sys, exclusive, check_exclusive, release, flags)
export const F_DMIRROR_MMAP_LENGTH = 2;
export const F_DMIRROR_MMAP_PROT = 3;
export const F_DMIRROR_NEW_CHUNK = 1;
export const F_DMIRROR_NEW_KIND = 0;
export const F_DMIRROR_NPAGES = 2; // field 2 of the dmirror range ops: "npages" (dmirror_flags names it "flags": cmd.npages is the flags word)
export const F_DMIRROR_OPEN_DEVICE = 0;
export const F_DMIRROR_OPEN_MM = 1;
export const F_DRIVER_ALLOC_DRIVER = 0;
export const F_DRIVER_ALLOC_ORDER = 1;
export const F_DRIVER_ALLOC_WAIT = 2;
export const F_DRIVER_FREE_BO = 0;
export const F_DRIVER_NEW_KIND = 0;
export const F_DRIVER_NEW_PAGES = 1;
export const F_DRIVER_TEARDOWN_DRIVER = 0;
export const F_DRIVER_TEARDOWN_EVICT = 1;
export const F_DROP_CACHE_FILE = 0;
export const F_EVICT_BO_BO = 0;
export const F_FAULT_BEGIN_ADDR = 1;
export const F_ZAP_BEGIN_ADDR = 1;
export const F_ZAP_BEGIN_LENGTH = 2;
export const F_ZAP_BEGIN_ORDER = 3;
export const F_ZAP_END_WINDOW = 0;
export const F_MIGRATE_COLLECT_ADDR = 1;
export const F_MIGRATE_COLLECT_DRIVER = 2;
export const F_MIGRATE_COLLECT_BO = 3;
export const F_MIGRATE_FINISH_MIGRATION = 0;
export const F_MIGRATION_WAIT_ADDR = 1;
export const F_MIGRATION_WAIT_WAITER = 2;
export const F_FAULT_END_FAULT = 0;
export const F_FILE_NEW_DRIVER = 1;
export const F_FILE_NEW_LENGTH = 0;
export const F_FORK_MM = 0;
export const F_GUP_FAST_BEGIN_MM = 0;
export const F_GUP_FAST_BEGIN_ADDR = 1;
export const F_GUP_FAST_BEGIN_WRITE = 2; // the flags word, as gup's
export const F_GUP_FAST_STEP_WALK = 0;
export const F_FORK_BEGIN_MM = 0;
export const F_FORK_END_CHILD = 0;
export const F_GUP_ADDR = 1;
export const F_GUP_WRITE = 2;
export const F_LOOP_ADDR = 1; // field 1 ("addr") of write_range and read_range
export const F_LOOP_MM = 0; // field 0 ("mm") of write_range and read_range
export const F_LOOP_PAGES = 2; // field 2 of the loops over a range: "length" of write_range/read_range, "npages" of dmirror_read/dmirror_write
export const F_MADVISE_COLLAPSE_ADDR = 1;
export const F_MADVISE_COLLAPSE_MM = 0;
export const F_MADVISE_DONTNEED_ADDR = 1;
export const F_MADVISE_PAGEOUT_ADDR = 1;
export const F_MIGRATE_TO_DEVICE_ADDR = 1;
export const F_MIGRATE_TO_DEVICE_BO = 4;
export const F_MIGRATE_TO_DEVICE_DRIVER = 3;
export const F_MIGRATE_TO_DEVICE_LENGTH = 2;
export const F_MIGRATE_TO_RAM_ADDR = 1;
export const F_MIGRATE_TO_RAM_LENGTH = 2;
export const F_MM = 0; // field 0 ("mm") of every op the dispatcher checks the mm of (NEEDS_MM)
export const F_MMAP_ADDR = 1;
export const F_MMAP_FILE = 4;
export const F_MMAP_LENGTH = 2;
export const F_MMAP_OFFSET = 5;
export const F_MMAP_PROT = 3;
export const F_MPROTECT_ADDR = 1;
export const F_MPROTECT_MM = 0;
export const F_MPROTECT_PROT = 3;
export const F_MREMAP_ADDR = 1;
export const F_MREMAP_LENGTH = 2;
export const F_MREMAP_MAYMOVE = 4;
export const F_MREMAP_MM = 0;
export const F_MREMAP_NEW_ADDR = 5;
export const F_MREMAP_NEW_LENGTH = 3;
export const F_MUNMAP_ADDR = 1;
export const F_TRUNCATE_FILE = 0;
export const F_TRUNCATE_LENGTH = 2;
export const F_TRUNCATE_OFFSET = 1;
export const F_TRUNCATE_SHRINK = 3;
export const F_UNPIN_HANDLE = 0;

// ---- Kernel errnos and signals: a result of the op, not a rejection (assembly/errno.ts) ----
export const EPERM = 1;
export const ENOENT = 2;
export const EINTR = 4;
export const EAGAIN = 11;
export const ENOMEM = 12;
export const EACCES = 13;
export const EFAULT = 14;
export const EBUSY = 16;
export const EEXIST = 17;
export const EINVAL = 22;
export const ENOSPC = 28;
export const EOPNOTSUPP = 95;
export const EREMOTEIO = 121;
export const SIGBUS = 7;
export const SIGSEGV = 11;
/** A status word: 0, an errno, or STATUS_SIGNAL | signo. */
export const STATUS_SIGNAL = 256;

// ---- mmu notifier events (enum mmu_notifier_event, in kernel order) ----
export const MMU_NOTIFY_UNMAP = 0;
export const MMU_NOTIFY_CLEAR = 1;
export const MMU_NOTIFY_PROTECTION_VMA = 2;
export const MMU_NOTIFY_PROTECTION_PAGE = 3;
export const MMU_NOTIFY_SOFT_DIRTY = 4;
export const MMU_NOTIFY_RELEASE = 5;
export const MMU_NOTIFY_MIGRATE = 6;
export const MMU_NOTIFY_EXCLUSIVE = 7;

// ---- test_hmm (lib/test_hmm.c, tools/testing/selftests/mm/test_hmm_uapi.h) ----
export const MAX_DMIRROR_DEVICES = 16; // test_hmm devices per engine
export const MAX_MIRRORS = 64; //         open test_hmm files ever (fds are not reused)
export const MIRROR_ENTRIES = 8192; //    pt entries of all mirrors together
export const SNAPSHOT_MAX = 8192; //      pages one HMM_DMIRROR_SNAPSHOT may cover here
export const HMM_CHUNK = 64; //           pfns[64] of dmirror_fault / dmirror_snapshot (lib/test_hmm.c)
// A chunk of device memory (dmirror_allocate_chunk): DEVMEM_CHUNK_SIZE is 256 MiB (65536 pages); refsim's
// default chunk is 1024 pages (4 MiB, one HMM_BUFFER_SIZE of hmm-tests.c) so the default 16384 device pages hold
// 16; dmirror_new's chunk sets another (65536 for the kernel's).
export const DMIRROR_CHUNK_PAGES = 1024;
export const DMIRROR_CHUNK_MAX = 1 << 20; // the largest chunk dmirror_new takes
export const HMM_DMIRROR_FLAG_FAIL_ALLOC = 1; // (1ULL << 0): the next device allocation fails, once
// A pgmap's owner as mmu-notifier ranges and hmm_range_fault see it (pgmap->owner): a driver's own id, or
// for a test_hmm chunk DMIRROR_OWNER_BASE + its device (pagemap.owner = mdevice, shared by all its chunks).
export const DMIRROR_OWNER_BASE = 0x10000;
export const DPT_TAG_NONE = 0; //   a read-only pt entry
export const DPT_TAG_ATOMIC = 1; // DPT_XA_TAG_ATOMIC (dmirror_atomic_map)
export const DPT_TAG_WRITE = 3; //  DPT_XA_TAG_WRITE
// enum HMM_DMIRROR_PROT_*: the SNAPSHOT byte of one page (dmirror_mkentry)
export const HMM_PROT_ERROR = 0xff;
export const HMM_PROT_NONE = 0x00;
export const HMM_PROT_READ = 0x01;
export const HMM_PROT_WRITE = 0x02;
export const HMM_PROT_PMD = 0x04;
export const HMM_PROT_PUD = 0x08;
export const HMM_PROT_ZERO = 0x10;
export const HMM_PROT_DEV_PRIVATE_LOCAL = 0x20;
export const HMM_PROT_DEV_PRIVATE_REMOTE = 0x30;
export const HMM_PROT_DEV_COHERENT_LOCAL = 0x40;
export const HMM_PROT_DEV_COHERENT_REMOTE = 0x50;

// ---- Violation kinds ----
export const V_LEAK_PAGE = 0; //     allocated page nothing can reach (no PTE, pin or page cache)
export const V_LEAK_BO = 1; //       buffer object whose remaining pages are all leaked
export const V_UAF = 2; //           PTE, pin or put reaching a frame that was already handed back
export const V_UNDERFLOW = 3; //     refcount or mapcount pushed below its floor
export const V_DOUBLE_FREE = 4; //   a frame handed back twice
export const V_CORRUPTION = 5; //    a read that does not return what this process last wrote
export const V_EARLY_FREE = 6; //    page_free / buddy free while a mapping still exists
export const V_REFCOUNT = 7; //      refcount differs from base + mappings + pins + cache + owner
export const V_MAPCOUNT = 8; //      mapcount differs from the number of refcounted mappings
export const V_HANG = 9; //          a waiter that nothing will wake (memunmap_pages, truncate) at a check
export const V_LIVELOCK = 10; //     migrate_to_ram cannot progress: concurrent faults' refs block it
export const V_KINDS = 12; // V_COUNTER_ZERO = 11 is defined with the counter layer (end of file)

// violation record: VIOLATION_WORDS i32 words
export const VIOLATION_WORDS = 8; // [kind, op seq, pfn, mm, vpn, refcount, mapcount, extra]

// ---- Statistics (i64 counters, index into the stats block) ----
export const ST_OPS = 80; // + opcode: per-op counts occupy ST_OPS .. ST_OPS+OP_COUNT-1
export const ST_ATOMIC_REF = 20; // atomic RMWs on _refcount (folio_ref_add/sub, get/put)
export const ST_ATOMIC_MAP = 21; // atomic RMWs on _mapcount (rmap add/remove)
export const ST_FRAMES_ALLOC = 22;
export const ST_FRAMES_FREED = 23;
export const ST_DEV_ALLOC = 24;
export const ST_DEV_FREED = 25; // page_free callbacks
export const ST_BO_CREATED = 26;
export const ST_BO_FREED = 27;
export const ST_FAULTS = 28;
export const ST_WP_COPY = 29;
export const ST_WP_REUSE = 30;
export const ST_MIGRATED = 31;
export const ST_MIGRATE_FAIL = 32;
export const ST_TLB_FLUSH = 33;
export const ST_PTES_COPIED = 34;
export const ST_PTES_ZAPPED = 35;
export const ST_VIOLATIONS_DROPPED = 36;
export const ST_PEAK_FRAMES = 37;
export const ST_LIVE_FRAMES = 38;
export const ST_LIVE_BOS = 39;
export const ST_PINS = 40;
export const ST_GUP_FAILED = 42;
export const ST_TRUNCATE_WAITS = 43;
export const ST_TEARDOWNS = 44;
export const ST_THP_ALLOC = 0; //      do_huge_pmd_anonymous_page mapped a new THP
export const ST_THP_FALLBACK = 1; //   THP wanted but none free: fell back to a small page
export const ST_THP_SPLIT_PMD = 2; //  __split_huge_pmd
export const ST_THP_SPLIT_FOLIO = 3; // split_folio (before migration)
export const ST_THP_SPLIT_FAIL = 4; // split_folio refused (pinned or mapped by a PMD elsewhere): not migrated
export const ST_THP_FREED = 5;
export const ST_MMU_NOTIFY = 10; //     mmu_notifier_invalidate_range_start calls (subscribers or not)
export const ST_PTES_MOVED = 11; //     entries move_page_tables moved (mremap)
export const ST_PROT_CHANGED = 12; //   pages change_protection counted (mprotect)
export const ST_KERNEL_ERRNO = 13; //   ops the kernel failed with an errno or a signal
export const ST_SHMEM_RELEASED = 14; // shmem files freed at their last unmap
export const ST_VIOLATIONS = 48; // + kind: per-kind counts occupy ST_VIOLATIONS .. +V_KINDS-1
// test_hmm (dmirror) statistics, 15-19
export const ST_DMIRROR_FAULTS = 15; //     dmirror_fault rounds (cmd->faults) of READ / WRITE
export const ST_HMM_FAULT_PAGES = 16; //    pages hmm_do_fault ran handle_mm_fault on
export const ST_MIRROR_INVALIDATED = 17; // mirror pt entries dmirror_interval_invalidate erased
export const ST_MIRROR_ENTRIES = 18; //     mirror pt entries now (all mirrors)
export const ST_DEVICE_PAGES = 19; //       pages the device copied through its pt (dmirror_do_read / _write)
export const ST_WORDS = 144; // the per-op block ST_OPS + OP_COUNT (64) ends at 143

// ---- Init parameters (i32 words passed to init) ----
export const CAP_SYS_FRAMES = 0;
export const CAP_DEV_FRAMES = 1;
export const CAP_MMS = 2;
export const CAP_VMAS = 3;
export const CAP_PTE_TABLES = 4;
export const CAP_PMD_TABLES = 5;
export const CAP_FILES = 6;
export const CAP_FILE_PAGES = 7;
export const CAP_DRIVERS = 8;
export const CAP_BOS = 9;
export const CAP_PINS = 10;
export const CAP_VIOLATIONS = 11;
export const CAP_BATCH = 12;
export const CAP_HUGE_PAGES = 13; // PMD-sized folios in the THP pool (2 MiB each, part of system RAM)
export const CAP_WORDS = 16;

// Simulated virtual address space: vpn < 2^27 (512 GiB), three levels of 512 entries.
export const VPN_BITS = 27;
export const PT_ENTRIES = 512;

// ---- Simulated CPUs, counter implementations and the cost model (assembly/cpus.ts, assembly/counters/) ----
export const OP_CPU = 32; //              (cpu)                          the ops that follow run on simulated CPU cpu
export const MAX_CPUS = 128;
export const V_COUNTER_ZERO = 11; //  the counter layer declared zero while the true _refcount was not zero

// Counter implementations (CTR_COUNTER)
export const COUNTER_ATOMIC = 0; //   one shared atomic_t (today's _refcount)
export const COUNTER_PERCPU = 1; //   percpu_ref: per-CPU counts, kill + grace period + sum, then atomic mode
export const COUNTER_REFCACHE = 2; // sv6 Refcache: per-CPU delta caches, epoch flush, review queue
export const COUNTER_SNZI = 3; //     SNZI tree: the root changes only on 0<->1 of its children
export const COUNTER_KINDS = 4;

// Counter-layer configuration: CTR_WORDS i32 words, then COST_WORDS f64 words (ns)
export const CTR_COUNTER = 0;
export const CTR_CPUS = 1;
export const CTR_CPUS_PER_SOCKET = 2;
export const CTR_SNZI_LEAF_CPUS = 3; // CPUs arriving at one SNZI leaf
export const CTR_SNZI_ARITY = 4; //     children per inner SNZI node
export const CTR_REVIEW_EPOCHS = 5; //  Refcache: flushes of every CPU after a zero before it is freed (0: unsafe, no review)
export const CTR_WORDS = 8;
export const COST_LOCAL = 0; //        a hit in the CPU's own cache (non-atomic)
export const COST_ATOMIC = 1; //       an atomic RMW on a line the CPU owns
export const COST_TRANSFER = 2; //     a cache-line transfer within a socket
export const COST_CROSS_SOCKET = 3; // a cache-line transfer between sockets
export const COST_CONTENDER = 4; //    extra per other CPU queued on the same line
export const COST_OP = 5; //           the rest of an op's work, not itemized (local, never contended)
export const COST_EPOCH = 6; //        Refcache epoch (per-CPU flush period)
export const COST_GRACE = 7; //        percpu_ref: RCU grace period between kill and sum
export const COST_WORDS = 8;

// Counter-layer statistics (i64, index into the stats block; slots 64..79)
export const ST_CTR_LOCAL = 64; //      local cache hits
export const ST_CTR_TRANSFERS = 65; //  cache-line transfers (incl. first touch from memory)
export const ST_CTR_CROSS = 66; //      of those, between sockets
export const ST_CTR_RMW = 67; //        atomic RMWs issued by the counter implementation
export const ST_CTR_UPDATES = 68; //    _refcount updates fed to the layer (folio_get/put calls)
export const ST_CTR_ZEROS = 69; //      times the true count reached zero
export const ST_CTR_DETECTED = 70; //   of those, detected by the implementation
export const ST_CTR_DELAY_SUM = 71; //  sum of zero-detection delays, ns
export const ST_CTR_DELAY_MAX = 72; //  largest zero-detection delay, ns
export const ST_CTR_REUSED = 73; //     zeros superseded by a new reference before detection
export const ST_CTR_FLUSHES = 74; //    Refcache deltas flushed / percpu_ref sums
export const ST_CTR_EVICTIONS = 75; //  Refcache conflict evictions
export const ST_CTR_TICKS = 76; //      Refcache per-CPU epoch flushes
export const ST_CTR_KILLS = 77; //      percpu_ref kills
export const ST_CTR_OPS = 78; //        ops charged to CPUs (OP_CPU excluded)
export const ST_CTR_PROPAGATE = 79; //  SNZI updates above a leaf
export const CPU_STAT_WORDS = 4; //     per CPU (i64): local hits, transfers, atomic RMWs, ops
export const DELAY_BUCKETS = 48; //     zero-detection delays: bucket i counts delays in [2^(i-1), 2^i) ns
