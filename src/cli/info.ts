/**
 * `refsim list` (built-in scenarios and scheme presets) and `refsim schemes`
 * (every preset's rule values and what each rule models).
 */
import { PRESETS, PRESET_NAMES } from "../scheme/presets.ts";
import { RULES, RULE_NAMES } from "../scheme/rules.ts";
import { builtinNames } from "../scenario/load.ts";
import { formatTable } from "../report/table.ts";

export function listCommand(): number {
  console.log("built-in scenarios:");
  for (const n of builtinNames()) console.log(`  ${n}`);
  console.log("\nscheme presets:");
  for (const n of PRESET_NAMES) console.log(`  ${n.padEnd(10)} ${PRESETS[n].kernels}`);
  return 0;
}

export function schemesCommand(json: boolean): number {
  if (json) {
    console.log(JSON.stringify(PRESETS, null, 2));
    return 0;
  }
  const rows = RULE_NAMES.map((r) => [r, ...PRESET_NAMES.map((p) => String(PRESETS[p].rules[r]))]);
  console.log(formatTable(["rule", ...PRESET_NAMES], rows));
  console.log("\nrules:");
  for (const r of RULE_NAMES) console.log(`  ${r}: ${RULES[r].doc}`);
  return 0;
}
