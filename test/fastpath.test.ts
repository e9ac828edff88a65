// The core's guarded fast paths (assembly/fastpath.ts; zapRange / tlbFlush in
// zap.ts, copyRange in fork.ts) against the model, which has none: each case
// forces one fall-through (THP, device memory, pins, the page cache, the counter
// layer, open mirrors, in-flight faults, a missing table, low memory, a wp fault,
// a signal, an unbatched era...), checks through Engine.fastPaths() that the guard
// did send the work the full way, and that every result, rejection, kernel status,
// statistic, violation, frame and mapped page is the model's.
import { test } from "uvu";
import * as assert from "uvu/assert";
import * as abi from "../assembly/abi.ts";
import { differential } from "./helpers/fastpath-differential.ts";

const A = 0x10000; // vpns of the mappings the cases make
const B = 0x20000;
const RW = abi.VM_READ | abi.VM_WRITE;
const ANON = RW | abi.VM_ANON;

const mmNew = [abi.OP_MM_NEW];
const mmap = (vpn: number, n: number, flags = ANON, file = -1, pgoff = 0) => [abi.OP_MMAP, 0, vpn, n, flags, file, pgoff];
const write = (vpn: number, value: number, mm = 0) => [abi.OP_WRITE, mm, vpn, value];
const read = (vpn: number, mm = 0) => [abi.OP_READ, mm, vpn];
const dontneed = (vpn: number, n: number, mm = 0) => [abi.OP_MADV_DONTNEED, mm, vpn, n];
const fork = (mm = 0) => [abi.OP_FORK, mm];
const exit = (mm: number) => [abi.OP_EXIT, mm];
const munmap = (vpn: number, n: number) => [abi.OP_MUNMAP, 0, vpn, n];
const writes = (vpn: number, n: number, mm = 0) => Array.from({ length: n }, (_, i) => write(vpn + i, 100 + i, mm));
/** Anon pages written, forked, written again in both (COW), zapped in part, the child exited. */
const churn = (vpn: number, n: number) => [
  ...writes(vpn, n), read(vpn), fork(), write(vpn, 7), write(vpn + 1, 8, 1), dontneed(vpn, 2), read(vpn + 2, 1), exit(1),
];

test("the common case takes every fast path, and gives the model's results", async () => {
  const f = await differential({
    ops: [
      mmNew, mmap(A, 40), ...writes(A, 40), read(A), read(A + 1), read(A + 2), read(A + 3), dontneed(A, 20), ...writes(A, 20),
      fork(), read(A + 5, 1), exit(1), dontneed(A, 40),
    ],
  });
  // only the first write goes the full way: it allocates the PTE table
  assert.equal({ accessFast: f.accessFast, accessFull: f.accessFull }, { accessFast: 64, accessFull: 1 }, JSON.stringify(f));
  assert.equal({ zapFast: f.zapFast, copyFast: f.copyFast, zapFull: f.zapFull, copyFull: f.copyFull, zapPteFull: f.zapPteFull, copyPteFull: f.copyPteFull, flushFull: f.flushFull }, { zapFast: 3, copyFast: 1, zapFull: 0, copyFull: 0, zapPteFull: 0, copyPteFull: 0, flushFull: 0 }, JSON.stringify(f));
  assert.is(f.flushFast, 20 + 40 + 40, "every gathered page put fast: 20, the child's 40, then 40");
});

