/**
 * Differences between refsim's E2 and Linux 6.1 that are understood: each names the
 * kernel function that decides it and where it is being dealt with. The first point
 * of a program that differs is matched against them by the op just before it and
 * the shape of the difference; later differences at the same addresses (in any
 * process: a fork carries them on) are its consequences. Anything else is an unexplained difference (exit status 1).
 */
import * as abi from "../../assembly/abi.ts";
import type { PointResult, Row } from "./compare.ts";
import type { LastOp, Point } from "./translate.ts";

export interface Known {
  id: string;
  /** What the kernel does, with the function and version. */
  kernel: string;
  /** Who deals with it. */
  status: string;
  matches(after: LastOp, diffs: Row[]): boolean;
}

const num = (v: unknown) => (typeof v === "boolean" ? Number(v) : typeof v === "number" ? v : NaN);
/** Every differing row shows refsim with more (mapped, counted) than the kernel, or the reverse. */
const refsimMore = (rows: Row[]) => rows.every((r) => num(r.refsim) > num(r.kernel) || (r.field === "gup" && r.refsim === "ok" && r.kernel === "err"));
const kernelMore = (rows: Row[]) => rows.every((r) => num(r.kernel) > num(r.refsim));

export const KNOWN: readonly Known[] = [
  {
    id: "dax-break-layouts-whole-file",
    kernel: "an ext4 (and xfs) DAX truncate or hole punch breaks layouts over the whole file, not the range, and before it frees anything: 6.1 fs/ext4/inode.c ext4_break_layouts -> dax_layout_busy_page(inode->i_mapping) (range 0..LLONG_MAX) unmaps every mapping of the file and waits for a busy page anywhere in it; only then do ext4_punch_hole/ext4_setattr free blocks, so while it waits every block still holds its data (refsim frees the idle ones at once)",
    status: "6.1's filesystems against refsim's range model (truncateRange); in /work/wt/signals/kernel-notes.md",
    matches: (after, rows) => (after.code === abi.OP_TRUNCATE && after.fsdax
      && rows.every((r) => (r.field === "truncate" && r.refsim === "ok" && r.kernel === "busy") || num(r.refsim) > num(r.kernel)))
      || (after.daxTruncateWaiting && rows.every((r) => r.field === "value" && r.refsim === 0 && r.kernel !== 0)),
  },
];

export interface Classified extends PointResult {
  /** The known difference it is, or a consequence of; undefined for an unexplained one (or an agreeing point). */
  known?: string;
}

/**
 * Classify a program's differing points in order (points[i] belongs to results[i])
 * against the known differences (KNOWN unless given).
 * Rows at addresses an earlier known difference touched are its consequences; the
 * rest of a point's differing rows must match one known difference together.
 */
export function classify(points: Point[], results: PointResult[], known: readonly Known[] = KNOWN): Classified[] {
  const explained = new Map<string, string>();
  const addr = (r: Row) => r.page.replace(/^\d+:/, "");
  return results.map((r, i) => {
    if (r.agree) return r;
    const rows = r.rows.filter((x) => !x.agree);
    const fresh = rows.filter((x) => !x.page || !explained.has(addr(x)));
    if (fresh.length === 0) return { ...r, known: explained.get(addr(rows[0])) };
    const after = points[i].after;
    const k = after ? known.find((x) => x.matches(after, fresh)) : undefined;
    if (!k) return r;
    for (const x of fresh) if (x.page) explained.set(addr(x), k.id);
    return { ...r, known: k.id };
  });
}
