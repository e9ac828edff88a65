/**
 * One method per op, for scripts and tests: each builds the op object and runs it
 * through `run`, so the WASM Engine and the TypeScript Model share them.
 *
 * @example
 * ```ts
 * import { Engine } from "./engine.ts";
 * const e = await Engine.create({ scheme: "E4" });
 * const mm = e.mmNew();
 * const addr = e.mmap(mm, { length: 4096 });
 * e.write(mm, addr, 7);
 * console.log(e.read(mm, addr)); // 7
 * ```
 */
import { decodeResult, type Op, type DeviceKind, type Prot } from "./ops.ts";
import { KernelError } from "./errors.ts";
import type { OpOutcome } from "./errno.ts";

export interface MmapOptions {
  addr?: number;
  length: number;
  prot?: Prot;
  file?: number;
  offset?: number;
  shared?: boolean;
  /** MADV_HUGEPAGE: faults may map 2 MiB THPs (anonymous memory only). */
  huge?: boolean;
}

export abstract class OpCalls {
  /** Run ops in order; returns each op's result (throws RefsimError on a rejected op). */
  abstract run(ops: readonly Op[]): number[];
  /** Run ops in order; each op's result and the kernel's errno or signal when it failed the op. */
  abstract runDetailed(ops: readonly Op[]): OpOutcome[];

