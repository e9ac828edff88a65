// The test_hmm device's own memory (lib/test_hmm.c): chunks (dmirror_allocate_chunk),
// HMM_DMIRROR_MIGRATE_TO_DEV / _TO_SYS, RELEASE and FLAGS with FAIL_ALLOC, the owner
// filter of hmm_range_fault and the mmu notifier for the device's own pages, and
// dmirror_devmem_fault on a CPU touch. Engine and model alike.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { Engine } from "../src/core/engine.ts";
import { Model } from "../src/model/model.ts";
import { RefsimError } from "../src/core/errors.ts";
import * as abi from "../assembly/abi.ts";
import { targets, type Target, errnoOf } from "./helpers/targets.ts";

const PAGE = 4096;
const CAP = { systemPages: 4096, devicePages: 256 };
const TARGETS = targets(CAP);

/** A process with n written pages (page k holds 100 + k) and a mirror of it on a new device. */
function setUp(t: Target, kind: "device-private" | "device-coherent", n: number, chunk = 8) {
  const mm = t.mmNew();
  const a = t.mmap(mm, { length: n * PAGE });
  t.writeRange(mm, a, n * PAGE, 100, 1);
  const dev = t.dmirrorNew(kind, { chunk });
  const fd = t.dmirrorOpen(dev, mm);
  return { mm, a, dev, fd };
}

