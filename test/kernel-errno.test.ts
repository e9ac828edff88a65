// Kernel failures are results, not rejections: a simulated syscall the kernel fails
// returns -errno, a CPU access it refuses raises a signal; the op is counted, the
// batch goes on, and the engine changes only as the kernel would. Engine and model
// alike. (Refsim's own bad input is test/bad-input.test.ts: RefsimError, nothing runs.)
import { test } from "uvu";
import * as assert from "uvu/assert";
import { Engine } from "../src/core/engine.ts";
import { KernelError, RefsimError } from "../src/core/errors.ts";
import { Model } from "../src/model/model.ts";
import type { Op } from "../src/core/ops.ts";

const PAGE = 4096;
const CAP = { systemPages: 64, devicePages: 16 };
type Target = Engine | Model;

const TARGETS: [string, (scheme?: string) => Promise<Target>][] = [
  ["engine", (scheme = "E2") => Engine.create({ scheme, capacity: CAP })],
  ["model", async (scheme = "E2") => Model.create({ scheme, capacity: CAP })],
];

/** Every frame and the probed mappings: what a failed op must leave as it was. */
function memory(t: Target, probes: [number, number][]) {
  const frames = [];
  for (let pfn = 0; pfn < 1 + t.capacity.systemPages + t.capacity.devicePages; pfn++) frames.push(t.frame(pfn));
  return { frames, pages: probes.map(([mm, a]) => t.page(mm, a)), violations: t.violations() };
}

/** A process with two written anon pages, a read-only page after them and a device-private driver. */
async function world(make: (scheme?: string) => Promise<Target>, scheme?: string) {
  const t = await make(scheme);
  const mm = t.mmNew();
  const a = t.mmap(mm, { length: 2 * PAGE });
  t.write(mm, a, 1);
  t.write(mm, a + PAGE, 2);
  const ro = t.mmap(mm, { length: PAGE, prot: "r" });
  const d = t.driverNew("device-private", 4);
  const probes: [number, number][] = [[mm, a], [mm, a + PAGE], [mm, ro]];
  return { t, mm, a, ro, d, probes };
}

/** fn must throw a KernelError with this errno or signal, count the op and change no memory. */
function failsWith(t: Target, probes: [number, number][], fn: () => unknown, op: string, want: { errno?: string; signal?: string }): void {
  const before = memory(t, probes);
  const ops = t.opsExecuted;
  const failures = t.stats().kernelErrors;
  let err: unknown;
  try { fn(); } catch (x) { err = x; }
  assert.ok(err instanceof KernelError, `${op}: expected a KernelError, got ${err === undefined ? "no error" : String(err)}`);
  const k = err as KernelError;
  assert.not.instance(k, RefsimError);
  assert.equal({ op: k.op, errno: k.errno, signal: k.signal }, { op, errno: want.errno, signal: want.signal }, k.message);
  assert.is(t.opsExecuted, ops + 1, `${op}: the failed op is counted`);
  assert.is(t.stats().kernelErrors, failures + 1);
  assert.equal(memory(t, probes), before, `${op}: memory changed by the failed op`);
}

