/**
 * OpEncoder: the generators' way of talking to an OpTarget. Typed methods write op
 * records (abi.OP_WORDS i32 words: [opcode, a0..a6]) straight into one reused
 * Int32Array; when `chunk` ops are buffered they are handed to the target in one
 * runEncoded call. No object is allocated per op.
 *
 * Every method returns the op's sequence number in this encoder's stream. Results
 * come back three ways:
 *  - `result(seq)`: flush now and return the result of a just-issued op (mm ids from
 *    mm_new / fork, the vpn chosen by mmap(-1), file, driver and BO ids). Costs one
 *    runEncoded call, so use it for rare ops only.
 *  - `want()` then `take()`: mark the last op; when it has run (at the next flush,
 *    whenever that happens) its result joins a FIFO, read in op order. For results
 *    needed later, like GUP handles (handle 0 means GUP failed).
 *  - nothing: most ops (read, write, munmap...) need no result.
 *
 * The encoder also keeps an FNV-1a hash of every op word it issues, so two runs
 * can be shown to have produced the same op stream. Each record is hashed as it is
 * written, from the method's own arguments: the imul chain then overlaps the
 * encoding instead of running after it in flush() (page-fault1's pure JavaScript
 * time -30 %, shared-pages -20 %, measured in one process).
 *
 * A rejected op stops the run: flush() throws a RefsimError naming the op's
 * sequence number and arguments (a generator must never produce one).
 *
 * @example
 * ```ts
 * import { Engine } from "../core/engine.ts";
 * import { OpEncoder } from "./encoder.ts";
 * import { VM_READ, VM_WRITE, VM_ANON } from "../../assembly/abi.ts";
 * const e = await Engine.create({ scheme: "E4" });
 * const enc = new OpEncoder(e);
 * const mm = enc.result(enc.mmNew());
 * enc.mmap(mm, 0x10000, 16, VM_READ | VM_WRITE | VM_ANON, -1, 0);
 * for (let i = 0; i < 16; i++) enc.write(mm, 0x10000 + i, i);
 * enc.gup(mm, 0x10000, 0);
 * enc.want();
 * enc.flush();
 * const handle = enc.take(); // 0 if GUP failed
 * if (handle !== 0) enc.unpin(handle);
 * enc.exit(mm);
 * enc.check();
 * enc.flush();
 * console.log(e.stats().frames.live, e.stats().violations.total); // 0 0
 * ```
 */
import * as abi from "../../assembly/abi.ts";
import { RefsimError, shown } from "../core/errors.ts";
import { OP_NAME_BY_CODE, OP_FIELDS, type OpName } from "../core/ops.ts";
import type { Stats } from "../core/stats.ts";
import type { OpTarget } from "./target.ts";

const W = abi.OP_WORDS;

/** Ops per runEncoded call by default (the Engine's batch is 4096). */
export const DEFAULT_CHUNK = 1024;

const FNV_OFFSET = 0x811c9dc5 | 0;
const FNV_PRIME = 0x01000193;
// FNV-1a steps over a zero word are h * PRIME (h ^ 0 = h), so k zero words in a row are one
// multiply by PRIME^k (mod 2^32): the same hash with a shorter dependency chain of imuls.
const P4 = Math.imul(Math.imul(FNV_PRIME, FNV_PRIME), Math.imul(FNV_PRIME, FNV_PRIME));
const P5 = Math.imul(P4, FNV_PRIME);
const P6 = Math.imul(P5, FNV_PRIME);

/**
 * FNV-1a of `end` words (whole OP_WORDS records) continuing from h, exactly the
 * word-by-word loop, but a record's trailing zero arguments (most ops use 1-3 of
 * the 7) cost one multiply: the serial imul chain was the encoder's largest cost
 * (about 9 ns an op, a quarter of page-fault1's core time, measured in one process).
 * The encoder's methods hash their records the same way as they write them; this is
 * the same hash over records already in a buffer.
 */
