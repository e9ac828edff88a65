/**
 * Provisioning from the host's side: kernel/provision.sh does the work (Debian's
 * packages, the module, the interpreter, the initramfs, all cached outside the
 * repository); this runs it and reads the manifest it leaves.
 *
 * @example
 * ```ts
 * import { cacheDir } from "./provision.ts";
 * console.log(cacheDir({ HOME: "/root" })); // /root/.cache/refsim-kernel
 * ```
 */
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export interface Manifest {
  kernelVersion: string;
  kernelRelease: string;
  vmlinux: string;
  initrd: string;
  qemu: string;
  qemuVersion: string;
  kernelDebBytes: number;
  aptBytes: string;
  seconds: { apt: number; download: number; build: number; total: number };
  sourceHash: string;
}

export type Provisioned = { ok: true; manifest: Manifest; ms: number; log: string } | { ok: false; reason: string; ms: number };

const SCRIPT = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "kernel", "provision.sh");

/** Where the cache lives: REFSIM_KERNEL_CACHE, else $XDG_CACHE_HOME or ~/.cache, /refsim-kernel. */
export function cacheDir(env: Record<string, string | undefined> = process.env): string {
  return env.REFSIM_KERNEL_CACHE ?? join(env.XDG_CACHE_HOME ?? join(env.HOME ?? "/root", ".cache"), "refsim-kernel");
}

/** Run kernel/provision.sh (--check: change nothing). Exit 3 from the script means it cannot provision, and why. */
export function provision(options: { check?: boolean; onLog?: (line: string) => void } = {}): Promise<Provisioned> {
  const t0 = performance.now();
  return new Promise((resolve) => {
    const p = spawn("bash", [SCRIPT, ...(options.check ? ["--check"] : [])], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    p.stdout.on("data", (d) => { out += String(d); });
    p.stderr.on("data", (d) => {
      err += String(d);
      for (const l of String(d).split("\n")) if (l.trim()) options.onLog?.(l);
    });
    p.on("error", (e) => resolve({ ok: false, reason: `cannot run ${SCRIPT}: ${e.message}`, ms: performance.now() - t0 }));
    p.on("exit", (code) => {
      const ms = performance.now() - t0;
      if (code !== 0) {
        const why = err.split("\n").filter((l) => l.includes("cannot provision")).pop() ?? err.trim().split("\n").pop() ?? `exit ${code}`;
        resolve({ ok: false, reason: why.replace(/^provision: /, ""), ms });
        return;
      }
      const path = out.trim().split("\n").pop() ?? "";
      try {
        resolve({ ok: true, manifest: JSON.parse(readFileSync(path, "utf8")) as Manifest, ms, log: err });
      } catch (e) {
        resolve({ ok: false, reason: `provisioning left no readable manifest at '${path}': ${(e as Error).message}`, ms });
      }
    });
  });
}
