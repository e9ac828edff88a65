/**
 * The pinner's handles: what a GUP caller keeps of the pages it got (io_uring's
 * registered buffers, an RDMA umem's page list): the page, the references it holds,
 * and where the pinner had it (an address of its own, or a file block), so DMA
 * through the pin and a zap of the pinner's mapping are seen for what they are.
 * mm/gup.c keeps none of this; gup.ts hands the handles out (reused last-in
 * first-out) and unpin releases them.
 */
import { V_UAF } from "../../assembly/abi.ts";
import { cachedPage } from "./file.ts";
import type { Machine } from "./machine.ts";

/** Pin.file of a pin whose pinner unmapped that address: DMA through it is not the pinner's data any more. */
export const PIN_DETACHED = -2;
/** Pin.refs of a live handle that holds no reference: a FOLL_PIN of the zero page (c8070b787519, 6.5+). */
export const PIN_NO_REF = -1;

/** One GUP reference or pin: the page, how many references it holds (0 once released), what it pinned. */
export class Pin {
  constructor(
    public pfn: number,
    public refs: number,
    public mm: number,
    public flags: number,
    /** -1, or the file whose page it was (then `at` is the file index), or PIN_DETACHED. */
    public file: number,
    /** Where the pinner had it: its vpn, or the file index. */
    public at: number,
  ) {}
}

export class Pins {
  /** Handles by number; handle 0 means "none". */
  readonly handles: Array<Pin | undefined> = [undefined];
  /** Released handles, reused last-in first-out. */
  readonly free: number[] = [];

  constructor(readonly capacity: number) {}

  /** Handles handed out so far (the highest handle number). */
  get issued(): number { return this.handles.length - 1; }
  get slotsLeft(): number { return this.capacity - this.issued + this.free.length; }

  /** A live handle: issued and still holding references. */
  live(h: number): Pin | undefined {
    const pin = h > 0 && h <= this.issued ? this.handles[h] : undefined;
    return pin && pin.refs !== 0 ? pin : undefined;
  }
}

/**
 * A device writes through the pin (DMA, O_DIRECT read): the page changes, and so
 * does what its pinner expects at the address or file offset it pinned. If the
 * pinner's address or file block no longer holds this page, that data is lost.
 */
export function dmaWrite(m: Machine, h: number, value: number): void {
  const pin = m.pins.handles[h]!;
  const page = m.frames.all[pin.pfn];
  // the zero page is always there: a device writing into it changes what every mapping of it reads
  if (page.pfn !== 0 && !page.usable) m.log.record(V_UAF, page.pfn, pin.mm, pin.at, page.refcount, 0, 10);
  page.content = value;
  if (pin.file === PIN_DETACHED) return;
  if (pin.file >= 0) {
    const f = m.files.all[pin.file];
    if (cachedPage(f, pin.at) === page) f.disk[pin.at] = value; // still that file's block
    return;
  }
  const mm = m.mms.live(pin.mm);
  if (!mm || !mm.findVma(pin.at)) return;
  // The pinner expects the DMA's data at its address, whatever that address maps now.
  mm.tables.table(pin.at)?.setExpected(pin.at, value);
}

/**
 * The pinner zapped its own mapping of a pinned page (munmap, MADV_DONTNEED,
 * exit): the pin lives on, but that address no longer expects the device's data.
 * A COW replacing the page does not detach: that is the GUP-vs-COW bug (S8).
 */
export function detachPins(m: Machine, mm: number, vpn: number, pfn: number): void {
  for (const pin of m.pins.handles) {
    if (pin && pin.refs !== 0 && pin.pfn === pfn && pin.mm === mm && pin.at === vpn && pin.file === -1) pin.file = PIN_DETACHED;
  }
}

/** mremap moved the pinner's mapping of [from, from+n) to `to`: pins taken there follow it (as the core). */
export function movePins(m: Machine, mm: number, from: number, n: number, to: number): void {
  for (const pin of m.pins.handles) {
    if (pin && pin.refs !== 0 && pin.mm === mm && pin.file === -1 && pin.at >= from && pin.at - from < n) pin.at = to + (pin.at - from);
  }
}

