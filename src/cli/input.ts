/**
 * Reading JSON input files (sweep files, custom scheme files, results): strict
 * UTF-8, syntax errors with line and column, and a key written twice in one object
 * refused (JSON.parse would silently keep the last). Scenario files go through
 * src/scenario/parse.ts, which does the same and also maps steps to lines.
 *
 * @example
 * ```ts
 * import { mkdtempSync, writeFileSync } from "node:fs";
 * import { tmpdir } from "node:os";
 * import { join } from "node:path";
 * import { readJsonFile } from "./input.ts";
 * const file = join(mkdtempSync(join(tmpdir(), "refsim-")), "sweep.json");
 * writeFileSync(file, '{ "seeds": [1] }');
 * console.log(readJsonFile(file, "sweep")); // { seeds: [ 1 ] }
 * writeFileSync(file, '{ "seeds": [1],\n  "seeds": [2] }');
 * let error: unknown;
 * try { readJsonFile(file, "sweep"); } catch (e) { error = e; }
 * console.log((error as Error).name); // RefsimError (naming the file, line and key)
 * ```
 */
import { readFileSync } from "node:fs";
import { RefsimError } from "../core/errors.ts";
import { decodeUtf8 } from "../scenario/utf8.ts";
import { parseJsonText, type JsonLayout } from "../scenario/locate.ts";

/** Read and parse a JSON file; every failure is a RefsimError naming `what` and the file. */
export function readJsonFile(path: string, what: string): unknown {
  return readJsonDoc(path, what).value;
}

/** readJsonFile, with the text's layout (with `paths`, the line of every key: for schema-checked files). */
export function readJsonDoc(path: string, what: string, opts: { paths?: boolean } = {}): { value: unknown; layout: JsonLayout } {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    throw new RefsimError(`${what}: cannot read '${path}': ${(e as Error).message}`, { field: what, code: "NOT_FOUND" });
  }
  let text: string;
  try {
    text = decodeUtf8(bytes, `'${path}'`);
  } catch (e) {
    throw new RefsimError(`${what}: ${(e as Error).message}`, { field: what, code: "BAD_ENCODING" });
  }
  const { value, layout } = parseJsonText(text, `${what}: '${path}'`, opts);
  const dup = layout.duplicate;
  if (dup) throw new RefsimError(`${what}: '${path}' line ${dup.line}: key "${dup.key}" appears twice in ${dup.path} (JSON would keep only the last)`, { field: dup.key });
  return { value, layout };
}
