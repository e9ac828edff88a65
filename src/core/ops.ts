/**
 * Ops as the host sees them (plain objects with byte addresses) and their
 * encoding into the core's op records. Host-side checks here cover types and
 * shapes; the core checks everything that depends on state.
 *
 * @example
 * ```ts
 * import { encodeOp, decodeResult } from "./ops.ts";
 * const words = new Int32Array(8);
 * encodeOp({ op: "write", mm: 0, addr: 0x10000000, value: 42 }, words, 0);
 * console.log(decodeResult("mmap", 0x10000), decodeResult("read", -1)); // 268435456 4294967295
 * ```
 */
import * as abi from "../../assembly/abi.ts";
import { RefsimError, shown } from "./errors.ts";

export const PAGE_SIZE = 4096;

export type DeviceKind = "device-private" | "device-coherent" | "fsdax" | "device-dax" | "p2pdma";

export type Op =
  | { op: "mm_new" }
  | { op: "mmap"; mm: number; addr?: number; length: number; prot?: Prot; file?: number; offset?: number; shared?: boolean; huge?: boolean }
  | { op: "munmap"; mm: number; addr: number; length: number }
  | { op: "read"; mm: number; addr: number }
  | { op: "write"; mm: number; addr: number; value: number }
  | { op: "fork"; mm: number }
  | { op: "exit"; mm: number }
  | { op: "madvise_dontneed"; mm: number; addr: number; length: number }
  | { op: "file_new"; length: number; driver?: number }
  | { op: "driver_new"; kind: DeviceKind; pages: number }
  | { op: "migrate_to_device"; mm: number; addr: number; length: number; driver: number; bo?: number }
  | { op: "migrate_to_ram"; mm: number; addr: number; length: number }
  /** fast: pin_user_pages_fast / get_user_pages_fast; run as one op it is slow GUP (GUP-fast falls back to it), refsim races cuts it into steps. */
  | { op: "gup"; mm: number; addr: number; write?: boolean; pin?: boolean; longterm?: boolean; p2pdma?: boolean; fast?: boolean }
  /** GUP-fast's steps (src/races/gup-fast-steps.ts): begin returns a walk (0: fall back), each step 1, the handle at the end, or 0 (bailed). */
  | { op: "gup_fast_begin"; mm: number; addr: number; write?: boolean; pin?: boolean; longterm?: boolean; p2pdma?: boolean }
  | { op: "gup_fast_step"; walk: number }
  /** fork cut before the parent's write-protect: fork_begin returns the child, fork_end(child) write-protects the parent. */
  | { op: "fork_begin"; mm: number }
  | { op: "fork_end"; child: number }
  | { op: "unpin"; handle: number }
  | { op: "check" }
  | { op: "teardown" }
  | { op: "drop_cache"; file: number }
  | { op: "driver_teardown"; driver: number; evict?: boolean }
  | { op: "evict_bo"; bo: number }
  | { op: "fault_begin"; mm: number; addr: number }
  | { op: "fault_end"; fault: number }
  /** madvise(MADV_DONTNEED) on one VMA held open at its mmu_gather window (order "put-first": a mutation, not a kernel). */
  | { op: "zap_begin"; mm: number; addr: number; length: number; order?: "kernel" | "put-first" }
  | { op: "zap_end"; window: number }
  /** migrate_to_device of one page up to migrate_vma_collect_pmd dropping the PTL (the folio stays locked); returns the migration. */
  | { op: "migrate_collect"; mm: number; addr: number; driver: number; bo?: number }
  /** The collected page's migrate_vma_check_page, migrate_vma_pages and migrate_vma_finalize; returns the BO. */
  | { op: "migrate_finish"; migration: number }
  /** migration_entry_wait on the entry at addr (waiter 0: begin, a reference before 5.17; else that waiter's put). */
  | { op: "migration_wait"; mm: number; addr: number; waiter?: number }
  /** A hole punch over [offset, offset + length), or with shrink truncate(2) to offset (no length). */
  | { op: "truncate"; file: number; offset: number; length?: number; shrink?: boolean }
  | { op: "dma_write"; handle: number; value: number }
  | { op: "madvise_pageout"; mm: number; addr: number; length: number }
  | { op: "cpu"; cpu: number }
  | { op: "driver_alloc"; driver: number; order?: 0 | 9; wait?: boolean }
  | { op: "driver_free"; bo: number }
  | { op: "mprotect"; mm: number; addr: number; length: number; prot: Prot }
  /** madvise(MADV_COLLAPSE): each aligned 2 MiB block of the range in a private anonymous VMA becomes one PMD-mapped THP (madvise_collapse); returns 0 or -errno. */
  | { op: "madvise_collapse"; mm: number; addr: number; length: number }
  | { op: "mremap"; mm: number; addr: number; length: number; newLength: number; maymove?: boolean; fixed?: boolean; dontunmap?: boolean; newAddr?: number }
  /** chunk: pages per chunk of device memory (default DMIRROR_CHUNK_PAGES, 1024; the kernel's DEVMEM_CHUNK_SIZE is 65536). */
  | { op: "dmirror_new"; kind: "device-private" | "device-coherent"; chunk?: number }
  | { op: "dmirror_open"; device: number; mm: number }
  | { op: "dmirror_close"; mirror: number }
  | { op: "dmirror_read" | "dmirror_snapshot" | "dmirror_migrate_to_dev" | "dmirror_migrate_to_sys" | "dmirror_release" | "dmirror_exclusive" | "dmirror_check_exclusive"; mirror: number; addr: number; npages: number }
  /** HMM_DMIRROR_FLAGS: dmirror->flags = cmd.npages (1: HMM_DMIRROR_FLAG_FAIL_ALLOC); addr is only checked. */
  | { op: "dmirror_flags"; mirror: number; addr?: number; flags: number }
  /** mmap(MAP_PRIVATE) of the test_hmm file by its process (dmirror_fops_mmap: zeroed driver pages, vm_insert_page); returns the address. */
  | { op: "dmirror_mmap"; mirror: number; addr?: number; length: number; prot?: "none" | "r" | "rw" }
  | { op: "dmirror_write"; mirror: number; addr: number; npages: number; value?: number; step?: number }
  | { op: "write_range"; mm: number; addr: number; length: number; value?: number; step?: number }
  | { op: "read_range"; mm: number; addr: number; length: number; value?: number; step?: number };