export function fnvRecords(w: Int32Array, end: number, h: number): number {
  for (let o = 0; o < end; o += W) {
    const w2 = w[o + 2], w3 = w[o + 3], w4 = w[o + 4], w5 = w[o + 5], w6 = w[o + 6], w7 = w[o + 7];
    h = Math.imul(h ^ w[o], FNV_PRIME);
    h = Math.imul(h ^ w[o + 1], FNV_PRIME);
    const rest = w4 | w5 | w6 | w7;
    if ((w2 | w3 | rest) === 0) {
      h = Math.imul(h, P6);
      continue;
    }
    h = Math.imul(h ^ w2, FNV_PRIME);
    if (rest === 0) {
      h = w3 === 0 ? Math.imul(h, P5) : Math.imul(Math.imul(h ^ w3, FNV_PRIME), P4);
      continue;
    }
    h = Math.imul(h ^ w3, FNV_PRIME);
    h = Math.imul(h ^ w4, FNV_PRIME);
    h = Math.imul(h ^ w5, FNV_PRIME);
    h = Math.imul(h ^ w6, FNV_PRIME);
    h = Math.imul(h ^ w7, FNV_PRIME);
  }
  return h;
}

/** A growable FIFO of i32 (reused; no allocation once grown). */
class IntQueue {
  buf = new Int32Array(64);
  head = 0;
  tail = 0;
  get size(): number { return this.tail - this.head; }
  push(v: number): void {
    if (this.tail === this.buf.length) {
      if (this.head > 0) {
        this.buf.copyWithin(0, this.head, this.tail);
        this.tail -= this.head;
        this.head = 0;
      }
      if (this.tail === this.buf.length) {
        const b = new Int32Array(this.buf.length * 2);
        b.set(this.buf);
        this.buf = b;
      }
    }
    this.buf[this.tail++] = v;
  }
  peek(): number { return this.buf[this.head]; }
  shift(): number {
    const v = this.buf[this.head++];
    if (this.head === this.tail) this.head = this.tail = 0;
    return v;
  }
}

export interface EncoderOptions {
  /** Ops per runEncoded call (at most the target's batch size). Default 1024, or the target's capacity.batch if smaller. */
  chunk?: number;
}

export class OpEncoder {
  readonly target: OpTarget;
  readonly chunk: number;
  private words: Int32Array;
  private cap: number; // ops the buffer holds
  private n = 0; // ops buffered
  private base = 0; // sequence number of the first buffered op
  private res: Int32Array; // results of the last flush
  private resFrom = 0;
  private resTo = 0;
  private wanted = new IntQueue(); // sequence numbers whose results go to `ready`
  private readyQ = new IntQueue();
  private h = FNV_OFFSET;
  private holds = 0;

  constructor(target: OpTarget, options: EncoderOptions = {}) {
    // no larger than the target's batch (an Engine's capacity.batch), whose runEncoded returns the last batch's results
    const batch = (target as { capacity?: { batch?: number } }).capacity?.batch;
    const chunk = options.chunk ?? (typeof batch === "number" && batch >= 1 ? Math.min(DEFAULT_CHUNK, batch) : DEFAULT_CHUNK);
    if (!Number.isInteger(chunk) || chunk < 1) {
      throw new RefsimError(`encoder: chunk must be a whole number >= 1, got ${shown(chunk)}`, { field: "chunk" });
    }
    this.target = target;
    this.chunk = chunk;
    this.cap = chunk;
    this.words = new Int32Array(chunk * W);
    this.res = new Int32Array(chunk);
  }

  /** Ops issued so far (flushed or buffered): the next op's sequence number. */
  get seq(): number { return this.base + this.n; }
  /** Ops already run on the target. */
  get executed(): number { return this.base; }
  /** Results waiting in the want() FIFO. */
  get ready(): number { return this.readyQ.size; }
  /** Ops marked with want() that have not run yet. */
  get pending(): number { return this.wanted.size; }
  /** FNV-1a hash (u32) of every op word issued so far (buffered ops included). */
  get streamHash(): number { return this.h >>> 0; }

  /**
   * Keep buffering without flushing (the buffer grows) until the matching
   * release(): the ops in between reach the target in as few calls as possible.
   */
  hold(): void { this.holds++; }
  release(): void {
    if (this.holds > 0) this.holds--;
    if (this.holds === 0 && this.n >= this.chunk) this.flush();
  }

