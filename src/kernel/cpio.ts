/**
 * A cpio archive in the "newc" format the kernel's initramfs unpacker reads
 * (init/initramfs.c; Documentation/driver-api/early-userspace/buffer-format.rst):
 * a 110-byte ASCII header per file, name and data each padded to 4 bytes, and a
 * closing "TRAILER!!!" entry. Regular files only, mode 0644, owned by root.
 *
 * @example
 * ```ts
 * import { cpioArchive } from "./cpio.ts";
 * const a = cpioArchive([{ name: "input", data: new TextEncoder().encode("prog x\nend\n") }]);
 * console.log(new TextDecoder().decode(a.subarray(0, 6)), a.length % 4); // 070701 0
 * ```
 */
export interface CpioFile {
  name: string;
  data: Uint8Array;
}

const hex8 = (n: number) => n.toString(16).padStart(8, "0");

function entry(ino: number, name: string, mode: number, data: Uint8Array): Uint8Array[] {
  const nameBytes = new TextEncoder().encode(name + "\0");
  const fields = [ino, mode, 0, 0, 1, 0, data.length, 0, 0, 0, 0, nameBytes.length, 0];
  const header = new TextEncoder().encode("070701" + fields.map(hex8).join(""));
  const pad = (n: number) => new Uint8Array((4 - (n % 4)) % 4);
  return [header, nameBytes, pad(header.length + nameBytes.length), data, pad(data.length)];
}

export function cpioArchive(files: CpioFile[]): Uint8Array {
  const parts: Uint8Array[] = [];
  files.forEach((f, i) => parts.push(...entry(i + 1, f.name, 0o100644, f.data)));
  parts.push(...entry(0, "TRAILER!!!", 0, new Uint8Array(0)));
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let at = 0;
  for (const p of parts) { out.set(p, at); at += p.length; }
  return out;
}
