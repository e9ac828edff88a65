/**
 * Room for the faults of many pages at once, checked before any of them runs
 * (write_range / read_range, and hmm_range_fault over an ioctl's range). Twin of
 * assembly/userloop.ts.
 *
 * @example
 * ```ts
 * import { Model } from "./model.ts";
 * import { loopFramesNeeded, loopTablesNeeded } from "./userloop.ts";
 * const m = Model.create({ scheme: "E4" });
 * const mm = m.machine.mms.all[m.mmNew()];
 * console.log(loopFramesNeeded(mm, 0x10000, 3, true), loopTablesNeeded(mm, 0x10000, 3, false)); // 8 1
 * ```
 */
import { PT_ENTRIES } from "../../assembly/abi.ts";
import type { Mm } from "./mm.ts";

/** System frames the faults may take, an upper bound (as the core's). */
export function loopFramesNeeded(mm: Mm, vpn: number, n: number, write: boolean): number {
  let need = 2;
  for (let p = vpn; p < vpn + n; p++) {
    if (mm.tables.hugeLeaf(p)) {
      if (write) need++;
      continue;
    }
    const pte = mm.tables.get(p);
    if (!pte || !pte.present || (write && !pte.writable)) need += 2;
  }
  return need;
}

/** Page tables the faults may allocate: pte tables (pmd false) or pmd tables (pmd true). */
export function loopTablesNeeded(mm: Mm, vpn: number, n: number, pmd: boolean): number {
  const span = pmd ? 1 << 18 : PT_ENTRIES;
  let t = 0;
  for (let p = vpn; p < vpn + n; p = (Math.floor(p / span) + 1) * span) {
    const k = mm.tables.tablesNeeded(p);
    if (pmd ? k === 2 : k >= 1) t++;
  }
  return t;
}
