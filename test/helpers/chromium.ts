// Headless Chromium for the browser tests: Debian's `chromium` driven by
// playwright-core (Playwright's own browser download does not work here). With no
// chromium installed the tests FAIL, naming the fix, unless REFSIM_SKIP_BROWSER=1
// is set on purpose; CI installs it in .ci/run.
import { existsSync } from "node:fs";
import type { Browser, Page } from "playwright-core";

export const SKIP_BROWSER = process.env.REFSIM_SKIP_BROWSER === "1";

/** REFSIM_CHROMIUM names the browser binary; otherwise Debian's and the usual places. */
const CANDIDATES = process.env.REFSIM_CHROMIUM ? [process.env.REFSIM_CHROMIUM] : ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"];

export function chromiumPath(): string {
  const found = CANDIDATES.find((p) => existsSync(p));
  if (!found) {
    throw new Error(
      `headless Chromium not found (looked for ${CANDIDATES.join(", ")}). Install it with 'apt-get install -y chromium' ` +
        `(as .ci/run does), point REFSIM_CHROMIUM at a Chrome/Chromium binary, or set REFSIM_SKIP_BROWSER=1 to skip the browser tests explicitly.`,
    );
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
