/**
 * Run metadata that is not part of a result: the refsim version, the runtime
 * (Node, Deno or a browser) and its version, found with web-standard globals
 * only, and a wall clock. None of it feeds the deterministic part of results.
 *
 * @example
 * ```ts
 * import { REFSIM_VERSION, runtimeInfo } from "./meta.ts";
 * console.log(REFSIM_VERSION, runtimeInfo().name); // "0.1.0" "node"
 * ```
 */

/** This library's version; a test keeps it equal to package.json's. */
export const REFSIM_VERSION = "0.1.0";

/** Results format written by runSweep and read by merge and report. */
export const RESULTS_FORMAT = "refsim-results/1";

export interface RuntimeInfo {
  name: "node" | "deno" | "browser" | "unknown";
  version: string;
}

/** Which JavaScript runtime this is. */
export function runtimeInfo(): RuntimeInfo {
  const g = globalThis as unknown as {
    Deno?: { version?: { deno?: string } };
    process?: { versions?: { node?: string } };
    navigator?: { userAgent?: string };
  };
  if (g.Deno?.version?.deno) return { name: "deno", version: g.Deno.version.deno };
  if (g.process?.versions?.node) return { name: "node", version: g.process.versions.node };
  if (g.navigator?.userAgent) return { name: "browser", version: g.navigator.userAgent };
  return { name: "unknown", version: "" };
}

/** Milliseconds from an arbitrary origin, monotonic where the runtime has performance.now. */
export function nowMs(): number {
  return typeof performance !== "undefined" ? performance.now() : Date.now();
}
