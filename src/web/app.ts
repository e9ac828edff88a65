/**
 * The browser page (dist/web/index.html): paste or pick a scenario, choose
 * schemes, run it in the page's own WASM engine (the library, unbundled ES
 * modules from dist/src/), and see the side-by-side table and each scheme's
 * timeline (live frames and `_refcount` atomics after every op, Chart.js).
 * Built-in scenarios come from dist/web/scenarios.json, written by
 * scripts/build-dist.mjs. Errors in a scenario are shown on the page.
 *
 * For tests: `document.body.dataset.state` is "ready" once the engine has loaded,
 * "done" after a run, "error" after a rejected scenario; `window.refsimPage`
 * holds the last run's schemes, outcomes and chart point counts.
 */
import { parseScenario, runScenario, resolveScheme, PRESET_NAMES, sideBySide, violationDetails, type ScenarioRun, type SchemeInput } from "../index.ts";
import { scenarioTimeline, type ScenarioTimeline } from "../experiment/timeline.ts";
import { seriesColor, seriesStyle, coincidences } from "../report/colors.ts";
import { coincideText } from "../report/html.ts";

/** Chart.js's UMD build, loaded by a classic script before this module. */
declare const Chart: new (el: HTMLCanvasElement, config: unknown) => { destroy(): void; data: { datasets: { data: unknown[] }[] } };

const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;
const charts: { destroy(): void }[] = [];
/** Coinciding series of each chart, by canvas id (for the page's state and tests). */
const coincideNotes: Record<string, string[]> = {};
let builtins: Record<string, string> = {};

function schemeBoxes(names: string[], checked: string[]): void {
  const box = $("schemes");
  box.querySelectorAll("label").forEach((l) => l.remove());
  for (const n of names) {
    const label = document.createElement("label");
    const input = document.createElement("input");
    input.type = "checkbox";
    input.value = n;
    input.checked = checked.includes(n);
    label.append(input, ` ${n}`);
    box.append(label);
  }
}

/** Custom schemes a scenario defines in its own `schemes` list, by name. */
function customSchemes(text: string): Record<string, SchemeInput> {
  try {
    const sc = JSON.parse(text) as { schemes?: SchemeInput[] };
    const out: Record<string, SchemeInput> = {};
    for (const s of sc.schemes ?? []) if (typeof s === "object" && s && typeof (s as { name?: unknown }).name === "string") out[(s as { name: string }).name] = s;
    return out;
  } catch {
    return {};
  }
}

/** Scheme boxes for the presets and the scenario's custom schemes; checked: the scenario's list (or `keep`). */
function offerSchemes(text: string, keep?: string[]): void {
  let listed: string[] = [];
  try {
    const sc = JSON.parse(text) as { schemes?: SchemeInput[] };
    listed = (sc.schemes ?? []).map((s) => (typeof s === "string" ? s : (s as { name: string }).name));
  } catch {
    /* not JSON yet: keep the presets */
  }
  const custom = Object.keys(customSchemes(text));
  schemeBoxes([...PRESET_NAMES, ...custom.filter((c) => !PRESET_NAMES.includes(c))], keep ?? (listed.length ? listed : ["E0-devmap", "E0", "E2", "E4"]));
}

function showError(message: string): void {
  $("error").textContent = message;
  $("status").textContent = "";
  document.body.dataset.state = "error";
}

function lineChart(canvas: HTMLCanvasElement, title: string, yTitle: string, runs: ScenarioRun[], timelines: ScenarioTimeline[], pick: (t: ScenarioTimeline) => number[]) {
  const stepText = runs[0]?.stepText ?? [];
  // The scheme's fixed colour (as in the report), its own dash and marker; coinciding lines are named.
  const datasets = timelines.map((t, i) => ({
    label: runs[i].scheme,
    data: t.op.map((x, j) => ({ x, y: pick(t)[j], step: t.steps[j] })),
    borderColor: seriesColor(runs[i].scheme),
    backgroundColor: seriesColor(runs[i].scheme),
    ...seriesStyle(i),
    stepped: true,
  }));
  const coincide = coincidences(datasets.map((d) => ({ label: d.label, data: d.data.map((p) => p.y) })));
  coincideNotes[canvas.id] = coincide;
  return new Chart(canvas, {
    type: "line",
    data: { datasets },
    options: {
      animation: false,
      responsive: true,
      maintainAspectRatio: false,
      plugins: {
        title: { display: true, text: title },
        subtitle: { display: coincide.length > 0, text: coincideText(coincide), color: "#a33" },
        legend: { position: "bottom", labels: { usePointStyle: true } },
        tooltip: {
          callbacks: {
            title: (items: { raw: { x: number; step: number } }[]) => {
              const r = items[0]?.raw;
              return r ? `after op ${r.x}${r.step >= 0 ? `: step ${r.step + 1}, ${stepText[r.step]}` : ""}` : "";
            },
          },
        },
      },
      scales: { x: { type: "linear", title: { display: true, text: "ops executed" }, ticks: { stepSize: 1 } }, y: { beginAtZero: true, title: { display: true, text: yTitle } } },
    },
  });
}

