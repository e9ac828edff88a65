/**
 * What the example experiments share: their two command-line options and writing
 * a results document as JSON (deterministic part plus meta) and CSV.
 *
 *   --out DIR   where to write NAME.json and NAME.csv (default: results/)
 *   --quick     a small version of the sweep (the test suite runs this)
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { toCsv, textSummary, type ResultsDoc } from "../src/index.ts";

export function options(): { out: string; quick: boolean } {
  const { values } = parseArgs({ options: { out: { type: "string", default: "results" }, quick: { type: "boolean", default: false } } });
  return { out: values.out!, quick: !!values.quick };
}

/** Write DIR/NAME.json and DIR/NAME.csv; returns the JSON path. */
export function write(doc: ResultsDoc, dir: string, name: string): string {
  mkdirSync(dir, { recursive: true });
  const json = join(dir, `${name}.json`);
  writeFileSync(json, JSON.stringify(doc, null, 1) + "\n");
  writeFileSync(join(dir, `${name}.csv`), toCsv(doc));
  console.log(`${textSummary(doc)}\n\nwrote ${json} and ${join(dir, `${name}.csv`)} (${doc.runs.length} runs, ${(doc.meta.wallMs / 1000).toFixed(2)} s); chart it with: npm run refsim -- report ${json}`);
  return json;
}
