/**
 * `refsim serve [--port N] [--host H]`: serve the package's files over HTTP on
 * this machine, for the browser page (dist/web/index.html: paste or pick a
 * scenario, choose schemes, run it in the page's own WASM engine). Static files
 * only, read-only, confined to the package root; `--port 0` picks a free port.
 */
import { createServer, type Server } from "node:http";
import { readFile, stat } from "node:fs/promises";
import { existsSync } from "node:fs";
import { extname, join, normalize, resolve, sep } from "node:path";
import { RefsimError } from "../core/errors.ts";
import { packageRoot } from "../scenario/load.ts";

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".json": "application/json; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".wasm": "application/wasm",
  ".map": "application/json; charset=utf-8",
  ".ts": "text/plain; charset=utf-8",
  ".md": "text/markdown; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
};

/** The page's path under the package root. */
export const PAGE_PATH = "/dist/web/index.html";

/** Serve `root` statically; resolves once listening, with the URL of the page. */
export async function startServer(root: string, port = 0, host = "127.0.0.1"): Promise<{ server: Server; url: string; pageUrl: string }> {
  const base = resolve(root);
  const server = createServer(async (req, res) => {
    try {
      const path = decodeURIComponent(new URL(req.url ?? "/", "http://x").pathname);
      if (path === "/" || path === "/web" || path === "/web/") {
        res.writeHead(302, { location: PAGE_PATH });
        res.end();
        return;
      }
      let file = normalize(join(base, path));
      if (file !== base && !file.startsWith(base + sep)) throw Object.assign(new Error("outside"), { status: 403 });
      if ((await stat(file)).isDirectory()) file = join(file, "index.html");
      const body = await readFile(file);
      res.writeHead(200, { "content-type": TYPES[extname(file)] ?? "application/octet-stream", "cache-control": "no-store" });
      res.end(req.method === "HEAD" ? undefined : body);
    } catch (e) {
      const status = (e as { status?: number }).status ?? 404;
      res.writeHead(status, { "content-type": "text/plain; charset=utf-8" });
      res.end(status === 403 ? "forbidden\n" : "not found\n");
    }
  });
  await new Promise<void>((ok, fail) => {
    server.once("error", fail);
    server.listen(port, host, () => ok());
  });
  const addr = server.address();
  const p = typeof addr === "object" && addr ? addr.port : port;
  const url = `http://${host.includes(":") ? `[${host}]` : host}:${p}`;
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
  console.log(`refsim: serving ${root}\nopen ${pageUrl}  (Ctrl-C stops)`);
  await new Promise(() => {});
  return 0;
}
