/**
 * `--shard auto`: which shard this task is, from the batch system's environment.
 *
 * - Slurm job arrays: SLURM_ARRAY_TASK_ID, less SLURM_ARRAY_TASK_MIN, over
 *   SLURM_ARRAY_TASK_STEP (default 1), of SLURM_ARRAY_TASK_COUNT shards, so
 *   `--array=1-N`, `--array=0-N-1` and `--array=0-30:10` all work.
 * - Kubernetes indexed Jobs: JOB_COMPLETION_INDEX (set by the Job controller) of
 *   JOB_COMPLETIONS shards (the manifest sets it to spec.completions: Kubernetes
 *   does not expose that number to the pod).
 * - REFSIM_SHARD=i/N overrides both.
 *
 * Runtime-neutral: the caller passes the environment.
 *
 * @example
 * ```ts
 * import { shardFromEnv } from "./shard-env.ts";
 * console.log(shardFromEnv({ SLURM_ARRAY_TASK_ID: "3", SLURM_ARRAY_TASK_MIN: "1", SLURM_ARRAY_TASK_COUNT: "4" }));
 * // { index: 2, count: 4, from: "Slurm: SLURM_ARRAY_TASK_ID=3 (min 1, step 1) of SLURM_ARRAY_TASK_COUNT=4" }
 * ```
 */
import { RefsimError } from "../core/errors.ts";
import { parseShard, type Shard } from "./sweep.ts";

const int = (env: Record<string, string | undefined>, k: string): number | undefined => {
  const v = env[k];
  if (v === undefined || v === "") return undefined;
  if (!/^\d+$/.test(v.trim())) throw new RefsimError(`--shard auto: ${k}=${v} is not a whole number`, { field: "shard" });
  return Number(v);
};

export function shardFromEnv(env: Record<string, string | undefined>): Shard & { from: string } {
  if (env.REFSIM_SHARD) return { ...parseShard(env.REFSIM_SHARD), from: `REFSIM_SHARD=${env.REFSIM_SHARD}` };
  const id = int(env, "SLURM_ARRAY_TASK_ID");
  if (id !== undefined) {
    const count = int(env, "SLURM_ARRAY_TASK_COUNT");
    if (count === undefined || count < 1) throw new RefsimError("--shard auto: SLURM_ARRAY_TASK_ID is set but SLURM_ARRAY_TASK_COUNT is not (is this an array job?)", { field: "shard" });
    const min = int(env, "SLURM_ARRAY_TASK_MIN") ?? 0;
    const step = int(env, "SLURM_ARRAY_TASK_STEP") ?? 1;
    const off = id - min;
    if (off < 0 || step < 1 || off % step !== 0 || off / step >= count) {
      throw new RefsimError(`--shard auto: SLURM_ARRAY_TASK_ID=${id} is not one of ${count} tasks from ${min} in steps of ${step} (use --array=A-B or A-B:S; for other index lists give --shard i/N)`, { field: "shard" });
    }
    return { index: off / step, count, from: `Slurm: SLURM_ARRAY_TASK_ID=${id} (min ${min}, step ${step}) of SLURM_ARRAY_TASK_COUNT=${count}` };
  }
  const k8s = int(env, "JOB_COMPLETION_INDEX");
  if (k8s !== undefined) {
    const count = int(env, "JOB_COMPLETIONS");
    if (count === undefined) throw new RefsimError("--shard auto: JOB_COMPLETION_INDEX is set but JOB_COMPLETIONS is not: set it in the Job's env to spec.completions", { field: "shard" });
    if (k8s >= count) throw new RefsimError(`--shard auto: JOB_COMPLETION_INDEX=${k8s} is not below JOB_COMPLETIONS=${count}`, { field: "shard" });
    return { index: k8s, count, from: `Kubernetes: JOB_COMPLETION_INDEX=${k8s} of JOB_COMPLETIONS=${count}` };
  }
  throw new RefsimError("--shard auto: no batch-system shard in the environment (Slurm SLURM_ARRAY_TASK_ID/_MIN/_COUNT, Kubernetes JOB_COMPLETION_INDEX with JOB_COMPLETIONS, or REFSIM_SHARD=i/N)", { field: "shard" });
}