/** PROT_NONE, PROT_READ, PROT_READ | PROT_WRITE. */
export type Prot = "none" | "r" | "rw";

export type OpName = Op["op"];

export const OP_CODES: Record<OpName, number> = {
  mm_new: abi.OP_MM_NEW,
  mmap: abi.OP_MMAP,
  munmap: abi.OP_MUNMAP,
  read: abi.OP_READ,
  write: abi.OP_WRITE,
  fork: abi.OP_FORK,
  exit: abi.OP_EXIT,
  madvise_dontneed: abi.OP_MADV_DONTNEED,
  file_new: abi.OP_FILE_NEW,
  driver_new: abi.OP_DRIVER_NEW,
  migrate_to_device: abi.OP_MIGRATE_TO_DEVICE,
  migrate_to_ram: abi.OP_MIGRATE_TO_RAM,
  gup: abi.OP_GUP,
  unpin: abi.OP_UNPIN,
  check: abi.OP_CHECK,
  teardown: abi.OP_TEARDOWN,
  drop_cache: abi.OP_DROP_CACHE,
  driver_teardown: abi.OP_DRIVER_TEARDOWN,
  evict_bo: abi.OP_EVICT_BO,
  fault_begin: abi.OP_FAULT_BEGIN,
  fault_end: abi.OP_FAULT_END,
  zap_begin: abi.OP_ZAP_BEGIN,
  zap_end: abi.OP_ZAP_END,
  gup_fast_begin: abi.OP_GUP_FAST_BEGIN,
  gup_fast_step: abi.OP_GUP_FAST_STEP,
  fork_begin: abi.OP_FORK_BEGIN,
  fork_end: abi.OP_FORK_END,
  migrate_collect: abi.OP_MIGRATE_COLLECT,
  migrate_finish: abi.OP_MIGRATE_FINISH,
  migration_wait: abi.OP_MIGRATION_WAIT,
  truncate: abi.OP_TRUNCATE,
  dma_write: abi.OP_DMA_WRITE,
  madvise_pageout: abi.OP_MADV_PAGEOUT,
  cpu: abi.OP_CPU,
  driver_alloc: abi.OP_DRIVER_ALLOC,
  driver_free: abi.OP_DRIVER_FREE,
  mprotect: abi.OP_MPROTECT,
  mremap: abi.OP_MREMAP,
  madvise_collapse: abi.OP_MADV_COLLAPSE,
  dmirror_new: abi.OP_DMIRROR_NEW,
  dmirror_open: abi.OP_DMIRROR_OPEN,
  dmirror_close: abi.OP_DMIRROR_CLOSE,
  dmirror_read: abi.OP_DMIRROR_READ,
  dmirror_write: abi.OP_DMIRROR_WRITE,
  dmirror_snapshot: abi.OP_DMIRROR_SNAPSHOT,
  dmirror_migrate_to_dev: abi.OP_DMIRROR_MIGRATE_TO_DEV,
  dmirror_migrate_to_sys: abi.OP_DMIRROR_MIGRATE_TO_SYS,
  dmirror_exclusive: abi.OP_DMIRROR_EXCLUSIVE,
  dmirror_check_exclusive: abi.OP_DMIRROR_CHECK_EXCLUSIVE,
  dmirror_release: abi.OP_DMIRROR_RELEASE,
  dmirror_flags: abi.OP_DMIRROR_FLAGS,
  dmirror_mmap: abi.OP_DMIRROR_MMAP,
  write_range: abi.OP_WRITE_RANGE,
  read_range: abi.OP_READ_RANGE,
};

