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

const common = { pinBias: 1024, tlbBatch: TLB_BATCH, cowPinnedAtFork: true } as const;

export const PRESETS: Record<string, Scheme> = {
  E0: {
    name: "E0",
    kernels: "<= 5.17 (with the v6 DEVICE_COHERENT proposal)",
    description:
      "free device pages idle at refcount 1; put_page calls page_free on 2->1 (put_devmap_managed_page); coherent pages mapped by a normal present PTE as in Alex Sierra's v6 patch; no PG_anon_exclusive, so do_wp_page reuses only at page_count == 1",
    rules: {
      idlePrivate: 1, freeAtPrivate: 1, idleCoherent: 1, freeAtCoherent: 1,
      coherentPte: "normal", anonExclusive: false, swapFaultRef: false, ...common,
    },
  },
  "E0-devmap": {
    name: "E0-devmap",
    kernels: "hypothetical: E0 with coherent anon pages mapped the fsdax way",
    description:
      "E0, but migrate_vma maps coherent pages with pte_devmap: no reference and no mapcount per mapping, the driver keeps its allocation reference and would have to purge mappings with unmap_mapping_range before dropping it (Jason Gunthorpe's question, linux-mm 2022-02-15)",
    rules: {
      idlePrivate: 1, freeAtPrivate: 1, idleCoherent: 1, freeAtCoherent: 1,
      coherentPte: "devmap", anonExclusive: false, swapFaultRef: false, ...common,
    },
  },
  E1: {
    name: "E1",
    kernels: "5.18 - 6.0",
    description:
      "mm: remove the extra ZONE_DEVICE struct page refcount (27674ef6c73f): device pages freed on 1->0 by free_zone_device_page, then reset to 1; driver allocation only locks the page; PG_anon_exclusive from 5.19",
    rules: {
      idlePrivate: 1, freeAtPrivate: 0, idleCoherent: 1, freeAtCoherent: 0,
      coherentPte: "normal", anonExclusive: true, swapFaultRef: false, ...common,
    },
  },
  E2: {
    name: "E2",
    kernels: "6.1 - 6.14",
    description:
      "mm: free device private pages have zero refcount (ef233450898f): free pages idle at 0, zone_device_page_init sets 1, page_free on 1->0 with no reset; do_swap_page takes a ref before migrate_to_ram (16ce101db85d)",
    rules: {
      idlePrivate: 0, freeAtPrivate: 0, idleCoherent: 0, freeAtCoherent: 0,
      coherentPte: "normal", anonExclusive: true, swapFaultRef: true, ...common,
    },
  },
  E3: {
    name: "E3",
    kernels: "6.15 - 6.16",
    description:
      "fs/dax: Fix ZONE_DEVICE page reference counts (7851bf649d42): fsdax and device-dax refcounted like page cache; device-private/coherent rules as E2 (refsim does not model fsdax yet, so E3 behaves as E2 here)",
    rules: {
      idlePrivate: 0, freeAtPrivate: 0, idleCoherent: 0, freeAtCoherent: 0,
      coherentPte: "normal", anonExclusive: true, swapFaultRef: true, ...common,
    },
  },
  E4: {
    name: "E4",
    kernels: ">= 6.17",
    description:
      "mm: Remove pXX_devmap page table bit and pfn_t type: no devmap PTEs at all; device-private/coherent rules as E2",
    rules: {
      idlePrivate: 0, freeAtPrivate: 0, idleCoherent: 0, freeAtCoherent: 0,
      coherentPte: "normal", anonExclusive: true, swapFaultRef: true, ...common,
    },
  },
};

export const PRESET_NAMES = Object.keys(PRESETS);
