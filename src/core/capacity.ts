/**
 * Engine capacity: how many of each object the core's tables hold, all allocated
 * once when an engine is created. resolveCapacity() checks what a user gave (Engine
 * and Model alike); checkCapacitySize() asks the core, before init() allocates
 * anything, how many bytes the tables need (computed in 64 bits: assembly/sizing.ts)
 * and refuses capacities one wasm32 memory cannot hold, naming the field that is too
 * large and how large it may be.
 *
 * @example
 * ```ts
 * import { resolveCapacity } from "./capacity.ts";
 * console.log(resolveCapacity({ systemPages: 1024 }).systemPages); // 1024
 * try { resolveCapacity({ devicePages: 2 ** 26 }); } catch (e) { console.log((e as Error).message.split(":")[0]); }
 * // capacity.devicePages is invalid (67108864)
 * ```
 */
import * as abi from "../../assembly/abi.ts";
import { RefsimError, shown } from "./errors.ts";

export interface Capacity {
  /** System RAM page frames. */
  systemPages: number;
  /** Device frames shared by all drivers' pgmaps. */
  devicePages: number;
  /** Address spaces (mm_struct) ever created. */
  processes: number;
  vmas: number;
  /** Leaf page tables (512 PTEs each). */
  pteTables: number;
  pmdTables: number;
  files: number;
  /** Pages of all files together. */
  filePages: number;
  drivers: number;
  bufferObjects: number;
  gupHandles: number;
  /** Violation records kept (more are counted, not stored). */
  violationRecords: number;
  /** Ops per WASM call. */
  batch: number;
  /**
   * PMD-sized (2 MiB) folios in the THP pool, on top of systemPages; 0: none, so
   * every huge-page fault falls back to small pages. The pool starts at the next
   * 2 MiB-aligned pfn, so device frames start after it.
   */
  hugePages: number;
}

export const DEFAULT_CAPACITY: Readonly<Capacity> = {
  systemPages: 1 << 16,
  devicePages: 1 << 14,
  processes: 256,
  vmas: 4096,
  pteTables: 4096,
  pmdTables: 1024,
  files: 64,
  filePages: 1 << 16,
  drivers: 16,
  bufferObjects: 4096,
  gupHandles: 4096,
  violationRecords: 1 << 14,
  batch: 4096,
  hugePages: 0,
};

/** Where each capacity field goes in the core's CAP_* words. */
export const CAP_SLOTS: Readonly<Record<keyof Capacity, number>> = {
  systemPages: abi.CAP_SYS_FRAMES,
  devicePages: abi.CAP_DEV_FRAMES,
  processes: abi.CAP_MMS,
  vmas: abi.CAP_VMAS,
  pteTables: abi.CAP_PTE_TABLES,
  pmdTables: abi.CAP_PMD_TABLES,
  files: abi.CAP_FILES,
  filePages: abi.CAP_FILE_PAGES,
  drivers: abi.CAP_DRIVERS,
  bufferObjects: abi.CAP_BOS,
  gupHandles: abi.CAP_PINS,
  violationRecords: abi.CAP_VIOLATIONS,
  batch: abi.CAP_BATCH,
  hugePages: abi.CAP_HUGE_PAGES,
};

/** Fields the core needs at least one of. */
const AT_LEAST_ONE: Partial<Record<keyof Capacity, string>> = {
  processes: "mm_new needs an address-space slot",
  vmas: "mmap needs a VMA slot",
  pteTables: "a fault needs a PTE table",
  pmdTables: "a fault needs a PMD table",
  batch: "a WASM call runs at least one op",
};

const FIELDS = Object.keys(CAP_SLOTS) as (keyof Capacity)[];

/** The pfn range the frames take: pfn 0, small pages, the 2 MiB-aligned THP pool, device frames (as initFrames lays them out). */
export function framesFor(c: Capacity): number {
  const sys = c.hugePages === 0 ? c.systemPages : Math.floor((c.systemPages + abi.FOLIO_NR) / abi.FOLIO_NR) * abi.FOLIO_NR - 1 + c.hugePages * abi.FOLIO_NR;
  return 1 + sys + c.devicePages;
}

