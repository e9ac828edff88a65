/**
 * The test_hmm devices (struct dmirror_device, lib/test_hmm.c): fake GPUs of one
 * kind each, which mirror processes through their open files (mirror.ts) and read
 * and write their memory through hmm_range_fault. A device's own memory (the
 * MIGRATE ioctls' chunks) is not modelled yet. Twin of assembly/dmirror.ts.
 *
 * @example
 * ```ts
 * import { DmirrorDevices } from "./dmirror.ts";
 * import { KIND_DEVICE_COHERENT } from "../../assembly/abi.ts";
 * const d = new DmirrorDevices();
 * console.log(d.create(KIND_DEVICE_COHERENT), d.kind(0)); // 0 2
 * ```
 */
import { MAX_DMIRROR_DEVICES } from "../../assembly/abi.ts";

/** The device model's counters (ST_DMIRROR_FAULTS, ST_HMM_FAULT_PAGES, ST_MIRROR_*, ST_DEVICE_PAGES). */
export class DmirrorCounters {
  /** Fault rounds of READ / WRITE (cmd->faults++). */
  faults = 0;
  /** Pages hmm_do_fault ran handle_mm_fault on. */
  faultPages = 0;
  /** Pages the device copied through its pt. */
  devicePages = 0;
  mirrorEntries = 0;
  mirrorInvalidated = 0;
}

export class DmirrorDevices {
  readonly kinds: number[] = [];
  get count(): number { return this.kinds.length; }
  get full(): boolean { return this.kinds.length >= MAX_DMIRROR_DEVICES; }
  valid(dev: number): boolean { return Number.isInteger(dev) && dev >= 0 && dev < this.kinds.length; }
  kind(dev: number): number { return this.kinds[dev]; }
  /** dmirror_device_init (the caller checked kind and room). */
  create(kind: number): number {
    this.kinds.push(kind);
    return this.kinds.length - 1;
  }
}
