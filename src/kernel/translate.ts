/**
 * The translator: refsim op records, as the core ran them under E2, become one
 * program for the guest interpreter (kernel/guest/interp.c), and every point to
 * compare is recorded with refsim's side of it. The refsim engine runs first, so
 * addresses refsim chose, ids and results are known when the guest line is written.
 *
 * Process ids in the guest are refsim's mm ids, files are refsim's file ids, GUP
 * handles refsim's handle ids: no renaming. What the guest cannot do makes the
 * program not comparable, with the reason.
 *
 * @example
 * ```ts
 * import { Engine } from "../core/engine.ts";
 * import { ProgramBuilder } from "./translate.ts";
 * const e = await Engine.create({ scheme: "E2" });
 * const b = new ProgramBuilder("tiny", e);
 * const mm = b.run({ op: "mm_new" });
 * const addr = b.run({ op: "mmap", mm, length: 4096 }) * 4096;
 * b.run({ op: "write", mm, addr, value: 7 });
 * b.snapPage("after write", mm, addr);
 * console.log(b.text().split("\n").slice(0, 4).join(" | ")); // prog tiny | new 0 | mmap 0 10000000 1 rw a 0 0 0 | write 0 10000000 7
 * ```
 */
import * as abi from "../../assembly/abi.ts";
import type { Engine } from "../core/engine.ts";
import { encodeOp, OP_NAME_BY_CODE, PAGE_SIZE, type Op } from "../core/ops.ts";
import { outcomeName, statusOutcome } from "../core/errno.ts";

/** One page's counts, from refsim or from the kernel (null fields: not meaningful for that page). */
export interface Reading {
  mapped: boolean;
  /** The shared zero page (or the huge zero page): its counts are not kept, so not compared. */
  zero: boolean;
  refcount: number;
  mapcount: number;
  entireMapcount: number;
  pincount: number;
  large: boolean;
  pmd: boolean;
  devmap: boolean;
}

/** The fields compared, in table order. */
export const READING_FIELDS = ["mapped", "zero", "refcount", "mapcount", "entireMapcount", "pincount", "large", "pmd", "devmap"] as const;
export type ReadingField = (typeof READING_FIELDS)[number];

export const UNMAPPED: Readonly<Reading> = Object.freeze({
  mapped: false, zero: false, refcount: 0, mapcount: 0, entireMapcount: 0, pincount: 0, large: false, pmd: false, devmap: false,
});

/** The op translated last before a point: what src/kernel/known.ts matches differences against. */
export interface LastOp {
  code: number;
  /** The op's argument words and refsim's result. */
  args: number[];
  result: number;
  /** A GUP or truncate on an fsdax file's pages. */
  fsdax: boolean;
  /** A truncate(2) that shrinks the file (the op's shrink), not a hole punch. */
  toEof: boolean;
  /** A DAX truncate that refsim found busy has not finished yet (it ends at an unpin). */
  daxTruncateWaiting: boolean;
}

interface PointBase {
  label: string;
  at: number;
  step: number;
  after: LastOp | null;
  /** The page a value or result point is about, "mm:0xaddr" (pages points name theirs per row). */
  page?: string;
}

/** A point where refsim and the kernel are compared, tied to the guest op after which it is read. */
export type Point =
  | (PointBase & { kind: "pages"; ranges: [number, number][]; mms: number[]; refsim: Map<string, Reading> })
  | (PointBase & { kind: "value"; refsim: number })
  | (PointBase & { kind: "result"; what: "gup" | "truncate"; refsim: "ok" | "err" | "busy" });

/** "mm:vpn" */
export const pageKey = (mm: number, vpn: number): string => `${mm}:${vpn}`;

/** The guest's handle slot for GUPs refsim refused (the interpreter has 256). */
const REFUSED_SLOT = 255;

/** The guest's PROT word for VM_READ / VM_WRITE bits (calc_vm_prot_bits backwards): none, r or rw. */
const RW = (flags: number) => ((flags & abi.VM_WRITE) !== 0 ? "rw" : (flags & abi.VM_READ) !== 0 ? "r" : "none");
const hex = (vpn: number) => (vpn * PAGE_SIZE).toString(16);

/** A driver kind the guest has: fsdax on emulated pmem. Debian's 6.1 has no DEVICE_PRIVATE, no coherent device, no p2pdma. */
function driverReason(kind: number): string | null {
  if (kind === abi.KIND_FSDAX) return null;
  if (kind === abi.KIND_DEVICE_PRIVATE) return "device-private memory: Debian's 6.1 config has no DEVICE_PRIVATE or TEST_HMM";
  if (kind === abi.KIND_DEVICE_COHERENT) return "device-coherent memory: no coherent device in the guest (and no DEVICE_PRIVATE/TEST_HMM)";
  if (kind === abi.KIND_DEVDAX) return "device-dax: the guest's pmem serves fsdax only";
  return "p2pdma: no PCI peer-to-peer memory in the guest";
}

