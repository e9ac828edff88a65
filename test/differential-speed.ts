// Speed of the plain-TypeScript Model against the WASM Engine on the same trace:
// the ops a differential run accepted (so the replay has no rejections), run once
// on a fresh instance of each, in batches of capacity.batch.
//   node --import tsx test/differential-speed.ts [scheme] [ops] [seed]
import * as abi from "../assembly/abi.ts";
import { Engine } from "../src/core/engine.ts";
import { Model } from "../src/model/model.ts";
import { runDifferential, DIFF_CAPACITY } from "./differential-harness.ts";
import type { OpTarget } from "../src/workload/target.ts";

const scheme = process.argv[2] ?? "E4";
const ops = Number(process.argv[3] ?? 200_000);
const seed = Number(process.argv[4] ?? 1);
const { accepted } = await runDifferential({ scheme, seed, ops });
const n = accepted.length / abi.OP_WORDS;
const options = { scheme, capacity: DIFF_CAPACITY };

function time(label: string, target: OpTarget): number {
  const t0 = performance.now();
  target.runEncoded(accepted, n);
  const s = (performance.now() - t0) / 1000;
  const rate = n / s;
  console.log(`${label.padEnd(7)} ${n} ops in ${(s * 1000).toFixed(1)} ms: ${Math.round(rate).toLocaleString("en")} ops/s`);
  return rate;
}

const engine = time("engine", await Engine.create(options));
const model = time("model", Model.create(options));
console.log(`scheme ${scheme}: the engine is ${(engine / model).toFixed(1)}x the model`);
