/**
 * Where things are in scenario JSON: the line each step of "steps" starts on, the
 * first key written twice in one object (JSON.parse would silently keep the last),
 * and the line and column of a syntax error. One pass over the text with an
 * explicit stack, so time is linear in the file's size and nesting cannot overflow
 * the call stack.
 *
 * @example
 * ```ts
 * import { scanJson } from "./locate.ts";
 * console.log(scanJson('{\n"steps": [\n {"op":"mm_new"},\n {"op":"check"}\n]}').stepLines); // [ 3, 4 ]
 * console.log(scanJson('{"steps": [{"op":"check", "op":"teardown"}]}').duplicate); // { key: 'op', line: 1, path: 'steps[0]' }
 * ```
 */
import { RefsimError } from "../core/errors.ts";

export interface JsonLayout {
  /** 1-based line where each element of the top-level "steps" array starts. */
  stepLines: number[];
  /** The first key that appears twice in one object: its line and the object's path ("steps[3]"). */
  duplicate?: { key: string; line: number; path: string };
  /**
   * With `{ paths: true }`: the line of every key and array element by its path
   * ("workloads[0].params.parms"), for files checked against a schema (sweeps).
   */
  lines?: Map<string, number>;
}

interface Frame {
  /** An object's keys so far (null for an array). */
  keys: Set<string> | null;
  /** The object's last key, or the array's last element index. */
  key: string;
  index: number;
  /** An object waiting for its next key (after "{" or ","). */
  expectKey: boolean;
  /** This array is the top-level "steps". */
  steps: boolean;
}

const QUOTE = 34, BACKSLASH = 92, NEWLINE = 10, COMMA = 44, COLON = 58;
const OPEN_OBJ = 123, CLOSE_OBJ = 125, OPEN_ARR = 91, CLOSE_ARR = 93;

function pathOf(stack: Frame[]): string {
  let p = "";
  for (let k = 1; k < stack.length; k++) {
    const parent = stack[k - 1];
    p += parent.keys ? `${p ? "." : ""}${parent.key}` : `[${parent.index}]`;
  }
  return p || "(top level)";
}

/** Scan JSON text that JSON.parse has accepted. */
export function scanJson(text: string, opts: { paths?: boolean } = {}): JsonLayout {
  const stepLines: number[] = [];
  const lines = opts.paths ? new Map<string, number>() : undefined;
  const here = () => (stack.length > 1 ? pathOf(stack) : "");
  let duplicate: JsonLayout["duplicate"];
  const stack: Frame[] = [];
  let line = 1;
  let stepsSeen = false;
  /** A value starts here: count it in its array, and note a step's line. */
  const startValue = () => {
    const top = stack[stack.length - 1];
    if (top && !top.keys) {
      top.index++;
      if (top.steps) stepLines.push(line);
      if (lines) lines.set(`${here()}[${top.index}]`, line);
    }
  };
  const n = text.length;
  let i = 0;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === NEWLINE) { line++; i++; continue; }
    if (c === 32 || c === 9 || c === 13) { i++; continue; }
    if (c === OPEN_OBJ || c === OPEN_ARR) {
      startValue();
      const parent = stack[stack.length - 1];
      const steps = c === OPEN_ARR && stack.length === 1 && parent.keys !== null && parent.key === "steps" && !stepsSeen;
      if (steps) stepsSeen = true;
      stack.push({ keys: c === OPEN_OBJ ? new Set() : null, key: "", index: -1, expectKey: c === OPEN_OBJ, steps });
      i++;
      continue;
    }
    if (c === CLOSE_OBJ || c === CLOSE_ARR) { stack.pop(); i++; continue; }
    if (c === COMMA) {
      const top = stack[stack.length - 1];
      if (top.keys) top.expectKey = true;
      i++;
      continue;
    }
    if (c === COLON) { stack[stack.length - 1].expectKey = false; i++; continue; }
    if (c === QUOTE) {
      let j = i + 1;
      let escaped = false;
      while (j < n) {
        const d = text.charCodeAt(j);
        if (d === BACKSLASH) { escaped = true; j += 2; continue; }
        if (d === QUOTE) break;
        j++;
      }
      const top = stack[stack.length - 1];
      if (top?.keys && top.expectKey) {
        const key = escaped ? (JSON.parse(text.slice(i, j + 1)) as string) : text.slice(i + 1, j);
        if (top.keys.has(key) && !duplicate) duplicate = { key, line, path: pathOf(stack) };
        top.keys.add(key);
        top.key = key;
        if (lines) { const at = here(); lines.set(at ? `${at}.${key}` : key, line); }
      } else {
        startValue();
      }
      i = j + 1;
      continue;
    }
    // a number, true, false or null: up to the next delimiter
    startValue();
    while (i < n) {
      const d = text.charCodeAt(i);
      if (d === COMMA || d === CLOSE_OBJ || d === CLOSE_ARR || d === 32 || d === NEWLINE || d === 9 || d === 13) break;
      i++;
    }
  }
  return { stepLines, duplicate, ...(lines ? { lines } : {}) };
}