  /** The next free record index, flushing (or growing while held) when full. */
  private slot(): number {
    if (this.n === this.cap) {
      if (this.holds > 0) {
        const w = new Int32Array(this.cap * 2 * W);
        w.set(this.words);
        this.words = w;
        this.cap *= 2;
      } else {
        this.flush();
      }
    }
    return this.n++;
  }

  /** Append one op record (and hash it, as fnvRecords does); returns its sequence number. */
  op(code: number, a0 = 0, a1 = 0, a2 = 0, a3 = 0, a4 = 0, a5 = 0, a6 = 0): number {
    const i = this.slot();
    const w = this.words;
    const o = i * W;
    w[o] = code;
    w[o + 1] = a0;
    w[o + 2] = a1;
    w[o + 3] = a2;
    w[o + 4] = a3;
    w[o + 5] = a4;
    w[o + 6] = a5;
    w[o + 7] = a6;
    let h = Math.imul(Math.imul(this.h ^ code, FNV_PRIME) ^ a0, FNV_PRIME);
    const rest = a3 | a4 | a5 | a6;
    if ((a1 | a2 | rest) === 0) {
      h = Math.imul(h, P6);
    } else {
      h = Math.imul(h ^ a1, FNV_PRIME);
      if (rest === 0) {
        h = a2 === 0 ? Math.imul(h, P5) : Math.imul(Math.imul(h ^ a2, FNV_PRIME), P4);
      } else {
        h = Math.imul(h ^ a2, FNV_PRIME);
        h = Math.imul(h ^ a3, FNV_PRIME);
        h = Math.imul(h ^ a4, FNV_PRIME);
        h = Math.imul(h ^ a5, FNV_PRIME);
        h = Math.imul(h ^ a6, FNV_PRIME);
      }
    }
    this.h = h;
    return this.base + i;
  }

  /**
   * A record of up to three arguments (the rest 0), hashed: most ops. Small and without
   * default parameters, so V8 inlines it into a generator's loop where op() stayed a call
   * (shared-pages: a cpu op before every access).
   */
  private op3(code: number, a0: number, a1: number, a2: number): number {
    const i = this.slot();
    const w = this.words;
    const o = i * W;
    w[o] = code; w[o + 1] = a0; w[o + 2] = a1; w[o + 3] = a2;
    w[o + 4] = 0; w[o + 5] = 0; w[o + 6] = 0; w[o + 7] = 0;
    let h = Math.imul(Math.imul(this.h ^ code, FNV_PRIME) ^ a0, FNV_PRIME);
    if ((a1 | a2) === 0) h = Math.imul(h, P6);
    else {
      h = Math.imul(h ^ a1, FNV_PRIME);
      h = a2 === 0 ? Math.imul(h, P5) : Math.imul(Math.imul(h ^ a2, FNV_PRIME), P4);
    }
    this.h = h;
    return this.base + i;
  }

