/**
 * The shape of EngineOptions, checked the same way by Engine.create and Model.create
 * before anything is built: an object (or nothing), and only the keys it knows, so
 * a misspelt option is an error instead of a silently used default.
 *
 * @example
 * ```ts
 * import { checkEngineOptions } from "./options.ts";
 * checkEngineOptions({ scheme: "E2", capacity: { systemPages: 1024 } }, "Engine.create"); // fine
 * try { checkEngineOptions({ schem: "E2" }, "Engine.create"); } catch (e) { console.log((e as Error).message); }
 * // Engine.create: unknown option 'schem' (options: scheme, capacity, counter, cpus, cost)
 * ```
 */
import { RefsimError, shown } from "./errors.ts";

export const OPTION_KEYS = ["scheme", "capacity", "counter", "cpus", "cost"] as const;

export function checkEngineOptions(options: unknown, who: string): void {
  if (options === undefined) return;
  if (options === null || typeof options !== "object" || Array.isArray(options)) {
    throw new RefsimError(`${who}: options must be an object like { scheme: "E4", capacity: { systemPages: 65536 } }, got ${shown(options)}`, { field: "options", code: "BAD_OPTION" });
  }
  for (const k of Object.keys(options)) {
    if (!(OPTION_KEYS as readonly string[]).includes(k)) {
      throw new RefsimError(`${who}: unknown option '${k}' (options: ${OPTION_KEYS.join(", ")})`, { field: k, code: "BAD_OPTION" });
    }
  }
  const capacity = (options as { capacity?: unknown }).capacity;
  if (capacity !== undefined && (capacity === null || typeof capacity !== "object" || Array.isArray(capacity))) {
    throw new RefsimError(`${who}: capacity must be an object like { systemPages: 65536 }, got ${shown(capacity)}`, { field: "capacity", code: "BAD_OPTION" });
  }
}
