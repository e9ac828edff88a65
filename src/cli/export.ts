/**
 * `refsim export <scenario> [--out repro.c]`: a scenario file or built-in (an
 * explore result, for instance) as a C program to try on a real kernel
 * (src/export/c.ts). The program is written to --out, or printed.
 */
import { RefsimError } from "../core/errors.ts";
import { loadScenario } from "../scenario/load.ts";
import { exportC, notExportable } from "../export/c.ts";
import { OutputFile } from "./output.ts";

export async function exportCommand(args: string[], o: { out?: string }): Promise<number> {
  if (args.length !== 1) throw new RefsimError("export: name one scenario (file or built-in)", { field: "scenario" });
  const out = o.out === undefined ? undefined : OutputFile.check(o.out, "--out");
  const loaded = await loadScenario(args[0]);
  const c = exportC(loaded.scenario, { source: args[0] });
  if (!out) {
    process.stdout.write(c);
    return 0;
  }
  out.write(c);
  const skipped = notExportable(loaded.scenario);
  console.log(`wrote ${o.out}: ${loaded.scenario.steps.length} steps of ${loaded.scenario.name} (build: gcc -O1 -Wall -o repro ${o.out})`);
  for (const s of skipped) console.log(`step ${s.step}: not exportable: ${s.reason}`);
  return 0;
}