/** The largest value of `field` for which ok() holds, the others as given (ok is monotone in it); -1 if none. */
function largestThat(c: Capacity, field: keyof Capacity, ok: (c: Capacity) => boolean): number {
  let lo = -1;
  let hi = c[field];
  while (lo < hi) {
    const mid = Math.floor((lo + hi + 1) / 2);
    if (ok({ ...c, [field]: mid })) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/** Of the fields that make ok() fail, the one whose share is largest by `size` (the others at 0). */
function culprit(c: Capacity, fields: readonly (keyof Capacity)[], size: (c: Capacity) => number): keyof Capacity {
  let best = fields[0];
  let bestShare = -Infinity;
  for (const f of fields) {
    const share = size(c) - size({ ...c, [f]: 0 });
    if (share > bestShare) { best = f; bestShare = share; }
  }
  return best;
}

/** DEFAULT_CAPACITY overlaid with `input`, every field checked; throws RefsimError naming the field. */
export function resolveCapacity(input: unknown = {}): Capacity {
  const c = { ...DEFAULT_CAPACITY };
  if (input === null || typeof input !== "object" || Array.isArray(input)) {
    throw new RefsimError(`capacity must be an object like { systemPages: 65536 }, got ${shown(input)}`, { field: "capacity" });
  }
  for (const [k, v] of Object.entries(input)) {
    if (!Object.hasOwn(CAP_SLOTS, k)) throw new RefsimError(`capacity: unknown field '${k}' (fields: ${FIELDS.join(", ")})`, { field: k });
    if (typeof v !== "number" || !Number.isInteger(v) || v < 0 || v > 2 ** 31 - 1) {
      throw new RefsimError(`capacity.${k} must be a whole number >= 0, got ${shown(v)}`, { field: k });
    }
    c[k as keyof Capacity] = v;
  }
  for (const [f, why] of Object.entries(AT_LEAST_ONE) as [keyof Capacity, string][]) {
    if (c[f] < 1) throw new RefsimError(`capacity.${f} is invalid (${c[f]}): it must be at least 1 (${why})`, { field: f });
  }
  const fits = (x: Capacity) => framesFor(x) <= abi.MAX_FRAMES;
  if (!fits(c)) {
    const f = culprit(c, ["systemPages", "hugePages", "devicePages"], framesFor);
    const most = largestThat(c, f, fits);
    throw new RefsimError(
      `capacity.${f} is invalid (${c[f]}): the page frames (pfn 0, ${c.systemPages} system, ${c.hugePages} THPs of ${abi.FOLIO_NR}, ${c.devicePages} device) ` +
      `come to ${framesFor(c)}, more than the ${abi.MAX_FRAMES} pfns a PTE word holds (${32 - abi.PTE_PFN_SHIFT} bits); ` +
      `with the other fields as given capacity.${f} can be at most ${most}`, { field: f, code: "CAPACITY" });
  }
  return c;
}

/** What checkCapacitySize needs of a core instance: its capacity words and the sizing exports. */
export interface SizingCore {
  capsPtr(): number;
  capacityBytes(): bigint;
  capacityLargestTable(): bigint;
  capacityLimit(): bigint;
}

const GiB = (n: number) => `${(n / 2 ** 30).toFixed(2)} GiB`;

/** Write `c` into the core's capacity words. */
export function writeCapacity(caps: Int32Array, c: Capacity): void {
  for (const f of FIELDS) caps[CAP_SLOTS[f]] = c[f];
}

/**
 * Refuse capacities whose tables do not fit one wasm32 memory (4 GiB, at most 1 GiB
 * a table), before the core allocates anything: names the field with the largest
 * share and the most it may be with the others as given. Leaves `c` in the caps words.
 */
export function checkCapacitySize(core: SizingCore, caps: Int32Array, c: Capacity): void {
  const limit = Number(core.capacityLimit());
  const tableMax = 2 ** 30 - 4;
  const size = (x: Capacity) => { writeCapacity(caps, x); return Number(core.capacityBytes()); };
  const fits = (x: Capacity) => size(x) <= limit && Number(core.capacityLargestTable()) <= tableMax;
  if (fits(c)) return;
  const bytes = size(c);
  const largest = Number(core.capacityLargestTable());
  // Fields are shares of a sum (the frame count feeds several tables), so the largest share is the one to name.
  const f = culprit(c, FIELDS.filter((k) => c[k] > 0 && !(k in AT_LEAST_ONE && c[k] === 1)), size);
  const most = largestThat(c, f, fits);
  writeCapacity(caps, c);
  const why = `the core's tables would take ${GiB(bytes)} (the largest ${GiB(largest)}); one wasm32 memory holds ${GiB(limit)} for them, at most 1 GiB a table`;
  const advice = most >= (AT_LEAST_ONE[f] ? 1 : 0) ? `with the other fields as given capacity.${f} can be at most ${most}` : "lower the other fields too";
  throw new RefsimError(`capacity.${f} is too large (${c[f]}): ${why}; ${advice}`, { field: f, code: "NOMEM" });
}
