/**
 * One look per series across the report, the browser page and compare: every
 * scheme preset and every counter implementation has a fixed colour, and each
 * series in a chart also gets its own dash pattern and point marker, so series
 * that coincide stay visible (the charts also say which coincide). Custom schemes
 * take a colour from the rest of the palette by a hash of their name, the same
 * in every chart.
 *
 * @example
 * ```ts
 * import { seriesColor, seriesStyle } from "./colors.ts";
 * console.log(seriesColor("E2") === seriesColor("E2"), seriesStyle(1).pointStyle); // true rect
 * ```
 */

/** Fixed colours: the kernel eras (old to new: warm to cool), then the counters. */
export const FIXED_COLORS: Record<string, string> = {
  "E0-devmap": "#8c564b", E0: "#d62728", E1: "#ff7f0e", E2: "#2ca02c", E3: "#17becf", E4: "#1f77b4", E5: "#9467bd",
  atomic: "#d62728", percpu: "#ff7f0e", refcache: "#2ca02c", snzi: "#1f77b4",
};

/** For names without a fixed colour. */
export const SPARE_COLORS = ["#e377c2", "#7f7f7f", "#bcbd22", "#393b79", "#637939", "#8c6d31", "#843c39", "#7b4173"];

/** The colour of a scheme or counter, the same wherever it is drawn. */
export function seriesColor(name: string): string {
  if (Object.hasOwn(FIXED_COLORS, name)) return FIXED_COLORS[name];
  let h = 0;
  for (let i = 0; i < name.length; i++) h = (Math.imul(h, 31) + name.charCodeAt(i)) >>> 0;
  return SPARE_COLORS[h % SPARE_COLORS.length];
}

const DASHES = [[], [10, 4], [3, 3], [12, 3, 3, 3], [6, 6], [2, 6], [14, 4, 2, 4, 2, 4]];
const POINTS = ["circle", "rect", "triangle", "crossRot", "star", "rectRot", "dash"];

/**
 * The i-th series' dash pattern, marker, line width and marker size (distinct
 * looks for the first 49 series). Chart.js draws the first dataset on top, so
 * each later series is drawn wider and with bigger markers: where series
 * coincide, the ones underneath show around the edges of the one on top.
 */
export function seriesStyle(i: number): { borderDash: number[]; pointStyle: string; borderWidth: number; pointRadius: number } {
  const layer = i % 5;
  return {
    borderDash: DASHES[i % DASHES.length],
    pointStyle: POINTS[Math.floor(i / DASHES.length + i) % POINTS.length],
    borderWidth: 2 + 2 * layer,
    pointRadius: 3 + 2 * layer,
  };
}

/**
 * Groups of series whose points are all equal (they would hide one another):
 * ["E2 and E4 coincide"]. `key` turns a point into a comparable value.
 */
export function coincidences(series: { label: string; data: unknown[] }[]): string[] {
  const groups = new Map<string, string[]>();
  for (const s of series) {
    const k = JSON.stringify(s.data);
    groups.set(k, [...(groups.get(k) ?? []), s.label]);
  }
  return [...groups.values()].filter((g) => g.length > 1).map((g) => `${g.slice(0, -1).join(", ")} and ${g[g.length - 1]} coincide`);
}

/** A long chart title as lines of at most `width` characters, broken at spaces, commas and parentheses. */
export function titleLines(title: string, width = 60): string[] {
  const words = title.split(/(?<=[ ,])|(?= \()/);
  const out: string[] = [];
  let line = "";
  for (const w of words) {
    if (line && (line + w).trimEnd().length > width) {
      out.push(line.trim());
      line = "";
    }
    line += w;
  }
  if (line.trim()) out.push(line.trim());
  return out;
}
