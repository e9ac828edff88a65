/**
 * Spec §7 S2 as a `.ts` scenario: the same vocabulary as the JSON files, with
 * types. Device-private page: migrate, fork, parent munmap, child exit. The entry
 * is refcounted in every era (copy_nonpresent_pte takes a ref and an rmap), so
 * page_free runs exactly once, when the child exits.
 */
import type { Scenario } from "../src/scenario/types.ts";

const scenario: Scenario = {
  name: "device-private-fork",
  title: "device-private page: migrate, fork, parent munmap, child exit",
  spec: "S2",
  schemes: ["E0", "E1", "E2", "E4"],
  steps: [
    { op: "mm_new", as: "parent" },
    { op: "mmap", mm: "parent", addr: "0x10000000", length: "4K", as: "buf" },
    { op: "write", mm: "parent", addr: "buf", value: 7 },
    { op: "driver_new", kind: "device-private", pages: 8, as: "gpu" },
    { op: "migrate_to_device", mm: "parent", addr: "buf", length: "4K", driver: "gpu", as: "bo" },
    {
      label: "after migrate",
      expect: { page: { mm: "parent", addr: "buf" }, devicePrivate: true, refcount: { E0: 2, "*": 1 }, mapcount: 1 },
    },
    { op: "fork", mm: "parent", as: "child" },
    {
      label: "after fork",
      expect: { page: { mm: "child", addr: "buf" }, devicePrivate: true, refcount: { E0: 3, "*": 2 }, mapcount: 2, writable: false },
    },
    { op: "munmap", mm: "parent", addr: "buf", length: "4K" },
    { label: "after parent munmap", expect: { page: { mm: "child", addr: "buf" }, refcount: { E0: 2, "*": 1 }, mapcount: 1 } },
    { op: "exit", mm: "child" },
    { label: "after child exit", expect: { bo: "bo", state: "freed", stats: { "device.pageFree": 1 } } },
    { op: "teardown" },
    { label: "at teardown", expect: { violations: {} } },
  ],
};

export default scenario;