  /** One op; a kernel failure throws KernelError (the op ran, and changed what the kernel changes). */
  #one(op: Op): number {
    const [o] = this.runDetailed([op]);
    if (o.errno) throw new KernelError(`${op.op}: the kernel returned -${o.errno}`, { op: op.op, index: 0, errno: o.errno });
    if (o.signal) throw new KernelError(`${op.op}: the access raised ${o.signal}`, { op: op.op, index: 0, signal: o.signal });
    return o.result;
  }

  mmNew(): number { return this.#one({ op: "mm_new" }); }
  /** do_mmap; returns the mapped address. */
  mmap(mm: number, o: MmapOptions): number { return decodeResult("mmap", this.#one({ op: "mmap", mm, ...o })); }
  munmap(mm: number, addr: number, length: number): void { this.#one({ op: "munmap", mm, addr, length }); }
  read(mm: number, addr: number): number { return decodeResult("read", this.#one({ op: "read", mm, addr })); }
  write(mm: number, addr: number, value: number): void { this.#one({ op: "write", mm, addr, value }); }
  fork(mm: number): number { return this.#one({ op: "fork", mm }); }
  exit(mm: number): void { this.#one({ op: "exit", mm }); }
  madviseDontneed(mm: number, addr: number, length: number): void { this.#one({ op: "madvise_dontneed", mm, addr, length }); }
  /** madvise(MADV_PAGEOUT); returns how many folios were isolated from the LRU. */
  madvisePageout(mm: number, addr: number, length: number): number { return this.#one({ op: "madvise_pageout", mm, addr, length }); }
  /** madvise(MADV_COLLAPSE): 0, or -errno (EINVAL, EAGAIN, ENOMEM) as madvise_collapse returns it. */
  madviseCollapse(mm: number, addr: number, length: number): number { return this.#one({ op: "madvise_collapse", mm, addr, length }); }
  /** A file of `length` bytes; on a DAX/p2pmem driver's memory if `driver` is given. */
  fileNew(length: number, driver?: number): number { return this.#one({ op: "file_new", length, ...(driver === undefined ? {} : { driver }) }); }
  driverNew(kind: DeviceKind, pages: number): number { return this.#one({ op: "driver_new", kind, pages }); }
  migrateToDevice(mm: number, addr: number, length: number, driver: number, bo?: number): number {
    return this.#one({ op: "migrate_to_device", mm, addr, length, driver, ...(bo ? { bo } : {}) });
  }
  migrateToRam(mm: number, addr: number, length: number): number { return this.#one({ op: "migrate_to_ram", mm, addr, length }); }
  gup(mm: number, addr: number, o: { write?: boolean; pin?: boolean; longterm?: boolean; p2pdma?: boolean } = {}): number {
    return this.#one({ op: "gup", mm, addr, ...o });
  }
  unpin(handle: number): void { this.#one({ op: "unpin", handle }); }
  check(): void { this.#one({ op: "check" }); }
  teardown(): void { this.#one({ op: "teardown" }); }
  dropCache(file: number): void { this.#one({ op: "drop_cache", file }); }
  /** memunmap_pages (after migrate_device_range if evict). Returns 0 done, 1 waiting, 2 torn down. */
  driverTeardown(driver: number, evict = false): number { return this.#one({ op: "driver_teardown", driver, evict }); }
  evictBo(bo: number): number { return this.#one({ op: "evict_bo", bo }); }
  /** do_swap_page up to dropping the PTL; returns a fault token, 0 when it must refault. */
  faultBegin(mm: number, addr: number): number { return this.#one({ op: "fault_begin", mm, addr }); }
  faultEnd(fault: number): number { return this.#one({ op: "fault_end", fault }); }
  /** Punch a hole over [offset, offset + length); returns 1 if an fsdax file's truncate waits (a busy page anywhere in the file, or a truncate before it), else 0. */
  truncate(file: number, offset: number, length: number): number { return this.#one({ op: "truncate", file, offset, length }); }
  /** truncate(2) the file to offset bytes (private COWed pages beyond go too); returns 1 if it waits (fsdax), else 0. */
  truncateFile(file: number, offset: number): number { return this.#one({ op: "truncate", file, offset, shrink: true }); }
  dmaWrite(handle: number, value: number): void { this.#one({ op: "dma_write", handle, value }); }
  /**
   * The driver allocates a folio of order 0 or 9 (E5) for its own use into a new BO,
   * returned; with `wait`, an allocation that does not fit blocks until a free returns memory.
   */
  driverAlloc(driver: number, o: { order?: 0 | 9; wait?: boolean } = {}): number { return this.#one({ op: "driver_alloc", driver, ...o }); }
  /** The driver puts its own folios of a BO from driverAlloc (or cancels its blocked allocation). */
  driverFree(bo: number): void { this.#one({ op: "driver_free", bo }); }
  /** mprotect: the range's VMAs get protection prot (split and merged as the kernel does). */
  mprotect(mm: number, addr: number, length: number, prot: Prot): void { this.#one({ op: "mprotect", mm, addr, length, prot }); }
  /** mremap; returns the new address. */
  mremap(mm: number, addr: number, length: number, newLength: number, o: { maymove?: boolean; fixed?: boolean; dontunmap?: boolean; newAddr?: number } = {}): number {
    return decodeResult("mremap", this.#one({ op: "mremap", mm, addr, length, newLength, ...o }));
  }
  /** dmirror_device_init: a test_hmm device of this kind (lib/test_hmm.c); returns its id. */
  dmirrorNew(kind: "device-private" | "device-coherent", o: { chunk?: number } = {}): number { return this.#one({ op: "dmirror_new", kind, ...o }); }
  /** open("/dev/hmm_dmirrorN") from process mm: a mirror (its fd) of mm on the device. */
  dmirrorOpen(device: number, mm: number): number { return this.#one({ op: "dmirror_open", device, mm }); }
  /** close(fd): dmirror_fops_release. */
  dmirrorClose(mirror: number): void { this.#one({ op: "dmirror_close", mirror }); }
  /** HMM_DMIRROR_READ of npages at addr: cpages (faults: mirror(fd).faults); a kernel errno throws KernelError. */
  dmirrorRead(mirror: number, addr: number, npages: number): number { return this.#one({ op: "dmirror_read", mirror, addr, npages }); }
  /** HMM_DMIRROR_WRITE: page k gets value + k * step; cpages. */
  dmirrorWrite(mirror: number, addr: number, npages: number, value = 0, step = 1): number {
    return this.#one({ op: "dmirror_write", mirror, addr, npages, value, step });
  }
  /** HMM_DMIRROR_SNAPSHOT: cpages; the bytes from lastSnapshot(). */
  dmirrorSnapshot(mirror: number, addr: number, npages: number): number { return this.#one({ op: "dmirror_snapshot", mirror, addr, npages }); }
  /** HMM_DMIRROR_MIGRATE_TO_DEV: migrate npages at addr into the device's memory; cpages (the pages the device then reads). */
  dmirrorMigrateToDev(mirror: number, addr: number, npages: number): number { return this.#one({ op: "dmirror_migrate_to_dev", mirror, addr, npages }); }
  /** HMM_DMIRROR_MIGRATE_TO_SYS: migrate the device's own pages in the range back to system memory; cpages. */
  dmirrorMigrateToSys(mirror: number, addr: number, npages: number): number { return this.#one({ op: "dmirror_migrate_to_sys", mirror, addr, npages }); }
  /** HMM_DMIRROR_EXCLUSIVE: make npages at addr device-exclusive (make_device_exclusive), the pt entries ATOMIC; cpages. */
  /** mmap(MAP_PRIVATE) of the test_hmm file (dmirror_fops_mmap: VM_MIXEDMAP, zeroed pages of the driver's, read-only); the address. */
  dmirrorMmap(mirror: number, o: { addr?: number; length: number; prot?: "none" | "r" | "rw" }): number { return decodeResult("dmirror_mmap", this.#one({ op: "dmirror_mmap", mirror, ...o })); }
  dmirrorExclusive(mirror: number, addr: number, npages: number): number { return this.#one({ op: "dmirror_exclusive", mirror, addr, npages }); }
  /** HMM_DMIRROR_CHECK_EXCLUSIVE: 0 when no page of the range is still ATOMIC in the mirror; -EPERM throws KernelError. */
  dmirrorCheckExclusive(mirror: number, addr: number, npages: number): number { return this.#one({ op: "dmirror_check_exclusive", mirror, addr, npages }); }
  /** HMM_DMIRROR_RELEASE: evict and remove every chunk of the file's device (npages only has to be > 0, as the ioctl checks). */
  dmirrorRelease(mirror: number, addr = 0, npages = 1): void { this.#one({ op: "dmirror_release", mirror, addr, npages }); }
  /** HMM_DMIRROR_FLAGS: the file's flags (1: HMM_DMIRROR_FLAG_FAIL_ALLOC, the next device allocation fails once). */
  dmirrorFlags(mirror: number, flags: number): void { this.#one({ op: "dmirror_flags", mirror, flags }); }
  /** A user-space store loop: page k of [addr, addr + length) gets value + k * step. */
  writeRange(mm: number, addr: number, length: number, value = 0, step = 1): void { this.#one({ op: "write_range", mm, addr, length, value, step }); }
  /** A user-space load loop; with `value`, returns how many pages differ from value + k * step. */
  readRange(mm: number, addr: number, length: number, value?: number, step = 1): number {
    return this.#one({ op: "read_range", mm, addr, length, ...(value === undefined ? {} : { value }), step });
  }
  /** The ops that follow run on simulated CPU `cpu` (0 .. cpus-1). */
  cpu(cpu: number): void { this.#one({ op: "cpu", cpu }); }
}
