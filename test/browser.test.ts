// Headless Chromium (Debian's chromium + playwright-core): the HTML report that
// `refsim report` writes renders with data in every chart and no console error,
// and the browser page served by `refsim serve` runs a scenario in its own WASM
// engine, shows the side-by-side table and the timeline. Without chromium these
// tests are skipped with the reason in the closing line, unless REFSIM_REQUIRE_BROWSER=1
// (CI) makes them fail (see test/helpers/chromium.ts).
import { test } from "uvu";
import * as assert from "uvu/assert";
import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import type { Browser } from "playwright-core";
import { launch, collectErrors, browserAvailability, announceSkip } from "./helpers/chromium.ts";
import { ensureDist, ROOT } from "./helpers/dist.ts";
import { startServer } from "../src/cli/serve.ts";
import { seriesColor } from "../src/report/colors.ts";
import { PLAIN_ENV } from "./helpers/cli.ts";

const TMP = join(ROOT, "tmp", "test-browser");
let browser: Browser | undefined;
let close: (() => Promise<void>) | undefined;

async function chromium(): Promise<Browser> {
  if (!browser) ({ browser, close } = await launch());
  return browser;
}

function refsim(...args: string[]) {
  const r = spawnSync(process.execPath, ["--import", "tsx", "src/cli/main.ts", ...args], { cwd: ROOT, encoding: "utf8", env: PLAIN_ENV });
  assert.ok(r.status === 0 || r.status === 1, `refsim ${args.join(" ")}: exit ${r.status}\n${r.stderr}`);
  return r;
}

const available = browserAvailability();
/** A Chromium test, or a skipped one (counted, with the reason printed once) when there is no browser. */
const browserTest: (name: string, fn: () => Promise<void>) => void = available.skip ? test.skip : test;

