/**
 * One bench row per workload generator of src/workload/index.ts (when that file
 * exists): ops/s and atomics/op on the WASM engine and on the TypeScript model.
 * Each measured run gets a fresh target (generators use up mm ids); a short run
 * on a throwaway target warms the code up first.
 */
import { existsSync } from "node:fs";
import { fileURLToPath, pathToFileURL } from "node:url";
import type { Targets, Factory } from "./targets.ts";
import type { OpTarget } from "../src/workload/target.ts";

export interface WorkloadRow {
  name: string;
  target: "wasm" | "model";
  ops: number;
  opsPerSec?: number;
  atomicsPerOp?: number;
  peakFrames?: number;
  violations?: number;
  /** all measured runs' ops/s (the reported one is the median) */
  runs?: number[];
  note?: string;
}

interface Summary {
  ops: number;
  opsPerSec: number;
  elapsedMs: number;
  atomicsPerOp: number;
  peakFrames?: number;
  violations?: { total: number };
  note?: string;
}

interface Def {
  name: string;
  run(target: OpTarget, params?: unknown, seed?: number, budget?: number): Summary;
}

const INDEX = fileURLToPath(new URL("../src/workload/index.ts", import.meta.url));

const isDef = (x: unknown): x is Def =>
  typeof x === "object" && x !== null && typeof (x as Def).name === "string" && typeof (x as Def).run === "function";

/** Find the registry whatever its export name: an array, a Map or a record of workload definitions. */
function findDefs(mod: Record<string, unknown>): Def[] {
  for (const key of ["WORKLOADS", "workloads", "REGISTRY", "registry", "default", ...Object.keys(mod)]) {
    const v = mod[key];
    if (Array.isArray(v) && v.length && v.every(isDef)) return v;
    if (v instanceof Map && v.size && [...v.values()].every(isDef)) return [...v.values()];
    if (v && typeof v === "object" && !Array.isArray(v) && !(v instanceof Map)) {
      const vals = Object.values(v);
      if (vals.length && vals.every(isDef)) return vals as Def[];
    }
  }
  return [];
}

export async function runWorkloads(targets: Targets, o: { quick: boolean; seed: number; log: (s: string) => void }): Promise<WorkloadRow[] | string> {
  if (!existsSync(INDEX)) return "src/workload/index.ts does not exist yet";
  let defs: Def[];
  try {
    defs = findDefs((await import(pathToFileURL(INDEX).href)) as Record<string, unknown>);
  } catch (e) {
    return `src/workload/index.ts failed to load: ${(e as Error).message.split("\n")[0]}`;
  }
  if (!defs.length) return "src/workload/index.ts exports no registry of { name, run } workloads";
  const budget = o.quick ? 100_000 : 500_000;
  const repeats = o.quick ? 2 : 3;
  const rows: WorkloadRow[] = [];
  const kinds = ([["wasm", targets.wasm], ["model", targets.model]] as [WorkloadRow["target"], Factory | null][])
    .filter((k): k is [WorkloadRow["target"], Factory] => k[1] !== null);
  for (const def of defs) {
    // The generator's JavaScript is shared by both targets: warm it (and each target) up
    // first, then alternate the measured runs so neither target gets a warmer generator.
    const runs = new Map<string, Summary[]>(kinds.map(([k]) => [k, []]));
    const errors = new Map<string, string>();
    for (let round = -1; round < repeats; round++) {
      for (const [kind, create] of kinds) {
        if (errors.has(kind)) continue;
        try {
          const s = def.run(await create({}), undefined, o.seed, round < 0 ? Math.min(budget, 100_000) : budget);
          if (round >= 0) runs.get(kind)!.push(s);
        } catch (e) {
          errors.set(kind, (e as Error).message.split("\n")[0]);
        }
      }
    }
    for (const [kind] of [["wasm"], ["model"]] as [WorkloadRow["target"]][]) {
      if (!kinds.some(([k]) => k === kind)) {
        rows.push({ name: def.name, target: kind, ops: 0, note: targets.modelNote });
        continue;
      }
      const err = errors.get(kind);
      if (err) {
        rows.push({ name: def.name, target: kind, ops: 0, note: `error: ${err}` });
        o.log(`workload ${def.name} ${kind}: ERROR ${err}`);
        continue;
      }
      const list = runs.get(kind)!.slice().sort((a, b) => a.opsPerSec - b.opsPerSec);
      const s = list[list.length >> 1];
      rows.push({
        name: def.name, target: kind, ops: s.ops, opsPerSec: s.opsPerSec, atomicsPerOp: s.atomicsPerOp,
        peakFrames: s.peakFrames, violations: s.violations?.total, runs: runs.get(kind)!.map((r) => r.opsPerSec), note: s.note,
      });
      o.log(`workload ${def.name} ${kind}: ${(s.opsPerSec / 1e6).toFixed(2)} M ops/s, ${s.atomicsPerOp.toFixed(2)} atomics/op, ${s.violations?.total ?? "?"} violations`);
    }
  }
  return rows;
}
