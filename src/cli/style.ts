/**
 * Colour on a terminal, through node:util's styleText: on when the stream is a
 * TTY, off with NO_COLOR set (any value, https://no-color.org), forced on with
 * FORCE_COLOR (any value but 0; FORCE_COLOR=0 forces it off). Colour only marks
 * what a reader looks for (ok, FAIL, ERROR, violations); the text is the same
 * without it, so piped output and tests see plain text.
 *
 * @example
 * ```ts
 * import { colourOn, paint } from "./style.ts";
 * console.log(JSON.stringify(paint("FAIL", "red", colourOn({ isTTY: false }, {})))); // "FAIL" (no escape codes off a terminal)
 * ```
 */
import { styleText } from "node:util";

type Colour = "red" | "green" | "yellow" | "cyan" | "bold" | "dim";

/** Whether to colour what is written to `stream` (process.stdout or process.stderr). */
export function colourOn(stream: { isTTY?: boolean }, env: Record<string, string | undefined> = process.env): boolean {
  if (env.FORCE_COLOR !== undefined) return env.FORCE_COLOR !== "0";
  if (env.NO_COLOR !== undefined) return false;
  return !!stream.isTTY;
}

export function paint(text: string, colour: Colour, on: boolean): string {
  return on ? styleText(colour, text) : text;
}

/** Mark outcome words in finished table text: ok green, FAIL / ERROR red, leak and other violation kinds yellow. */
export function paintOutcomes(text: string, on: boolean): string {
  if (!on) return text;
  return text
    .replace(/\b(ok|pass)\b/g, (w) => paint(w, "green", true))
    .replace(/\b(FAIL|FAILED|ERROR|not ok)\b/g, (w) => paint(w, "red", true))
    .replace(/\b(leak_page|leak_bo|use_after_free|underflow|double_free|early_free|corruption|refcount_mismatch|mapcount_mismatch|hang|livelock|counter_zero)\b/g, (w) => paint(w, "yellow", true));
}