export const OP_NAMES = Object.keys(OP_CODES) as OpName[];
export const OP_NAME_BY_CODE: string[] = [];
for (const [name, code] of Object.entries(OP_CODES)) OP_NAME_BY_CODE[code] = name;

/** The core's argument slots, named, for error messages: field index -> op field. */
export const OP_FIELDS: Record<OpName, string[]> = {
  mm_new: [],
  mmap: ["mm", "addr", "length", "prot", "file", "offset"],
  munmap: ["mm", "addr", "length"],
  read: ["mm", "addr"],
  write: ["mm", "addr", "value"],
  fork: ["mm"],
  exit: ["mm"],
  madvise_dontneed: ["mm", "addr", "length"],
  file_new: ["length", "driver"],
  driver_new: ["kind", "pages"],
  migrate_to_device: ["mm", "addr", "length", "driver", "bo"],
  migrate_to_ram: ["mm", "addr", "length"],
  gup: ["mm", "addr", "write"], // the flags word; the core only faults it for FOLL_WRITE on a read-only mapping
  unpin: ["handle"],
  check: [],
  teardown: [],
  drop_cache: ["file"],
  driver_teardown: ["driver", "evict"],
  evict_bo: ["bo"],
  fault_begin: ["mm", "addr"],
  fault_end: ["fault"],
  zap_begin: ["mm", "addr", "length", "order"],
  zap_end: ["window"],
  gup_fast_begin: ["mm", "addr", "write"], // the flags word, as gup's
  gup_fast_step: ["walk"],
  fork_begin: ["mm"],
  fork_end: ["child"],
  migrate_collect: ["mm", "addr", "driver", "bo"],
  migrate_finish: ["migration"],
  migration_wait: ["mm", "addr", "waiter"],
  truncate: ["file", "offset", "length", "shrink"],
  dma_write: ["handle", "value"],
  madvise_pageout: ["mm", "addr", "length"],
  cpu: ["cpu"],
  driver_alloc: ["driver", "order", "wait"],
  driver_free: ["bo"],
  mprotect: ["mm", "addr", "length", "prot"],
  madvise_collapse: ["mm", "addr", "length"],
  mremap: ["mm", "addr", "length", "newLength", "maymove", "newAddr"], // slot 4: the MREMAP_* flags word
  dmirror_new: ["kind", "chunk"],
  dmirror_open: ["device", "mm"],
  dmirror_close: ["mirror"],
  dmirror_read: ["mirror", "addr", "npages"],
  dmirror_write: ["mirror", "addr", "npages", "value", "step"],
  dmirror_snapshot: ["mirror", "addr", "npages"],
  dmirror_migrate_to_dev: ["mirror", "addr", "npages"],
  dmirror_migrate_to_sys: ["mirror", "addr", "npages"],
  dmirror_exclusive: ["mirror", "addr", "npages"],
  dmirror_check_exclusive: ["mirror", "addr", "npages"],
  dmirror_release: ["mirror", "addr", "npages"],
  dmirror_flags: ["mirror", "addr", "flags"],
  dmirror_mmap: ["mirror", "addr", "length", "prot"],
  write_range: ["mm", "addr", "length", "value", "step"],
  read_range: ["mm", "addr", "length", "value", "step"],
};

const KINDS: Record<DeviceKind, number> = {
  "device-private": abi.KIND_DEVICE_PRIVATE,
  "device-coherent": abi.KIND_DEVICE_COHERENT,
  fsdax: abi.KIND_FSDAX,
  "device-dax": abi.KIND_DEVDAX,
  p2pdma: abi.KIND_P2PDMA,
};

const MAX_ADDR = 2 ** (abi.VPN_BITS + 12);

/** DEVMEM_CHUNK_SIZE (256 MiB) in pages: the kernel's test_hmm chunk (refsim's default is abi.DMIRROR_CHUNK_PAGES). */
export const DMIRROR_CHUNK_PAGES = 65536;

function bad(op: string, field: string, why: string): never {
  throw new RefsimError(`${op}: field '${field}' ${why}`, { op, field, code: "BAD_FIELD" });
}

function int(op: OpName, o: Record<string, unknown>, field: string, min = 0, max = 2 ** 31 - 1): number {
  const v = o[field];
  if (typeof v !== "number" || !Number.isInteger(v)) bad(op, field, `must be a whole number, got ${shown(v)}`);
  if (v < min || v > max) bad(op, field, `must be between ${min} and ${max}, got ${v}`);
  return v;
}

function vpnOf(op: OpName, o: Record<string, unknown>, field = "addr"): number {
  const a = int(op, o, field, 0, MAX_ADDR - 1);
  if (a % PAGE_SIZE !== 0) bad(op, field, `must be page aligned (a multiple of ${PAGE_SIZE}), got 0x${a.toString(16)}`);
  return a / PAGE_SIZE;
}

