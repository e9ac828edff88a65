// mmap of the test_hmm file itself (lib/test_hmm.c dmirror_fops_mmap, hmm-tests.c mixedmap):
// a VM_MIXEDMAP VMA the driver fills at mmap time with zeroed pages of its own
// (vm_insert_page: a reference and a file rmap, read-only in a private mapping, then the
// driver's put_page). No page cache, no LRU, no ->fault. Engine and model alike.
import { test } from "uvu";
import * as assert from "uvu/assert";
import * as abi from "../assembly/abi.ts";
import { RefsimError, KernelError } from "../src/core/errors.ts";
import { targets, errnoOf } from "./helpers/targets.ts";

const PAGE = 4096;

/** The signal the CPU access f raises (undefined when none). */
function signalOf(f: () => unknown): string | undefined {
  try { f(); } catch (e) { if (e instanceof KernelError) return e.signal; throw e; }
  return undefined;
}
const TARGETS = targets({ systemPages: 512, devicePages: 256 });

for (const [name, make] of TARGETS) {
  for (const scheme of ["E0", "E2", "E4", "E5"]) {
    test(`${name}: mixedmap: the driver's pages are mapped once, read-only, and SNAPSHOT sees READ; munmap frees them [${scheme}]`, async () => {
      const t = await make(scheme);
      const mm = t.mmNew();
      const fd = t.dmirrorOpen(t.dmirrorNew("device-private"), mm);
      const a = t.dmirrorMmap(fd, { length: 3 * PAGE });
      const p = t.page(mm, a + PAGE)!;
      assert.equal({ kind: p.kind, refcount: p.refcount, mapcount: p.mapcount, write: p.pte.write }, { kind: "system", refcount: 1, mapcount: 1, write: false }, scheme);
      assert.is(t.stats().frames.live, 3);
      assert.is(t.dmirrorSnapshot(fd, a, 3), 3);
      assert.equal([...t.lastSnapshot()], [abi.HMM_PROT_READ, abi.HMM_PROT_READ, abi.HMM_PROT_READ]);
      assert.is(t.madvisePageout(mm, a, 3 * PAGE), 0, "never on an LRU: folio_isolate_lru fails");
      const c = t.fork(mm); // no anon_vma yet: VM_MIXEDMAP alone makes vma_needs_copy copy the PTEs
      assert.equal({ refcount: t.page(c, a)?.refcount, mapcount: t.page(c, a)?.mapcount }, { refcount: 2, mapcount: 2 }, `${scheme}: copy_present_pte`);
      t.exit(c);
      t.munmap(mm, a, 3 * PAGE);
      assert.is(t.stats().frames.live, 0, "zap dropped the last reference");
      assert.equal(t.violations(), []);
    });
  }

  test(`${name}: a private write copies the page, fork copies the PTEs (VM_MIXEDMAP), an empty PTE is SIGBUS / -EFAULT, migrate_vma is -EINVAL`, async () => {
    const t = await make("E4");
    const mm = t.mmNew();
    const dev = t.dmirrorNew("device-private");
    const fd = t.dmirrorOpen(dev, mm);
    const a = t.dmirrorMmap(fd, { length: 2 * PAGE });
    t.write(mm, a, 5); // do_wp_page -> wp_page_copy
    const w = t.page(mm, a)!;
    assert.equal({ refcount: w.refcount, mapcount: w.mapcount, write: w.pte.write, live: t.stats().frames.live }, { refcount: 1, mapcount: 1, write: true, live: 2 }, "the driver's page was freed, its copy mapped");
    const child = t.fork(mm);
    assert.equal({ refcount: t.page(child, a + PAGE)!.refcount, mapcount: t.page(child, a + PAGE)!.mapcount }, { refcount: 2, mapcount: 2 }, "copy_present_pte");
    assert.is(t.read(child, a), 5, "the COW copy is shared read-only after fork");
    t.madviseDontneed(child, a + PAGE, PAGE);
    assert.equal({ refcount: t.page(mm, a + PAGE)!.refcount, mapcount: t.page(mm, a + PAGE)!.mapcount }, { refcount: 1, mapcount: 1 });
    assert.is(signalOf(() => t.read(child, a + PAGE)), "SIGBUS", "no ->fault: do_fault -> VM_FAULT_SIGBUS");
    assert.is(errnoOf(() => t.gup(child, a + PAGE)), "EFAULT", "faultin_page: VM_FAULT_SIGBUS");
    const cfd = t.dmirrorOpen(dev, child);
    assert.is(errnoOf(() => t.dmirrorRead(cfd, a + PAGE, 1)), "EFAULT", "hmm_vma_fault: VM_FAULT_ERROR");
    assert.is(errnoOf(() => t.dmirrorMigrateToDev(fd, a, 2)), "EINVAL", "migrate_vma_setup: VM_SPECIAL");
    t.exit(child);
    t.exit(mm);
    t.check();
    assert.equal(t.violations(), []);
    assert.is(t.stats().frames.live, 0);
  });

  test(`${name}: dmirror_mmap refuses bad input with a RefsimError naming the field, and its bookkeeping file is no file_new file`, async () => {
    const t = await make("E4");
    const mm = t.mmNew();
    const fd = t.dmirrorOpen(t.dmirrorNew("device-private"), mm);
    const field = (f: () => unknown) => {
      try { f(); } catch (e) { if (e instanceof RefsimError) return e.field; throw e; }
      return "none";
    };
    assert.is(field(() => t.dmirrorMmap(99, { length: PAGE })), "mirror");
    assert.is(field(() => t.dmirrorMmap(fd, { length: 0 })), "length");
    assert.is(field(() => t.dmirrorMmap(fd, { length: PAGE, addr: 123 })), "addr");
    assert.is(field(() => t.dmirrorMmap(fd, { length: PAGE, prot: "x" as "r" })), "prot");
    assert.is(field(() => t.run([{ op: "dmirror_mmap", mirror: fd, addr: 0x10000000, length: PAGE * 600 }])), "length", "more pages than the 512 frames");
    assert.is(t.stats().frames.live, 0, "nothing was allocated by the refused ops");
    const a = t.dmirrorMmap(fd, { addr: 0x10000000, length: PAGE, prot: "r" });
    assert.is(errnoOf(() => t.dmirrorMmap(fd, { addr: a, length: PAGE })), "EEXIST");
    const f = t.maps(mm)[0].file!;
    assert.is(field(() => t.mmap(mm, { length: PAGE, file: f })), "file");
    assert.is(field(() => t.truncate(f, 0, PAGE)), "file");
    assert.is(field(() => t.dropCache(f)), "file");
    t.exit(mm);
    assert.is(field(() => t.dmirrorMmap(fd, { length: PAGE })), "mirror", "the file's process has exited");
    assert.equal(t.violations(), []);
  });
}

test.run();
