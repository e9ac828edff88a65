/** Node's side of kernel-check's host interface (src/kernel/host.ts). */
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { packageRoot } from "../scenario/load.ts";
import type { KernelHost, RunResult } from "../kernel/host.ts";

export function nodeKernelHost(): KernelHost {
  return {
    provisionScript: join(packageRoot(), "kernel", "provision.sh"),
    run(cmd, args, options = {}) {
      return new Promise<RunResult>((resolve, reject) => {
        const p = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"] });
        let stdout = "";
        let stderr = "";
        let partial = "";
        p.stdout.on("data", (d) => { stdout += String(d); });
        p.stderr.on("data", (d) => {
          stderr += String(d);
          const lines = (partial + String(d)).split("\n");
          partial = lines.pop() ?? "";
          for (const l of lines) if (l.trim()) options.onStderr?.(l);
        });
        const timer = options.timeoutMs ? setTimeout(() => p.kill("SIGTERM"), options.timeoutMs) : undefined;
        p.on("error", (e) => { clearTimeout(timer); reject(e); });
        p.on("close", (code) => {
          clearTimeout(timer);
          if (partial.trim()) options.onStderr?.(partial);
          resolve({ code, stdout, stderr });
        });
      });
    },
    readFile: (path) => new Uint8Array(readFileSync(path)),
    readText: (path) => (existsSync(path) ? readFileSync(path, "utf8") : undefined),
    writeFile: (path, data) => writeFileSync(path, data),
    mkdirp: (path) => { mkdirSync(path, { recursive: true }); },
    tempDir: () => mkdtempSync(join(tmpdir(), "refsim-kernel-")),
    remove: (path) => rmSync(path, { recursive: true, force: true }),
    env: process.env,
  };
}
