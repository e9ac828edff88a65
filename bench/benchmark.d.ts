// Minimal types for the parts of benchmark.js (npm `benchmark` 2.1) that
// bench/harness.ts uses; the project does not depend on @types/benchmark.
declare module "benchmark" {
  namespace Benchmark {
    interface Options {
      /** Seconds a benchmark may run for (after calibration). */
      maxTime?: number;
      /** Seconds each sample (cycle) must at least take. */
      minTime?: number;
      minSamples?: number;
      initCount?: number;
      async?: boolean;
      delay?: number;
    }
    interface Stats {
      /** Seconds per call of the test function. */
      mean: number;
      /** Relative margin of error, in percent (95% confidence). */
      rme: number;
      moe: number;
      deviation: number;
      sem: number;
      variance: number;
      sample: number[];
    }
  }
  class Benchmark {
    constructor(name: string, fn: () => void, options?: Benchmark.Options);
    name: string;
    /** Calls per second. */
    hz: number;
    count: number;
    cycles: number;
    stats: Benchmark.Stats;
    error?: unknown;
    aborted: boolean;
    run(options?: { async?: boolean }): Benchmark;
    static version: string;
    static platform: { description?: string };
  }
  export = Benchmark;
}