for (const [name, make] of TARGETS) {
  for (const kind of ["device-private", "device-coherent"] as const) {
    for (const scheme of ["E0", "E2", "E4"]) {
      test(`${name} ${kind}: MIGRATE_TO_DEV moves every page into the device's own chunks (cpages n, the data read back), snapshot LOCAL|WRITE [${scheme}]`, async () => {
        const t = await make(scheme);
        const { mm, a, fd } = setUp(t, kind, 12);
        assert.is(t.dmirrorMigrateToDev(fd, a, 12), 12, scheme);
        assert.equal({ cpages: t.mirror(fd).cpages, entries: t.mirror(fd).entries }, { cpages: 12, entries: 12 });
        const p = t.page(mm, a + PAGE)!;
        assert.is(p.kind, kind);
        // E0: the idle reference and the mapping's; E2+: the mapping's alone (zone_device_page_init)
        assert.equal({ refcount: p.refcount, mapcount: p.mapcount }, { refcount: scheme === "E0" ? 2 : 1, mapcount: 1 }, `${scheme} counts`);
        // 12 pages in chunks of 8: dmirror_allocate_chunk ran twice (two pgmaps of 8 frames)
        assert.equal({ chunk0: t.driver(0).pages, chunk1: t.driver(1).pages }, { chunk0: 8, chunk1: 8 });
        assert.equal(t.driver(0).freePages + t.driver(1).freePages, 4);
        t.dmirrorSnapshot(fd, a, 2);
        const local = kind === "device-private" ? abi.HMM_PROT_DEV_PRIVATE_LOCAL : abi.HMM_PROT_DEV_COHERENT_LOCAL;
        assert.equal([...t.lastSnapshot()], [local | abi.HMM_PROT_WRITE, local | abi.HMM_PROT_WRITE]);
        assert.is(t.readRange(mm, a, 12 * PAGE, 100, 1), 0, "the CPU reads what it wrote");
        assert.equal(t.violations(), []);
      });
    }

    test(`${name} ${kind}: MIGRATE_TO_SYS brings the device's pages back (cpages), FAIL_ALLOC makes it -ENOMEM once`, async () => {
      const t = await make("E4");
      const { mm, a, fd } = setUp(t, kind, 6);
      t.dmirrorMigrateToDev(fd, a, 6);
      t.dmirrorFlags(fd, abi.HMM_DMIRROR_FLAG_FAIL_ALLOC);
      assert.is(errnoOf(() => t.dmirrorMigrateToSys(fd, a, 6)), "ENOMEM");
      assert.is(t.page(mm, a)!.kind, kind, "the failed piece is finalized untouched");
      assert.is(t.mirror(fd).entries, 6, "its own MIGRATE notification (owner = the device) left the pt alone");
      assert.is(t.dmirrorMigrateToSys(fd, a, 6), 6, "the flag was one-shot");
      assert.equal(t.mirror(fd).entries, 0, "dmirror_devmem_fault_alloc_and_copy erased each migrated page's entry");
      const p = t.page(mm, a + 5 * PAGE)!;
      assert.equal({ kind: p.kind, refcount: p.refcount, mapcount: p.mapcount }, { kind: "system", refcount: 1, mapcount: 1 });
      assert.is(t.dmirrorMigrateToSys(fd, a, 6), 0, "nothing of the device's is left to select");
      assert.is(t.readRange(mm, a, 6 * PAGE, 100, 1), 0);
    });

    test(`${name} ${kind}: RELEASE evicts every chunk; the device stays usable and makes a new chunk next time`, async () => {
      const t = await make("E4");
      const { mm, a, fd } = setUp(t, kind, 10);
      t.dmirrorMigrateToDev(fd, a, 10);
      t.dmirrorRelease(fd);
      assert.equal({ chunk0: t.driver(0).state, chunk1: t.driver(1).state }, { chunk0: "gone", chunk1: "gone" }, "memunmap_pages of both chunks completed");
      assert.is(t.page(mm, a + 9 * PAGE)!.kind, "system");
      assert.is(t.readRange(mm, a, 10 * PAGE, 100, 1), 0, "dmirror_device_evict_chunk copied the data back");
      assert.is(t.dmirrorMigrateToDev(fd, a, 2), 2);
      assert.is(t.driver(2).pages, 8, "a third chunk (devmem_count was reset)");
      assert.equal(t.violations(), []);
    });
  }

  test(`${name}: MIGRATE_TO_DEV errnos: -EINVAL with no VMA or a PROT_NONE one, -ENOENT for shared anonymous memory and for a page FAIL_ALLOC skipped`, async () => {
    const t = await make("E4");
    const { mm, a, fd } = setUp(t, "device-private", 4);
    assert.is(errnoOf(() => t.dmirrorMigrateToDev(fd, a + 16 * PAGE, 1)), "EINVAL"); // vma_lookup: none
    t.mprotect(mm, a + 3 * PAGE, PAGE, "none");
    assert.is(errnoOf(() => t.dmirrorMigrateToDev(fd, a, 4)), "EINVAL"); // !(vma->vm_flags & VM_READ)
    assert.is(t.page(mm, a)!.kind, "device-private", "the pieces before the refused VMA were migrated");
    const sh = t.mmap(mm, { length: 4 * PAGE, shared: true });
    assert.is(errnoOf(() => t.dmirrorMigrateToDev(fd, sh, 4)), "ENOENT"); // holes of a shmem VMA are not collected
    const b = t.mmap(mm, { length: 3 * PAGE });
    t.writeRange(mm, b, 3 * PAGE, 7);
    t.dmirrorFlags(fd, abi.HMM_DMIRROR_FLAG_FAIL_ALLOC);
    assert.is(errnoOf(() => t.dmirrorMigrateToDev(fd, b, 3)), "ENOENT"); // dmirror_do_read finds page 0 unmapped
    assert.equal({ page0: t.page(mm, b)!.kind, page1: t.page(mm, b + PAGE)!.kind }, { page0: "system", page1: "device-private" });
    assert.is(t.dmirrorMigrateToDev(fd, b, 3), 3, "the flag was one-shot; pages already on the device are read as they are");
    assert.is(errnoOf(() => t.dmirrorFlags(fd, 0)), "EINVAL", "cmd.npages 0: an empty range");
    for (const f of [() => t.dmirrorRead(fd, a, 0), () => t.dmirrorWrite(fd, a, 0), () => t.dmirrorSnapshot(fd, a, 0), () => t.dmirrorMigrateToDev(fd, a, 0), () => t.dmirrorMigrateToSys(fd, a, 0)]) {
      assert.is(errnoOf(f), "EINVAL", "every ioctl: cmd.addr >= cmd.addr + (npages << PAGE_SHIFT)");
    }
  });

  test(`${name}: another device's private page: not selected (-ENOENT), NONE in a snapshot; a CPU fault on the device's own page erases its pt entry`, async () => {
    const t = await make("E4");
    const { mm, a, fd } = setUp(t, "device-private", 4);
    const fd1 = t.dmirrorOpen(t.dmirrorNew("device-private", { chunk: 8 }), mm);
    assert.is(t.dmirrorMigrateToDev(fd1, a + 3 * PAGE, 1), 1);
    assert.is(errnoOf(() => t.dmirrorMigrateToDev(fd, a + 3 * PAGE, 1)), "ENOENT"); // hmm-tests.c migrate_dev_to_dev-like: on device 1
    t.dmirrorSnapshot(fd, a + 2 * PAGE, 2);
    assert.equal([...t.lastSnapshot()], [abi.HMM_PROT_WRITE, abi.HMM_PROT_NONE]);
    assert.is(t.dmirrorMigrateToDev(fd, a, 2), 2);
    assert.is(t.mirror(fd).entries, 2);
    assert.is(t.read(mm, a), 100); // do_swap_page -> dmirror_devmem_fault
    assert.equal({ kind: t.page(mm, a)!.kind, entries: t.mirror(fd).entries }, { kind: "system", entries: 1 });
  });

  test(`${name}: closing a file evicts its device's pages to system memory first (dmirror_fops_release since 744dd97752ef); the device's other files see the eviction`, async () => {
    const t = await make("E4");
    const { mm, a, dev, fd } = setUp(t, "device-private", 4);
    const other = t.dmirrorOpen(dev, mm);
    t.dmirrorMigrateToDev(fd, a, 4);
    assert.is(t.dmirrorRead(other, a, 4), 4, "the other file's fault round gets the device's own pages as they are");
    assert.equal({ faults: t.mirror(other).faults, entries: t.mirror(other).entries, kind: t.page(mm, a)!.kind }, { faults: 1, entries: 4, kind: "device-private" });
    t.dmirrorClose(fd);
    const p = t.page(mm, a + 2 * PAGE)!;
    assert.equal({ kind: p.kind, refcount: p.refcount, mapcount: p.mapcount }, { kind: "system", refcount: 1, mapcount: 1 });
    assert.is(t.readRange(mm, a, 4 * PAGE, 100, 1), 0, "the data came back");
    assert.is(t.mirror(other).entries, 0, "migrate_device_range's unmap notified the other file (MMU_NOTIFY_CLEAR)");
    assert.is(t.driver(0).state, "live", "the chunk stays (only RELEASE removes chunks)");
    assert.equal(t.violations(), []);
  });

  test(`${name}: the new ops refuse bad input with a RefsimError naming the field`, async () => {
    const t = await make("E4");
    const { a, fd } = setUp(t, "device-private", 2);
    const field = (f: () => unknown) => {
      try { f(); } catch (e) { if (e instanceof RefsimError) return e.field; throw e; }
      return "none";
    };
    assert.is(field(() => t.dmirrorMigrateToDev(99, a, 1)), "mirror");
    assert.is(field(() => t.dmirrorMigrateToSys(fd, a + 1, 1)), "addr");
    assert.is(field(() => t.dmirrorFlags(fd, -1)), "flags");
    assert.is(field(() => t.dmirrorNew("device-private", { chunk: 0 })), "chunk");
    assert.is(field(() => t.run([{ op: "dmirror_release", mirror: fd, addr: a }])), "npages");
  });
}

