/**
 * The model's pairing, checked: every semantic change to the core goes into the
 * TypeScript model as well (src/model/ is the differential oracle). This lists the
 * commits that changed a core file with a model twin (assembly/X.ts beside
 * src/model/X.ts) without changing the twin, unless the commit message says why:
 *
 *   "performance only", "layout only", "comment only", "no semantic change", or
 *   "model twin: src/model/FILE.ts" (the model's side of the change lives elsewhere).
 *
 * Usage: node --import tsx scripts/model-pairing.ts [--since REV] [--worktree]
 *   --since REV   check the commits after REV (default: PAIRING_BASE, where the check began)
 *   --worktree    also check the uncommitted changes (the message cannot excuse them)
 * Exit 0 when every change is paired, 1 listing the unpaired ones, 2 on bad use.
 *
 * @example
 * ```ts
 * import { unpairedFiles } from "./model-pairing.ts";
 * const twins = new Set(["zap.ts", "fault.ts"]);
 * console.log(unpairedFiles(["assembly/zap.ts", "src/model/fault.ts", "assembly/fault.ts", "assembly/abi.ts"], twins, "")); // [ 'assembly/zap.ts' ]
 * console.log(unpairedFiles(["assembly/zap.ts"], twins, "zap: a fast path (performance only)")); // []
 * ```
 */
import { execFileSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** The first commit the check applies to is the one after this (main when it was added). */
export const PAIRING_BASE = "4fd99e9";

const EXCUSES = [/performance only/i, /layout only/i, /comment only/i, /no semantic change/i, /model twin: *src\/model\/\S+/i];

/** Core files (assembly/X.ts) that a commit changed without src/model/X.ts, unless its message excuses them. */
export function unpairedFiles(changed: readonly string[], twins: ReadonlySet<string>, message: string): string[] {
  if (EXCUSES.some((r) => r.test(message))) return [];
  const set = new Set(changed);
  return changed.filter((f) => {
    const m = /^assembly\/([^/]+\.ts)$/.exec(f);
    return m !== null && twins.has(m[1]) && !set.has(`src/model/${m[1]}`);
  });
}

/** The core files that have a model twin, by name. */
export function modelTwins(root: string): Set<string> {
  const model = new Set(readdirSync(join(root, "src/model")));
  return new Set(readdirSync(join(root, "assembly")).filter((f) => f.endsWith(".ts") && model.has(f)));
}

export interface Unpaired {
  commit: string;
  subject: string;
  files: string[];
}

const git = (root: string, args: string[]): string => execFileSync("git", args, { cwd: root, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });

/** Every commit after `since` (first parent and merged alike, merges themselves skipped) with unpaired core files. */
export function checkPairing(root: string, since = PAIRING_BASE, worktree = false): Unpaired[] {
  const twins = modelTwins(root);
  const out: Unpaired[] = [];
  const revs = git(root, ["rev-list", "--no-merges", `${since}..HEAD`]).split("\n").filter(Boolean);
  for (const c of revs) {
    const files = git(root, ["diff-tree", "--no-commit-id", "--name-only", "-r", c]).split("\n").filter(Boolean);
    const message = git(root, ["log", "-1", "--format=%B", c]);
    const bad = unpairedFiles(files, twins, message);
    if (bad.length) out.push({ commit: c.slice(0, 12), subject: message.split("\n")[0], files: bad });
  }
  if (worktree) {
    const files = git(root, ["diff", "--name-only", "HEAD"]).split("\n").filter(Boolean);
    const bad = unpairedFiles(files, twins, "");
    if (bad.length) out.push({ commit: "worktree", subject: "uncommitted changes", files: bad });
  }
  return out;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const args = process.argv.slice(2);
  let since = PAIRING_BASE;
  let worktree = false;
  for (let i = 0; i < args.length; i++) {
    if (args[i] === "--since" && i + 1 < args.length) since = args[++i];
    else if (args[i] === "--worktree") worktree = true;
    else {
      console.error(`model-pairing: unknown argument '${args[i]}' (usage: [--since REV] [--worktree])`);
      process.exit(2);
    }
  }
  const root = join(dirname(fileURLToPath(import.meta.url)), "..");
  let bad: Unpaired[];
  try {
    bad = checkPairing(root, since, worktree);
  } catch (e) {
    console.error(`model-pairing: cannot read the history since ${since}: ${((e as { stderr?: string }).stderr || (e as Error).message).trim()}`);
    process.exit(2);
  }
  for (const u of bad) console.log(`${u.commit} ${u.subject.slice(0, 80)}\n  core changed without its model twin: ${u.files.join(", ")}`);
  console.log(bad.length ? `${bad.length} commit(s) change the core without the model (say "performance only", "layout only", "comment only", "no semantic change" or "model twin: src/model/FILE.ts" in the message if that is why)` : `every core change since ${since} is paired with the model`);
  process.exit(bad.length ? 1 : 0);
}
