// doGup's one-walk room check (assembly/ops.ts): a pin of an anonymous VMA's present writable PTE
// skips faultRoom / deviceRoom / beyondEof (they would all pass) and hands gup() the PTE slot it
// found. Each case forces one way past it to the full checks (no PTE table, an empty PTE, a read-only
// PTE for a write and for a read pin, a file VMA, device entries) and compares everything with the
// model, which has no such path; the refusals the room checks exist for must still come, changing nothing.
import { test } from "uvu";
import * as assert from "uvu/assert";
import * as abi from "../assembly/abi.ts";
import { Engine } from "../src/core/engine.ts";
import { RefsimError } from "../src/core/errors.ts";
import { differential } from "./helpers/fastpath-differential.ts";

const A = 0x10000;
const B = 0x20000;
const RW = abi.VM_READ | abi.VM_WRITE;
const ANON = RW | abi.VM_ANON;
const PIN_W = abi.FOLL_PIN | abi.FOLL_LONGTERM | abi.FOLL_WRITE;
const PIN_R = abi.FOLL_PIN | abi.FOLL_LONGTERM;

const mmNew = [abi.OP_MM_NEW];
const mmap = (vpn: number, n: number, flags = ANON, file = -1, pgoff = 0) => [abi.OP_MMAP, 0, vpn, n, flags, file, pgoff];
const write = (vpn: number, value: number, mm = 0) => [abi.OP_WRITE, mm, vpn, value];
const read = (vpn: number, mm = 0) => [abi.OP_READ, mm, vpn];
const gup = (vpn: number, flags = PIN_W, mm = 0) => [abi.OP_GUP, mm, vpn, flags];
const unpin = (h: number) => [abi.OP_UNPIN, h];

test("pins of present writable anon pages take the one walk; no table, an empty PTE, read-only PTEs, a file VMA and device entries take the full checks: the model's results", async () => {
  await differential({
    ops: [
      mmNew, mmap(A, 16), write(A, 1), write(A + 1, 2), write(A + 2, 3),
      gup(A), gup(A + 1, abi.FOLL_WRITE), gup(A + 2, 0), // present writable: the one walk (pin, get write, get read)
      gup(A + 600), // no PTE table at vpn: faultRoom, then gup's fault
      gup(A + 3), // an empty PTE in a table: the write fault
      read(A + 4), gup(A + 4, PIN_R), gup(A + 4), // the zero page, read-only: unshare, then a write fault
      [abi.OP_FORK, 0], gup(A + 1), write(A + 2, 9, 1), gup(A + 2, PIN_R, 1), [abi.OP_EXIT, 1], // COW: read-only PTEs
      [abi.OP_FILE_NEW, 8, 0], mmap(B, 4, abi.VM_SHARED | abi.VM_FILE | RW, 0), write(B, 5), gup(B), gup(B + 1),
      [abi.OP_DRIVER_NEW, abi.KIND_DEVICE_PRIVATE, 16], [abi.OP_DRIVER_NEW, abi.KIND_DEVICE_COHERENT, 16],
      write(A + 8, 6), write(A + 9, 7), [abi.OP_MIGRATE_TO_DEVICE, 0, A + 8, 1, 0, 0], [abi.OP_MIGRATE_TO_DEVICE, 0, A + 9, 1, 1, 0],
      gup(A + 8), gup(A + 9), // a device-private entry (not present); a coherent page, present: migrated to RAM for LONGTERM
      unpin(1), unpin(2), unpin(3), unpin(4), unpin(5), unpin(6), unpin(7), unpin(8), unpin(9), unpin(10), unpin(11), unpin(12),
      [abi.OP_CHECK],
    ],
  });
});

/** Run ops[0..k] on an engine: op k's rejection message, "" if it ran. */
async function rejected(capacity: Record<string, number>, ops: number[][], k: number): Promise<string> {
  const e = await Engine.create({ scheme: "E4", capacity: { systemPages: 64, devicePages: 64, hugePages: 2, ...capacity } });
  const words = new Int32Array(abi.OP_WORDS);
  for (let i = 0; i <= k; i++) {
    words.fill(0);
    words.set(ops[i]);
    try {
      e.runEncoded(words, 1);
    } catch (err) {
      if (!(err instanceof RefsimError)) throw err;
      if (i === k) return err.message; // earlier rejections (the other refused pins) change nothing
    }
  }
  return "";
}

test("no PTE table left: a pin of a read-only PTE (write or read pin) or of an empty PTE is still refused by faultRoom, changing nothing", async () => {
  const ops = [
    mmNew, mmap(A, 1024), write(A, 1), read(A + 1), write(A + 2, 3), [abi.OP_MADV_DONTNEED, 0, A + 2, 1],
    write(A + 600, 4), // the second and last pte table: every fault is refused from here on
    gup(A + 1), gup(A + 1, PIN_R), gup(A + 2), gup(A), gup(A + 600, abi.FOLL_WRITE), read(A + 1), unpin(1), unpin(2),
  ];
  await differential({ capacity: { pteTables: 2 }, ops });
  for (const k of [7, 8, 9]) assert.match(await rejected({ pteTables: 2 }, ops, k), /page-table pool/, `op ${k}`);
  assert.is(await rejected({ pteTables: 2 }, ops, 10), "", "a present writable page pins");
});

test.run();
