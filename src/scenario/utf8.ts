/**
 * Strict UTF-8 for input files: a file that is not valid UTF-8 is refused with the
 * byte offset and line of the first bad byte, instead of having it silently
 * replaced by U+FFFD. A leading byte-order mark is dropped.
 *
 * @example
 * ```ts
 * import { decodeUtf8 } from "./utf8.ts";
 * console.log(decodeUtf8(new TextEncoder().encode('{"name":"é"}'), "t.json")); // {"name":"é"}
 * try { decodeUtf8(new Uint8Array([0x7b, 0x0a, 0xff]), "t.json"); } catch (e) { console.log((e as Error).message); }
 * // t.json: not valid UTF-8 at byte offset 2 (line 2): 0xff at the end of the file
 * ```
 */
import { RefsimError } from "../core/errors.ts";

/** Offset where the first ill-formed UTF-8 sequence starts, or -1. */
export function firstBadUtf8(b: Uint8Array): number {
  const n = b.length;
  let i = 0;
  while (i < n) {
    const c = b[i];
    if (c < 0x80) { i++; continue; }
    let need: number;
    let lo = 0x80, hi = 0xbf; // the allowed range of the first continuation byte
    if (c >= 0xc2 && c <= 0xdf) need = 1;
    else if (c >= 0xe0 && c <= 0xef) { need = 2; if (c === 0xe0) lo = 0xa0; if (c === 0xed) hi = 0x9f; } // no overlongs, no surrogates
    else if (c >= 0xf0 && c <= 0xf4) { need = 3; if (c === 0xf0) lo = 0x90; if (c === 0xf4) hi = 0x8f; } // no overlongs, nothing past U+10FFFF
    else return i;
    for (let k = 1; k <= need; k++) {
      const d = b[i + k];
      if (i + k >= n || (k === 1 ? d < lo || d > hi : d < 0x80 || d > 0xbf)) return i; // the sequence that starts here is broken
    }
    i += need + 1;
  }
  return -1;
}

/** The text of a UTF-8 file; throws RefsimError naming `source`, the byte offset and line of a bad byte. */
export function decodeUtf8(bytes: Uint8Array, source: string): string {
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    const at = firstBadUtf8(bytes);
    let line = 1;
    for (let i = 0; i < at; i++) if (bytes[i] === 0x0a) line++;
    const hex = (x: number) => `0x${x.toString(16).padStart(2, "0")}`;
    const what = at + 1 < bytes.length ? `${hex(bytes[at])} ${hex(bytes[at + 1])} starts no UTF-8 character` : `${hex(bytes[at])} at the end of the file`;
    throw new RefsimError(`${source}: not valid UTF-8 at byte offset ${at} (line ${line}): ${what}`, { field: `byte ${at}`, index: at, code: "BAD_ENCODING" });
  }
}