async function run(): Promise<void> {
  $("error").textContent = "";
  document.body.dataset.state = "running";
  $("status").textContent = "running…";
  const text = $<HTMLTextAreaElement>("scenario").value;
  const custom = customSchemes(text);
  const chosen = [...$("schemes").querySelectorAll<HTMLInputElement>("input:checked")].map((i) => i.value);
  if (!chosen.length) return showError("choose at least one scheme");
  try {
    const loaded = parseScenario(text, "the scenario");
    const schemes = chosen.map((n) => resolveScheme(custom[n] ?? n));
    const names = schemes.map((s) => s.name);
    const runs: ScenarioRun[] = [];
    const timelines: ScenarioTimeline[] = [];
    for (const s of schemes) {
      runs.push(await runScenario(loaded, s, names));
      timelines.push(await scenarioTimeline(loaded, s));
    }
    const sc = loaded.scenario;
    $("title").textContent = `${sc.name}${sc.spec ? ` (spec ${sc.spec})` : ""}${sc.title ? `: ${sc.title}` : ""}`;
    $("description").textContent = sc.description ?? "";
    $("table").textContent = sideBySide(runs);
    const details = violationDetails(runs);
    $("details").hidden = !details;
    $("details").textContent = details ? `violations, with the step that caused them:\n${details}` : "";
    const steps = $("steps");
    steps.replaceChildren(...runs[0].stepText.map((t) => Object.assign(document.createElement("li"), { textContent: t })));
    steps.setAttribute("start", "1");
    while (charts.length) charts.pop()!.destroy();
    charts.push(lineChart($("chart-frames") as HTMLCanvasElement, "live frames after each op", "allocated page frames", runs, timelines, (t) => t.liveFrames));
    charts.push(lineChart($("chart-refcount") as HTMLCanvasElement, "_refcount atomics after each op (cumulative)", "_refcount RMWs", runs, timelines, (t) => t.refcountAtomics));
    (window as unknown as { refsimPage: unknown }).refsimPage = {
      scenario: sc.name,
      schemes: names,
      passed: runs.map((r) => r.passed),
      violations: runs.map((r) => r.violations.map((v) => v.kind)),
      points: timelines.map((t) => t.op.length),
      coincide: { ...coincideNotes },
    };
    $("status").textContent = `ran ${names.length} scheme(s): ${runs.every((r) => r.passed) ? "every expectation held" : "some expectations FAILED"}`;
    document.body.dataset.state = "done";
  } catch (e) {
    showError((e as Error).message);
  }
}

async function init(): Promise<void> {
  try {
    const res = await fetch(new URL("./scenarios.json", document.baseURI));
    builtins = res.ok ? ((await res.json()) as Record<string, string>) : {};
  } catch {
    builtins = {};
  }
  const select = $<HTMLSelectElement>("builtin");
  for (const name of Object.keys(builtins).sort()) select.append(new Option(name, name));
  select.addEventListener("change", () => {
    if (!select.value) return;
    $<HTMLTextAreaElement>("scenario").value = builtins[select.value];
    offerSchemes(builtins[select.value]);
  });
  $<HTMLInputElement>("file").addEventListener("change", async (ev) => {
    const f = (ev.target as HTMLInputElement).files?.[0];
    if (!f) return;
    const text = await f.text();
    $<HTMLTextAreaElement>("scenario").value = text;
    offerSchemes(text);
  });
  $<HTMLTextAreaElement>("scenario").addEventListener("change", (ev) => {
    const checked = [...$("schemes").querySelectorAll<HTMLInputElement>("input:checked")].map((i) => i.value);
    offerSchemes((ev.target as HTMLTextAreaElement).value, checked);
  });
  offerSchemes("");
  $("run").addEventListener("click", () => void run());
  ($("run") as HTMLButtonElement).disabled = false;
  $("status").textContent = "ready";
  document.body.dataset.state = "ready";
}

void init();