/** 1-based line of a character offset. */
export function lineOf(text: string, offset: number): number {
  let line = 1;
  for (let i = text.indexOf("\n"); i !== -1 && i < offset; i = text.indexOf("\n", i + 1)) line++;
  return line;
}

/**
 * JSON.parse, with a syntax error as a RefsimError that names the line and column
 * (`what` starts the message), and the text's layout for the caller's other checks.
 */
export function parseJsonText(text: string, what: string, opts: { paths?: boolean } = {}): { value: unknown; layout: JsonLayout } {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    const msg = (e as Error).message;
    const at = jsonErrorLocation(text, msg);
    throw new RefsimError(`${what}: invalid JSON${at ? ` at ${at}` : ""}: ${msg}`, { code: "BAD_JSON" });
  }
  return { value, layout: scanJson(text, opts) };
}

/**
 * Offset of the first JSON syntax error in `text`, or -1 when it is valid JSON: for
 * the messages of JSON.parse that name no position ("Unexpected token ']'"). An
 * explicit stack, so any depth is fine.
 */
export function syntaxErrorAt(text: string): number {
  const n = text.length;
  const stack: number[] = []; // OPEN_OBJ or OPEN_ARR
  const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
  let i = 0;
  const ws = () => { while (i < n && (text.charCodeAt(i) === 32 || text.charCodeAt(i) === NEWLINE || text.charCodeAt(i) === 9 || text.charCodeAt(i) === 13)) i++; };
  /** Skip a string at i; false at a bad escape, a control character or the end. */
  const string = (): boolean => {
    for (i++; i < n; i++) {
      const c = text.charCodeAt(i);
      if (c === QUOTE) { i++; return true; }
      if (c < 0x20) return false;
      if (c === BACKSLASH) {
        const e = text[++i];
        if (e === "u") { if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i + 1, i + 5))) return false; i += 4; }
        else if (e === undefined || !`"\\/bfnrt`.includes(e)) return false;
      }
    }
    return false;
  };
  let state: "value" | "after" | "keyOrEnd" | "key" | "colon" | "valueOrEnd" = "value";
  for (;;) {
    ws();
    const c = text.charCodeAt(i);
    switch (state) {
      case "valueOrEnd":
        if (c === CLOSE_ARR) { stack.pop(); i++; state = "after"; continue; }
      // falls through: an array's first element
      case "value":
        if (c === OPEN_OBJ || c === OPEN_ARR) { stack.push(c); i++; state = c === OPEN_OBJ ? "keyOrEnd" : "valueOrEnd"; continue; }
        if (c === QUOTE) { if (!string()) return i; state = "after"; continue; }
        for (const lit of ["true", "false", "null"]) if (text.startsWith(lit, i)) { i += lit.length; state = "after"; break; }
        if (state === "after") continue;
        NUMBER.lastIndex = i;
        if (NUMBER.test(text)) { i = NUMBER.lastIndex; state = "after"; continue; }
        return i;
      case "keyOrEnd":
        if (c === CLOSE_OBJ) { stack.pop(); i++; state = "after"; continue; }
      // falls through: the object's first key
      case "key":
        if (c !== QUOTE || !string()) return i;
        state = "colon";
        continue;
      case "colon":
        if (c !== COLON) return i;
        i++;
        state = "value";
        continue;
      case "after": {
        const top = stack[stack.length - 1];
        if (top === undefined) return i === n ? -1 : i;
        if (c === COMMA) { i++; state = top === OPEN_OBJ ? "key" : "value"; continue; }
        if (c === (top === OPEN_OBJ ? CLOSE_OBJ : CLOSE_ARR)) { stack.pop(); i++; continue; }
        return i;
      }
    }
  }
}

/** Where a JSON.parse error is, as "line L, column C". */
export function jsonErrorLocation(text: string, message: string): string | undefined {
  const pos = /position (\d+)/.exec(message);
  const off = pos ? Number(pos[1]) : syntaxErrorAt(text);
  if (off < 0) return undefined;
  const line = lineOf(text, off);
  const col = off - text.lastIndexOf("\n", off - 1);
  return `line ${line}, column ${col}`;
}
