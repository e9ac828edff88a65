// How much linear memory init() will take for given capacities, computed in 64 bits
// before anything is allocated: the tables' sizes in 32-bit usize arithmetic wrap
// for large capacities (filePages = 2^30 made a tiny page cache that overlapped
// other state), so init() and the host check this total against what one wasm32
// memory can hold first. One line per heap.alloc of every init function, in the
// order init() calls them; test/capacity-size.test.ts checks that the total equals
// what init() really allocates, so a table added without a line here fails there.
import {
  CAP_SYS_FRAMES, CAP_DEV_FRAMES, CAP_MMS, CAP_VMAS, CAP_PTE_TABLES, CAP_PMD_TABLES, CAP_FILES, CAP_FILE_PAGES,
  CAP_DRIVERS, CAP_BOS, CAP_PINS, CAP_VIOLATIONS, CAP_BATCH, CAP_HUGE_PAGES, SCHEME_WORDS, VIOLATION_WORDS,
  OP_WORDS, PT_ENTRIES, FOLIO_ORDER, FOLIO_NR, MAX_DMIRROR_DEVICES, MAX_MIRRORS, MIRROR_ENTRIES, HMM_CHUNK, SNAPSHOT_MAX,
} from "./abi";
import { mirrorSlots } from "./mirror";
import { MAX_GATHER } from "./mmu_gather";
import { PREFETCH_GROUP } from "./prefetch";
import { checkScratchFrames } from "./check";

/** The stub runtime's largest block (rt/common.ts BLOCK_MAXSIZE): a bigger table aborts heap.alloc. */
export const TABLE_MAX: u64 = (1 << 30) - 4;

let total: u64 = 0;
let largest: u64 = 0;

/** One heap.alloc of `bytes`: the stub runtime adds a 4-byte header and rounds the block to 16. */
function table(bytes: u64): void {
  if (bytes > largest) largest = bytes;
  total += (bytes + 19) & ~(<u64>15);
}

/** `n` tables of `bytes` each. */
function tables(n: i32, bytes: u64): void {
  for (let i = 0; i < n; i++) table(bytes);
}

let caps: usize = 0;
/** Capacity word i, widened. */
function c(i: i32): u64 { return <u64>load<i32>(caps + (<usize>i << 2)); }