  /** exec: a fresh empty address space. Result: the mm id. */
  mmNew(): number { return this.op3(abi.OP_MM_NEW, 0, 0, 0); }
  /** do_mmap at vpn (or -1: get_unmapped_area). vmflags: VM_*; file -1 for anon. Result: the vpn. */
  mmap(mm: number, vpn: number, npages: number, vmflags: number, file: number, pgoff: number): number {
    return this.op(abi.OP_MMAP, mm, vpn, npages, vmflags, file, pgoff);
  }
  munmap(mm: number, vpn: number, npages: number): number { return this.op3(abi.OP_MUNMAP, mm, vpn, npages); }
  /** CPU load (faults as needed). Result: the value read. */
  read(mm: number, vpn: number): number {
    const i = this.slot();
    const w = this.words;
    const o = i * W;
    w[o] = abi.OP_READ; w[o + 1] = mm; w[o + 2] = vpn; w[o + 3] = 0;
    w[o + 4] = 0; w[o + 5] = 0; w[o + 6] = 0; w[o + 7] = 0;
    this.h = Math.imul(Math.imul(Math.imul(Math.imul(this.h ^ abi.OP_READ, FNV_PRIME) ^ mm, FNV_PRIME) ^ vpn, FNV_PRIME), P5);
    return this.base + i;
  }
  /** CPU store of `value` (faults as needed). */
  write(mm: number, vpn: number, value: number): number {
    const i = this.slot();
    const w = this.words;
    const o = i * W;
    w[o] = abi.OP_WRITE; w[o + 1] = mm; w[o + 2] = vpn; w[o + 3] = value;
    w[o + 4] = 0; w[o + 5] = 0; w[o + 6] = 0; w[o + 7] = 0;
    this.h = Math.imul(Math.imul(Math.imul(Math.imul(Math.imul(this.h ^ abi.OP_WRITE, FNV_PRIME) ^ mm, FNV_PRIME) ^ vpn, FNV_PRIME) ^ value, FNV_PRIME), P4);
    return this.base + i;
  }
  /** dup_mmap. Result: the child mm id. */
  fork(mm: number): number { return this.op3(abi.OP_FORK, mm, 0, 0); }
  exit(mm: number): number { return this.op3(abi.OP_EXIT, mm, 0, 0); }
  madviseDontneed(mm: number, vpn: number, npages: number): number { return this.op3(abi.OP_MADV_DONTNEED, mm, vpn, npages); }
  /** A file of npages on disk, or on device driver `driver` (fsdax, devdax, p2pdma). Result: the file id. */
  fileNew(npages: number, driver = -1): number { return this.op(abi.OP_FILE_NEW, npages, driver + 1); }
  /** memremap_pages: kind is abi.KIND_DEVICE_PRIVATE or KIND_DEVICE_COHERENT. Result: the driver id. */
  driverNew(kind: number, npages: number): number { return this.op(abi.OP_DRIVER_NEW, kind, npages); }
  /** migrate_vma to driver's memory; bo 0 makes a new buffer object. Result: the BO id. */
  migrateToDevice(mm: number, vpn: number, npages: number, driver: number, bo: number): number {
    return this.op(abi.OP_MIGRATE_TO_DEVICE, mm, vpn, npages, driver, bo);
  }
  /** Driver-initiated migration of device pages back to RAM. Result: pages moved. */
  migrateToRam(mm: number, vpn: number, npages: number): number { return this.op3(abi.OP_MIGRATE_TO_RAM, mm, vpn, npages); }
  /** get_user_pages / pin_user_pages of one page; follFlags FOLL_*. Result: handle, 0 if it failed. */
  gup(mm: number, vpn: number, follFlags: number): number { return this.op3(abi.OP_GUP, mm, vpn, follFlags); }
  unpin(handle: number): number { return this.op3(abi.OP_UNPIN, handle, 0, 0); }
  dropCache(file: number): number { return this.op3(abi.OP_DROP_CACHE, file, 0, 0); }
  /** memunmap_pages of a device-private/coherent driver, after migrate_device_range of its pages if evict. */
  driverTeardown(driver: number, evict: boolean): number { return this.op(abi.OP_DRIVER_TEARDOWN, driver, evict ? 1 : 0); }
  /** migrate_device_range over a live BO's pages. Result: pages moved. */
  evictBo(bo: number): number { return this.op(abi.OP_EVICT_BO, bo); }
  /** do_swap_page on a device-private entry up to dropping the PTL. Result: a fault id, 0 to refault. */
  faultBegin(mm: number, vpn: number): number { return this.op(abi.OP_FAULT_BEGIN, mm, vpn); }
  /** The rest of the fault: migrate_to_ram and the put. */
  faultEnd(fault: number): number { return this.op(abi.OP_FAULT_END, fault); }
  /** Truncate / punch a hole of npages at file offset index. Result: pages a truncate has to wait for. */
  truncate(file: number, index: number, npages: number): number { return this.op(abi.OP_TRUNCATE, file, index, npages); }
  /** A device writes `value` through the page a GUP handle holds. */
  dmaWrite(handle: number, value: number): number { return this.op3(abi.OP_DMA_WRITE, handle, value, 0); }
  /** madvise(MADV_PAGEOUT): isolate each normal page from the LRU. Result: pages isolated. */
  madvisePageout(mm: number, vpn: number, npages: number): number { return this.op3(abi.OP_MADV_PAGEOUT, mm, vpn, npages); }
  /** Quiesce check: invariants, leaks, dangling entries. */
  check(): number { return this.op3(abi.OP_CHECK, 0, 0, 0); }
  /** The ops that follow run on simulated CPU c. */
  cpu(c: number): number { return this.op3(abi.OP_CPU, c, 0, 0); }
  /** Exit every mm, drop every page cache, then check. */
  teardown(): number { return this.op(abi.OP_TEARDOWN); }

