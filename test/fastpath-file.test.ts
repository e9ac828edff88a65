// The guarded fast path of a CPU access to an ordinary file's VMA (assembly/fastpath_file.ts,
// called from access() in fault.ts), and the zap fast loop's cached pages (zap.ts), against the
// model, which has neither: the common cases run fast; each case below forces one fall-through
// (the counter layer, a DAX file, a test_hmm mapping, no PTE table, a PMD mapping, a private
// write fault, a page past EOF, low memory, a page not cached, a wp fault, a device-private
// entry, a corruption to report, a cached page with a pin or a GUP reference) and checks
// through Engine.fastPaths() that the guard sent the work the full way, with every result,
// rejection, kernel status, statistic, violation, frame and mapped page the model's. The guards
// no op sequence reaches (a cached page not allocated, faulted in or mapped; one whose data
// differs from the disk) are forced by editing a saved state.
import { test } from "uvu";
import { editSavedWord } from "./helpers/saved-state.ts";
import * as assert from "uvu/assert";
import * as abi from "../assembly/abi.ts";
import { differential, type FastPathRun } from "./helpers/fastpath-differential.ts";
import { Engine } from "../src/core/engine.ts";

const A = 0x10000; // vpns of the mappings the cases make
const B = 0x20000;
const RW = abi.VM_READ | abi.VM_WRITE;
const ANON = RW | abi.VM_ANON;
const SHARED = RW | abi.VM_FILE | abi.VM_SHARED;
const PRIVATE = RW | abi.VM_FILE;

type Counts = FastPathRun;

const mmNew = [abi.OP_MM_NEW];
const fileNew = (pages: number, driver = 0) => [abi.OP_FILE_NEW, pages, driver];
const mmap = (vpn: number, n: number, flags = ANON, file = -1, pgoff = 0, mm = 0) => [abi.OP_MMAP, mm, vpn, n, flags, file, pgoff];
const munmap = (vpn: number, n: number, mm = 0) => [abi.OP_MUNMAP, mm, vpn, n];
const write = (vpn: number, value: number, mm = 0) => [abi.OP_WRITE, mm, vpn, value];
const read = (vpn: number, mm = 0) => [abi.OP_READ, mm, vpn];
const reads = (vpn: number, n: number, mm = 0) => Array.from({ length: n }, (_, i) => read(vpn + i, mm));
const fork = (mm = 0) => [abi.OP_FORK, mm];
const exit = (mm: number) => [abi.OP_EXIT, mm];
const fileCounts = (f: Counts) => ({ fileFast: f.fileFast, fileFull: f.fileFull });

/** An anon VMA in the same 2 MiB as A: a munmap of A's file VMA keeps the PTE table (free_pgtables' floor and ceiling). */
const keeper = mmap(A + 100, 1);

test("the common case: read and shared write faults on cached pages and accesses through present PTEs run fast", async () => {
  const f = await differential({
    ops: [
      mmNew, keeper, fileNew(8), mmap(A, 8, SHARED, 0),
      read(A), read(A + 1), // not cached (read in): the full way
      munmap(A, 8), mmap(A, 8, SHARED, 0), // the cached pages stay; the zap took them fast
      read(A), read(A + 1), read(A), // two read faults on cached pages, then a read through the PTE: fast
      write(A + 3, 9), read(A + 3), read(A + 3), // not cached: full; then two fast reads
      munmap(A, 8), mmap(A, 8, SHARED, 0), write(A + 3, 10), write(A + 3, 11), read(A + 3), // a shared write fault, a write and a read: fast
      mmNew, mmap(B, 8, abi.VM_READ | abi.VM_FILE, 0, 0, 1), ...reads(B, 2, 1), // a second mm's private read faults: the first allocates its tables
      munmap(A, 8), exit(1),
    ],
  });
  assert.equal(fileCounts(f), { fileFast: 10, fileFull: 3 }, JSON.stringify(f));
  assert.equal({ zapPteFull: f.zapPteFull, flushFull: f.flushFull }, { zapPteFull: 0, flushFull: 0 }, `cached pages zap and flush fast: ${JSON.stringify(f)}`);
});

