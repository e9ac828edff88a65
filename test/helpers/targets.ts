// What tests of one behaviour on both the WASM engine and the TypeScript model share.
import { Engine } from "../../src/core/engine.ts";
import { Model } from "../../src/model/model.ts";
import { KernelError, RefsimError } from "../../src/core/errors.ts";
import type { Capacity } from "../../src/core/capacity.ts";

export type Target = Engine | Model;

/** ["engine", make] and ["model", make]: each makes a fresh target of that scheme and capacity. */
export function targets(capacity: Partial<Capacity>): [string, (scheme: string) => Promise<Target>][] {
  return [
    ["engine", (scheme) => Engine.create({ scheme, capacity })],
    ["model", async (scheme) => Model.create({ scheme, capacity })],
  ];
}

/** The errno of the simulated syscall f makes (undefined when it succeeds); anything but a KernelError is thrown on. */
export function errnoOf(f: () => unknown): string | undefined {
  try {
    f();
  } catch (e) {
    if (e instanceof KernelError) return e.errno;
    throw e;
  }
  return undefined;
}

/** The RefsimError f's bad input or impossible op raises; anything else is thrown on, and an accepted op fails the test. */
export function refusal(f: () => unknown): RefsimError {
  try {
    f();
  } catch (e) {
    if (e instanceof RefsimError) return e;
    throw e;
  }
  throw new Error("the op was not refused");
}