{
  browserTest("report: refsim report writes one self-contained HTML file whose charts render with data, no console errors", async () => {
    mkdirSync(TMP, { recursive: true });
    const sweep = join(TMP, "sweep.json");
    writeFileSync(sweep, JSON.stringify({
      name: "browser-report", schemes: ["E0-devmap", "E0", "E2"], scenarios: ["seed"],
      workloads: [{ workload: "seed-churn", params: { rounds: 6 } }, { workload: "fork-cost", params: { pages: 64 } }], seeds: [1, 2], every: 4,
    }));
    refsim("sweep", sweep, "--workers", "2", "--out", join(TMP, "results.json"));
    refsim("report", join(TMP, "results.json"), "--out", join(TMP, "report.html"));
    const html = readFileSync(join(TMP, "report.html"), "utf8");
    assert.not.match(html, /<script[^>]+src=/, "no external scripts: self-contained");
    assert.ok(readFileSync(join(TMP, "report.md"), "utf8").startsWith("# refsim sweep: browser-report"), "Markdown summary beside it");

    const page = await (await chromium()).newPage({ viewport: { width: 1280, height: 900 } });
    const errors = collectErrors(page);
    await page.goto(pathToFileURL(join(TMP, "report.html")).href);
    await page.waitForSelector("body[data-charts]", { timeout: 15000 });
    const charts = await page.evaluate(() => (window as unknown as { refsimReport: { charts: { id: string; points: number; datasets: number }[] } }).refsimReport.charts);
    const ids = charts.map((c) => c.id);
    assert.ok(ids.includes("violations-by-kind") && ids.includes("throughput"), `per-scheme and per-experiment charts: ${ids}`);
    assert.ok(ids.some((i) => i.startsWith("live-frames-")) && ids.some((i) => i.startsWith("refcount-")), `time-series charts: ${ids}`);
    for (const c of charts) assert.ok(c.points > 0 && c.datasets > 0, `chart ${c.id} has data`);
    // The violations chart shows E0-devmap's leaks; Chart.js drew something on every canvas.
    const drawn = await page.evaluate(() => [...document.querySelectorAll("canvas")].map((c) => {
      const d = (c as HTMLCanvasElement).getContext("2d")!.getImageData(0, 0, c.width, c.height).data;
      let ink = 0;
      for (let i = 3; i < d.length; i += 4) if (d[i]) ink++;
      return ink;
    }));
    assert.ok(drawn.length === charts.length && drawn.every((n) => n > 500), `every canvas has ink: ${drawn}`);
    const leak = await page.evaluate(() => {
      const C = (window as unknown as { Chart: { getChart(id: string): { data: { labels: string[]; datasets: { label: string; data: number[] }[] } } } }).Chart;
      const ch = C.getChart("violations-by-kind");
      const i = ch.data.labels.indexOf("E0-devmap");
      return ch.data.datasets.find((d) => d.label === "leak_page")?.data[i] ?? 0;
    });
    assert.ok(leak > 0, "E0-devmap's leaked pages are charted");
    // Every series visible: in each line chart the schemes differ in dash or marker, each has its
    // fixed colour, and series that coincide are named under the title.
    const lines = await page.evaluate(() => (window as unknown as { refsimReport: { charts: { id: string; type: string; coincide: string[]; styles: { label: string; color: string; dash: number[]; point: string }[] }[] } }).refsimReport.charts.filter((c) => c.type === "line"));
    assert.ok(lines.length >= 4, `line charts: ${lines.length}`);
    let coincident = 0;
    for (const c of lines) {
      const looks = c.styles.map((x) => `${x.dash.join("-")}|${x.point}`);
      assert.is(new Set(looks).size, looks.length, `${c.id}: every series has its own dash and marker: ${looks}`);
      for (const x of c.styles) assert.is(x.color, seriesColor(x.label), `${c.id}: ${x.label} has its fixed colour`);
      coincident += c.coincide.length;
    }
    assert.ok(coincident > 0, "some series coincide in this sweep, and the charts say so");
    const subtitles = await page.evaluate(() => {
      const C = (window as unknown as { Chart: { getChart(id: string): { options: { plugins: { subtitle: { display: boolean; text: string } } } } } }).Chart;
      return [...document.querySelectorAll("canvas")].map((el) => C.getChart(el.id)?.options.plugins.subtitle).filter((x) => x?.display).map((x) => x!.text);
    });
    assert.ok(subtitles.length > 0 && subtitles.every((t) => /coincide/.test(t)), `coincidence notes drawn: ${subtitles}`);
    assert.equal(errors, [], "no console errors");
    await page.screenshot({ path: join(TMP, "report.png"), fullPage: true });
    await page.close();
  });

  browserTest("page: refsim serve's page runs a built-in scenario and a pasted one in its own WASM engine", async () => {
    await ensureDist();
    const { server, pageUrl, url } = await startServer(ROOT, 0);
    try {
      const page = await (await chromium()).newPage({ viewport: { width: 1280, height: 1000 } });
      const errors = collectErrors(page);
      await page.goto(`${url}/`);
      await page.waitForSelector("body[data-state=ready]", { timeout: 15000 });
      assert.is(page.url(), pageUrl, "/ redirects to the page");

      // Pick the built-in seed scenario: its schemes are preselected.
      await page.selectOption("#builtin", "seed");
      await page.click("#run");
      await page.waitForSelector("body[data-state=done], body[data-state=error]", { timeout: 15000 });
      assert.is(await page.textContent("#error"), "", "no error shown");
      const r = await page.evaluate(() => (window as unknown as { refsimPage: { schemes: string[]; passed: boolean[]; violations: string[][]; points: number[] } }).refsimPage);
      assert.equal([...r.schemes].sort(), ["E0", "E0-devmap", "E2", "E4"], "the scenario's schemes");
      assert.ok(r.passed.every(Boolean), "every expectation held");
      assert.equal(r.violations[r.schemes.indexOf("E0-devmap")], ["leak_page", "leak_bo"], "E0-devmap leaks page and BO");
      assert.ok(r.points.every((n) => n > 5), "a timeline point per op");
      const table = (await page.textContent("#table")) ?? "";
      assert.match(table, /after munmap: state\s+.*live ok/, "side-by-side table");
      assert.ok(((await page.textContent("#details")) ?? "").includes("leak_page at step"), "violations tied to steps");

      // Pick a scenario file: it fills the editor and offers its schemes.
      await page.setInputFiles("#file", join(ROOT, "scenarios", "coherent-wp-after-fork.json"));
      await page.waitForFunction(() => (document.getElementById("scenario") as HTMLTextAreaElement).value.includes("coherent-wp-after-fork"), null, { timeout: 15000 });
      await page.click("#run");
      await page.waitForFunction(() => (window as unknown as { refsimPage?: { scenario: string } }).refsimPage?.scenario === "coherent-wp-after-fork", null, { timeout: 15000 });
      const picked = await page.evaluate(() => (window as unknown as { refsimPage: { passed: boolean[] } }).refsimPage);
      assert.ok(picked.passed.length > 0 && picked.passed.every(Boolean), "picked file runs and passes");

      // Paste a scenario of one's own and choose the schemes by hand.
      const own = {
        name: "pasted", steps: [
          { op: "mm_new", as: "p" }, { op: "mmap", mm: "p", length: "8K", as: "a" },
          { op: "write", mm: "p", addr: "a", value: 1 }, { op: "write", mm: "p", addr: "a+4K", value: 2 },
          { op: "munmap", mm: "p", addr: "a", length: "8K" }, { op: "teardown" },
          { expect: { violations: {} } },
        ],
      };
      await page.fill("#scenario", JSON.stringify(own));
      for (const s of ["E0", "E0-devmap", "E2", "E4"]) await page.uncheck(`#schemes input[value="${s}"]`);
      await page.check('#schemes input[value="E1"]');
      await page.check('#schemes input[value="E3"]');
      await page.click("#run");
      await page.waitForFunction(() => (window as unknown as { refsimPage?: { scenario: string } }).refsimPage?.scenario === "pasted", null, { timeout: 15000 });
      const p = await page.evaluate(() => (window as unknown as { refsimPage: { schemes: string[]; passed: boolean[]; points: number[] } }).refsimPage);
      assert.equal(p.schemes, ["E1", "E3"]);
      assert.ok(p.passed.every(Boolean) && p.points.every((n) => n === 7), `pasted run: ${JSON.stringify(p)}`);
      const datasets = await page.evaluate(() => {
        const C = (window as unknown as { Chart: { getChart(id: string): { data: { datasets: { data: unknown[] }[] } } } }).Chart;
        return ["chart-frames", "chart-refcount"].map((id) => C.getChart(id)!.data.datasets.map((d) => d.data.length));
      });
      assert.equal(datasets, [[7, 7], [7, 7]], "timeline charts: one line per scheme, a point per op");
      // E1 and E3 agree on this scenario: both lines are drawn (own dash and marker) and the page says they coincide.
      const looks = await page.evaluate(() => {
        const C = (window as unknown as { Chart: { getChart(id: string): { data: { datasets: { label: string; borderColor: string; borderDash: number[]; pointStyle: string }[] }; options: { plugins: { subtitle: { text: string; display: boolean } } } } } }).Chart;
        return ["chart-frames", "chart-refcount"].map((id) => ({ sets: C.getChart(id)!.data.datasets.map((d) => ({ label: d.label, color: d.borderColor, look: `${d.borderDash}|${d.pointStyle}` })), note: C.getChart(id)!.options.plugins.subtitle }));
      });
      for (const c of looks) {
        assert.is(new Set(c.sets.map((d) => d.look)).size, 2, "two looks");
        for (const d of c.sets) assert.is(d.color, seriesColor(d.label), "the scheme's fixed colour, as in the report");
        assert.ok(c.note.display && /E1 and E3 coincide/.test(c.note.text), `coincidence noted: ${JSON.stringify(c.note)}`);
      }
      await page.screenshot({ path: join(TMP, "page-pasted.png"), fullPage: true });

      // A broken scenario is reported on the page, not thrown into the console.
      await page.fill("#scenario", '{"name": "bad", "steps": [{"op": "mmap", "mm": "nobody", "length": "4K"}]}');
      await page.click("#run");
      await page.waitForFunction(() => document.body.dataset.state !== "running", null, { timeout: 15000 });
      const shown = await page.evaluate(() => ({ state: document.body.dataset.state, table: document.getElementById("table")!.textContent, error: document.getElementById("error")!.textContent }));
      assert.ok(shown.state === "error" ? /nobody|name|line/i.test(shown.error ?? "") : /ERROR/.test(shown.table ?? ""), `bad scenario shown: ${JSON.stringify(shown)}`);
      assert.equal(errors, [], "no console errors");
      await page.screenshot({ path: join(TMP, "page.png"), fullPage: true });
      await page.close();
    } finally {
      server.close();
    }
  });

  browserTest("compare --out: log-scale CPU and speed-up axes, fixed counter colours, every series visible", async () => {
    mkdirSync(TMP, { recursive: true });
    const out = join(TMP, "compare.html");
    refsim("compare", "--cpus", "1,2,4,8,16,32,64,128", "--counters", "atomic,percpu,refcache", "--ops", "4000", "--out", out);
    const page = await (await chromium()).newPage({ viewport: { width: 1280, height: 900 } });
    const errors = collectErrors(page);
    await page.goto(pathToFileURL(out).href);
    await page.waitForSelector("body[data-charts]", { timeout: 15000 });
    const charts = await page.evaluate(() => (window as unknown as { refsimCompare: { charts: { id: string; xType: string; yType: string; coincide: string[]; styles: { label: string; color: string; dash: number[]; point: string }[] }[] } }).refsimCompare.charts);
    assert.equal(charts.map((c) => [c.id, c.xType, c.yType]), [["tput", "logarithmic", "logarithmic"], ["speedup", "logarithmic", "logarithmic"]]);
    for (const c of charts) {
      assert.is(new Set(c.styles.map((x) => `${x.dash}|${x.point}`)).size, 3, `${c.id}: three looks`);
      for (const x of c.styles) assert.is(x.color, seriesColor(x.label.split(" ")[1]), `${x.label}: the counter's colour`);
    }
    assert.ok(charts.every((c) => Array.isArray(c.coincide)), "coincidence is checked (percpu and refcache come close but differ here)");
    assert.equal(errors, [], "no console errors");
    await page.screenshot({ path: join(TMP, "compare.png"), fullPage: true });
    await page.close();
  });

  test.after(async () => {
    await close?.();
  });
}

if (available.skip) announceSkip("browser tests (test/browser.test.ts)", available.skip);
test.run();
