/**
 * How many CPUs this process may use: the smaller of the CPUs in its affinity
 * mask (os.availableParallelism(), libuv's sched_getaffinity on Linux) and its
 * cgroup's CPU bandwidth limit, rounded up: cgroup v2 `cpu.max` ("quota period",
 * or "max") in the process's cgroup and every parent, or cgroup v1
 * `cpu.cfs_quota_us` / `cpu.cfs_period_us`. A container limited to 2 CPUs on a
 * 64-CPU host gets 2 sweep workers, not 64.
 *
 * @example
 * ```ts
 * import { usableCpus } from "./cpus.ts";
 * console.log(usableCpus().cpus >= 1); // true
 * ```
 */
import { readFileSync } from "node:fs";
import { availableParallelism } from "node:os";

export interface CpuLimit {
  cpus: number;
  /** What decided it: "affinity (N CPUs)" or "cgroup cpu.max 200000/100000 in /sys/fs/cgroup/...". */
  why: string;
}

type Read = (path: string) => string | undefined;

const readOrUndefined: Read = (p) => {
  try {
    return readFileSync(p, "utf8");
  } catch {
    return undefined;
  }
};

/** The cgroup bandwidth limit in CPUs (fractional), and where it was read; undefined when there is none. */
export function cgroupCpuLimit(read: Read = readOrUndefined, root = "/sys/fs/cgroup"): { cpus: number; where: string } | undefined {
  const cgroups = read("/proc/self/cgroup") ?? "";
  let best: { cpus: number; where: string } | undefined;
  const take = (cpus: number, where: string) => {
    if (cpus > 0 && (!best || cpus < best.cpus)) best = { cpus, where };
  };
  // cgroup v2: "0::/path"; the limit of the cgroup and of every parent applies.
  const v2 = /^0::(\S*)$/m.exec(cgroups)?.[1];
  if (v2 !== undefined) {
    for (let dir = v2.replace(/\/$/, ""); ; dir = dir.slice(0, dir.lastIndexOf("/"))) {
      const text = read(`${root}${dir}/cpu.max`)?.trim();
      const m = text && /^(\d+|max)\s+(\d+)$/.exec(text);
      if (m && m[1] !== "max") take(Number(m[1]) / Number(m[2]), `cgroup cpu.max ${m[1]}/${m[2]} in ${root}${dir || "/"}`);
      if (!dir) break;
    }
  }
  // cgroup v1: "N:cpu,cpuacct:/path" (or "cpu:"), cfs quota -1 means no limit.
  const v1 = /^\d+:(?:[^:]*,)?cpu(?:,[^:]*)?:(\S*)$/m.exec(cgroups)?.[1];
  if (v1 !== undefined) {
    for (const mount of [`${root}/cpu,cpuacct`, `${root}/cpu`]) {
      for (let dir = v1.replace(/\/$/, ""); ; dir = dir.slice(0, dir.lastIndexOf("/"))) {
        const quota = Number(read(`${mount}${dir}/cpu.cfs_quota_us`)?.trim());
        const period = Number(read(`${mount}${dir}/cpu.cfs_period_us`)?.trim());
        if (quota > 0 && period > 0) take(quota / period, `cgroup cpu.cfs_quota_us ${quota}/${period} in ${mount}${dir || "/"}`);
        if (!dir) break;
      }
    }
  }
  return best;
}

/** CPUs for worker threads: affinity, capped by the cgroup limit (rounded up), at least 1. */
export function usableCpus(read: Read = readOrUndefined, affinity = availableParallelism(), root = "/sys/fs/cgroup"): CpuLimit {
  const limit = cgroupCpuLimit(read, root);
  if (limit && Math.ceil(limit.cpus) < affinity) return { cpus: Math.max(1, Math.ceil(limit.cpus)), why: limit.where };
  return { cpus: Math.max(1, affinity), why: `affinity (${affinity} CPU${affinity === 1 ? "" : "s"})` };
}
