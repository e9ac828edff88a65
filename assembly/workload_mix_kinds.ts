// mix's op kinds, by their index in src/workload/mix.ts's MIX_KINDS: its weights are drawn in that order.
// One table for both of mix's generators (src/workload/mix.ts and assembly/workload_mix.ts), plain
// constants that compile as AssemblyScript and TypeScript alike (as abi.ts). No kernel analogue.

export const K_MM_NEW = 0;
export const K_MMAP = 1;
export const K_MUNMAP = 2;
export const K_READ = 3;
export const K_WRITE = 4;
export const K_FORK = 5;
export const K_EXIT = 6;
export const K_MADVISE_DONTNEED = 7;
export const K_FILE_NEW = 8;
export const K_DRIVER_NEW = 9;
export const K_MIGRATE_TO_DEVICE = 10;
export const K_MIGRATE_TO_RAM = 11;
export const K_GUP = 12;
export const K_UNPIN = 13;
export const K_CHECK = 14;
export const K_DROP_CACHE = 15;
export const K_TEARDOWN = 16;
export const K_MADVISE_PAGEOUT = 17;
export const K_TRUNCATE = 18;
export const K_DMA_WRITE = 19;
export const K_EVICT_BO = 20;
export const K_DRIVER_TEARDOWN = 21;

/** How many kinds there are. */
export const MIX_KIND_COUNT = 22;