for (const [name, make] of TARGETS) {
  test(`a GUP past the end of a file on a device (an mremap-grown fsdax mapping) is -EFAULT, not an out-of-bounds read of the file's cache (found by the differential trace) [${name}]`, async () => {
    const t = await make("E4");
    const mm = t.mmNew();
    const f = t.fileNew(2 * PAGE, t.driverNew("fsdax", 4));
    const a = t.mmap(mm, { length: 2 * PAGE, file: f, shared: true });
    t.mremap(mm, a, 2 * PAGE, 64 * PAGE, { maymove: true });
    const b = t.maps(mm)[0].start;
    assert.is(errnoOf(() => t.gup(mm, b + 40 * PAGE)), "EFAULT");
  });
}

test("MIGRATE_TO_DEV on E5 moves a THP whole into one large device folio (MIGRATE_VMA_SELECT_COMPOUND; test/dmirror-thp.test.ts has the rest), same in engine and model", async () => {
  const out = [];
  for (const [, make] of TARGETS) {
    const t = await (async () => (make === TARGETS[0][1] ? Engine.create({ scheme: "E5", capacity: { ...CAP, hugePages: 2, devicePages: 1200 } }) : Model.create({ scheme: "E5", capacity: { ...CAP, hugePages: 2, devicePages: 1200 } })))();
    const mm = t.mmNew();
    const a = t.mmap(mm, { addr: 0x40000000, length: 512 * PAGE, huge: true });
    t.writeRange(mm, a, 512 * PAGE, 1, 1);
    const fd = t.dmirrorOpen(t.dmirrorNew("device-private"), mm);
    out.push([t.dmirrorMigrateToDev(fd, a, 512), t.page(mm, a)!.kind, t.page(mm, a)!.large, t.readRange(mm, a, 512 * PAGE, 1, 1)]);
  }
  assert.equal(out[0], out[1]);
  assert.equal(out[0], [512, "device-private", true, 0]);
});

for (const [name, make] of TARGETS) {
  test(`${name}: a CPU fault on a chunk page no mirror migrated data to erases no mirror's entry (dmirror_devmem_fault's rpage->zone_device_data)`, async () => {
    // A regression: the core's per-page mirror table started at 0, mirror 0's id, so a
    // fault on such a page in another mm erased mirror 0's entry at the same address.
    const t = await make("E4");
    const { a, fd } = setUp(t, "device-private", 1, 8);
    assert.is(t.dmirrorMigrateToDev(fd, a, 1), 1); // chunk driver 0; its first page is mirror 0's
    const other = t.mmNew();
    assert.is(t.mmap(other, { addr: a, length: PAGE }), a);
    t.write(other, a, 7);
    t.migrateToDevice(other, a, PAGE, 0); // another page of the same chunk, by the plain driver path
    assert.is(t.mirror(fd).entries, 1);
    assert.is(t.read(other, a), 7); // do_swap_page -> the chunk's migrate_to_ram
    assert.is(t.mirror(fd).entries, 1, "mirror 0 keeps its entry");
  });
}

test.run();
