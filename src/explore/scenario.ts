/**
 * A shrunk symbolic trace as a scenario file in the documented format: producers
 * get `as` names (p1, coh1, bo1, pin1, file1...), references use them, addresses
 * are written as a mapping's name plus an offset ("buf1+8K"), lengths as sizes,
 * and a final `expect` holds the violation counts the trace produces under the
 * scheme, so `refsim run <file>` reproduces it and its expectation passes.
 *
 * @example
 * ```ts
 * import * as abi from "../../assembly/abi.ts";
 * import { SymTrace } from "./symbolic.ts";
 * import { traceToSteps } from "./scenario.ts";
 * const t = new SymTrace();
 * const mm = t.push(abi.OP_MM_NEW);
 * t.push(abi.OP_MMAP, [mm, 0x10000, 2, abi.VM_READ | abi.VM_WRITE | abi.VM_ANON, -1, 0], 1);
 * t.push(abi.OP_WRITE, [mm, 0x10001, 5], 1);
 * console.log(JSON.stringify(traceToSteps(t, [0, 0x10000, 0]).steps[2]));
 * // {"op":"write","mm":"p1","addr":"buf1+4K","value":5}
 * ```
 */
import * as abi from "../../assembly/abi.ts";
import { PAGE_SIZE } from "../core/ops.ts";
import type { Capacity } from "../core/engine.ts";
import type { SchemeInput } from "../scheme/resolve.ts";
import type { Scenario, Step } from "../scenario/types.ts";
import { producedKind, type SymTrace } from "./symbolic.ts";

const KIND_NAMES: Record<number, string> = {
  [abi.KIND_DEVICE_PRIVATE]: "device-private", [abi.KIND_DEVICE_COHERENT]: "device-coherent", [abi.KIND_FSDAX]: "fsdax",
  [abi.KIND_DEVDAX]: "device-dax", [abi.KIND_P2PDMA]: "p2pdma",
};
const DRIVER_PREFIX: Record<number, string> = {
  [abi.KIND_DEVICE_PRIVATE]: "priv", [abi.KIND_DEVICE_COHERENT]: "coh", [abi.KIND_FSDAX]: "pmem",
  [abi.KIND_DEVDAX]: "devdax", [abi.KIND_P2PDMA]: "p2p",
};
const NAME_PREFIX = { mm: "p", file: "file", bo: "bo", handle: "pin", fault: "fault" } as const;

/** "4K", "12K", "2M" for a whole number of pages. */
export function sizeText(pages: number): string {
  const bytes = pages * PAGE_SIZE;
  if (bytes % (1 << 20) === 0) return `${bytes / (1 << 20)}M`;
  return `${bytes / 1024}K`;
}

function hexAddr(vpn: number): string {
  return `0x${(vpn * PAGE_SIZE).toString(16)}`;
}

/**
 * The op steps of trace t. `results` are the ops' results from a run (mm ids,
 * fault tokens...); a fault token is written as its number, as scenarios do.
 */
