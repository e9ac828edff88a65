/**
 * A sweep worker thread: one engine at a time, fresh per run. Receives RunSpecs
 * from `refsim sweep`, posts back each run's result and wall-clock timing.
 */
import { parentPort, workerData } from "node:worker_threads";
import { runOne, type RunSpec } from "../experiment/sweep.ts";

const host = {};
const worker: number = workerData?.worker ?? 0;

parentPort!.on("message", async (msg: { run?: RunSpec; exit?: boolean }) => {
  if (msg.exit) {
    parentPort!.close();
    return;
  }
  try {
    const { result, timing } = await runOne(msg.run!, host);
    parentPort!.postMessage({ result, timing, worker });
  } catch (e) {
    parentPort!.postMessage({ error: `${msg.run!.id}: ${(e as Error).stack ?? e}` });
  }
});
parentPort!.postMessage({ ready: true });
