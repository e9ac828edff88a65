/**
 * Files: data on "disk" (one word per page) and a page cache. An ordinary file's
 * cache holds system pages, one reference each (filemap_add_folio). A file on a
 * DAX device (fsdax) or a device file (device-dax, p2pmem) has device pages in
 * its slots instead, associated without a reference (dax_associate_entry): the
 * filesystem owns their lifetime. Writes go through to disk at once, so disk is
 * the expected value of any read of a file page.
 *
 * @example
 * ```ts
 * import { Model } from "./model.ts";
 * const m = Model.create();
 * const f = m.fileNew(2 * 4096);
 * const mm = m.mmNew();
 * const addr = m.mmap(mm, { length: 8192, file: f, shared: true });
 * m.write(mm, addr, 9);
 * console.log(m.machine.files.all[f].disk[0]); // 9
 * ```
 */
import { KIND_P2PDMA } from "../../assembly/abi.ts";
import { folioPut } from "./refcount.ts";
import { allocDaxPage, allocDevicePage } from "./driver.ts";
import type { Frame } from "./frames.ts";
import type { Machine } from "./machine.ts";

export class File {
  /** The page cache (or DAX mapping entries): the page in each file slot. */
  readonly cache = new Map<number, Frame>();
  /**
   * An fsdax file's offsets with no block (punched or truncated away; the file starts
   * all written blocks): true once a read fault stored the zero-page entry there (dax_load_hole).
   */
  readonly holes = new Map<number, boolean>();
  /** Data on disk per page. */
  readonly disk: number[];
  open = true;
  /** The shmem file of a shared anonymous mapping: never dropped by drop_caches, released with its last VMA. */
  shmem = false;
  /** The pages of one mmap of a test_hmm file (dmirror_fops_mmap): no page cache, no ->fault, VM_MIXEDMAP. */
  dmirrorMap = false;
  /** VMAs mapping the file (their struct file references). */
  vmas = 0;

  /** driver: -1 for an ordinary file, else the device driver the file lives on. */
  /** pages: i_size in pages (truncate(2) lowers it; the disk array keeps its length). */
  constructor(readonly id: number, public pages: number, readonly driver: number) {
    this.disk = new Array<number>(pages).fill(0);
  }

  /** Does the cache hold a reference on its pages (an ordinary page cache)? */
  get cacheHoldsRef(): boolean { return this.driver < 0; }
}

export class Files {
  readonly all: File[] = [];
  /** Pages of all files together, used so far. */
  pagesUsed = 0;

  /**
   * Truncates of fsdax files waiting in ext4_break_layouts, in arrival order: the first
   * of a file waits for a busy page, the others for its inode_lock (truncate.ts).
   */
  readonly waitingTruncates: { file: number; idx: number; n: number; shrink: boolean }[] = [];
  /** Files whose waiting truncate a wake_up_var woke during the current op. */
  readonly wokenTruncates = new Set<number>();

  constructor(readonly fileCapacity: number, readonly pageCapacity: number) {}

  /** Room for one more waiting truncate (twice the file capacity). */
  get truncateSlotsLeft(): number { return 2 * this.fileCapacity - this.waitingTruncates.length; }

  get pagesLeft(): number { return this.pageCapacity - this.pagesUsed; }

  /** An open file with this id. */
  open(id: number): File | undefined {
    const f = id >= 0 && id < this.all.length ? this.all[id] : undefined;
    return f && f.open ? f : undefined;
  }

  create(pages: number, driver: number): File {
    const f = new File(this.all.length, pages, driver);
    this.all.push(f);
    this.pagesUsed += pages;
    return f;
  }
}

/** The page in slot idx, if it still belongs there (a p2pmem page freed on its last unmap does not). */
export function cachedPage(f: File, idx: number): Frame | undefined {
  const page = f.cache.get(idx);
  if (!page || f.driver < 0) return page;
  if (!page.allocated || page.owner !== -(f.id + 1) || page.index !== idx) return undefined;
  return page;
}

/**
 * Would a fault on this file need a device page it may not get? A hole of an fsdax
 * file needs a block only for a write through a shared mapping (blockWrite): a read
 * maps the zero page, a private write copies zeroes (6.1 fs/dax.c dax_fault_iter).
 */
export function needsDevicePage(f: File, idx: number, blockWrite: boolean): boolean {
  if (f.driver < 0 || cachedPage(f, idx) !== undefined) return false;
  return blockWrite || !isHole(f, idx);
}

/** An fsdax file's offset whose block was punched or truncated away (ext4 frees it; no block until a write fault). */
export function isHole(f: File, idx: number): boolean {
  return f.driver >= 0 && f.holes.has(idx);
}

/** The filesystem freed the block at idx (ext4_punch_hole / ext4_truncate): a hole, its DAX entry deleted. */
export function punchHole(f: File, idx: number): void {
  f.cache.delete(idx);
  f.holes.set(idx, false);
}

/** migrate_vma_setup refuses a VMA of file f (f < 0: anonymous): vma_is_dax, or VM_SPECIAL (the VM_MIXEDMAP of p2pmem and of a test_hmm mapping). */
export function fileRefusesMigrateVma(m: Machine, f: number): boolean {
  return f >= 0 && (m.files.all[f].driver >= 0 || m.files.all[f].dmirrorMap);
}

/** Is this a file's page: in a page cache, or a device page associated with a file? */

export function isFilePage(m: Machine, page: Frame): boolean {
  return page.pageCache || (m.frames.isDevice(page.pfn) && page.owner < 0);
}

/**
 * The page behind file offset idx (caller checked space), and whether it is new:
 * filemap_fault's lookup, reading an ordinary page in from disk; for a DAX file the
 * block's device page (dax_iomap_pte_fault); for p2pmem a page from the device's
 * pool, still holding its allocation reference for the caller to hand over.
 */
export function findOrReadPage(m: Machine, f: File, idx: number): { page: Frame; fresh: boolean } {
  const cached = cachedPage(f, idx);
  if (cached) return { page: cached, fresh: false };
  let page: Frame;
  if (f.driver < 0) {
    page = m.frames.allocSystem(); // the allocation reference becomes the page cache's reference
    page.pageCache = true;
  } else {
    const d = m.devices.drivers[f.driver];
    const got = d.kind === KIND_P2PDMA ? allocDevicePage(m, d, null) : allocDaxPage(m, d);
    if (!got) throw new Error("model: device page for a file with the driver empty");
    page = got;
    page.owner = -(f.id + 1);
  }
  page.index = idx;
  page.content = f.disk[idx];
  f.cache.set(idx, page);
  f.holes.delete(idx); // a new block fills a hole
  return { page, fresh: true };
}

/**
 * invalidate_mapping_pages (drop_caches): evict every cached system page nothing
 * else uses, in index order, dropping the page cache's reference. Mapped pages and
 * pages with extra references (pinned, under I/O) stay (mapping_evict_folio).
 */
export function dropPageCache(m: Machine, f: File): void {
  if (f.driver >= 0) return; // DAX slots hold no reference; truncate frees blocks
  if (f.shmem) return; // shmem folios are swap-backed and dirty: mapping_evict_folio keeps them
  for (const idx of [...f.cache.keys()].sort((a, b) => a - b)) {
    const page = f.cache.get(idx)!;
    if (page.mapcount > 0 || page.refcount > 1) continue;
    f.cache.delete(idx);
    page.pageCache = false;
    page.lastOp = m.log.currentOp;
    folioPut(m, page, 1, -1, -1); // mapping_evict_folio -> folio_put: the page cache's reference
  }
}
