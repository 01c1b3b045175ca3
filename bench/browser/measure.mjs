#!/usr/bin/env node
// The benchmark's browser: one headless Chromium, driven line by line from Go
// (bench/browser/driver.go). One JSON command a line on stdin, one JSON answer a line on
// stdout: {"ok": true, ...} or {"ok": false, "error": "..."}.
//
//   {"launch": {"gpu": false}}   starts Chromium; gpu: a GPU canvas (SwiftShader where the
//                                machine has no GPU), else the software canvas
//   {"open": {"url", "login"?: {"url","username","password"}, "timeoutMs"?}}
//                                a new page (1100x850) at url, after the login form at
//                                login.url if given; waits until the page says it is
//                                connected (window.benchState) and has drawn
//   {"measure": {"ms", "profile"?}} with profile, a path: the page's JavaScript CPU profile
//                                of the window (CDP Profiler, .cpuprofile) is written there;
//                                result: main-thread task, script, layout and style time in
//                                CPU seconds (CDP Performance metrics in thread ticks) over
//                                metricsMs; frames (animation frames in which the page drew:
//                                canvas, WebGL or the document) and draws (canvas and WebGL
//                                calls, document changes) over pageMs; renderer: racgate's
//                                terminal renderer (dom, webgl), else "canvas"
//                                with keys ({"intervalMs"}): clicks the middle of the page,
//                                then presses a letter every intervalMs for the window;
//                                keys: how many, keyMs: each answered key's time from its
//                                keydown to the animation frame that drew after it
//   {"close": true}              closes the page
//   {"quit": true}
//
// playwright-core comes from the web client's node_modules (its devDependency).
import { writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { createInterface } from "node:readline";

const require = createRequire(new URL("../../webclient/package.json", import.meta.url));
const { chromium } = require("playwright-core");

const CHROMIUM = process.env.RACGATE_CHROMIUM || "/usr/bin/chromium";
const BASE_ARGS = ["--headless", "--no-sandbox", "--disable-quic", "--no-first-run",
  "--disable-background-networking", "--disable-component-update", "--disable-sync",
  // A page the bench does not look at must still draw every frame.
  "--disable-background-timer-throttling", "--disable-renderer-backgrounding",
  "--disable-backgrounding-occluded-windows"];
const SOFTWARE = ["--disable-gpu"];
const GPU = ["--use-angle=swiftshader", "--enable-unsafe-swiftshader", "--ignore-gpu-blocklist",
  "--enable-gpu-rasterization"];

// Counts, in the page, the animation frames in which the page drew: on a 2D canvas, with
// WebGL (xterm.js's WebGL renderer), or by changing the document (xterm.js's DOM
// renderer). A draw asks for the next animation frame, once; nothing runs while nothing is
// drawn, so the count costs a still page nothing and every client the same.
const COUNTER = `(() => {
  let frames = 0, draws = 0, pending = false;
  const drew = () => {
    draws++;
    if (keyAt >= 0) drawnAfterKey = true;
    if (!pending) { pending = true; requestAnimationFrame(frame); }
  };
  const wrap = (P, names) => {
    for (const name of names) {
      const orig = P[name];
      if (!orig) continue;
      P[name] = function (...a) { drew(); return orig.apply(this, a); };
    }
  };
  wrap(CanvasRenderingContext2D.prototype, ["drawImage", "putImageData", "fillRect", "fill", "clearRect"]);
  for (const GL of [globalThis.WebGLRenderingContext, globalThis.WebGL2RenderingContext]) {
    if (GL) wrap(GL.prototype, ["drawArrays", "drawElements", "drawArraysInstanced", "drawElementsInstanced"]);
  }
  new MutationObserver((records) => { for (const _ of records) drew(); })
    .observe(document, { subtree: true, childList: true, characterData: true });
  // Key to pixel: from a key's keydown (its timeStamp, when the browser took the key in)
  // to the start of the animation frame that draws after it. Only the latest key waits;
  // the screen must be still apart from the echo (the typing workload).
  let keyAt = -1, drawnAfterKey = false;
  const keyLatencies = [];
  addEventListener("keydown", (e) => { keyAt = e.timeStamp; drawnAfterKey = false; }, true);
  const frame = (ts) => {
    pending = false;
    frames++;
    if (keyAt >= 0 && drawnAfterKey) {
      keyLatencies.push(ts - keyAt);
      keyAt = -1;
    }
  };
  window.benchCounters = () => ({ frames, draws });
  window.benchKeys = () => keyLatencies.splice(0);
})();`;

let browser = null;
let page = null;
let cdp = null;

// A snapshot: the metrics carry their own timestamp (seconds), the page's counters the
// page's clock; a busy page answers late, so neither is node's.
async function metrics() {
  const { metrics } = await cdp.send("Performance.getMetrics");
  const m = Object.fromEntries(metrics.map((x) => [x.name, x.value]));
  const c = await page.evaluate(() => ({ ...window.benchCounters(), now: performance.now() }));
  return { task: m.TaskDuration ?? 0, script: m.ScriptDuration ?? 0, layout: m.LayoutDuration ?? 0,
    style: m.RecalcStyleDuration ?? 0, ts: m.Timestamp, frames: c.frames, draws: c.draws, now: c.now };
}

const COMMANDS = {
  async launch(v) {
    const args = [...BASE_ARGS, ...(v.gpu ? GPU : SOFTWARE)];
    browser = await chromium.launch({ executablePath: CHROMIUM, args, headless: true });
    return { version: browser.version() };
  },

  async open(v) {
    const timeout = v.timeoutMs ?? 20000;
    const ctx = await browser.newContext({ viewport: { width: 1100, height: 850 } });
    page = await ctx.newPage();
    page.setDefaultTimeout(timeout);
    await page.addInitScript(COUNTER);
    if (v.login) {
      await page.goto(v.login.url);
      await page.fill('[name="username"]', v.login.username);
      await page.fill('[name="password"]', v.login.password);
      await Promise.all([page.waitForNavigation(), page.press('[name="password"]', "Enter")]);
    }
    await page.goto(v.url);
    // racgate's page says so on its canvas; the peers' pages in window.benchState.
    await page.waitForFunction(() => {
      const s = document.querySelector("canvas#screen")?.dataset.state ?? window.benchState;
      if (typeof s === "string" && s.startsWith("ended")) throw new Error(`the page's session ${s}`);
      return s === "connected" && window.benchCounters().frames > 0;
    }, null, { timeout, polling: 50 });
    cdp = await ctx.newCDPSession(page);
    await cdp.send("Performance.enable", { timeDomain: "threadTicks" });
    return {};
  },

  async measure(v) {
    if (v.keys) {
      // Each client takes keys once its screen has focus: a click in the middle of it.
      await page.mouse.click(550, 425);
      await new Promise((r) => setTimeout(r, 300));
      await page.evaluate(() => window.benchKeys());
    }
    if (v.profile) {
      await cdp.send("Profiler.enable");
      await cdp.send("Profiler.setSamplingInterval", { interval: 200 });
      await cdp.send("Profiler.start");
    }
    const a = await metrics();
    let keys = 0;
    if (v.keys) {
      // Letters, one every intervalMs, for the window.
      for (const end = Date.now() + v.ms; Date.now() < end; keys++) {
        await page.keyboard.press(String.fromCharCode(97 + keys % 26));
        await new Promise((r) => setTimeout(r, v.keys.intervalMs));
      }
    } else {
      await new Promise((r) => setTimeout(r, v.ms));
    }
    const b = await metrics();
    const keyMs = v.keys ? await page.evaluate(() => window.benchKeys()) : [];
    if (v.profile) {
      const { profile } = await cdp.send("Profiler.stop");
      writeFileSync(v.profile, JSON.stringify(profile));
    }
    const { state, renderer } = await page.evaluate(() => ({
      state: document.querySelector("canvas#screen")?.dataset.state ?? window.benchState,
      // racgate's terminal says which of xterm.js's renderers it chose; the rest draw on
      // canvases.
      renderer: document.querySelector("[data-renderer]")?.dataset.renderer ?? "canvas",
    }));
    if (state !== "connected") throw new Error(`the page's session is ${state} at the end of the window`);
    return { renderer, keys, keyMs, task: b.task - a.task, script: b.script - a.script, layout: b.layout - a.layout,
      style: b.style - a.style, metricsMs: (b.ts - a.ts) * 1000,
      frames: b.frames - a.frames, draws: b.draws - a.draws, pageMs: b.now - a.now };
  },

  async close() {
    if (page) await page.context().close();
    page = cdp = null;
    return {};
  },

  async quit() {
    if (browser) await browser.close();
    browser = null;
    return {};
  },
};

const out = (o) => process.stdout.write(JSON.stringify(o) + "\n");
for await (const line of createInterface({ input: process.stdin })) {
  if (!line.trim()) continue;
  try {
    const cmd = JSON.parse(line);
    const [name] = Object.keys(cmd);
    const fn = COMMANDS[name];
    if (!fn) throw new Error(`unknown command ${name}`);
    out({ ok: true, ...(await fn(cmd[name])) });
    if (name === "quit") break;
  } catch (e) {
    out({ ok: false, error: String(e?.message ?? e) });
  }
}
if (browser) await browser.close();
