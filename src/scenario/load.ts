/**
 * Loading scenario files for the CLI: a JSON file, a `.ts`/`.js` module whose
 * default export is a scenario, or the name of a built-in scenario in
 * scenarios/. Uses the file system, so it is for the CLI, not the engine core.
 */
import { readFileSync, existsSync, readdirSync } from "node:fs";
import { resolve, dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { RefsimError } from "../core/errors.ts";
import { parseScenario, checkScenario, type LoadedScenario } from "./parse.ts";

/** The package root (where package.json and scenarios/ live), found from this module. */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    if (existsSync(join(dir, "package.json")) && existsSync(join(dir, "scenarios"))) return dir;
    dir = dirname(dir);
  }
  throw new Error("cannot find the refsim package root (package.json with scenarios/)");
}

export function builtinDir(): string {
  return join(packageRoot(), "scenarios");
}

/** Names of the built-in scenarios. */
export function builtinNames(): string[] {
  return readdirSync(builtinDir()).filter((f) => /\.(json|ts)$/.test(f)).map((f) => f.replace(/\.(json|ts)$/, "")).sort();
}

/** A file path or a built-in name. */
export async function loadScenario(ref: string): Promise<LoadedScenario> {
  let path = resolve(ref);
  if (!existsSync(path)) {
    const builtin = [".json", ".ts"].map((ext) => join(builtinDir(), `${ref}${ext}`)).find((p) => existsSync(p));
    if (!builtin) {
      throw new RefsimError(`no scenario file '${ref}' and no built-in scenario of that name (built-ins: ${builtinNames().join(", ")})`, { code: "NOT_FOUND" });
    }
    path = builtin;
  }
  if (/\.(ts|js|mjs)$/.test(path)) {
    const mod = await import(pathToFileURL(path).href);
    return checkScenario(mod.default, ref);
  }
  return parseScenario(readFileSync(path, "utf8"), ref);
}