function pagesOf(op: OpName, o: Record<string, unknown>, field = "length"): number {
  const n = int(op, o, field, 1, MAX_ADDR);
  return Math.ceil(n / PAGE_SIZE); // lengths round up to whole pages, as mmap does
}

function bool(op: OpName, o: Record<string, unknown>, field: string): boolean {
  const v = o[field];
  if (v === undefined) return false;
  if (typeof v !== "boolean") bad(op, field, `must be true or false, got ${shown(v)}`);
  return v;
}

/** The gup_flags of a gup or gup_fast_begin: write, pin, longterm (only with pin), p2pdma. */
function gupFlags(op: OpName, o: Record<string, unknown>): number {
  const f = (bool(op, o, "write") ? abi.FOLL_WRITE : 0) | (bool(op, o, "pin") ? abi.FOLL_PIN : 0)
    | (bool(op, o, "longterm") ? abi.FOLL_LONGTERM : 0) | (bool(op, o, "p2pdma") ? abi.FOLL_PCI_P2PDMA : 0);
  if ((f & abi.FOLL_LONGTERM) !== 0 && (f & abi.FOLL_PIN) === 0) bad(op, "longterm", "needs pin: true (FOLL_LONGTERM goes with FOLL_PIN)");
  return f;
}

/** calc_vm_prot_bits: the VM_READ / VM_WRITE bits of a "none", "r" or "rw" protection. */
function protFlags(op: OpName, prot: unknown): number {
  if (prot === "none") return 0;
  if (prot === "r") return abi.VM_READ;
  if (prot === "rw") return abi.VM_READ | abi.VM_WRITE;
  return bad(op, "prot", `must be "none", "r" or "rw", got ${shown(prot)}`);
}

/**
 * What an op's result word stands for on the host: mmap, mremap and dmirror_mmap return the mapped
 * address in bytes (the core returns its page number), a read the loaded value as
 * unsigned; every other op its word as it is. Shared by the op methods (calls.ts) and
 * what a scenario step binds or checks (scenario/step-op.ts, scenario/run.ts).
 */
export function decodeResult(op: string, r: number): number {
  if (op === "mmap" || op === "mremap" || op === "dmirror_mmap") return r * PAGE_SIZE;
  if (op === "read") return r >>> 0;
  return r;
}