test("file access falls through: a page not cached, a private write fault, a wp fault, SIGBUS past EOF", async () => {
  const f = await differential({
    ops: [
      mmNew, keeper, fileNew(4), mmap(A, 4, PRIVATE, 0),
      read(A), read(A + 1), // not cached: full
      munmap(A, 4), mmap(A, 4, PRIVATE, 0),
      write(A, 5), // do_cow_fault of a cached page: full
      read(A), write(A, 6), // the anon copy, read and written through its PTE: fast (the shadow holds what it expects)
      read(A + 1), write(A + 1, 7), // a fast read fault, then do_wp_page's copy: full
      mmap(A + 8, 4, SHARED, 0), read(A + 9), write(A + 9, 8), // a fast read fault, then wp_page_shared on the read-only PTE: full
      [abi.OP_TRUNCATE, 0, 2, 2, 1], read(A + 11), read(A + 10), // shrunk to 2 pages: SIGBUS past EOF twice, the full way
      // a VMA grown past its file's end: the slot after the file's last is the next file's first, cached here
      fileNew(2), mmap(B, 2, SHARED, 1), read(B), mmap(B + 8, 2, SHARED, 0), [abi.OP_MREMAP, 0, B + 8, 2, 5, 0, 0], read(B + 12),
    ],
  });
  assert.equal(fileCounts(f), { fileFast: 4, fileFull: 9 }, JSON.stringify(f));
});

test("file access falls through: the counter layer, a DAX file, a test_hmm mapping", async () => {
  const counter = await differential({ counter: "percpu", ops: [mmNew, fileNew(4), mmap(A, 4, SHARED, 0), ...reads(A, 4), munmap(A, 4), mmap(A, 4, SHARED, 0), ...reads(A, 4)] });
  assert.equal(fileCounts(counter), { fileFast: 0, fileFull: 8 }, JSON.stringify(counter));
  const dax = await differential({
    ops: [mmNew, [abi.OP_DRIVER_NEW, abi.KIND_FSDAX, 16], fileNew(4, 1), mmap(A, 4, SHARED, 0), ...reads(A, 2), write(A + 2, 3), ...reads(A, 3), munmap(A, 4), mmap(A, 4, SHARED, 0), ...reads(A, 3)],
  });
  assert.equal(fileCounts(dax), { fileFast: 0, fileFull: 9 }, JSON.stringify(dax));
  const hmm = await differential({
    ops: [mmNew, [abi.OP_DMIRROR_NEW, abi.KIND_DEVICE_PRIVATE, 0], [abi.OP_DMIRROR_OPEN, 0, 0], [abi.OP_DMIRROR_MMAP, 0, A, 3, abi.VM_READ], ...reads(A, 3)],
  });
  assert.equal(fileCounts(hmm), { fileFast: 0, fileFull: 3 }, JSON.stringify(hmm));
});

test("file access falls through: a PMD mapping anywhere, low memory, no PTE table left", async () => {
  const thp = await differential({
    capacity: { hugePages: 2, pteTables: 16 },
    ops: [mmNew, keeper, fileNew(4), mmap(A, 4, SHARED, 0), read(A), munmap(A, 4), mmap(A, 4, SHARED, 0), mmap(B, 1024, ANON | abi.VM_HUGEPAGE), write(B, 1), read(A), [abi.OP_MADV_DONTNEED, 0, B, 1024], read(A + 0)],
  });
  // the read fault while the THP maps B goes the full way; once it is gone, the read through the PTE is fast
  assert.equal(fileCounts(thp), { fileFast: 1, fileFull: 2 }, JSON.stringify(thp));
  // 4 cached pages, the anon page of the keeper VMA, 6 frames: one left, and a fault needs two (faultRoomFor rejects)
  const low = await differential({
    capacity: { systemPages: 6 },
    ops: [mmNew, keeper, fileNew(4), mmap(A, 4, SHARED, 0), ...reads(A, 4), munmap(A, 4), write(A + 100, 1), mmap(A, 4, SHARED, 0), ...reads(A, 2)],
  });
  assert.equal(fileCounts(low), { fileFast: 0, fileFull: 6 }, JSON.stringify(low));
  // one PTE table, A's, in use: a fault, even with the table there, is rejected (faultRoomFor), and so is one
  // at B that needs a table of its own
  const tables = await differential({
    capacity: { pteTables: 1 },
    ops: [mmNew, keeper, fileNew(4), mmap(A, 4, SHARED, 0), ...reads(A, 2), munmap(A, 4), mmap(A, 4, SHARED, 0), ...reads(A, 2), mmap(B, 4, SHARED, 0), read(B)],
  });
  assert.equal(fileCounts(tables), { fileFast: 0, fileFull: 5 }, JSON.stringify(tables));
  // one PMD table, A's: a cached page's fault at C, under another PGD entry, needs a PMD table too (rejected); with
  // two, the fast path allocates both
  const C = 0x40000;
  for (const [pmdTables, counts] of [[1, { fileFast: 0, fileFull: 2 }], [2, { fileFast: 1, fileFull: 1 }]] as const) {
    const pmd = await differential({ capacity: { pmdTables }, ops: [mmNew, fileNew(4), mmap(A, 4, SHARED, 0), read(A), mmap(C, 4, SHARED, 0), read(C)] });
    assert.equal(fileCounts(pmd), counts, `${pmdTables} pmd tables: ${JSON.stringify(pmd)}`);
  }
});