export class ProgramBuilder {
  readonly name: string;
  readonly engine: Engine;
  readonly lines: string[] = [];
  readonly points: Point[] = [];
  /** Why this program cannot be compared (the first reason), or null. */
  notComparable: string | null = null;
  /** Step of the scenario (or op of the trace) being translated, for the points. */
  step = 0;
  #n = 0;
  #live = new Set<number>();
  #ranges: [number, number][] = [];
  #drivers = new Map<number, number>();
  #handles = new Map<number, "g" | "p">();
  #words = new Int32Array(abi.OP_WORDS);
  #maps: { mm: number; start: number; n: number; file: number }[] = [];
  #files = new Map<number, { pages: number; dax: boolean }>();
  #daxWaiting = false;
  /** The op translated last (check and cpu ops leave it). */
  last: LastOp | null = null;

  constructor(name: string, engine: Engine) {
    this.name = name;
    this.engine = engine;
  }

  /** Run one op on refsim and translate it; returns refsim's result (an mmap's vpn). Throws RefsimError when refsim rejects it. */
  run(op: Op): number {
    encodeOp(op, this.#words, 0);
    const r = this.engine.runEncoded(this.#words, 1)[0];
    this.translate(this.#words, 0, r, this.engine.lastStatuses()[0]);
    return r;
  }

  /** Translate op record words[at..] that refsim ran with `result` (and kernel status word `status`: an errno or a signal). */
  translate(words: ArrayLike<number>, at: number, result: number, status = 0): void {
    const code = words[at];
    // a GUP refsim fails is compared as refused; other failing syscalls and signals have no guest replay yet
    if (status !== 0 && code !== abi.OP_GUP) {
      return this.#cannot(`${OP_NAME_BY_CODE[code] ?? `op ${code}`} fails in refsim (${outcomeName(statusOutcome(status))}): the guest does not replay failing syscalls or signals yet`);
    }
    const a = (k: number) => words[at + 1 + k];
    const emit = (line: string) => { this.lines.push(line); return this.#n++; };
    if (code !== abi.OP_CHECK && code !== abi.OP_CPU) {
      const args = Array.from({ length: abi.OP_WORDS - 1 }, (_, k) => a(k));
      const fsdax = code === abi.OP_GUP ? this.#daxAt(a(0), a(1)) : code === abi.OP_TRUNCATE ? this.#files.get(a(0))?.dax === true : false;
      const toEof = code === abi.OP_TRUNCATE && a(3) === 1;
      if (code === abi.OP_TRUNCATE && fsdax && result > 0) this.#daxWaiting = true;
      if (code === abi.OP_UNPIN || code === abi.OP_TEARDOWN) this.#daxWaiting = false;
      this.last = { code, args, result, fsdax, toEof, daxTruncateWaiting: this.#daxWaiting };
    }
    switch (code) {
      case abi.OP_MM_NEW: emit(`new ${result}`); this.#live.add(result); return;
      case abi.OP_FORK: {
        emit(`fork ${a(0)} ${result}`);
        this.#live.add(result);
        for (const m of this.#maps.filter((x) => x.mm === a(0))) this.#maps.push({ ...m, mm: result }); // the child inherits the vmas
        return;
      }
      case abi.OP_EXIT: emit(`exit ${a(0)}`); this.#live.delete(a(0)); return;
      case abi.OP_MMAP: {
        const flags = a(2 + 1);
        const file = (flags & abi.VM_FILE) !== 0;
        const shared = (flags & abi.VM_SHARED) !== 0;
        const kind = file ? (shared ? "S" : "p") : shared ? "s" : "a";
        // without a THP pool refsim falls back to 4 KiB pages: the guest then does not madvise either
        const huge = (flags & abi.VM_HUGEPAGE) !== 0 && this.engine.capacity.hugePages > 0 ? 1 : 0;
        emit(`mmap ${a(0)} ${hex(result)} ${a(2)} ${RW(flags)} ${kind} ${file ? a(4) : 0} ${file ? a(5) : 0} ${huge}`);
        this.#maps.push({ mm: a(0), start: result, n: a(2), file: file ? a(4) : -1 });
        this.#addRange(result, a(2));
        return;
      }
      case abi.OP_MUNMAP: emit(`munmap ${a(0)} ${hex(a(1))} ${a(2)}`); return;
      case abi.OP_MPROTECT: emit(`mprotect ${a(0)} ${hex(a(1))} ${a(2)} ${RW(a(3))}`); return;
      case abi.OP_MREMAP: {
        // the guest resizes in place (flags 0) or moves with MREMAP_MAYMOVE|MREMAP_FIXED to where refsim moved it
        if ((a(4) & abi.MREMAP_DONTUNMAP) !== 0) return this.#cannot("mremap with MREMAP_DONTUNMAP: the guest has no such mremap");
        emit(`mremap ${a(0)} ${hex(a(1))} ${a(2)} ${hex(result)} ${a(3)}`);
        const from = this.#maps.filter((m) => m.mm === a(0) && a(1) >= m.start && a(1) < m.start + m.n).pop(); // the latest
        this.#maps.push({ mm: a(0), start: result, n: a(3), file: from?.file ?? -1 });
        this.#addRange(result, a(3));
        return;
      }
      case abi.OP_MADV_DONTNEED: emit(`dontneed ${a(0)} ${hex(a(1))} ${a(2)}`); return;
      case abi.OP_READ: {
        const i = emit(`read ${a(0)} ${hex(a(1))}`);
        this.points.push({ kind: "value", label: `read ${hex(a(1))} of mm ${a(0)}`, at: i, step: this.step, after: this.last, page: pageName(a(0), a(1)), refsim: result >>> 0 });
        return;
      }
      case abi.OP_WRITE: emit(`write ${a(0)} ${hex(a(1))} ${a(2) >>> 0}`); return;
      case abi.OP_FILE_NEW: {
        const driver = a(1) - 1;
        if (driver >= 0) {
          const kind = this.#drivers.get(driver);
          if (kind !== abi.KIND_FSDAX) return this.#cannot(`a file on driver ${driver}: only fsdax files are comparable`);
        }
        emit(`file ${result} ${a(0)} ${driver >= 0 ? 1 : 0}`);
        this.#files.set(result, { pages: a(0), dax: driver >= 0 });
        return;
      }
      case abi.OP_DRIVER_NEW: {
        const why = driverReason(a(0));
        if (why) return this.#cannot(why);
        this.#drivers.set(result, a(0));
        return; // the guest's pmem is set up at boot
      }
      case abi.OP_GUP: {
        const f = a(2);
        let how: "g" | "p";
        if ((f & abi.FOLL_PCI_P2PDMA) !== 0) return this.#cannot("gup with FOLL_PCI_P2PDMA");
        if ((f & abi.FOLL_PIN) !== 0 && (f & abi.FOLL_WRITE) !== 0) how = "p"; // io_uring fixed buffer: FOLL_WRITE|FOLL_PIN|FOLL_LONGTERM
        else if ((f & (abi.FOLL_PIN | abi.FOLL_WRITE | abi.FOLL_LONGTERM)) === 0) how = "g"; // vmsplice: FOLL_GET, read-only
        else return this.#cannot(`gup ${gupText(f)}: user space holds only a read-only FOLL_GET (vmsplice) or a FOLL_WRITE|FOLL_PIN|FOLL_LONGTERM pin (io_uring fixed buffers)`);
        if (how === "p" && (f & abi.FOLL_LONGTERM) === 0 && this.#fsdaxAt(a(0), a(1))) return this.#cannot("a short-term pin of an fsdax page: io_uring pins FOLL_LONGTERM, which 6.1 refuses on fsdax");
        if (result >= REFUSED_SLOT) return this.#cannot(`more than ${REFUSED_SLOT - 1} GUP handles`);
        // refsim refused it: the guest must refuse too, tried in a slot no handle uses
        const i = emit(`gup ${a(0)} ${result > 0 ? result : REFUSED_SLOT} ${hex(a(1))} ${how}`);
        if (result > 0) this.#handles.set(result, how);
        this.points.push({ kind: "result", label: `gup ${gupText(f)} ${hex(a(1))} of mm ${a(0)}`, at: i, step: this.step, after: this.last, page: pageName(a(0), a(1)), what: "gup", refsim: result > 0 ? "ok" : "err" });
        return;
      }
      case abi.OP_UNPIN: emit(`unpin ${a(0)}`); this.#handles.delete(a(0)); return;
      case abi.OP_DMA_WRITE: {
        if (this.#handles.get(a(0)) !== "p") return this.#cannot("dma_write through a FOLL_GET handle (only io_uring pins write)");
        emit(`dmawrite ${a(0)} ${a(1) >>> 0}`);
        return;
      }
      case abi.OP_TRUNCATE: {
        const shrink = a(3) === 1; // the guest's NPAGES 0: ftruncate to the offset
        const file = this.#files.get(a(0));
        if (shrink && file) file.pages = a(1);
        const i = emit(`truncate ${a(0)} ${a(1)} ${shrink ? 0 : a(2)}`);
        this.points.push({ kind: "result", label: shrink ? `truncate file ${a(0)} to ${a(1)}` : `truncate file ${a(0)} at ${a(1)}+${a(2)}`, at: i, step: this.step, after: this.last, what: "truncate", refsim: result > 0 ? "busy" : "ok" });
        return;
      }
      case abi.OP_TEARDOWN: emit("teardown"); this.#live.clear(); return;
      case abi.OP_CHECK: case abi.OP_CPU: return; // refsim's own bookkeeping: nothing happens in the kernel
      case abi.OP_DROP_CACHE:
        return this.#cannot("drop_cache: guest files are on tmpfs, whose pages are not dropped (disk filesystems add buffer_head references refsim does not model)");
      default:
        return this.#cannot(`${OP_NAME_BY_CODE[code] ?? `op ${code}`} has no user-space counterpart in the guest`);
    }
  }

  #cannot(why: string): void {
    this.notComparable ??= why;
  }

  /** Does the latest mapping of mm containing vpn map an fsdax file? */
  #daxAt(mm: number, vpn: number): boolean {
    for (let i = this.#maps.length - 1; i >= 0; i--) {
      const m = this.#maps[i];
      if (m.mm === mm && vpn >= m.start && vpn < m.start + m.n) return m.file >= 0 && this.#files.get(m.file)?.dax === true;
    }
    return false;
  }

  #fsdaxAt(mm: number, vpn: number): boolean {
    const p = this.engine.page(mm, vpn * PAGE_SIZE);
    return p !== null && p.kind === "fsdax";
  }

  #addRange(vpn: number, n: number): void {
    this.#ranges.push([vpn, n]);
    this.#ranges.sort((x, y) => x[0] - y[0]);
    const merged: [number, number][] = [];
    for (const [s, k] of this.#ranges) {
      const last = merged[merged.length - 1];
      if (last && s <= last[0] + last[1]) last[1] = Math.max(last[1], s + k - last[0]);
      else merged.push([s, k]);
    }
    this.#ranges = merged;
  }

  /** Live processes, ascending. */
  get mms(): number[] { return [...this.#live].sort((x, y) => x - y); }

  /** Compare every page of every range mapped so far, in every live process. */
  snapAll(label: string): void {
    this.#snap(label, this.#ranges.map(([s, n]) => [s, n] as [number, number]), this.mms);
  }

  /** Compare one page of one process (a scenario's expect step). */
  snapPage(label: string, mm: number, addr: number): void {
    this.#snap(label, [[addr / PAGE_SIZE, 1]], [mm]);
  }

  /** Compare a value read by the guest (a scenario's expect read) with refsim's. */
  readValue(label: string, mm: number, addr: number, refsim: number): void {
    const i = this.#n++;
    this.lines.push(`read ${mm} ${hex(addr / PAGE_SIZE)}`);
    this.points.push({ kind: "value", label, at: i, step: this.step, after: this.last, page: pageName(mm, addr / PAGE_SIZE), refsim: refsim >>> 0 });
  }

  #snap(label: string, ranges: [number, number][], mms: number[]): void {
    if (ranges.length === 0) return;
    const refsim = new Map<string, Reading>();
    for (const mm of mms) {
      if (!this.#live.has(mm)) continue;
      for (const [s, n] of ranges) for (let vpn = s; vpn < s + n; vpn++) {
        const r = refsimReading(this.engine, mm, vpn);
        if (r.mapped) refsim.set(pageKey(mm, vpn), r);
      }
    }
    const i = this.#n++;
    this.lines.push(`snap ${ranges.map(([s, n]) => `${hex(s)} ${n}`).join(" ")}`);
    this.points.push({ kind: "pages", label, at: i, step: this.step, after: this.last, ranges, mms: mms.filter((m) => this.#live.has(m)), refsim });
  }

  /** The program text for the interpreter. */
  text(): string {
    return [`prog ${this.name}`, ...this.lines, "end", ""].join("\n");
  }
}

/** "mm:0xaddr", as comparison rows name pages. */
export function pageName(mm: number, vpn: number): string {
  return `${mm}:0x${(vpn * PAGE_SIZE).toString(16)}`;
}

function gupText(f: number): string {
  const parts = [(f & abi.FOLL_PIN) !== 0 ? "pin" : "get"];
  if ((f & abi.FOLL_WRITE) !== 0) parts.push("write");
  if ((f & abi.FOLL_LONGTERM) !== 0) parts.push("longterm");
  return parts.join("+");
}

/** refsim's side of one page (Engine.page, which never faults). */
export function refsimReading(engine: Engine, mm: number, vpn: number): Reading {
  const p = engine.page(mm, vpn * PAGE_SIZE);
  if (!p || !p.pte.present) return { ...UNMAPPED, mapped: p !== null };
  return {
    mapped: true, zero: p.kind === "zero", refcount: p.folioRefcount, mapcount: p.mapcount, entireMapcount: p.entireMapcount,
    pincount: p.pincount, large: p.large, pmd: p.pmd, devmap: p.pte.devmap,
  };
}
