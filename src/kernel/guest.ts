/**
 * One boot of the provisioned 6.1 guest: the programs go in as /input in a small
 * cpio archive appended to the cached initramfs (the kernel unpacks concatenated
 * archives in order), QEMU runs under TCG at nice 10 on one vCPU (no -enable-kvm:
 * /dev/kvm here is a flavour QEMU cannot use), the interpreter writes its results
 * to the second serial port, and the guest powers off.
 *
 * @example
 * ```ts
 * import { parseGuestOutput } from "./guest.ts";
 * const out = parseGuestOutput("prog t\n= 0 ok\np 1 10000 7fd7e n 0 1 0 0 1 1 1 0 0 0 0 14 1\n= 1 ok\nendprog 120\n");
 * console.log(out[0].name, out[0].pages.get(1)?.get("1:65536")?.refcount); // t 1
 * ```
 */
import { RefsimError } from "../core/errors.ts";
import type { KernelHost } from "./host.ts";
import type { Manifest } from "./provision.ts";
import { pageKey, type Reading } from "./translate.ts";
import { cpioArchive } from "./cpio.ts";

/** One op's outcome in the guest. */
export type GuestResult = { status: "ok" } | { status: "err"; errno: number } | { status: "val"; value: number } | { status: "busy" };

/** A page the guest read: the comparable fields and the raw line. */
export interface GuestPage extends Reading {
  pfn: number;
  write: boolean;
  flags: string;
  raw: string;
}

export interface GuestProgram {
  name: string;
  results: GuestResult[];
  /** Per snap op index: "mm:vpn" -> page. */
  pages: Map<number, Map<string, GuestPage>>;
  /** Microseconds the program took in the guest; null if it did not finish. */
  guestUs: number | null;
  /** A fatal error of the interpreter. */
  fatal?: string;
}

export interface BootResult {
  programs: GuestProgram[];
  /** Wall time of the whole boot, and the console's log (kernel messages, the init script's). */
  ms: number;
  console: string;
  exitCode: number | null;
}

function parsePage(fields: string[], raw: string): GuestPage {
  // W VPN PFN kind pmd write devmap special ref pageref map ent pin large order flags
  const n = (i: number) => Number(fields[i]);
  const kind = fields[3];
  return {
    mapped: true, zero: kind === "z" || kind === "h", pfn: parseInt(fields[2], 16), pmd: n(4) === 1, write: n(5) === 1,
    devmap: n(6) === 1, refcount: n(8), mapcount: n(10), entireMapcount: n(11), pincount: n(12), large: n(13) === 1,
    flags: fields[15] ?? "", raw,
  };
}

/** The interpreter's output, program by program. */
export function parseGuestOutput(text: string): GuestProgram[] {
  const out: GuestProgram[] = [];
  let cur: GuestProgram | null = null;
  let pending = new Map<string, GuestPage>();
  for (const line of text.split("\n")) {
    const f = line.trim().split(/\s+/);
    if (f[0] === "prog") {
      cur = { name: f.slice(1).join(" "), results: [], pages: new Map(), guestUs: null };
      out.push(cur);
      pending = new Map();
    } else if (!cur) {
      continue;
    } else if (f[0] === "p" && f.length >= 18) {
      // a run of N pages: vpn and pfn count up, everything else is the same
      const w = Number(f[1]);
      const vpn = parseInt(f[2], 16);
      const page = parsePage(f.slice(1), line);
      const n = Number(f[17] ?? 1);
      for (let k = 0; k < n; k++) pending.set(pageKey(w, vpn + k), k === 0 ? page : { ...page, pfn: page.pfn + k });
    } else if (f[0] === "=") {
      const i = Number(f[1]);
      const r: GuestResult = f[2] === "ok" ? { status: "ok" } : f[2] === "val" ? { status: "val", value: Number(f[3]) >>> 0 }
        : f[2] === "busy" ? { status: "busy" } : { status: "err", errno: Number(f[3]) };
      cur.results[i] = r;
      cur.pages.set(i, pending);
      pending = new Map();
    } else if (f[0] === "endprog") {
      cur.guestUs = Number(f[1]);
    } else if (f[0] === "fatal") {
      cur.fatal = line.slice(6);
    }
  }
  return out;
}

export interface BootOptions {
  /** Seconds before the boot is stopped (default: REFSIM_KERNEL_TIMEOUT, else 600; a loaded machine's TCG guest may need more). */
  timeoutSeconds?: number;
  /** Guest memory in MiB (default 2048: 1 GiB RAM below the 128 MiB pmem at 1 GiB, and above it). */
  memoryMiB?: number;
}

/** REFSIM_KERNEL_TIMEOUT: whole seconds, at least 1; anything else is an error naming it (unset: 600). */
export function bootTimeout(value: string | undefined): number {
  if (value === undefined || value === "") return 600;
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n) || n < 1) throw new RefsimError(`REFSIM_KERNEL_TIMEOUT must be whole seconds (at least 1), got ${JSON.stringify(value)}`, { field: "REFSIM_KERNEL_TIMEOUT" });
  return n;
}

/** Boot the guest once with these programs (each from ProgramBuilder.text()). */
export async function bootGuest(host: KernelHost, manifest: Manifest, programs: string[], options: BootOptions = {}): Promise<BootResult> {
  const dir = host.tempDir();
  try {
    const initrd = `${dir}/initrd`;
    const base = host.readFile(manifest.initrd);
    const extra = cpioArchive([{ name: "input", data: new TextEncoder().encode(programs.join("")) }]);
    // the unpacker reads concatenated archives, each starting 4-byte aligned (zeros between them are skipped)
    const at = Math.ceil(base.length / 4) * 4;
    const all = new Uint8Array(at + extra.length);
    all.set(base, 0);
    all.set(extra, at);
    host.writeFile(initrd, all);
    const outFile = `${dir}/out.txt`;
    const consoleFile = `${dir}/console.txt`;
    const timeout = options.timeoutSeconds ?? bootTimeout(host.env.REFSIM_KERNEL_TIMEOUT);
    const args = [
      "-n", "10", manifest.qemu,
      "-m", String(options.memoryMiB ?? 2048), "-smp", "1", "-display", "none", "-no-reboot", "-nodefaults",
      "-kernel", manifest.vmlinux, "-initrd", initrd,
      "-append", `console=ttyS0 quiet panic=-1 memmap=128M!1G REFSIM_GUEST_TIMEOUT=${timeout}`,
      "-serial", `file:${consoleFile}`, "-serial", `file:${outFile}`,
    ];
    const t0 = performance.now();
    const r = await host.run("nice", args, { timeoutMs: (timeout + 30) * 1000 });
    if (r.code !== 0 && r.stderr.trim()) throw new Error(`qemu: ${r.stderr.trim()}`);
    const ms = performance.now() - t0;
    return { programs: parseGuestOutput(host.readText(outFile) ?? ""), ms, console: host.readText(consoleFile) ?? "", exitCode: r.code };
  } finally {
    host.remove(dir);
  }
}