/** Encode op into words[at .. at+OP_WORDS); throws RefsimError naming the field. */
export function encodeOp(input: Op, words: Int32Array, at: number): void {
  if (input === null || typeof input !== "object") {
    throw new RefsimError(`an op must be an object like { op: "mmap", ... }, got ${shown(input)}`, { code: "BAD_OP" });
  }
  const o = input as unknown as Record<string, unknown>;
  const name = o.op as OpName;
  // Object.hasOwn: "toString", "__proto__" and "constructor" are not op names.
  if (typeof name !== "string" || !Object.hasOwn(OP_CODES, name)) {
    throw new RefsimError(`unknown op ${shown(o.op)} (ops: ${OP_NAMES.join(", ")})`, { op: String(o.op), field: "op", code: "BAD_OP" });
  }
  const allowed = new Set(["op", ...extraFields(name)]);
  for (const k of Object.keys(o)) if (!allowed.has(k)) bad(name, k, `is not a field of ${name} (fields: ${[...allowed].slice(1).join(", ") || "none"})`);
  words.fill(0, at, at + abi.OP_WORDS);
  words[at] = OP_CODES[name];
  const a = (i: number, v: number) => { words[at + 1 + i] = v; };
  switch (name) {
    case "mm_new": case "check": case "teardown": break;
    case "mmap": {
      a(0, int(name, o, "mm"));
      a(1, o.addr === undefined ? -1 : vpnOf(name, o));
      a(2, pagesOf(name, o));
      let flags = protFlags(name, o.prot ?? "rw") | (bool(name, o, "shared") ? abi.VM_SHARED : 0);
      if (o.file === undefined) {
        if (o.offset !== undefined) bad(name, "offset", "is only for file mappings");
        // MAP_SHARED | MAP_ANONYMOUS: the core gives the VMA a shmem file (shmem_zero_setup)
        if (o.shared && o.huge) bad(name, "huge", "is only for private anonymous mappings (shmem THP is not modelled)");
        flags |= abi.VM_ANON | (bool(name, o, "huge") ? abi.VM_HUGEPAGE : 0); // MADV_HUGEPAGE
        a(4, -1);
      } else {
        if (o.huge !== undefined) bad(name, "huge", "is only for anonymous mappings (file THP is not modelled)");
        flags |= abi.VM_FILE;
        a(4, int(name, o, "file"));
        a(5, o.offset === undefined ? 0 : vpnOf(name, o, "offset"));
      }
      a(3, flags);
      break;
    }
    case "munmap": case "madvise_dontneed": case "migrate_to_ram": case "madvise_pageout":
      a(0, int(name, o, "mm")); a(1, vpnOf(name, o)); a(2, pagesOf(name, o));
      break;
    case "read": a(0, int(name, o, "mm")); a(1, vpnOf(name, o)); break;
    case "write": {
      a(0, int(name, o, "mm")); a(1, vpnOf(name, o));
      a(2, int(name, o, "value", -(2 ** 31), 2 ** 32 - 1) | 0);
      break;
    }
    case "fork": case "exit": a(0, int(name, o, "mm")); break;
    case "file_new": a(0, pagesOf(name, o)); a(1, o.driver === undefined ? 0 : int(name, o, "driver") + 1); break;
    case "driver_new": {
      const kind = KINDS[o.kind as DeviceKind];
      if (kind === undefined) bad(name, "kind", `must be one of ${Object.keys(KINDS).join(", ")}, got ${shown(o.kind)}`);
      a(0, kind); a(1, int(name, o, "pages", 1));
      break;
    }
    case "migrate_to_device":
      a(0, int(name, o, "mm")); a(1, vpnOf(name, o)); a(2, pagesOf(name, o));
      a(3, int(name, o, "driver")); a(4, o.bo === undefined ? 0 : int(name, o, "bo", 1));
      break;
    case "gup":
      a(0, int(name, o, "mm")); a(1, vpnOf(name, o)); a(2, gupFlags(name, o));
      bool(name, o, "fast"); // the same pin as one op: GUP-fast either pins the page or falls back to this
      break;
    case "gup_fast_begin":
      a(0, int(name, o, "mm")); a(1, vpnOf(name, o)); a(2, gupFlags(name, o));
      break;
    case "gup_fast_step": a(0, int(name, o, "walk", 1)); break;
    case "fork_begin": a(0, int(name, o, "mm")); break;
    case "fork_end": a(0, int(name, o, "child")); break;
    case "unpin": a(0, int(name, o, "handle", 1)); break;
    case "drop_cache": a(0, int(name, o, "file")); break;
    case "driver_teardown": a(0, int(name, o, "driver")); a(1, bool(name, o, "evict") ? 1 : 0); break;
    case "evict_bo": a(0, int(name, o, "bo", 1)); break;
    case "fault_begin": a(0, int(name, o, "mm")); a(1, vpnOf(name, o)); break;
    case "fault_end": a(0, int(name, o, "fault", 1)); break;
    case "zap_begin": {
      a(0, int(name, o, "mm")); a(1, vpnOf(name, o)); a(2, pagesOf(name, o));
      const order = o.order ?? "kernel";
      if (order !== "kernel" && order !== "put-first") bad(name, "order", `must be "kernel" or "put-first", got ${shown(o.order)}`);
      a(3, order === "put-first" ? abi.ZAP_ORDER_PUT_FIRST : abi.ZAP_ORDER_KERNEL);
      break;
    }
    case "zap_end": a(0, int(name, o, "window", 1)); break;
    case "migrate_collect":
      a(0, int(name, o, "mm")); a(1, vpnOf(name, o)); a(2, int(name, o, "driver"));
      a(3, o.bo === undefined ? 0 : int(name, o, "bo", 1));
      break;
    case "migrate_finish": a(0, int(name, o, "migration", 1)); break;
    case "migration_wait": a(0, int(name, o, "mm")); a(1, vpnOf(name, o)); a(2, o.waiter === undefined ? 0 : int(name, o, "waiter")); break;
    case "truncate": {
      a(0, int(name, o, "file")); a(1, vpnOf(name, o, "offset"));
      if (!bool(name, o, "shrink")) { a(2, pagesOf(name, o)); break; }
      if (o.length !== undefined) bad(name, "length", "is not used with shrink: truncate(2) cuts the file at offset");
      a(3, 1);
      break;
    }
    case "cpu": a(0, int(name, o, "cpu", 0, abi.MAX_CPUS - 1)); break;
    case "driver_alloc": {
      a(0, int(name, o, "driver"));
      const order = o.order ?? 0;
      if (order !== 0 && order !== abi.FOLIO_ORDER) bad(name, "order", `must be 0 or ${abi.FOLIO_ORDER}, got ${shown(o.order)}`);
      a(1, order as number);
      a(2, bool(name, o, "wait") ? 1 : 0);
      break;
    }
    case "driver_free": a(0, int(name, o, "bo", 1)); break;
    case "mprotect":
      a(0, int(name, o, "mm")); a(1, vpnOf(name, o)); a(2, pagesOf(name, o));
      if (o.prot === undefined) bad(name, "prot", `is required: "none", "r" or "rw"`);
      a(3, protFlags(name, o.prot));
      break;
    case "madvise_collapse": a(0, int(name, o, "mm")); a(1, vpnOf(name, o)); a(2, pagesOf(name, o)); break;
    case "mremap": {
      a(0, int(name, o, "mm")); a(1, vpnOf(name, o)); a(2, pagesOf(name, o)); a(3, pagesOf(name, o, "newLength"));
      const fixed = bool(name, o, "fixed");
      const dontunmap = bool(name, o, "dontunmap");
      a(4, (bool(name, o, "maymove") ? abi.MREMAP_MAYMOVE : 0) | (fixed ? abi.MREMAP_FIXED : 0) | (dontunmap ? abi.MREMAP_DONTUNMAP : 0));
      if (o.newAddr !== undefined && !fixed && !dontunmap) bad(name, "newAddr", "needs fixed or dontunmap (mremap ignores new_address without them)");
      if (fixed && o.newAddr === undefined) bad(name, "newAddr", "is required with fixed (MREMAP_FIXED moves to new_address)");
      a(5, o.newAddr === undefined ? 0 : vpnOf(name, o, "newAddr"));
      break;
    }
    case "dmirror_new":
      if (o.kind !== "device-private" && o.kind !== "device-coherent") bad(name, "kind", `must be "device-private" or "device-coherent", got ${shown(o.kind)}`);
      a(0, KINDS[o.kind as DeviceKind]);
      a(1, o.chunk === undefined ? 0 : int(name, o, "chunk", 1, abi.DMIRROR_CHUNK_MAX));
      break;
    case "dmirror_open": a(0, int(name, o, "device")); a(1, int(name, o, "mm")); break;
    case "dmirror_close": a(0, int(name, o, "mirror")); break;
    case "dmirror_mmap":
      a(0, int(name, o, "mirror"));
      a(1, o.addr === undefined ? -1 : vpnOf(name, o));
      a(2, pagesOf(name, o));
      a(3, protFlags(name, o.prot ?? "rw"));
      break;
    case "dmirror_flags":
      a(0, int(name, o, "mirror"));
      a(1, o.addr === undefined ? 0 : vpnOf(name, o));
      a(2, int(name, o, "flags", 0, 2 ** abi.VPN_BITS));
      break;
    case "dmirror_read": case "dmirror_snapshot": case "dmirror_write": case "dmirror_migrate_to_dev": case "dmirror_migrate_to_sys":
    case "dmirror_release": case "dmirror_exclusive": case "dmirror_check_exclusive":
      a(0, int(name, o, "mirror"));
      a(1, vpnOf(name, o));
      a(2, int(name, o, "npages", 0, 2 ** abi.VPN_BITS));
      if (name === "dmirror_write") {
        a(3, o.value === undefined ? 0 : int(name, o, "value", -(2 ** 31), 2 ** 32 - 1) | 0);
        a(4, o.step === undefined ? 1 : int(name, o, "step", -(2 ** 31), 2 ** 32 - 1) | 0);
      }
      break;
    case "write_range": case "read_range":
      a(0, int(name, o, "mm")); a(1, vpnOf(name, o)); a(2, pagesOf(name, o));
      a(3, o.value === undefined ? 0 : int(name, o, "value", -(2 ** 31), 2 ** 32 - 1) | 0);
      a(4, o.step === undefined ? 1 : int(name, o, "step", -(2 ** 31), 2 ** 32 - 1) | 0);
      if (name === "read_range") a(5, o.value === undefined ? 0 : 1);
      break;
    case "dma_write": a(0, int(name, o, "handle", 1)); a(1, int(name, o, "value", -(2 ** 31), 2 ** 32 - 1) | 0); break;
  }
}