  /**
   * Account for `count` ops that ran on the target without passing through this encoder (a
   * generator inside the core, Engine.runCoreWorkload, started from streamHash): they take the next
   * sequence numbers and `hash` is the stream hash after them. Nothing may be buffered or wanted.
   */
  ranElsewhere(count: number, hash: number): void {
    if (this.n !== 0 || this.wanted.size !== 0) throw new RefsimError("encoder: ranElsewhere() needs every op flushed and no result wanted", { code: "BAD_USE" });
    this.base += count;
    this.resFrom = this.resTo = this.base;
    this.h = hash | 0;
  }

  /** Queue the result of the op just issued for take(). */
  want(): void {
    if (this.n === 0) throw new RefsimError("encoder: want() needs an op issued but not yet flushed", { code: "BAD_USE" });
    this.wanted.push(this.base + this.n - 1);
  }

  /** The oldest queued result (see want()); call only while `ready` > 0. */
  take(): number {
    if (this.readyQ.size === 0) throw new RefsimError("encoder: take() with no result ready (flush first)", { code: "BAD_USE" });
    return this.readyQ.shift();
  }

  /** The result of op `seq`: flushes if it has not run; it must belong to the last flush. */
  result(seq: number): number {
    if (seq >= this.base) this.flush();
    if (seq < this.resFrom || seq >= this.resTo) {
      throw new RefsimError(`encoder: the result of op ${seq} is gone (only ops ${this.resFrom}..${this.resTo - 1} are kept)`, { code: "BAD_USE" });
    }
    return this.res[seq - this.resFrom];
  }

  /** Run every buffered op on the target. */
  flush(): void {
    const n = this.n;
    if (n === 0) return;
    const words = this.words;
    if (this.res.length < n) this.res = new Int32Array(this.cap);
    for (let s = 0; s < n; s += this.chunk) {
      const m = Math.min(this.chunk, n - s);
      let r: Int32Array;
      try {
        r = this.target.runEncoded(m === n ? words : words.subarray(s * W, (s + m) * W), m);
      } catch (e) {
        this.n = 0;
        throw this.rejected(e, s);
      }
      if (r.length < m) {
        this.n = 0;
        throw new RefsimError(`encoder: the target returned ${r.length} results for ${m} ops; use a chunk no larger than its batch`, { code: "BAD_TARGET" });
      }
      this.res.set(m === r.length ? r : r.subarray(0, m), s);
    }
    this.resFrom = this.base;
    this.resTo = this.base + n;
    this.base += n;
    this.n = 0;
    const wq = this.wanted;
    while (wq.size > 0 && wq.peek() < this.resTo) this.readyQ.push(this.res[wq.shift() - this.resFrom]);
  }

  /** Flush, then the target's counters. */
  stats(): Stats {
    this.flush();
    return this.target.stats();
  }

  /** The record of buffered op i as text, e.g. "write(mm=1, addr=65536, value=7)". */
  private describe(i: number): string {
    const o = i * W;
    const name = OP_NAME_BY_CODE[this.words[o]] ?? `op${this.words[o]}`;
    const fields = OP_FIELDS[name as OpName] ?? [];
    const args: string[] = [];
    for (let k = 0; k < Math.max(fields.length, 1) && k < W - 1; k++) {
      if (k >= fields.length && this.words[o + 1 + k] === 0) break;
      args.push(`${fields[k] === "addr" ? "vpn" : fields[k] ?? `a${k}`}=${this.words[o + 1 + k]}`);
    }
    return `${name}(${args.join(", ")})`;
  }

  private rejected(e: unknown, start: number): Error {
    if (!(e instanceof Error)) return new RefsimError(String(e));
    const index = (e as RefsimError).index;
    if (typeof index !== "number") return e;
    const seq = this.base + start + index;
    const err = new RefsimError(`workload op #${seq} ${this.describe(start + index)} was rejected: ${e.message}`, {
      op: (e as RefsimError).op, field: (e as RefsimError).field, index: seq, code: (e as RefsimError).code,
    });
    return err;
  }
}