test("zap: the fast loop clears zero-page PTEs itself; a special PTE of another page (a DAX file's) goes to zapOne", async () => {
  const zero = await differential({
    ops: [mmNew, mmap(A, 8), read(A), read(A + 1), write(A + 2, 3), read(A + 3), fork(), read(A + 4, 1), exit(1), dontneed(A, 8), read(A + 5), munmap(A, 8)],
  });
  assert.equal({ zapFast: zero.zapFast, zapPteFull: zero.zapPteFull }, { zapFast: 3, zapPteFull: 0 }, JSON.stringify(zero));
  const dax = await differential({
    scheme: { name: "E4-devmap", base: "E4", rules: { fsdaxPte: "devmap" } }, // an fsdax page mapped pte_devmap | pte_special
    ops: [
      mmNew, [abi.OP_DRIVER_NEW, abi.KIND_FSDAX, 16], [abi.OP_FILE_NEW, 4, 1], mmap(B, 4, abi.VM_SHARED | abi.VM_FILE | RW, 0),
      read(B), write(B + 1, 3), dontneed(B, 4),
    ],
  });
  assert.equal({ zapFast: dax.zapFast, zapPteFull: dax.zapPteFull }, { zapFast: 1, zapPteFull: 2 }, JSON.stringify(dax));
});

test("munmap of an mm that owns no page table skips the zap walk; with a table it zaps, the model's results either way", async () => {
  const f = await differential({
    ops: [
      mmNew, mmap(A, 40), mmap(B, 40), munmap(A, 40), munmap(B + 10, 5), // no table: no zap (the second splits the VMA)
      write(B, 1), munmap(B, 10), // B's table: one fast zap (the table stays: B + 15.. still maps into it)
      munmap(B + 15, 25), // the rest: a fast zap, the PTE table freed
      mmap(A, 8), munmap(A, 8), // the mm keeps its PMD table (free_pgtables frees PTE tables only): it zaps
    ],
  });
  assert.equal({ zapFast: f.zapFast, zapFull: f.zapFull }, { zapFast: 3, zapFull: 0 }, JSON.stringify(f));
});

test("access falls through: no VMA (SIGSEGV), read-only and PROT_NONE VMAs, no PTE table, a wp fault, the zero page written", async () => {
  const f = await differential({
    ops: [
      mmNew, mmap(A, 4, abi.VM_READ | abi.VM_ANON), mmap(B, 4), mmap(B + 600, 2, abi.VM_ANON),
      read(A - 1), write(A, 1), read(A), read(B + 600), // SIGSEGV x3, zero page on the read-only vma
      write(B, 5), // the first touch: no PTE table yet
      read(B + 1), write(B + 1, 6), // zero page read fast, then written: do_wp_page on a special PTE
      fork(), write(B, 9), write(B, 10, 1), // COW faults in parent and child
      [abi.OP_MPROTECT, 0, B, 4, abi.VM_READ], write(B, 11), read(B),
    ],
  });
  assert.ok(f.accessFull >= 8, `accessFull ${f.accessFull}`);
  assert.ok(f.accessFast >= 2, `accessFast ${f.accessFast}`);
});

test("access falls through: low memory (the fault's room check rejects), and no PTE table left in the pool", async () => {
  const f = await differential({
    capacity: { systemPages: 12, pteTables: 1 },
    ops: [mmNew, mmap(A, 20), ...writes(A, 12), read(A + 11), write(A + 11, 3)],
  });
  assert.ok(f.accessFull >= 2, `accessFull ${f.accessFull}`);
});

test("shared anonymous (shmem) and private file VMAs: the page cache goes past fastAccess (to access()'s file path); zap and flush take cached pages fast", async () => {
  const f = await differential({
    ops: [
      mmNew, [abi.OP_FILE_NEW, 8, 0], mmap(A, 8, abi.VM_READ | abi.VM_FILE, 0), mmap(B, 4, abi.VM_SHARED | ANON),
      read(A), read(A + 1), write(B, 3), read(B), mmap(B + 512, 4, abi.VM_FILE | RW, 0, 2), write(B + 512, 4),
      fork(), dontneed(A, 2), dontneed(B, 1), exit(1), dontneed(B + 512, 4),
    ],
  });
  assert.ok(f.accessFull >= 5, `accessFull ${f.accessFull}`);
  assert.is(f.zapPteFull, 0, `the cache's own reference is no pin (zapPteFull ${f.zapPteFull})`);
  assert.is(f.flushFull, 0, `flushFull ${f.flushFull}`);
});