function extraFields(name: OpName): string[] {
  switch (name) {
    case "mmap": return ["mm", "addr", "length", "prot", "file", "offset", "shared", "huge"];
    case "gup": return ["mm", "addr", "write", "pin", "longterm", "p2pdma", "fast"];
    case "gup_fast_begin": return ["mm", "addr", "write", "pin", "longterm", "p2pdma"];
    case "driver_new": return ["kind", "pages"];
    case "migrate_to_device": return ["mm", "addr", "length", "driver", "bo"];
    case "write": return ["mm", "addr", "value"];
    case "mremap": return ["mm", "addr", "length", "newLength", "maymove", "fixed", "dontunmap", "newAddr"];
    default: return OP_FIELDS[name];
  }
}

/** [code name, message] of a core error on op `op`: CORE_ERRORS, with the cpu op's own wording. */
export function coreError(op: string, code: number): [string, string] {
  if (op === "cpu" && code === abi.ERR_BAD_ARG) return ["BAD_ARG", "no such simulated CPU (cpu must be below EngineOptions.cpus)"];
  if (code === abi.ERR_NOMEM_OBJECTS && NOMEM_OBJECTS_BY_OP[op]) return ["NOMEM_OBJECTS", NOMEM_OBJECTS_BY_OP[op]];
  if (op === "zap_end" && code === abi.ERR_BAD_HANDLE) return ["BAD_HANDLE", "no such open zap window (zap_begin returns one; zap_end closes it)"];
  if (op === "fork_begin" && code === abi.ERR_BAD_STATE) return ["BAD_STATE", "the mm is in a fork between fork_begin and fork_end (the fork holds the parent's mmap_lock; the child is not running yet)"];
  if (op === "exit" && code === abi.ERR_BAD_STATE) return ["BAD_STATE", "the mm is in a fork between fork_begin and fork_end (the fork holds the parent's mmap_lock; the child is not running yet) or has a GUP-fast walk in flight (the walking task holds mm_users)"];
  if (op === "fork_end" && code === abi.ERR_BAD_MM) return ["BAD_MM", "no fork in progress with this child (fork_begin returns the child; fork_end ends it once)"];
  if (op === "gup_fast_step" && code === abi.ERR_BAD_HANDLE) return ["BAD_HANDLE", "no such GUP-fast walk in flight (gup_fast_begin returns one; it ends when a step returns 0 or a handle)"];
  if (op === "migrate_finish" && code === abi.ERR_BAD_HANDLE) return ["BAD_HANDLE", "no such open migration (migrate_collect returns one; migrate_finish closes it)"];
  if (op === "migrate_collect" && code === abi.ERR_BAD_STATE) return ["BAD_STATE", "not a page the cut takes (a present small anonymous system page mapped once, by a PTE, in a VMA migrate_vma accepts)"];
  if (op === "migration_wait" && code === abi.ERR_BAD_HANDLE) return ["BAD_HANDLE", "no such migration_wait waiter (migration_wait with waiter 0 returns one, before 5.17)"];
  if (op === "migration_wait" && code === abi.ERR_BAD_STATE) return ["BAD_STATE", "no migration entry at addr to wait on"];
  if (op === "madvise_collapse" && code === abi.ERR_BAD_STATE) return ["BAD_STATE", "not modelled: madvise_collapse of a shmem or page-cache file VMA (hpage_collapse_scan_file), or of a block with device-private, device-exclusive or migration entries to fault in (__collapse_huge_page_swapin)"];
  if (op === "zap_begin" && code === abi.ERR_SEGV) return ["SEGV", "the range is not inside one VMA (a zap window is one madvise_dontneed_single_vma)"];
  return CORE_ERRORS[code] ?? ["UNKNOWN", `error ${code}`];
}

