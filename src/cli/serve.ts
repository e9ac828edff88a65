/**
 * `refsim serve [--port N] [--host H]`: serve the browser page (dist/web/index.html:
 * paste or pick a scenario, choose schemes, run it in the page's own WASM engine)
 * over HTTP on this machine. Only the page's own files: dist/web/ and the compiled
 * modules it imports (dist/src/**.js, dist/assembly/abi.js); nothing else of the package (no .git, no
 * node_modules, no sources). GET and HEAD only. Files are streamed, never read whole
 * into memory. The Host header must name the address the server is bound to, so a
 * web page whose DNS name is re-bound to 127.0.0.1 (DNS rebinding) gets nothing.
 * `--port 0` picks a free port.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createReadStream, existsSync } from "node:fs";
import { realpath, stat } from "node:fs/promises";
import { isIP } from "node:net";
import { extname, join, resolve, sep } from "node:path";
import { RefsimError } from "../core/errors.ts";
import { packageRoot } from "../scenario/load.ts";

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".json": "application/json; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".wasm": "application/wasm",
  ".map": "application/json; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
};

/** The page's path under the package root. */
export const PAGE_PATH = "/dist/web/index.html";

/** What may be served, under the package root: the page's directory whole, the compiled modules it imports. */
const SERVED: { dir: string; ext?: RegExp }[] = [
  { dir: "dist/web" },
  { dir: "dist/src", ext: /\.js(\.map)?$/ },
  { dir: "dist/assembly", ext: /\.js(\.map)?$/ }, // abi.js: the op codes and layout the host shares with the core
];

/** The file under `root` that URL path `path` names, if it is one of the page's files; else undefined. */
export async function servedFile(root: string, path: string): Promise<string | undefined> {
  if (path.includes("\0") || path.includes("\\")) return undefined;
  const rel = path.replace(/^\/+/, "");
  for (const { dir, ext } of SERVED) {
    const base = resolve(root, dir);
    let file = resolve(root, rel);
    if (file !== base && !file.startsWith(base + sep)) continue;
    try {
      if ((await stat(file)).isDirectory()) file = join(file, "index.html");
      const real = await realpath(file); // a symlink must not lead out of the served directory
      const realBase = await realpath(base);
      if (!real.startsWith(realBase + sep) || !(await stat(real)).isFile()) return undefined;
      if (ext && !ext.test(real)) return undefined;
      return real;
    } catch {
      return undefined;
    }
  }
  return undefined;
}

/**
 * Whether a request's Host header names this server: the bound address itself, or
 * "localhost" for a loopback or wildcard bind, or any IP literal for a wildcard bind;
 * and the bound port. A DNS name (what DNS rebinding needs) is never accepted.
 */
export function hostAllowed(hostHeader: string | undefined, boundHost: string, port: number): boolean {
  if (!hostHeader) return false;
  const m = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(hostHeader.trim().toLowerCase());
  if (!m) return false;
  const name = m[1].replace(/^\[|\]$/g, "");
  if ((m[2] === undefined ? 80 : Number(m[2])) !== port) return false;
  const bound = boundHost.toLowerCase().replace(/^\[|\]$/g, "");
  const wildcard = bound === "0.0.0.0" || bound === "::";
  const loopback = bound === "localhost" || bound === "::1" || /^127\./.test(bound);
  if (name === bound) return true;
  if (name === "localhost") return loopback || wildcard;
  return wildcard && isIP(name) !== 0;
}

function answer(res: ServerResponse, status: number, text: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { "content-type": "text/plain; charset=utf-8", "x-content-type-options": "nosniff", ...headers });
  res.end(`${text}\n`);
}

/** Serve the page's files from under `root`; resolves once listening, with the URL of the page. */
export async function startServer(root: string, port = 0, host = "127.0.0.1"): Promise<{ server: Server; url: string; pageUrl: string }> {
  const base = resolve(root);
  let boundPort = port;
  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    if (!hostAllowed(req.headers.host, host, boundPort)) return answer(res, 403, "forbidden: the Host header does not name this server");
    if (req.method !== "GET" && req.method !== "HEAD") return answer(res, 405, "method not allowed (GET and HEAD only)", { allow: "GET, HEAD" });
    let path: string;
    try {
      path = decodeURIComponent(new URL(req.url ?? "/", "http://x").pathname);
    } catch {
      return answer(res, 400, "bad request: the path is not a valid URL");
    }
    if (path === "/" || path === "/web" || path === "/web/") {
      res.writeHead(302, { location: PAGE_PATH });
      res.end();
      return;
    }
    const file = await servedFile(base, path);
    if (!file) return answer(res, 404, "not found");
    const size = (await stat(file)).size;
    res.writeHead(200, {
      "content-type": TYPES[extname(file)] ?? "application/octet-stream", "content-length": String(size),
      "cache-control": "no-store", "x-content-type-options": "nosniff",
    });
    if (req.method === "HEAD") return void res.end();
    const stream = createReadStream(file);
    stream.on("error", () => res.destroy()); // the file went away mid-stream: the client sees a cut response
    res.on("close", () => stream.destroy()); // the client went away: stop reading
    stream.pipe(res);
  };
  const server = createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) answer(res, 500, "internal error");
      else res.destroy();
    });
  });
  await new Promise<void>((ok, fail) => {
    server.once("error", fail);
    server.listen(port, host, () => ok());
  });
  const addr = server.address();
  boundPort = typeof addr === "object" && addr ? addr.port : port;
  const url = `http://${host.includes(":") ? `[${host}]` : host}:${boundPort}`;
  return { server, url, pageUrl: `${url}${PAGE_PATH}` };
}

export async function serveCommand(o: { port?: string; host?: string }): Promise<number> {
  const root = packageRoot();
  if (!existsSync(join(root, "dist", "web", "index.html"))) {
    throw new RefsimError(`serve: ${join(root, "dist", "web", "index.html")} is missing; build it with 'npm run build:dist'`, { code: "NOT_FOUND" });
  }
  const port = o.port === undefined ? 8080 : Number(o.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new RefsimError(`--port must be 0..65535, got '${o.port}'`, { field: "port" });
  const { pageUrl } = await startServer(root, port, o.host ?? "127.0.0.1");
  console.log(`refsim: serving the page's files (dist/web, dist/src, dist/assembly) of ${root}\nopen ${pageUrl}  (Ctrl-C stops)`);
  await new Promise(() => {});
  return 0;
}
