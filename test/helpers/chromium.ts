// Headless Chromium for the browser tests: Debian's `chromium` driven by
// playwright-core (Playwright's own browser download does not work here).
//
// Without a Chromium binary the browser tests are reported as skipped, with the
// reason, in the test command's closing line ("N passed, N failed, N skipped"),
// so `npm test` passes on a fresh machine. CI sets REFSIM_REQUIRE_BROWSER=1 (and
// installs chromium in .ci/run): then a missing browser fails the tests instead.
// REFSIM_SKIP_BROWSER=1 skips them on purpose even where Chromium is installed.
import { accessSync, constants, existsSync } from "node:fs";
import type { Browser, Page } from "playwright-core";

/** REFSIM_CHROMIUM names the browser binary; otherwise Debian's and the usual places. */
const CANDIDATES = process.env.REFSIM_CHROMIUM ? [process.env.REFSIM_CHROMIUM] : ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"];

const INSTALL_HINT = "install it with 'apt-get install -y chromium' (as .ci/run does) or point REFSIM_CHROMIUM at a Chrome/Chromium binary";

function executable(p: string): boolean {
  try {
    accessSync(p, constants.X_OK);
    return existsSync(p);
  } catch {
    return false;
  }
}

/**
 * Whether the browser tests run here: `{ path }` when they do, `{ skip }` with the
 * reason when they are skipped. With REFSIM_REQUIRE_BROWSER=1 a missing browser is
 * not a reason to skip: `path` is then undefined and launching fails, naming the fix.
 */
export function browserAvailability(): { path?: string; skip?: string } {
  if (process.env.REFSIM_SKIP_BROWSER === "1") return { skip: "REFSIM_SKIP_BROWSER=1 was set" };
  const path = CANDIDATES.find(executable);
  if (path) return { path };
  if (process.env.REFSIM_REQUIRE_BROWSER === "1") return {};
  return { skip: `headless Chromium not found (looked for ${CANDIDATES.join(", ")}); ${INSTALL_HINT}` };
}

/**
 * The line scripts/test.mjs collects into the closing line: every skipped test
 * prints why it was skipped (e.g. "2 browser tests: headless Chromium not found ...").
 */
export function announceSkip(what: string, reason: string): void {
  console.log(`# refsim-skip: ${what}: ${reason}`);
}

export function chromiumPath(): string {
  const found = CANDIDATES.find(executable);
  if (!found) {
    throw new Error(`headless Chromium not found (looked for ${CANDIDATES.join(", ")}) and REFSIM_REQUIRE_BROWSER=1 requires it: ${INSTALL_HINT}.`);
  }
  return found;
}

/**
 * Launch Chromium with the flags this machine needs (no background networking:
 * the network is closed). Playwright gives every launch a fresh, empty profile
 * directory (--user-data-dir) of its own and removes it on close.
 */
export async function launch(): Promise<{ browser: Browser; close: () => Promise<void> }> {
  const { chromium } = await import("playwright-core");
  const browser = await chromium.launch({
    executablePath: chromiumPath(),
    headless: true,
    args: [
      "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync",
    ],
  });
  return {
    browser,
    close: () => browser.close(),
  };
}

/** Console errors and uncaught page errors, collected from a page. */
export function collectErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on("console", (m) => {
    if (m.type() === "error") errors.push(`console.error: ${m.text()}`);
  });
  page.on("pageerror", (e) => errors.push(`page error: ${e.message}`));
  page.on("requestfailed", (r) => errors.push(`request failed: ${r.url()} ${r.failure()?.errorText ?? ""}`));
  return errors;
}
