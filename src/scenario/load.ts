/**
 * Loading scenario files for the CLI: a JSON file, a `.ts`/`.js` module whose
 * default export is a scenario, or the name of a built-in scenario in
 * scenarios/. Uses the file system, so it is for the CLI, not the engine core.
 */
import { readFileSync, existsSync, readdirSync } from "node:fs";
import { createRequire } from "node:module";
import { resolve, dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { RefsimError } from "../core/errors.ts";
import { parseScenario, checkScenario, type LoadedScenario } from "./parse.ts";
import { decodeUtf8 } from "./utf8.ts";

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
  if (/\.(ts|js|mjs)$/.test(path)) return loadModule(path, ref);
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    throw new RefsimError(`${ref}: cannot read the scenario file (${(e as Error).message})`, { code: "NOT_FOUND" });
  }
  return parseScenario(decodeUtf8(bytes, ref), ref);
}

/** An error's first line, and the first diagnostic when that line only announces a list (a compile error). */
function firstLine(e: unknown): string {
  const text = e instanceof Error ? `${e.name === "Error" ? "" : `${e.name}: `}${e.message}` : String(e);
  const lines = text.split("\n").map((l) => l.trim()).filter(Boolean);
  return lines[0]?.endsWith(":") && lines[1] ? `${lines[0]} ${lines[1]}` : lines[0] ?? "";
}

/**
 * A scenario module: its default export, checked. A module that fails to compile or
 * throws while loading, or whose export cannot be read, is bad input naming the file.
 */
async function loadModule(path: string, ref: string): Promise<LoadedScenario> {
  let mod: { default?: unknown };
  try {
    mod = await import(pathToFileURL(path).href);
  } catch (e) {
    if ((e as { code?: string }).code !== "ERR_UNKNOWN_FILE_EXTENSION") throw new RefsimError(`${ref}: the scenario module failed to load: ${firstLine(e)}`, { code: "BAD_SCENARIO" });
    mod = await importTypeScript(path, ref);
  }
  if (!("default" in mod)) throw new RefsimError(`${ref}: the scenario module has no default export (export default { name, steps })`, { code: "BAD_SCENARIO" });
  try {
    return checkScenario(mod.default, ref);
  } catch (e) {
    if (e instanceof RefsimError) throw e;
    throw new RefsimError(`${ref}: the scenario module's default export cannot be read: ${firstLine(e)}`, { code: "BAD_SCENARIO" });
  }
}

/**
 * A .ts scenario where Node runs no TypeScript itself (the installed CLI on Node
 * 20, without tsx's loader): through tsx's tsImport when tsx is installed beside
 * the scenario or in the working directory, else an error that says what to do.
 */
async function importTypeScript(path: string, ref: string): Promise<{ default?: unknown }> {
  let tsx: { tsImport(url: string, parent: string): Promise<{ default?: unknown }> } | undefined;
  for (const from of [resolve(path), join(process.cwd(), "x.ts")]) {
    let dir: string;
    try {
      dir = dirname(createRequire(from).resolve("tsx/package.json"));
    } catch {
      continue; // not installed there
    }
    // The ES module entry (package.json exports["./esm/api"].import): the CommonJS one cannot tsImport.
    tsx = await import(pathToFileURL(join(dir, "dist", "esm", "api", "index.mjs")).href);
    break;
  }
  if (!tsx) {
    throw new RefsimError(`${ref}: a .ts scenario needs a TypeScript loader, which this Node (${process.version}) lacks: `
      + "install tsx beside it (npm i -D tsx) and refsim uses it, run node --experimental-strip-types (Node 22.6+), or write the scenario as .json", { code: "BAD_SCENARIO" });
  }
  try {
    return await tsx.tsImport(pathToFileURL(path).href, import.meta.url);
  } catch (e) {
    throw new RefsimError(`${ref}: the scenario module failed to load: ${firstLine(e)}`, { code: "BAD_SCENARIO" });
  }
}
