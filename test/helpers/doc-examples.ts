/**
 * The `@example` blocks of the library's doc comments, made runnable: each block is written to a
 * temporary module (its relative imports pointed back at the source tree) and imported, and every
 * `console.log(...); // EXPECTED` line becomes a check that the logged text is EXPECTED, so an example
 * that claims a value fails when the code gives another. Used by test/doc-examples.test.ts.
 */
import { readdirSync, readFileSync, statSync, mkdtempSync, writeFileSync } from "node:fs";
import { join, dirname, relative, resolve } from "node:path";
import { tmpdir } from "node:os";
import { pathToFileURL } from "node:url";
import { formatWithOptions } from "node:util";

export interface DocExample {
  /** The source file, relative to the repository root. */
  file: string;
  /** 1-based line of the `@example` tag. */
  line: number;
  code: string;
  /** A ```` ```ts ignore ```` fence (Deno's word for a doc test not to run): a benchmark, which the test command must not time. */
  ignore: boolean;
}

/** Every `.ts` file under `dir` (recursively), skipping generated code. */
export function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) {
      if (name !== "generated" && name !== "node_modules") out.push(...sourceFiles(p));
    } else if (name.endsWith(".ts") && !name.endsWith(".d.ts")) out.push(p);
  }
  return out;
}

/** The fenced ```ts blocks that follow an `@example` tag in `file`'s doc comments. */
export function examplesOf(root: string, file: string): DocExample[] {
  const lines = readFileSync(file, "utf8").split("\n");
  const found: DocExample[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (!/^\s*\*\s*@example\b/.test(lines[i])) continue;
    let j = i + 1;
    while (j < lines.length && !/^\s*\*\s*```/.test(lines[j])) {
      if (/^\s*\*\//.test(lines[j])) break;
      j++;
    }
    if (j >= lines.length || !/^\s*\*\s*```/.test(lines[j])) continue;
    const ignore = /```\w*\s+ignore\b/.test(lines[j]);
    const body: string[] = [];
    for (j++; j < lines.length && !/^\s*\*\s*```/.test(lines[j]); j++) body.push(lines[j].replace(/^\s*\* ?/, ""));
    found.push({ file: relative(root, file), line: i + 1, code: body.join("\n"), ignore });
    i = j;
  }
  return found;
}

/** A `console.log(ARGS); // EXPECTED` line: ARGS and EXPECTED, or null. */
export function claimOf(line: string): { indent: string; args: string; expected: string } | null {
  const m = /^(\s*)console\.log\((.*)\);\s*\/\/\s*(.*\S)\s*$/.exec(line);
  return m ? { indent: m[1], args: m[2], expected: m[3] } : null;
}

/** How console.log prints its arguments (strings raw, everything else inspected, on one line). */
export function logged(args: unknown[]): string {
  return formatWithOptions({ breakLength: Infinity, colors: false }, ...args);
}

/**
 * The example as a module: relative imports made absolute (the module lives in a temporary directory),
 * each claimed value checked through `globalThis.__docCheck`, other logs kept quiet through `__docLog`.
 */
export function runnable(root: string, ex: DocExample): string {
  const base = dirname(resolve(root, ex.file));
  return ex.code
    .split("\n")
    .map((line) => {
      const fixed = line.replace(/(from\s+|import\s*\(\s*)(["'])(\.\.?\/[^"']+)\2/g, (_m, pre, q, spec) =>
        `${pre}${q}${pathToFileURL(resolve(base, spec)).href}${q}`);
      const claim = claimOf(fixed);
      if (claim) return `${claim.indent}globalThis.__docCheck(${JSON.stringify(claim.expected)}, ${claim.args});`;
      return fixed.replace(/\bconsole\.log\(/g, "globalThis.__docLog(");
    })
    .join("\n") + "\nexport {};\n";
}

/** Quotes and bracket padding as a person writes them: `["a", 1]` and console.log's `[ 'a', 1 ]` alike. */
function plain(s: string): string {
  return s.replace(/'/g, '"').replace(/([[{])\s+/g, "$1").replace(/\s+([\]}])/g, "$1");
}

/**
 * Whether the comment's claim is what the log printed. The claim is the logged text, written as a person
 * writes it: single or double quotes, `[0, 1]` or `[ 0, 1 ]`, a string argument bare or quoted; `...` stands
 * for text that varies (timings) or is left out; a closing `(remark)` or a leading `VALUE: remark` is prose.
 */
export function claimHolds(expected: string, args: unknown[]): boolean {
  const outputs = [logged(args), logged(args.map((a) => (typeof a === "string" ? JSON.stringify(a) : a)))].map(plain);
  const claims = new Set([expected, expected.replace(/\s+\([^()]*\)$/, ""), expected.replace(/^([^\s:]+): .*$/, "$1")]);
  for (const c of claims) {
    const pattern = plain(c).split("...").map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")).join(".*");
    const re = new RegExp(`^${pattern}$`, "s");
    if (outputs.some((o) => re.test(o))) return true;
  }
  return false;
}

let scratch: string | null = null;

/** Runs one example; resolves with the claims it checked, rejects naming the first wrong claim. */
export async function runExample(root: string, ex: DocExample, n: number): Promise<number> {
  scratch ??= mkdtempSync(join(tmpdir(), "refsim-doc-"));
  const path = join(scratch, `example-${n}.mts`);
  writeFileSync(path, runnable(root, ex));
  const g = globalThis as Record<string, unknown>;
  let checked = 0;
  const wrong: string[] = [];
  g.__docCheck = (expected: string, ...args: unknown[]) => {
    checked++;
    const got = logged(args);
    if (!claimHolds(expected, args)) wrong.push(`claims ${JSON.stringify(expected)}, logs ${JSON.stringify(got)}`);
  };
  g.__docLog = () => {};
  await import(pathToFileURL(path).href);
  if (wrong.length) throw new Error(`${ex.file}:${ex.line}: ${wrong.join("; ")}`);
  return checked;
}
