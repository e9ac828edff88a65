/**
 * Comparing one program's points: refsim's readings (recorded by the translator)
 * against what the guest read, field by field. A page of the zero page is compared
 * only as mapped, zero and pmd: the kernel keeps no counts for it (vm_normal_page
 * returns NULL for the zero pfn, 6.1 mm/memory.c), and refsim none either.
 *
 * @example
 * ```ts
 * import { compareProgram } from "./compare.ts";
 * import { UNMAPPED } from "./translate.ts";
 * const r = compareProgram(
 *   [{ kind: "value", label: "read", at: 0, step: 3, after: null, refsim: 7 }],
 *   { name: "t", results: [{ status: "val", value: 7 }], pages: new Map(), guestUs: 10 });
 * console.log(r[0].agree, r[0].rows[0]); // true { page: "", field: "value", refsim: 7, kernel: 7, agree: true }
 * void UNMAPPED;
 * ```
 */
import type { GuestProgram, GuestResult } from "./guest.ts";
import { READING_FIELDS, UNMAPPED, pageKey, type Point, type Reading } from "./translate.ts";

export interface Row {
  /** "mm:0xaddr" for a page field, "" otherwise. */
  page: string;
  field: string;
  refsim: unknown;
  kernel: unknown;
  agree: boolean;
  /** The kernel mapped the zero page (or the huge zero page) there. */
  kernelZero?: boolean;
}

export interface PointResult {
  label: string;
  step: number;
  /** The guest op after which it was read. */
  at: number;
  agree: boolean;
  rows: Row[];
}

const ZERO_FIELDS = new Set(["mapped", "zero", "pmd"]);

function resultText(r: GuestResult | undefined): string {
  if (!r) return "missing";
  if (r.status === "err") return "err";
  return r.status === "val" ? "ok" : r.status;
}

function pageRows(key: string, a: Reading, b: Reading, onlyDiffs: boolean): Row[] {
  const [mm, vpn] = key.split(":").map(Number);
  const page = `${mm}:0x${(vpn * 4096).toString(16)}`;
  const zero = a.zero || b.zero;
  const rows: Row[] = [];
  for (const f of READING_FIELDS) {
    if (zero && !ZERO_FIELDS.has(f)) continue;
    if (!a.mapped && !b.mapped && f !== "mapped") continue;
    const agree = a[f] === b[f];
    if (!onlyDiffs || !agree) rows.push({ page, field: f, refsim: a[f], kernel: b[f], agree, ...(b.zero ? { kernelZero: true } : {}) });
  }
  return rows;
}

/**
 * Compare every point of a program. A points read over whole ranges (random
 * traces) lists only the fields that differ, so an agreeing snapshot has no rows;
 * a single page (a scenario's expect step) lists every field.
 */
export function compareProgram(points: Point[], guest: GuestProgram): PointResult[] {
  const out: PointResult[] = [];
  for (const p of points) {
    const rows: Row[] = [];
    const r = guest.results[p.at];
    if (p.kind === "value") {
      const kernel = r && r.status === "val" ? r.value : resultText(r);
      rows.push({ page: p.page ?? "", field: "value", refsim: p.refsim, kernel, agree: kernel === p.refsim });
    } else if (p.kind === "result") {
      const kernel = resultText(r);
      rows.push({ page: p.page ?? "", field: p.what, refsim: p.refsim, kernel, agree: kernel === p.refsim });
    } else {
      const seen = guest.pages.get(p.at);
      if (!seen) {
        rows.push({ page: "", field: "snapshot", refsim: "read", kernel: resultText(r), agree: false });
      } else {
        const single = p.ranges.length === 1 && p.ranges[0][1] === 1 && p.mms.length === 1;
        const keys = new Set<string>(p.refsim.keys());
        const mms = new Set(p.mms);
        for (const [k, g] of seen) if (mms.has(Number(k.split(":")[0])) && inRanges(k, p.ranges) && g.mapped) keys.add(k);
        if (single) keys.add(pageKey(p.mms[0], p.ranges[0][0]));
        for (const k of [...keys].sort(byKey)) rows.push(...pageRows(k, p.refsim.get(k) ?? UNMAPPED, seen.get(k) ?? UNMAPPED, !single));
      }
    }
    out.push({ label: p.label, step: p.step, at: p.at, agree: rows.every((x) => x.agree), rows });
  }
  return out;
}

function inRanges(key: string, ranges: [number, number][]): boolean {
  const vpn = Number(key.split(":")[1]);
  return ranges.some(([s, n]) => vpn >= s && vpn < s + n);
}

function byKey(a: string, b: string): number {
  const [am, av] = a.split(":").map(Number);
  const [bm, bv] = b.split(":").map(Number);
  return am - bm || av - bv;
}
