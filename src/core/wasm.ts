/**
 * Instantiating the core. The .wasm is embedded as base64 (scripts/embed-wasm.mjs)
 * and wrapped by AssemblyScript's generated raw bindings (--bindings raw): they
 * adapt unsigned returns and turn an AssemblyScript abort into a JS Error, accept a
 * compiled module (so every engine gets its own instance and memory), and need
 * nothing but WebAssembly, so the same code runs in Node, Deno and browsers.
 * @assemblyscript/loader is legacy since the bindings replaced it.
 */
import { wasmBase64 } from "./generated/wasm.ts";
import { instantiate } from "./generated/bindings.js";

export type CoreExports = Awaited<ReturnType<typeof instantiate>>;

let compiled: Promise<WebAssembly.Module> | undefined;

function decodeBase64(b64: string): Uint8Array {
  const bin = atob(b64);
  const bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  return bytes;
}

/** The core's bytes, for tools that want the .wasm itself. */
export function coreWasmBytes(): Uint8Array {
  return decodeBase64(wasmBase64);
}

/** A fresh core instance with its own linear memory. */
export async function instantiateCore(): Promise<CoreExports> {
  compiled ??= WebAssembly.compile(coreWasmBytes() as BufferSource);
  return instantiate(await compiled, { env: {} });
}