for (const [name, make] of TARGETS) {
  test(`${name}: an access outside any VMA raises SIGSEGV (do_user_addr_fault -> bad_area_nosemaphore); syscalls on it fail`, async () => {
    const { t, mm, a, d, probes } = await world(make);
    const hole = a + 64 * PAGE;
    failsWith(t, probes, () => t.read(mm, hole), "read", { signal: "SIGSEGV" });
    failsWith(t, probes, () => t.write(mm, hole, 1), "write", { signal: "SIGSEGV" });
    failsWith(t, probes, () => t.gup(mm, hole), "gup", { errno: "EFAULT" }); // __get_user_pages: no vma
    failsWith(t, probes, () => t.migrateToDevice(mm, hole, PAGE, d), "migrate_to_device", { errno: "EINVAL" }); // migrate_vma_setup
    failsWith(t, probes, () => t.migrateToRam(mm, hole, PAGE), "migrate_to_ram", { errno: "EINVAL" });
    failsWith(t, probes, () => t.madviseDontneed(mm, hole, PAGE), "madvise_dontneed", { errno: "ENOMEM" }); // madvise_walk_vmas
    failsWith(t, probes, () => t.mprotect(mm, hole, PAGE, "r"), "mprotect", { errno: "ENOMEM" }); // do_mprotect_pkey
    failsWith(t, probes, () => t.mremap(mm, hole, PAGE, 2 * PAGE), "mremap", { errno: "EFAULT" }); // vma_lookup
    // a range running past its VMA: migrate_vma_setup wants it inside one VMA
    failsWith(t, probes, () => t.migrateToDevice(mm, a, 3 * PAGE, d), "migrate_to_device", { errno: "EINVAL" });
    assert.equal([t.read(mm, a), t.read(mm, a + PAGE)], [1, 2]);
  });

  test(`${name}: protection faults: write to a read-only VMA SIGSEGV (access_error), FOLL_WRITE gup EFAULT (check_vma_flags)`, async () => {
    const { t, mm, ro, probes } = await world(make);
    assert.is(t.read(mm, ro), 0);
    failsWith(t, probes, () => t.write(mm, ro, 1), "write", { signal: "SIGSEGV" });
    failsWith(t, probes, () => t.gup(mm, ro, { write: true }), "gup", { errno: "EFAULT" });
    const f = t.fileNew(PAGE);
    const fro = t.mmap(mm, { length: PAGE, file: f, shared: true, prot: "r" });
    failsWith(t, probes, () => t.write(mm, fro, 1), "write", { signal: "SIGSEGV" });
    const none = t.mmap(mm, { length: PAGE, prot: "none" });
    failsWith(t, probes, () => t.read(mm, none), "read", { signal: "SIGSEGV" });
    failsWith(t, probes, () => t.gup(mm, none), "gup", { errno: "EFAULT" }); // !(vm_flags & VM_READ)
    assert.is(t.read(mm, ro), 0);
  });

  test(`${name}: mmap over a mapping at a fixed address EEXIST (MAP_FIXED_NOREPLACE), no room ENOMEM (get_unmapped_area)`, async () => {
    const { t, mm, a, probes } = await world(make);
    failsWith(t, probes, () => t.mmap(mm, { addr: a + PAGE, length: PAGE }), "mmap", { errno: "EEXIST" });
    failsWith(t, probes, () => t.mmap(mm, { addr: a - PAGE, length: 2 * PAGE }), "mmap", { errno: "EEXIST" });
    assert.is(t.mmap(mm, { addr: a + 16 * PAGE, length: PAGE }), a + 16 * PAGE, "a free fixed address works");
  });

  test(`${name}: an access beyond a file's end raises SIGBUS (filemap_fault: index past i_size); gup there EFAULT`, async () => {
    const { t, mm, probes } = await world(make);
    const f = t.fileNew(PAGE);
    const m = t.mmap(mm, { length: PAGE, file: f, shared: true });
    t.write(mm, m, 7);
    const g = t.mremap(mm, m, PAGE, 2 * PAGE, { maymove: true }); // mremap does not look at the file's size
    assert.is(t.read(mm, g), 7);
    failsWith(t, probes, () => t.read(mm, g + PAGE), "read", { signal: "SIGBUS" });
    failsWith(t, probes, () => t.write(mm, g + PAGE, 1), "write", { signal: "SIGBUS" });
    failsWith(t, probes, () => t.gup(mm, g + PAGE), "gup", { errno: "EFAULT" }); // faultin_page: VM_FAULT_SIGBUS -> -EFAULT
  });

  test(`${name}: GUP refusals with their kernel errno: fsdax longterm EOPNOTSUPP before any fault, p2pdma without FOLL_PCI_P2PDMA EREMOTEIO`, async () => {
    const { t, mm, probes } = await world(make, "E4");
    const dax = t.driverNew("fsdax", 4);
    const f = t.fileNew(PAGE, dax);
    const m = t.mmap(mm, { length: PAGE, file: f, shared: true });
    // check_vma_flags refuses the VMA before follow_page_mask / faultin_page: nothing is faulted in
    failsWith(t, [...probes, [mm, m]], () => t.gup(mm, m, { write: true, pin: true, longterm: true }), "gup", { errno: "EOPNOTSUPP" });
    assert.is(t.page(mm, m), null, "the fsdax page was not faulted in");
    assert.ok(t.gup(mm, m, { write: true, pin: true }) > 0, "a short-term pin of the same page works");
    const p2p = t.driverNew("p2pdma", 4);
    const pf = t.fileNew(PAGE, p2p);
    const pm = t.mmap(mm, { length: PAGE, file: pf, shared: true });
    t.read(mm, pm);
    failsWith(t, [...probes, [mm, pm]], () => t.gup(mm, pm), "gup", { errno: "EREMOTEIO" }); // try_grab_folio
    assert.ok(t.gup(mm, pm, { p2pdma: true }) > 0, "with FOLL_PCI_P2PDMA it works");
    assert.is(t.stats().gupFailed, 2);
  });

  test(`${name}: a batch goes on past a kernel failure: each op has its result and status`, async () => {
    const { t, mm, a, ro } = await world(make);
    const ops: Op[] = [
      { op: "write", mm, addr: a, value: 10 },
      { op: "write", mm, addr: ro, value: 30 },
      { op: "gup", mm, addr: ro, write: true },
      { op: "write", mm, addr: a + PAGE, value: 40 },
    ];
    const seq = t.opsExecuted;
    assert.equal(t.run(ops), [0, 0, -14, 0], "run(): -errno for a failed syscall, 0 for a signal");
    assert.equal(t.runDetailed(ops), [{ result: 0 }, { result: 0, signal: "SIGSEGV" }, { result: -14, errno: "EFAULT" }, { result: 0 }]);
    assert.is(t.opsExecuted, seq + 8);
    assert.equal([t.read(mm, a), t.read(mm, a + PAGE), t.read(mm, ro)], [10, 40, 0]);
    assert.is(t.stats().kernelErrors, 4);
  });

  test(`${name}: madvise over a hole applies to the mapped parts and then fails ENOMEM (madvise_walk_vmas)`, async () => {
    const { t, mm, a } = await world(make);
    const b = t.mmap(mm, { addr: a + 4 * PAGE, length: PAGE });
    t.write(mm, b, 5);
    // [a, a+5P): a's two pages, the read-only page, a hole at a+3P, then b
    assert.equal(t.runDetailed([{ op: "madvise_dontneed", mm, addr: a, length: 5 * PAGE }]), [{ result: -12, errno: "ENOMEM" }]);
    assert.equal([t.page(mm, a), t.page(mm, a + PAGE), t.page(mm, b)], [null, null, null], "every mapped page was zapped");
  });
}

test("a bad field is still refsim's own error (RefsimError, exit 2), not a kernel result", async () => {
  const e = await Engine.create({ scheme: "E2", capacity: CAP });
  const mm = e.mmNew();
  const a = e.mmap(mm, { length: PAGE });
  assert.throws(() => e.mprotect(mm, a, PAGE, "x" as never), (x: unknown) => x instanceof RefsimError && x.field === "prot");
  assert.throws(() => e.mremap(mm, a, PAGE, 0), (x: unknown) => x instanceof RefsimError && x.field === "newLength");
  assert.throws(() => e.read(99, a), (x: unknown) => x instanceof RefsimError && x.code === "BAD_MM");
});

test.run();
