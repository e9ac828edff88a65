// npm run build:dist: compile the TypeScript host to dist/ (tsc, with .ts import
// extensions rewritten to .js) so `import { Engine } from "refsim"` needs no build
// on the user's side, then lay out the browser page in dist/web/: index.html,
// Chart.js's UMD build and the built-in scenarios as scenarios.json. Needs the
// core built first (npm run build: src/core/generated/). Fails on a type error.
import { spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";

const require = createRequire(import.meta.url);
if (!existsSync("src/core/generated/bindings.js")) {
  console.error("build:dist: src/core/generated/ is missing; run 'npm run build' first");
  process.exit(1);
}
rmSync("dist", { recursive: true, force: true });
const tsc = spawnSync(process.execPath, [require.resolve("typescript/bin/tsc"), "-p", "tsconfig.json"], { stdio: "inherit" });
// tsc emits even with type errors; finish the layout, then fail.
const typeErrors = tsc.status !== 0;
if (!existsSync("dist/src/index.js")) process.exit(1);
// The raw bindings are JavaScript: make sure they and their types sit beside the compiled host.
for (const f of ["bindings.js", "bindings.d.ts"]) {
  const to = join("dist/src/core/generated", f);
  if (!existsSync(to)) copyFileSync(join("src/core/generated", f), to);
}
mkdirSync("dist/web", { recursive: true });
copyFileSync("src/web/index.html", "dist/web/index.html");
copyFileSync(join(dirname(require.resolve("chart.js")), "chart.umd.min.js"), "dist/web/chart.umd.min.js");
const scenarios = {};
for (const f of readdirSync("scenarios").filter((f) => f.endsWith(".json")).sort()) scenarios[f.replace(/\.json$/, "")] = readFileSync(join("scenarios", f), "utf8");
writeFileSync("dist/web/scenarios.json", JSON.stringify(scenarios));
console.log(`build:dist: dist/src (library, CLI), dist/web (page, ${Object.keys(scenarios).length} built-in scenarios)`);
if (typeErrors) {
  console.error(`build:dist: tsc reported type errors (exit ${tsc.status}); dist/ is laid out but not fit to ship`);
  process.exit(1);
}