test("THP: with a PMD mapping or a large folio alive, zap and copy take the full loops", async () => {
  const f = await differential({
    capacity: { hugePages: 2, pteTables: 16 },
    ops: [
      mmNew, mmap(A, 1024, ANON | abi.VM_HUGEPAGE), mmap(B, 8), write(A, 1), write(A + 3, 2), ...writes(B, 4),
      fork(), write(A + 5, 3, 1), dontneed(A + 1, 2), dontneed(B, 2), exit(1), dontneed(A, 512), dontneed(B, 8),
      ...writes(B, 3), fork(), exit(2),
    ],
  });
  assert.ok(f.accessFull >= 3, `accessFull ${f.accessFull}`);
  assert.ok(f.zapFull >= 3 && f.copyFull >= 1, JSON.stringify(f));
  assert.ok(f.zapFast >= 1 && f.copyFast >= 1, `after the THP went, the fast loops came back: ${JSON.stringify(f)}`);
});

test("device memory: device-private entries, an in-flight fault's reference, a coherent page gathered", async () => {
  const f = await differential({
    ops: [
      mmNew, mmap(A, 8), ...writes(A, 8),
      [abi.OP_DRIVER_NEW, abi.KIND_DEVICE_PRIVATE, 16], [abi.OP_DRIVER_NEW, abi.KIND_DEVICE_COHERENT, 16],
      [abi.OP_MIGRATE_TO_DEVICE, 0, A, 2, 0, 0], [abi.OP_MIGRATE_TO_DEVICE, 0, A + 2, 2, 1, 0],
      read(A), // do_swap_page: the full path
      [abi.OP_MIGRATE_TO_DEVICE, 0, A, 1, 0, 0], [abi.OP_FAULT_BEGIN, 0, A], // a fault holds the device page
      fork(), write(A + 2, 5), dontneed(A, 4), exit(1), [abi.OP_FAULT_END, 1], dontneed(A, 8),
    ],
  });
  assert.ok(f.accessFull >= 1, `accessFull ${f.accessFull}`);
  assert.ok(f.zapPteFull >= 2 && f.copyPteFull >= 1 && f.flushFull >= 1, JSON.stringify(f));
});

test("zap: device-coherent pages go the fast loop like system pages; a pinned one, an fsdax page and a device-private entry go to zapOne", async () => {
  const coherent = await differential({
    ops: [
      mmNew, mmap(A, 8), ...writes(A, 8), [abi.OP_DRIVER_NEW, abi.KIND_DEVICE_COHERENT, 16],
      [abi.OP_MIGRATE_TO_DEVICE, 0, A, 4, 0, 0], dontneed(A, 8),
    ],
  });
  assert.equal({ zapFast: coherent.zapFast, zapPteFull: coherent.zapPteFull, flushFull: coherent.flushFull }, { zapFast: 1, zapPteFull: 0, flushFull: 4 }, JSON.stringify(coherent));
  const pinned = await differential({
    ops: [
      mmNew, mmap(A, 8), ...writes(A, 8), [abi.OP_DRIVER_NEW, abi.KIND_DEVICE_COHERENT, 16],
      [abi.OP_MIGRATE_TO_DEVICE, 0, A, 4, 0, 0], [abi.OP_GUP, 0, A + 1, abi.FOLL_PIN], dontneed(A, 8), [abi.OP_UNPIN, 0],
    ],
  });
  assert.equal({ zapFast: pinned.zapFast, zapPteFull: pinned.zapPteFull }, { zapFast: 1, zapPteFull: 1 }, JSON.stringify(pinned));
  const others = await differential({
    ops: [
      mmNew, [abi.OP_DRIVER_NEW, abi.KIND_FSDAX, 16], [abi.OP_FILE_NEW, 4, 1], mmap(B, 4, abi.VM_SHARED | abi.VM_FILE | RW, 0),
      read(B), write(B + 1, 3), dontneed(B, 4), // fsdax pages, mapped by normal PTEs (E4)
      mmap(A, 8), ...writes(A, 8), [abi.OP_DRIVER_NEW, abi.KIND_DEVICE_PRIVATE, 16], [abi.OP_MIGRATE_TO_DEVICE, 0, A, 2, 1, 0], dontneed(A, 8),
    ],
  });
  assert.equal({ zapFast: others.zapFast, zapPteFull: others.zapPteFull }, { zapFast: 2, zapPteFull: 4 }, JSON.stringify(others));
});

