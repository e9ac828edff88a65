/**
 * The op targets the bench drives: the WASM Engine (src/core/engine.ts) and the
 * plain-TypeScript model (src/model/model.ts, `class Model`), both OpTargets.
 * The model is picked up automatically once that file exists.
 */
import { existsSync } from "node:fs";
import { fileURLToPath, pathToFileURL } from "node:url";
import { resolve } from "node:path";
import type { OpTarget } from "../src/workload/target.ts";
import type { Capacity } from "../src/core/engine.ts";

/** The scheme every benchmark case and workload runs under (named in each entry of the JSON record). */
export const BENCH_SCHEME = "E4";

export interface TargetOptions {
  scheme?: string;
  capacity?: Partial<Capacity>;
}

export type Factory = (o: TargetOptions) => Promise<OpTarget & { memoryBytes?: number }>;

export interface Targets {
  wasm: Factory;
  /** null when the model is missing or unusable; `modelNote` says why. */
  model: Factory | null;
  modelNote: string;
  engineModule: string;
}

const DEFAULT_ENGINE = fileURLToPath(new URL("../src/core/engine.ts", import.meta.url));
const MODEL = fileURLToPath(new URL("../src/model/model.ts", import.meta.url));

type Ctor = { create?: (o: TargetOptions) => unknown; new (o: TargetOptions): OpTarget };

/**
 * Load the targets. `enginePath` swaps in another build of the engine (e.g. an
 * experimental copy under tmp/) for A/B runs.
 */
export async function loadTargets(enginePath?: string): Promise<Targets> {
  const engineModule = enginePath ? resolve(enginePath) : DEFAULT_ENGINE;
  const { Engine } = (await import(pathToFileURL(engineModule).href)) as typeof import("../src/core/engine.ts");
  const wasm: Factory = async (o) => Engine.create({ scheme: o.scheme ?? BENCH_SCHEME, capacity: o.capacity });
  let model: Factory | null = null;
  let modelNote = "n/a (model missing)";
  if (existsSync(MODEL)) {
    try {
      const mod = (await import(pathToFileURL(MODEL).href)) as { Model?: Ctor };
      const M = mod.Model;
      if (typeof M !== "function") {
        modelNote = "n/a (src/model/model.ts has no class Model)";
      } else {
        model = async (o) => {
          const opts = { scheme: o.scheme ?? BENCH_SCHEME, capacity: o.capacity };
          const m = typeof M.create === "function" ? await M.create(opts) : new M(opts);
          if (typeof (m as OpTarget).runEncoded !== "function") throw new Error("Model has no runEncoded(words, count)");
          return m as OpTarget;
        };
        modelNote = "";
      }
    } catch (e) {
      modelNote = `n/a (model failed to load: ${(e as Error).message.split("\n")[0]})`;
    }
  }
  return { wasm, model, modelNote, engineModule };
}
