/**
 * Line numbers for scenario JSON: where each step of "steps" starts, and where a
 * JSON syntax error is, so errors can name the line.
 *
 * @example
 * ```ts
 * import { stepLines } from "./locate.ts";
 * console.log(stepLines('{\n"steps": [\n {"op":"mm_new"},\n {"op":"check"}\n]}')); // [3, 4]
 * ```
 */

/** 1-based line of a character offset. */
export function lineOf(text: string, offset: number): number {
  let line = 1;
  for (let i = 0; i < offset && i < text.length; i++) if (text.charCodeAt(i) === 10) line++;
  return line;
}

/** Lines where the elements of the top-level "steps" array start (empty if not found). */
export function stepLines(text: string): number[] {
  let depth = 0;
  let i = 0;
  let lastKey = "";
  let inSteps = -1; // depth of the steps array when inside it
  const lines: number[] = [];
  let expectElement = false;
  while (i < text.length) {
    const c = text[i];
    if (c === '"') {
      let j = i + 1;
      while (j < text.length && text[j] !== '"') j += text[j] === "\\" ? 2 : 1;
      const str = text.slice(i + 1, j);
      if (expectElement && depth === inSteps) { lines.push(lineOf(text, i)); expectElement = false; }
      if (depth === 1) lastKey = str;
      i = j + 1;
      continue;
    }
    if (/\s/.test(c)) { i++; continue; }
    if (expectElement && depth === inSteps && c !== "]") { lines.push(lineOf(text, i)); expectElement = false; }
    if (c === "[" || c === "{") {
      depth++;
      if (c === "[" && depth === 2 && lastKey === "steps" && inSteps < 0) { inSteps = depth; expectElement = true; }
    } else if (c === "]" || c === "}") {
      if (depth === inSteps && c === "]") inSteps = -2;
      depth--;
    } else if (c === "," && depth === inSteps) {
      expectElement = true;
    }
    i++;
  }
  return lines;
}

/** Where a JSON.parse error points, as "line L, column C", if the message says. */
export function jsonErrorLocation(text: string, message: string): string | undefined {
  const pos = /position (\d+)/.exec(message);
  if (pos) {
    const off = Number(pos[1]);
    const line = lineOf(text, off);
    const col = off - text.lastIndexOf("\n", off - 1);
    return `line ${line}, column ${col}`;
  }
  const lc = /line (\d+) column (\d+)/.exec(message);
  return lc ? `line ${lc[1]}, column ${lc[2]}` : undefined;
}