export function traceToSteps(t: SymTrace, results: ArrayLike<number>): { steps: Step[]; names: string[] } {
  const used = new Array<boolean>(t.n).fill(false);
  for (let i = 0; i < t.n; i++) for (let k = 0; k < abi.OP_WORDS - 1; k++) if (t.isRef(i, k)) used[t.arg(i, k)] = true;
  // addresses: the latest earlier mapping containing them, by name
  const maps: { i: number; start: number; end: number }[] = [];
  const addrRef = new Map<string, number>(); // "op:slot" -> mmap op index
  const addrSlots = (code: number): number[] => {
    switch (code) {
      case abi.OP_MUNMAP: case abi.OP_READ: case abi.OP_WRITE: case abi.OP_MADV_DONTNEED: case abi.OP_MIGRATE_TO_DEVICE:
      case abi.OP_MIGRATE_TO_RAM: case abi.OP_GUP: case abi.OP_FAULT_BEGIN: case abi.OP_MADV_PAGEOUT:
        return [1];
    }
    return [];
  };
  for (let i = 0; i < t.n; i++) {
    const code = t.code(i);
    for (const k of addrSlots(code)) {
      const v = t.arg(i, k);
      for (let m = maps.length - 1; m >= 0; m--) {
        if (v >= maps[m].start && v < maps[m].end) { addrRef.set(`${i}:${k}`, maps[m].i); used[maps[m].i] = true; break; }
      }
    }
    if (code === abi.OP_MMAP && t.arg(i, 1) >= 0) maps.push({ i, start: t.arg(i, 1), end: t.arg(i, 1) + t.arg(i, 2) });
  }
  const names: string[] = new Array(t.n).fill("");
  const counters = new Map<string, number>();
  const nameFor = (prefix: string): string => {
    const c = (counters.get(prefix) ?? 0) + 1;
    counters.set(prefix, c);
    return `${prefix}${c}`;
  };
  for (let i = 0; i < t.n; i++) {
    if (!used[i]) continue;
    const code = t.code(i);
    if (code === abi.OP_MMAP) names[i] = nameFor("buf");
    else if (code === abi.OP_DRIVER_NEW) names[i] = nameFor(DRIVER_PREFIX[t.arg(i, 0)] ?? "drv");
    else {
      const kind = producedKind(code);
      if (kind && kind !== "driver" && kind !== "fault") names[i] = nameFor(NAME_PREFIX[kind]);
    }
  }
  const ref = (i: number, k: number): string | number => {
    const r = t.arg(i, k);
    return names[r] || results[r];
  };
  const addr = (i: number, k: number): string => {
    const m = addrRef.get(`${i}:${k}`);
    if (m === undefined) return hexAddr(t.arg(i, k));
    const off = t.arg(i, k) - t.arg(m, 1);
    return off === 0 ? names[m] : `${names[m]}+${sizeText(off)}`;
  };
  const steps: Step[] = [];
  for (let i = 0; i < t.n; i++) {
    const code = t.code(i);
    const a = (k: number) => t.arg(i, k);
    const mm = () => ref(i, 0);
    let s: Record<string, string | number | boolean>;
    switch (code) {
      case abi.OP_MM_NEW: s = { op: "mm_new" }; break;
      case abi.OP_MMAP: {
        s = { op: "mmap", mm: mm() };
        if (a(1) >= 0) s.addr = hexAddr(a(1));
        s.length = sizeText(a(2));
        s.prot = (a(3) & abi.VM_WRITE) !== 0 ? "rw" : "r";
        if ((a(3) & abi.VM_FILE) !== 0) {
          s.file = ref(i, 4);
          if (a(5) !== 0) s.offset = sizeText(a(5));
          if ((a(3) & abi.VM_SHARED) !== 0) s.shared = true;
        }
        break;
      }
      case abi.OP_MUNMAP: s = { op: "munmap", mm: mm(), addr: addr(i, 1), length: sizeText(a(2)) }; break;
      case abi.OP_MADV_DONTNEED: s = { op: "madvise_dontneed", mm: mm(), addr: addr(i, 1), length: sizeText(a(2)) }; break;
      case abi.OP_MADV_PAGEOUT: s = { op: "madvise_pageout", mm: mm(), addr: addr(i, 1), length: sizeText(a(2)) }; break;
      case abi.OP_MIGRATE_TO_RAM: s = { op: "migrate_to_ram", mm: mm(), addr: addr(i, 1), length: sizeText(a(2)) }; break;
      case abi.OP_READ: s = { op: "read", mm: mm(), addr: addr(i, 1) }; break;
      case abi.OP_WRITE: s = { op: "write", mm: mm(), addr: addr(i, 1), value: a(2) >>> 0 }; break;
      case abi.OP_FORK: s = { op: "fork", mm: mm() }; break;
      case abi.OP_EXIT: s = { op: "exit", mm: mm() }; break;
      case abi.OP_FILE_NEW:
        s = { op: "file_new", length: sizeText(a(0)) };
        if (t.isRef(i, 1)) s.driver = ref(i, 1);
        else if (a(1) > 0) s.driver = a(1) - 1;
        break;
      case abi.OP_DRIVER_NEW: s = { op: "driver_new", kind: KIND_NAMES[a(0)] ?? String(a(0)), pages: a(1) }; break;
      case abi.OP_MIGRATE_TO_DEVICE:
        s = { op: "migrate_to_device", mm: mm(), addr: addr(i, 1), length: sizeText(a(2)), driver: ref(i, 3) };
        if (t.isRef(i, 4)) s.bo = ref(i, 4);
        else if (a(4) !== 0) s.bo = a(4);
        break;
      case abi.OP_GUP: {
        s = { op: "gup", mm: mm(), addr: addr(i, 1) };
        const f = a(2);
        if (f & abi.FOLL_WRITE) s.write = true;
        if (f & abi.FOLL_PIN) s.pin = true;
        if (f & abi.FOLL_LONGTERM) s.longterm = true;
        if (f & abi.FOLL_PCI_P2PDMA) s.p2pdma = true;
        break;
      }
      case abi.OP_UNPIN: s = { op: "unpin", handle: ref(i, 0) }; break;
      case abi.OP_DMA_WRITE: s = { op: "dma_write", handle: ref(i, 0), value: a(1) >>> 0 }; break;
      case abi.OP_CHECK: s = { op: "check" }; break;
      case abi.OP_TEARDOWN: s = { op: "teardown" }; break;
      case abi.OP_DROP_CACHE: s = { op: "drop_cache", file: ref(i, 0) }; break;
      case abi.OP_DRIVER_TEARDOWN: s = { op: "driver_teardown", driver: ref(i, 0) }; if (a(1)) s.evict = true; break;
      case abi.OP_EVICT_BO: s = { op: "evict_bo", bo: ref(i, 0) }; break;
      case abi.OP_FAULT_BEGIN: s = { op: "fault_begin", mm: mm(), addr: addr(i, 1) }; break;
      case abi.OP_FAULT_END: s = { op: "fault_end", fault: ref(i, 0) }; break;
      case abi.OP_TRUNCATE: {
        const offset = a(1) === 0 ? 0 : sizeText(a(1));
        s = a(3) === 1 ? { op: "truncate", file: ref(i, 0), offset, shrink: true } : { op: "truncate", file: ref(i, 0), offset, length: sizeText(a(2)) };
        break;
      }
      default: s = { op: `op${code}` };
    }
    if (names[i]) s.as = names[i];
    steps.push(s as Step);
  }
  return { steps, names };
}

export interface FoundScenarioInfo {
  name: string;
  scheme: SchemeInput;
  schemeName: string;
  capacity: Readonly<Capacity>;
  /** Violation counts by kind the trace produces. */
  violations: Record<string, number>;
  description: string;
  title: string;
}

/** The whole scenario: steps, then the expectation of the violations. */
export function traceToScenario(t: SymTrace, results: ArrayLike<number>, info: FoundScenarioInfo): Scenario {
  const { steps } = traceToSteps(t, results);
  return {
    name: info.name,
    title: info.title,
    description: info.description,
    schemes: [info.scheme],
    capacity: { ...info.capacity },
    steps: [...steps, { label: "violations found", expect: { violations: { [info.schemeName]: info.violations } } }],
  };
}
