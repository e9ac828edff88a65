// Build the WASM core (npm run build) when it is missing or older than its
// sources, so `npm ci && npm run refsim`, `npm test` and `npm run bench` work on a
// fresh clone. (The build used to run from a `prepare` script, which also ran,
// with a warning, wherever the package was installed.) Quiet when nothing is to do.
import { existsSync, readdirSync, statSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { join } from "node:path";

const built = "src/core/generated/wasm.ts";
const newest = (dir) => Math.max(0, ...readdirSync(dir, { withFileTypes: true }).map((e) =>
  e.isDirectory() ? newest(join(dir, e.name)) : e.name.endsWith(".ts") ? statSync(join(dir, e.name)).mtimeMs : 0));
const stale = !existsSync(built) || !existsSync("src/core/generated/bindings.js") || statSync(built).mtimeMs < newest("assembly");
if (stale) {
  console.error("refsim: building the WASM core (npm run build) ...");
  const r = spawnSync(process.platform === "win32" ? "npm.cmd" : "npm", ["run", "-s", "build"], { stdio: ["ignore", "ignore", "inherit"] });
  if (r.status !== 0) process.exit(r.status ?? 1);
}
