/**
 * `refsim report results.json [--out report.html]`: one self-contained HTML file
 * with charts (Chart.js inlined from the installed chart.js package) and a
 * Markdown summary beside it (same name, .md). Default output: the results
 * file's name with .html and .md.
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, resolve } from "node:path";
import { RefsimError } from "../core/errors.ts";
import { checkResults } from "../experiment/results.ts";
import { htmlReport } from "../report/html.ts";
import { markdownSummary, textSummary } from "../report/summary.ts";
import { readJson } from "./sweep.ts";
import { OutputFile, writeOutputs } from "./output.ts";

/** Chart.js's UMD build (defines window.Chart), from the chart.js dependency. */
export function chartJsSource(): string {
  const require = createRequire(import.meta.url);
  let main: string;
  try {
    main = require.resolve("chart.js");
  } catch (e) {
    throw new RefsimError(`report: the chart.js package is not installed (${(e as Error).message})`, { code: "NOT_FOUND" });
  }
  return readFileSync(resolve(dirname(main), "chart.umd.min.js"), "utf8");
}

export function reportCommand(args: string[], o: { out?: string; quiet?: boolean }): number {
  if (args.length !== 1) throw new RefsimError("report: name one results file (from refsim sweep or refsim merge)", { field: "results" });
  const doc = checkResults(readJson(args[0], "report"), args[0]);
  const html = o.out ?? args[0].replace(/(\.json)?$/i, ".html");
  const mdPath = html.replace(/(\.html?)?$/i, ".md");
  const htmlOut = OutputFile.check(html, "--out");
  const mdOut = OutputFile.check(mdPath, "--out (Markdown)");
  writeOutputs([[htmlOut, htmlReport(doc, { chartJs: chartJsSource() })], [mdOut, markdownSummary(doc)]]);
  if (!o.quiet) console.log(`${textSummary(doc)}\n\nwrote ${html} and ${mdPath}`);
  return 0;
}