/** Bytes init() allocates for the capacity words at `at` (CAP_WORDS i32, each >= 0). */
export function capacityBytes(at: usize): u64 {
  caps = at;
  total = 0;
  largest = 0;
  // initStats: a static block (stats.ts), no table
  table(SCHEME_WORDS << 2); // initScheme
  table(c(CAP_VIOLATIONS) * VIOLATION_WORDS * 4); // initViolations
  // initFrames: small pages, then the THP pool from the next 2 MiB-aligned pfn, then device frames
  const nSmall = c(CAP_SYS_FRAMES);
  const nHuge = c(CAP_HUGE_PAGES);
  const nSys: u64 = nHuge == 0 ? nSmall : ((nSmall + FOLIO_NR) & ~(<u64>FOLIO_NR - 1)) - 1 + nHuge * FOLIO_NR;
  const frames: u64 = 1 + nSys + c(CAP_DEV_FRAMES);
  tables(6, frames << 2);
  const firstLargeBlock = (nHuge == 0 ? nSys + 1 : nSys + 1 - nHuge * FOLIO_NR) >> FOLIO_ORDER;
  tables(2, ((frames >> FOLIO_ORDER) + 1 - firstLargeBlock) << 2);
  table(max<u64>(nHuge, 1) << 2);
  // initDevices: per driver, per device frame, per BO (id 0 is "none")
  tables(10, c(CAP_DRIVERS) << 2);
  table(max<u64>(c(CAP_DRIVERS), 1) << 2); // drvNeed: deviceRoomRange's per-driver scratch
  tables(2, max<u64>(c(CAP_DEV_FRAMES), 1) << 2);
  tables(4, (c(CAP_BOS) + 1) << 2);
  tables(9, c(CAP_MMS) << 2); // initMm (the live list, each mm's VMA index's place and room, its shifted-VMA count)
  tables(9, c(CAP_VMAS) << 2);
  table((2 * c(CAP_VMAS) + 8) << 3); // and the VMA indexes' pool (mm.ts idxEntries, 8 B each)
  table(4 << 12); // and the find_vma hints (mm.ts vmaHint, 2^HINT_BITS words)
  table(c(CAP_MMS) * PT_ENTRIES * 4); // initPageTables: a pgd per mm
  table(c(CAP_MMS) << 2);
  table((c(CAP_PMD_TABLES) + 1) * PT_ENTRIES * 4);
  table((c(CAP_PTE_TABLES) + 1) * PT_ENTRIES * 8); // PTEs, each beside its shadow data word (pgtable.ts PTE_SLOT)
  table((c(CAP_PTE_TABLES) + 1) << 2);
  tables(6, c(CAP_FILES) << 2); // initFiles
  tables(2, max<u64>(c(CAP_FILE_PAGES), 1) << 2);
  table(max<u64>(c(CAP_FILES), 1)); // initTruncate: a woken mark per file
  tables(4, max<u64>(2 * c(CAP_FILES), 1) << 2); // and the waiting truncates
  table(<u64>MAX_GATHER << 3); // initMmuGather: gatherPfn and gatherRefs in one block (mmu_gather.ts GATHER_REFS_OFFSET)
  tables(4, c(CAP_MMS) << 2); // initRmap
  tables(8, (c(CAP_PINS) + 1) << 2); // initPins (the pfn chains' links too)
  let buckets: u64 = 1;
  while (buckets < c(CAP_PINS)) buckets <<= 1;
  table(buckets << 2); // and the chains' heads, one per pfn bucket
  tables(2, checkScratchFrames(frames) << 2); // initCheck: scratch for one chunk of frames
  tables(2, ((frames >> FOLIO_ORDER) + 1 - firstLargeBlock) << 2); // and per large-folio block
  tables(3, (c(CAP_BOS) + 1) << 2);
  table(<u64>PREFETCH_GROUP << 2); // initPrefetch
  table(max<u64>(c(CAP_DEV_FRAMES), 1) << 2); // initOps
  table(c(CAP_BATCH) * OP_WORDS * 4);
  table(c(CAP_BATCH) << 2);
  table(16);
  table(c(CAP_BATCH) << 3); // initErrno: [index, status] per failed op of a batch
  table(max<u64>(c(CAP_DEV_FRAMES), 1) << 2); // initMigrate: device pages to put at finalize
  tables(7, (c(CAP_PINS) + 1) << 2); // initRace: in-flight faults, as many as GUP handles
  table(max<u64>(c(CAP_DRIVERS), 1)); // initDmirror: per driver, a large chunk or not
  tables(7, (c(CAP_PINS) + 1) << 2); // initGupFast: in-flight GUP-fast walks, as many as GUP handles
  tables(2, c(CAP_MMS) << 2); // and per mm, write_protect_seq and the parent of a fork in progress
  tables(3, <u64>MAX_DMIRROR_DEVICES << 2); // initDmirror: kind, chunk count, chunk size
  table(max<u64>(c(CAP_DEV_FRAMES), 1) << 2); // and the mirror of each device frame
  tables(7, <u64>MAX_MIRRORS << 2); // initMirrors: per mirror, the pt hash table, its scratch
  tables(3, <u64>mirrorSlots() << 2);
  table(<u64>MIRROR_ENTRIES << 2);
  table(<u64>HMM_CHUNK << 2); // initHmm
  table(<u64>SNAPSHOT_MAX); // initDmirrorIoctl
  return total;
}

/** The largest single table of the last capacityBytes() call. */
export function capacityLargestTable(): u64 {
  return largest;
}

/** Bytes the memory can still grow by, keeping its last 64 KiB page free so no offset reaches 2^32. */
export function capacityLimit(): u64 {
  return (<u64>65535 - <u64>memory.size()) << 16;
}