/**
 * ERR_NOMEM_OBJECTS by op: the table that is full and the capacity field that sizes it
 * (issue 15 items 11, 12: a capacity of 0 is refused naming that field, not "raise capacity").
 */
const NOMEM_OBJECTS_BY_OP: Record<string, string> = {
  driver_new: "driver table full (raise capacity.drivers)",
  file_new: "file table full (raise capacity.files, or capacity.filePages for its pages)",
  mmap: "no room for the shared anonymous mapping's shmem file (raise capacity.files, or capacity.filePages for its pages)",
  dmirror_mmap: "no room for the test_hmm mapping's page bookkeeping, a file of its own (raise capacity.files, or capacity.filePages for its pages)",
  migrate_to_device: "buffer-object table full (raise capacity.bufferObjects)",
  driver_alloc: "buffer-object table full (raise capacity.bufferObjects)",
  gup: "GUP handles exhausted (raise capacity.gupHandles)",
  fault_begin: "in-flight fault table full (its size is capacity.gupHandles)",
  zap_begin: `zap window table full (at most ${abi.ZAP_WINDOW_SLOTS} open at once)`,
  gup_fast_begin: "GUP-fast walk table or GUP handles exhausted (both sized by capacity.gupHandles)",
  gup_fast_step: "GUP handles exhausted (raise capacity.gupHandles)",
  migrate_collect: `migration table full (at most ${abi.MIGRATE_CUT_SLOTS} migrate_collect open at once), or the buffer-object table (raise capacity.bufferObjects)`,
  migration_wait: `migration_wait waiter table full (at most ${abi.MIGRATE_CUT_SLOTS} at once)`,
  truncate: "waiting-truncate table full (twice capacity.files: fsdax truncates waiting for a busy page, or queued behind one)",
  dmirror_new: `test_hmm device table full (at most ${abi.MAX_DMIRROR_DEVICES} devices per engine)`,
  dmirror_open: `dmirror file table full (at most ${abi.MAX_MIRRORS} opens per engine: mirror ids are not reused)`,
  dmirror_read: `dmirror page-table entries exhausted (at most ${abi.MIRROR_ENTRIES} over all mirrors)`,
  dmirror_write: `dmirror page-table entries exhausted (at most ${abi.MIRROR_ENTRIES} over all mirrors)`,
  dmirror_migrate_to_dev: `dmirror page-table entries exhausted (at most ${abi.MIRROR_ENTRIES} over all mirrors)`,
};

