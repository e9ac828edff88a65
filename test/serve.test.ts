// refsim serve (issue 15 item 7): only the page's own files (dist/web, dist/src/**.js),
// GET and HEAD only, files streamed rather than read whole, and the Host header must
// name the bound address (DNS rebinding).
import { test } from "uvu";
import * as assert from "uvu/assert";
import { request } from "node:http";
import { mkdirSync, mkdtempSync, symlinkSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startServer, hostAllowed } from "../src/cli/serve.ts";

// A package root as refsim serve sees it, with what must never be served beside the page.
const ROOT = mkdtempSync(join(tmpdir(), "refsim-serve-"));
for (const d of ["dist/web", "dist/src/core", ".git", "node_modules/x", "src"]) mkdirSync(join(ROOT, d), { recursive: true });
writeFileSync(join(ROOT, "dist/web/index.html"), "<!doctype html><title>page</title>");
writeFileSync(join(ROOT, "dist/src/core/engine.js"), "export const x = 1;\n");
writeFileSync(join(ROOT, "dist/src/core/engine.d.ts"), "export declare const x: number;\n");
writeFileSync(join(ROOT, ".git/config"), "[core]\n");
writeFileSync(join(ROOT, "node_modules/x/index.js"), "secret\n");
writeFileSync(join(ROOT, "package.json"), "{}\n");
writeFileSync(join(ROOT, "src/secret.ts"), "secret\n");
symlinkSync(join(ROOT, ".git/config"), join(ROOT, "dist/web/config"));
const BIG = 64 << 20;
writeFileSync(join(ROOT, "dist/web/big.json"), "");
truncateSync(join(ROOT, "dist/web/big.json"), BIG); // sparse: 64 MiB of zeros

interface Reply { status: number; headers: Record<string, string | string[] | undefined>; body: string }

