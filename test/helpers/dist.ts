// Build dist/ (npm run build:dist) once per test process, for the tests that need
// the compiled package: the browser page, npm pack and the installed package.
// A type error elsewhere still lays out dist/ (tsc emits anyway); it fails the one
// test that checks the build is clean (test/package.test.ts), not every user of dist/.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = fileURLToPath(new URL("../..", import.meta.url));

export interface DistBuild {
  /** build:dist exited 0: tsc found no type error. */
  clean: boolean;
  output: string;
}

let built: Promise<DistBuild> | undefined;

export function ensureDist(): Promise<DistBuild> {
  built ??= (async () => {
    const r = spawnSync(process.execPath, ["scripts/build-dist.mjs"], { cwd: ROOT, encoding: "utf8", env: { ...process.env, NO_COLOR: "1" } });
    const output = `${r.stdout}\n${r.stderr}`;
    if (!existsSync(join(ROOT, "dist/src/index.js")) || !existsSync(join(ROOT, "dist/web/index.html"))) {
      throw new Error(`npm run build:dist did not lay out dist/ (exit ${r.status}):\n${output}`);
    }
    return { clean: r.status === 0, output };
  })();
  return built;
}
