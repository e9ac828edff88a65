/**
 * Files named by `--out` (and `--trace`): checked before a long run starts, so a
 * bad destination costs nothing, and written atomically after it (a temporary
 * file in the same directory, then rename), so a reader never sees half a file.
 * If the write still fails after the run (disk full, directory removed), the
 * result is kept in the system's temporary directory and the error says where:
 * finished work is never thrown away.
 *
 * @example
 * ```ts
 * import { OutputFile } from "./output.ts";
 * const out = OutputFile.check("results/run.json", "--out"); // throws RefsimError now if it cannot be written
 * // ... the long run ...
 * out.write(JSON.stringify({ ok: true }));
 * ```
 */
import { closeSync, mkdirSync, openSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, join, resolve } from "node:path";
import { RefsimError } from "../core/errors.ts";

let tempSerial = 0;

/** A name beside `path` that no other writer uses. */
function tempBeside(path: string): string {
  return join(dirname(path), `.${basename(path)}.${process.pid}.${++tempSerial}.tmp`);
}

/** Remove a temporary file if it is there; nothing to do if it cannot be (its directory went away). */
function removeQuietly(path: string): void {
  try {
    rmSync(path, { force: true });
  } catch {
    // the temporary file was never made
  }
}

function reason(e: unknown): string {
  const x = e as NodeJS.ErrnoException;
  return x.code ? `${x.code}: ${x.message.replace(/^\w+: /, "")}` : String((e as Error).message ?? e);
}

export class OutputFile {
  /** The path as given. */
  readonly path: string;
  /** The option that named it, for messages ("--out"). */
  readonly flag: string;

  private constructor(path: string, flag: string) {
    this.path = path;
    this.flag = flag;
  }

  /**
   * Check that `path` can be written: not a directory, its directory exists or can be
   * made, and a file can be created there (tried for real, then removed). Throws a
   * RefsimError naming the flag and the cause.
   */
  static check(path: string, flag = "--out"): OutputFile {
    const fail = (why: string): never => {
      throw new RefsimError(`${flag} ${path}: ${why}`, { field: flag.replace(/^-+/, ""), code: "BAD_OUTPUT" });
    };
    if (path === "") fail("name a file");
    const full = resolve(path);
    let st;
    try {
      st = statSync(full);
    } catch {
      st = undefined;
    }
    if (st?.isDirectory()) fail("is a directory; name a file in it");
    if (st && !st.isFile()) fail("exists and is not a regular file");
    const dir = dirname(full);
    try {
      mkdirSync(dir, { recursive: true });
    } catch (e) {
      fail(`cannot create its directory ${dir} (${reason(e)})`);
    }
    const probe = tempBeside(full);
    try {
      closeSync(openSync(probe, "wx"));
      removeQuietly(probe);
    } catch (e) {
      fail(`cannot write in ${dir} (${reason(e)})`);
    }
    return new OutputFile(path, flag);
  }

  /** Another file in this one's (checked) directory, for a name known only after the run. */
  sibling(name: string): OutputFile {
    return new OutputFile(join(dirname(this.path), name), this.flag);
  }

  /**
   * Write `data` atomically. If that fails, keep it in the temporary directory and
   * throw a RefsimError that says where it is.
   */
  write(data: string | Uint8Array): void {
    const full = resolve(this.path);
    const temp = tempBeside(full);
    try {
      mkdirSync(dirname(full), { recursive: true });
      writeFileSync(temp, data);
      renameSync(temp, full);
      return;
    } catch (e) {
      removeQuietly(temp);
      const why = reason(e);
      const kept = join(tmpdir(), `refsim-${process.pid}-${Date.now()}-${basename(full) || "out"}`);
      try {
        writeFileSync(kept, data);
      } catch (e2) {
        throw new RefsimError(`${this.flag} ${this.path}: the write failed (${why}), and keeping the result at ${kept} failed too (${reason(e2)})`, {
          field: this.flag.replace(/^-+/, ""), code: "OUTPUT_FAILED",
        });
      }
      throw new RefsimError(`${this.flag} ${this.path}: the write failed (${why}); the result is kept in ${kept}`, {
        field: this.flag.replace(/^-+/, ""), code: "OUTPUT_FAILED",
      });
    }
  }
}

/**
 * Write several outputs of one run: every one is attempted even if an earlier one
 * failed, then one RefsimError lists every failure and where each result is kept.
 */
export function writeOutputs(items: [OutputFile, string | Uint8Array][]): void {
  const failed: RefsimError[] = [];
  for (const [file, data] of items) {
    try {
      file.write(data);
    } catch (e) {
      if (!(e instanceof RefsimError)) throw e;
      failed.push(e);
    }
  }
  if (failed.length === 1) throw failed[0];
  if (failed.length) throw new RefsimError(failed.map((e) => e.message).join("; "), { field: failed[0].field, code: "OUTPUT_FAILED" });
}
