// The test_hmm devices (struct dmirror_device, lib/test_hmm.c): fake GPUs, each of
// one kind (device-private or device-coherent; the module makes two of each).
// A device mirrors processes through its open files (mirror.ts) and reads and
// writes their memory through hmm_range_fault (hmm.ts, dmirror_ioctl.ts). Its own
// memory (dmirror_allocate_chunk's ZONE_DEVICE chunks, for the MIGRATE ioctls)
// is not modelled yet, so no device page is ever a dmirror device's own: every
// device page a mirror sees belongs to another driver ("remote").
import { MAX_DMIRROR_DEVICES } from "./abi";

export let dmirrorCount: i32 = 0;
let devKind: usize = 0;

export function initDmirror(): void {
  dmirrorCount = 0;
  devKind = heap.alloc(<usize>MAX_DMIRROR_DEVICES << 2);
}

export function dmirrorValid(dev: i32): bool { return dev >= 0 && dev < dmirrorCount; }
export function dmirrorKind(dev: i32): i32 { return load<i32>(devKind + (<usize>dev << 2)); }

/** dmirror_device_init: a device of this kind (the caller checked kind and room). */
export function newDmirror(kind: i32): i32 {
  const dev = dmirrorCount++;
  store<i32>(devKind + (<usize>dev << 2), kind);
  return dev;
}
