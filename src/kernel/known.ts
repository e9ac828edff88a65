/**
 * Differences between refsim's E2 and Linux 6.1 that are understood: each names the
 * kernel function that decides it and where it is being dealt with. The first point
 * of a program that differs is matched against them by the op just before it and
 * the shape of the difference; later differences at the same addresses (in any
 * process: a fork carries them on) are its consequences. Anything else is an unexplained difference (exit status 1).
 */
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

/**
 * None at present. Fixed since they were found: fork-file-no-anon-vma, read-gup-write-fault,
 * munmap-frees-page-tables, longterm-pin-fsdax, dax-hole-read-zero-page (a DAX hole's read
 * maps the zero page: scenarios/dax-hole-zero-page.json) and dax-break-layouts-whole-file
 * (ext4_break_layouts over the whole file: scenarios/dax-break-layouts-whole-file.json).
 */
export const KNOWN: readonly Known[] = [];

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