function get(port: number, path: string, o: { method?: string; host?: string | null } = {}): Promise<Reply> {
  return new Promise((ok, fail) => {
    const headers: Record<string, string> = {};
    if (o.host !== null) headers.host = o.host ?? `127.0.0.1:${port}`;
    const req = request({ host: "127.0.0.1", port, path, method: o.method ?? "GET", headers, setHost: false }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (c) => { body += c; });
      res.on("end", () => ok({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on("error", fail);
    req.end();
  });
}

test("serves the page and its compiled modules; HEAD has the length and no body; / redirects to the page", async () => {
  const { server } = await startServer(ROOT, 0);
  const port = (server.address() as { port: number }).port;
  try {
    const page = await get(port, "/dist/web/index.html");
    assert.is(page.status, 200);
    assert.match(page.body, /<title>page<\/title>/);
    assert.is(page.headers["content-type"], "text/html; charset=utf-8");
    assert.is((await get(port, "/dist/src/core/engine.js")).body, "export const x = 1;\n");
    const head = await get(port, "/dist/web/index.html", { method: "HEAD" });
    assert.is(head.status, 200);
    assert.is(head.headers["content-length"], String(page.body.length));
    assert.is(head.body, "");
    const root = await get(port, "/");
    assert.is(root.status, 302);
    assert.is(root.headers.location, "/dist/web/index.html");
    assert.is((await get(port, "/dist/web/")).status, 200, "a directory of the page serves its index.html");
  } finally {
    server.close();
  }
});

test("nothing but the page's files: .git, node_modules, package.json, sources, .d.ts, traversal and symlinks out are 404", async () => {
  const { server } = await startServer(ROOT, 0);
  const port = (server.address() as { port: number }).port;
  try {
    for (const path of ["/.git/config", "/node_modules/x/index.js", "/package.json", "/src/secret.ts", "/dist/src/core/engine.d.ts",
      "/dist/web/../../.git/config", "/dist/web/%2e%2e/%2e%2e/.git/config", "/dist/web/..%2f..%2f.git/config", "/dist/web/config",
      "/dist/web/index.html%00.js", "/dist/src/", "/dist", "//etc/passwd"]) {
      const r = await get(port, path);
      assert.is(r.status, 404, `${path}: ${r.status}`);
      assert.not.match(r.body, /secret|\[core\]/);
    }
    assert.is((await get(port, "/dist/web/%E0%A4%A")).status, 400, "a malformed escape is a bad request");
  } finally {
    server.close();
  }
});

test("GET and HEAD only: POST, PUT, DELETE, TRACE, OPTIONS and PATCH are 405 with Allow", async () => {
  const { server } = await startServer(ROOT, 0);
  const port = (server.address() as { port: number }).port;
  try {
    for (const method of ["POST", "PUT", "DELETE", "TRACE", "OPTIONS", "PATCH"]) {
      const r = await get(port, "/dist/web/index.html", { method });
      assert.is(r.status, 405, method);
      assert.is(r.headers.allow, "GET, HEAD");
      assert.not.match(r.body, /<title>/);
    }
  } finally {
    server.close();
  }
});

test("the Host header must name the bound address (DNS rebinding): other names, ports and none are 403", async () => {
  const { server } = await startServer(ROOT, 0);
  const port = (server.address() as { port: number }).port;
  try {
    for (const host of [`attacker.example:${port}`, `127.0.0.1.nip.io:${port}`, "127.0.0.1", `127.0.0.1:${port + 1}`, `[::1]:${port}`, ""]) {
      const r = await get(port, "/dist/web/index.html", { host });
      assert.is(r.status, 403, `Host ${host}`);
      assert.not.match(r.body, /<title>/);
    }
    assert.is((await get(port, "/dist/web/index.html", { host: null })).status, 400, "no Host at all: Node's HTTP/1.1 parser refuses it");
    assert.is((await get(port, "/dist/web/index.html", { host: `localhost:${port}` })).status, 200, "localhost names a loopback bind");
    assert.is((await get(port, "/dist/web/index.html", { host: `LOCALHOST:${port}` })).status, 200);
  } finally {
    server.close();
  }
  // binds to all interfaces accept IP literals and localhost, never DNS names
  assert.ok(hostAllowed("192.168.1.7:8080", "0.0.0.0", 8080));
  assert.ok(hostAllowed("[fe80::1]:8080", "::", 8080));
  assert.not.ok(hostAllowed("evil.example:8080", "0.0.0.0", 8080));
  assert.not.ok(hostAllowed("192.168.1.7:8080", "127.0.0.1", 8080));
  assert.ok(hostAllowed("[::1]:8080", "::1", 8080));
  assert.ok(hostAllowed("example.org", "example.org", 80), "a bind to a name accepts that name (port 80 implied)");
  assert.not.ok(hostAllowed("a:b:c", "127.0.0.1", 8080));
});

test("files are streamed: slow downloads of a 64 MiB file hold back a little of it each, not the whole file", async () => {
  const { server } = await startServer(ROOT, 0);
  const port = (server.address() as { port: number }).port;
  const external = () => { const m = process.memoryUsage(); return m.external + m.arrayBuffers; };
  const before = external();
  const clients: { destroy(): void }[] = [];
  const lengths: (string | undefined)[] = [];
  try {
    for (let i = 0; i < 6; i++) {
      await new Promise<void>((ok, fail) => {
        const req = request({ host: "127.0.0.1", port, path: "/dist/web/big.json" }, (res) => {
          lengths.push(res.headers["content-length"]);
          res.pause(); // a client that reads nothing: the server must stop reading too
          clients.push(res);
          ok();
        });
        req.on("error", fail);
        req.end();
      });
    }
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(lengths, Array(6).fill(String(BIG)));
    const grew = external() - before;
    console.log(`  6 paused downloads of a 64 MiB file: ${(grew / 2 ** 20).toFixed(1)} MiB more external memory (server and clients together)`);
    assert.ok(grew < 128 << 20, `6 paused downloads of 64 MiB hold ${(grew / 2 ** 20).toFixed(1)} MiB (a whole-file read holds 384 MiB)`);
  } finally {
    for (const c of clients) c.destroy();
    server.close();
  }
});

test.run();