/** Messages for the core's ERR_* codes. */
export const CORE_ERRORS: Record<number, [string, string]> = {
  [abi.ERR_BAD_OP]: ["BAD_OP", "unknown op code"],
  [abi.ERR_BAD_MM]: ["BAD_MM", "no such live address space"],
  [abi.ERR_SEGV]: ["SEGV", "address is outside any mapping (SIGSEGV)"],
  [abi.ERR_ACCESS]: ["ACCESS", "mapping does not allow this access"], // not raised since kernel errnos (SIGSEGV, EFAULT)
  [abi.ERR_OVERLAP]: ["OVERLAP", "range overlaps an existing mapping"], // not raised since kernel errnos (EEXIST)
  [abi.ERR_RANGE]: ["RANGE", "range is empty or outside the simulated address space / file"],
  [abi.ERR_NOMEM_FRAMES]: ["NOMEM_FRAMES", "system page frames exhausted (raise capacity.systemPages)"],
  [abi.ERR_NOMEM_TABLES]: ["NOMEM_TABLES", "page-table pool exhausted (raise capacity.pteTables / pmdTables)"],
  [abi.ERR_NOMEM_MM]: ["NOMEM_MM", "address-space slots exhausted (raise capacity.processes)"],
  [abi.ERR_NOMEM_VMA]: ["NOMEM_VMA", "VMA slots exhausted (raise capacity.vmas)"],
  [abi.ERR_BAD_FILE]: ["BAD_FILE", "no such file"],
  [abi.ERR_BAD_DRIVER]: ["BAD_DRIVER", "no such driver"],
  [abi.ERR_BAD_BO]: ["BAD_BO", "no such live buffer object of this driver"],
  [abi.ERR_BAD_HANDLE]: ["BAD_HANDLE", "no such live GUP handle"],
  [abi.ERR_NOT_ANON]: ["NOT_ANON", "migrate_vma_setup needs an anonymous private mapping"], // not raised: any VMA migrates
  [abi.ERR_NOMEM_DEVICE]: ["NOMEM_DEVICE", "device frames exhausted (raise capacity.devicePages)"],
  [abi.ERR_BAD_ARG]: ["BAD_ARG", "invalid argument"],
  [abi.ERR_NOMEM_OBJECTS]: ["NOMEM_OBJECTS", "object table full (files, drivers, BOs, GUP handles or in-flight faults; raise capacity)"],
  [abi.ERR_BAD_STATE]: ["BAD_STATE", "not possible in this state (no device-private entry there, driver torn down or not live)"],
  [abi.ERR_BAD_MIRROR]: ["BAD_MIRROR", "no such open dmirror file (mirror ids come from dmirror_open)"],
  [abi.ERR_BAD_DMIRROR]: ["BAD_DMIRROR", "no such test_hmm device (device ids come from dmirror_new)"],
};

/** Ops one engine can run: the core numbers them with 32-bit sequence numbers (violations name them). */
export const MAX_OPS = 2 ** 31 - 1;

/**
 * Check the arguments of runEncoded before anything runs: `words` an Int32Array holding
 * at least `count` op records, `count` a whole number. Otherwise stale records left in
 * the op buffer by an earlier batch would run, or a NaN count would run nothing silently.
 */
export function checkEncoded(words: unknown, count: unknown, who = "runEncoded"): void {
  if (!(words instanceof Int32Array)) {
    throw new RefsimError(`${who}: words must be an Int32Array of op records (${abi.OP_WORDS} words each), got ${shown(words)}`, { field: "words", code: "BAD_ARG" });
  }
  if (typeof count !== "number" || !Number.isInteger(count) || count < 0) {
    throw new RefsimError(`${who}: count must be a whole number >= 0, got ${shown(count)}`, { field: "count", code: "BAD_ARG" });
  }
  if (count * abi.OP_WORDS > words.length) {
    throw new RefsimError(`${who}: count ${count} needs ${count * abi.OP_WORDS} words, but words holds ${words.length} (${Math.floor(words.length / abi.OP_WORDS)} op records)`, { field: "count", code: "BAD_ARG" });
  }
}

/** Check that `ops` is an array of op objects (each op is checked when encoded). */
export function checkOpList(ops: unknown, who = "run"): void {
  if (!Array.isArray(ops)) throw new RefsimError(`${who}: ops must be an array of op objects like [{ op: "mm_new" }], got ${shown(ops)}`, { field: "ops", code: "BAD_ARG" });
}

/** How many of `n` more ops fit below MAX_OPS after `executed` (the rest are refused). */
export function opsThatFit(executed: number, n: number): number {
  return Math.max(0, Math.min(n, MAX_OPS - executed));
}

/** The RefsimError for op `index`, the first past MAX_OPS. */
export function opsExhausted(index: number): RefsimError {
  return new RefsimError(`op ${index}: this engine has run ${MAX_OPS} ops, the most its 32-bit op sequence numbers can count; start a fresh engine`, { index, code: "OPS_EXHAUSTED" });
}

/** An id argument of an inspection call (mm, pfn, bo, driver): a whole number 0..2^31-1, else RefsimError. */
export function idArg(who: string, field: string, v: unknown): number {
  if (typeof v !== "number" || !Number.isInteger(v) || v < 0 || v > 2 ** 31 - 1) {
    throw new RefsimError(`${who}: ${field} must be a whole number 0..${2 ** 31 - 1}, got ${shown(v)}`, { field, code: "BAD_ARG" });
  }
  return v;
}
