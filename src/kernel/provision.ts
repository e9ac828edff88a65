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
import type { KernelHost } from "./host.ts";

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

/** Where the cache lives: REFSIM_KERNEL_CACHE, else $XDG_CACHE_HOME or ~/.cache, /refsim-kernel. */
export function cacheDir(env: Record<string, string | undefined>): string {
  return env.REFSIM_KERNEL_CACHE ?? `${env.XDG_CACHE_HOME ?? `${env.HOME ?? "/root"}/.cache`}/refsim-kernel`;
}

/** Run kernel/provision.sh (--check: change nothing). Exit 3 from the script means it cannot provision, and why. */
export async function provision(host: KernelHost, options: { check?: boolean; onLog?: (line: string) => void } = {}): Promise<Provisioned> {
  const t0 = performance.now();
  let r;
  try {
    r = await host.run("bash", [host.provisionScript, ...(options.check ? ["--check"] : [])], { onStderr: options.onLog });
  } catch (e) {
    return { ok: false, reason: `cannot run ${host.provisionScript}: ${(e as Error).message}`, ms: performance.now() - t0 };
  }
  const ms = performance.now() - t0;
  if (r.code !== 0) {
    const lines = r.stderr.trim().split("\n");
    const why = lines.filter((l) => l.includes("cannot provision")).pop() ?? lines.pop() ?? `exit ${r.code}`;
    return { ok: false, reason: why.replace(/^provision: /, ""), ms };
  }
  const path = r.stdout.trim().split("\n").pop() ?? "";
  const text = host.readText(path);
  try {
    if (text === undefined) throw new Error("no such file");
    return { ok: true, manifest: JSON.parse(text) as Manifest, ms, log: r.stderr };
  } catch (e) {
    return { ok: false, reason: `provisioning left no readable manifest at '${path}': ${(e as Error).message}`, ms };
  }
}