test("file access falls through: a device-private entry of a private file VMA, and a corruption the full path reports", async () => {
  const dev = await differential({
    ops: [
      mmNew, fileNew(4), mmap(A, 4, PRIVATE, 0), write(A, 5), write(A + 1, 6), read(A), [abi.OP_DRIVER_NEW, abi.KIND_DEVICE_PRIVATE, 16],
      [abi.OP_MIGRATE_TO_DEVICE, 0, A, 1, 0, 0], read(A), read(A + 1),
    ],
  });
  // the two private write faults (do_cow_fault) and the read of the device-private entry (do_swap_page) go the
  // full way; the reads through a present PTE of an anon copy are fast
  assert.equal(fileCounts(dev), { fileFast: 2, fileFull: 3 }, JSON.stringify(dev));
  // E0 (FOLL_GET, no COW for pinned pages at fork): the device's write through the GUP reference lands in the anon
  // copy the child still maps, whose read sees data it never wrote: a V_CORRUPTION, recorded by the full path
  const bad = await differential({
    scheme: "E0",
    ops: [mmNew, fileNew(4), mmap(A, 4, PRIVATE, 0), write(A, 5), read(A), [abi.OP_GUP, 0, A, abi.FOLL_WRITE], fork(), write(A, 7), [abi.OP_DMA_WRITE, 1, 77], read(A, 1), read(A + 1, 1)],
  });
  assert.ok(bad.violations > 0, "the case raises a violation");
  assert.equal(fileCounts(bad), { fileFast: 1, fileFull: 4 }, JSON.stringify(bad)); // the child's read of the corrupted copy among the full ones
});

test("zap: a pinned cached page is no fast zap (the full loop detaches its pin); the page cache's own reference is", async () => {
  const f = await differential({
    ops: [
      mmNew, fileNew(4), mmap(A, 4, SHARED, 0), ...reads(A, 3), [abi.OP_GUP, 0, A + 1, abi.FOLL_PIN], [abi.OP_GUP, 0, A + 2, 0],
      [abi.OP_MADV_DONTNEED, 0, A, 4], [abi.OP_UNPIN, 1], [abi.OP_UNPIN, 2], ...reads(A, 3), [abi.OP_MADV_DONTNEED, 0, A, 4],
    ],
  });
  // A + 1 pinned (FOLL_PIN) and A + 2 with a GUP reference (FOLL_GET): zapOne's; A, and all three once unpinned: fast
  assert.equal({ zapFast: f.zapFast, zapPteFull: f.zapPteFull, flushFull: f.flushFull }, { zapFast: 2, zapPteFull: 2, flushFull: 0 }, JSON.stringify(f));
});

test("file access falls through for states no op sequence makes: a cached page not allocated (faulted in or mapped), one whose data is not the disk's", async () => {
  // forced by editing a saved state: the full path, which raises the violation (V_UAF, V_CORRUPTION), must run
  for (const what of ["flags", "content", "mapped"] as const) {
    const e = await Engine.create({ scheme: "E4", capacity: { systemPages: 64 } });
    const words = new Int32Array(abi.OP_WORDS);
    const run = (...op: number[]) => { words.fill(0); words.set(op); return e.runEncoded(words, 1)[0]; };
    run(abi.OP_MM_NEW);
    run(...fileNew(4));
    run(...mmap(A, 4, SHARED, 0));
    run(...write(A + 1, 0x5eed1234)); // a distinctive content word, to find the frame
    run(...munmap(A, 4));
    run(...mmap(A, 4, SHARED, 0));
    run(...read(A)); // the PTE table again
    if (what === "mapped") run(...read(A + 1)); // mapped: the read below goes through its PTE
    const pfn = [...Array(64).keys()].find((p) => e.frame(p).content === 0x5eed1234)!;
    const frame = e.frame(pfn);
    assert.ok(frame.pageCache && frame.allocated && frame.mapcount === (what === "mapped" ? 1 : 0), JSON.stringify(frame));
    const edited = what === "content"
      ? editSavedWord(e, 0x5eed1234, 0x5eed1235, () => e.frame(pfn).content === 0x5eed1235)
      : editSavedWord(e, abi.PG_ALLOCATED | abi.PG_PAGECACHE, abi.PG_PAGECACHE, () => !e.frame(pfn).allocated && e.frame(pfn).pageCache);
    assert.ok(edited, `${what}: the state edited`);
    const before = e.fastPaths();
    run(...read(A + 1));
    const after = e.fastPaths();
    assert.equal({ fast: after.fileFast - before.fileFast, full: after.fileFull - before.fileFull }, { fast: 0, full: 1 }, what);
    const kinds = e.violations().map((v) => v.kind);
    assert.ok(kinds.includes(what === "content" ? "corruption" : "use_after_free"), `${what}: ${JSON.stringify(kinds)}`);
  }
});

test.run();
