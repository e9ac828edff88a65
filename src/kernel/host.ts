/**
 * What kernel-check needs from the machine it runs on: processes (the provisioning
 * script, QEMU) and files. The CLI passes Node's (src/cli/kernel-host.ts), so
 * src/kernel/ itself uses only web-standard APIs like the rest of the library.
 */
export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface KernelHost {
  /** kernel/provision.sh of this package. */
  provisionScript: string;
  /** Run a program to its end (or until timeoutMs, then SIGTERM); stderr lines go to onStderr as they come. */
  run(cmd: string, args: string[], options?: { timeoutMs?: number; onStderr?: (line: string) => void }): Promise<RunResult>;
  readFile(path: string): Uint8Array;
  /** undefined when the file does not exist. */
  readText(path: string): string | undefined;
  writeFile(path: string, data: Uint8Array | string): void;
  mkdirp(path: string): void;
  /** A new empty directory for one boot's files. */
  tempDir(): string;
  remove(path: string): void;
  /** Environment variables (REFSIM_KERNEL_CACHE, HOME...). */
  env: Record<string, string | undefined>;
}