test("pins: a pinned page is no fast zap (its pin detached), and a fork with pins copies by the full loop", async () => {
  const f = await differential({
    ops: [
      mmNew, mmap(A, 8), ...writes(A, 8), [abi.OP_GUP, 0, A + 1, abi.FOLL_PIN | abi.FOLL_WRITE], [abi.OP_GUP, 0, A + 2, 0],
      fork(), write(A + 1, 9), exit(1), dontneed(A, 4), [abi.OP_UNPIN, 1], [abi.OP_UNPIN, 2], fork(), exit(2),
    ],
  });
  assert.ok(f.zapPteFull >= 2, `zapPteFull ${f.zapPteFull}`);
  assert.ok(f.copyFull >= 2, `copyFull ${f.copyFull}`);
});

test("open mirrors (test_hmm): zap and copy go the full way while a mirror is open", async () => {
  const f = await differential({
    ops: [
      mmNew, mmap(A, 8), ...writes(A, 8), [abi.OP_DMIRROR_NEW, abi.KIND_DEVICE_PRIVATE], [abi.OP_DMIRROR_OPEN, 0, 0],
      [abi.OP_DMIRROR_READ, 0, A, 4], fork(), dontneed(A, 2), exit(1), [abi.OP_DMIRROR_CLOSE, 0], dontneed(A + 2, 2),
    ],
  });
  assert.ok(f.zapFull >= 2 && f.copyFull >= 1 && f.zapFast >= 1, JSON.stringify(f));
});

test("the counter layer sees every refcount change: no fast path runs with it", async () => {
  const f = await differential({ counter: "percpu", ops: [mmNew, mmap(A, 40), ...churn(A, 40), dontneed(A, 40)] });
  assert.is(f.accessFast, 0);
  assert.is(f.zapFast + f.copyFast + f.flushFast, 0, JSON.stringify(f));
  assert.ok(f.accessFull > 40 && f.zapFull > 1 && f.copyFull >= 1 && f.flushFull > 40, JSON.stringify(f));
});

test("an era without the mmu_gather batch (tlbBatch 0) puts each page at once: the full per-PTE zap", async () => {
  const f = await differential({ scheme: { name: "E2-nobatch", base: "E2", rules: { tlbBatch: 0 } }, ops: [mmNew, mmap(A, 8), ...churn(A, 8)] });
  assert.ok(f.zapFast >= 1 && f.zapPteFull >= 3, JSON.stringify(f));
});

test("violations come from the full path: a read that sees a DMA write through an unpinned GUP reference after fork's COW", async () => {
  // E0 (FOLL_GET, no COW for pinned pages at fork): the parent's write copies the page, the device's write through
  // the GUP reference lands in the page the child still maps, and the child's read sees data it never wrote.
  const f = await differential({
    scheme: "E0",
    ops: [
      mmNew, mmap(A, 8), ...writes(A, 8), [abi.OP_GUP, 0, A, abi.FOLL_WRITE], fork(), write(A, 5), [abi.OP_DMA_WRITE, 1, 77],
      read(A, 1), read(A + 1, 1), [abi.OP_UNPIN, 1], exit(1), dontneed(A, 8),
    ],
  });
  assert.ok(f.violations > 0, "the case raises a violation");
  assert.ok(f.accessFull >= 3 && f.accessFast >= 1, JSON.stringify(f));
});

test.run();
