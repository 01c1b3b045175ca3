#!/usr/bin/env node
// Drives the racgate web client in Debian's chromium through playwright-core.
//
// CLI:  RACGATE_URL=http://127.0.0.1:PORT node session.mjs steps.json
//       steps.json is a JSON list of steps (below); the results are written to stdout as
//       JSON {"ok": true, "results": [...]} and the exit code is 0; on the first failing
//       step {"ok": false, "failed": {"index", "step", "error"}, "results": [...]} and
//       exit code 1 (2 for bad usage).
// Library: const b = await openBrowser({ baseURL }); await b.run(step); await b.close().
//
// Steps (one key each, options beside it):
//   {"login": {"username","password"}}      fill the /login form and submit
//   {"open": "endpoint"}                    click a[data-endpoint=NAME] on /, else /connect/NAME
//   {"waitState": "connected", "timeoutMs"} wait for canvas#screen[data-state=...]
//   {"canvasPNG": "path"}                   save the canvas at framebuffer size as PNG
//   {"canvasRaw": "path"}                   save raw RGBA; result has width, height
//   {"type": "text"}                        type on the focused canvas, key by key
//   {"press": "Enter"}                      a key or chord (playwright names: "Control+c")
//   {"click": {"x","y","button"?}}          framebuffer coordinates
//   {"tap": {"x","y"}}                      a touch tap at framebuffer coordinates (needs hasTouch)
//   {"wheel": {"x","y","dx"?,"dy"}}         wheel in pixels at framebuffer coordinates
//   {"setViewport": {"width","height"}}
//   {"readClipboard": true}                 result: text
//   {"writeClipboard": "text"}              then tells the page it regained focus
//   {"readClipboardImage": true}            result: png (base64, "" while the clipboard has
//                                           no image/png), types (the clipboard item's)
//   {"writeClipboardImage": {"png","text"?}} one ClipboardItem of the PNG (base64) and the
//                                           text; then tells the page it regained focus
//   {"waitFor": {"selector","text"?,"timeoutMs"?}}
//   {"statusText": true}                    result: text of #status-text
//   {"noticeText": true}                    result: text and level ("info", "warning") of the NOTICE
//                                           shown in #notice; "" and "" while none shows
//   {"title": true}                         result: document.title
//   {"reconnect": true}                     click #reconnect
//   {"menu": true|false}                    open (close) the in-session menu: its handle
//                                           (#menu-handle), or Escape to close
//   {"sleep": ms}
//   {"terminalText": true}                  result: text = the terminal's visible lines joined by \n,
//                                           cols, rows, fontSize (window.racgateTerminal, xterm.js:
//                                           set by the test build of the page, below)
//   {"terminalType": "text"}                type into the terminal's textarea ("\n" is Enter)
//   {"answerPrompt": ["answer", ...], "timeoutMs"?}  wait for the login prompt form (form#prompt),
//                                           fill its inputs in order and submit; result: the
//                                           prompts' labels and input types. {"answerPrompt": null}
//                                           cancels it with Escape instead
// On a terminal endpoint, type and press go to the terminal instead of the hidden canvas.
//
// The page's script: the browser loads the test build, dist-test/client.js (npm run build
// makes it beside dist/), in place of the /static/client.js the server sends (and
// dist-test/sound-worklet.js for /static/sound-worklet.js). It is the same code with
// RACGATE_TEST_BUILD on, which sets window.racgateTerminal and window.racgateSound; the
// build racgate serves has no such hook.

import { chromium } from "playwright-core";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

export const CHROMIUM = process.env.RACGATE_CHROMIUM || "/usr/bin/chromium";
export const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];
const DEFAULT_TIMEOUT_MS = 15000;
/** The test build of the page's script (above). */
export const TEST_CLIENT = fileURLToPath(new URL("../../dist-test/client.js", import.meta.url));
// What the browser loads from the test build in place of the server's file: the page's
// script and its sound worklet.
const TEST_FILES = {
  "/static/client.js": TEST_CLIENT,
  "/static/sound-worklet.js": fileURLToPath(new URL("../../dist-test/sound-worklet.js", import.meta.url)),
  "/static/player.js": fileURLToPath(new URL("../../dist-test/player.js", import.meta.url)),
};

/**
 * openBrowser starts chromium with a fresh profile and one page (extraArgs: more
 * chromium flags; ignoreDefaultArgs: playwright's flags to leave out, as
 * ["--hide-scrollbars"] for real scrollbars). The returned object
 * runs steps (run), exposes the page, and close() removes the profile.
 */
export async function openBrowser({ baseURL, viewport = { width: 1024, height: 768 }, deviceScaleFactor = 1, hasTouch = false, timeoutMs = DEFAULT_TIMEOUT_MS, extraArgs = [], ignoreDefaultArgs } = {}) {
  if (!baseURL) throw new Error("no base URL (set RACGATE_URL)");
  const base = new URL(baseURL);
  if (!existsSync(TEST_CLIENT)) throw new Error(`${TEST_CLIENT} not built (npm run build)`);
  const profile = mkdtempSync(join(tmpdir(), "racgate-chromium-"));
  let context;
  try {
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: [...CHROMIUM_ARGS, ...extraArgs],
      ...(ignoreDefaultArgs ? { ignoreDefaultArgs } : {}),
      viewport,
      deviceScaleFactor,
      hasTouch,
      timeout: timeoutMs,
    });
  } catch (e) {
    rmSync(profile, { recursive: true, force: true });
    throw e;
  }
  await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: base.origin });
  await useTestClient(context, base);
  context.setDefaultTimeout(timeoutMs);
  const page = context.pages()[0] ?? (await context.newPage());
  const logs = [];
  page.on("console", (m) => {
    if (m.type() === "error" || m.type() === "warning") logs.push(`${m.type()}: ${m.text()}`);
  });
  page.on("pageerror", (e) => logs.push(`pageerror: ${e.message}`));

  const b = {
    page,
    context,
    logs,
    base,
    timeoutMs,
    run: (step) => runStep(b, step),
    async close() {
      try {
        await context.close();
      } finally {
        rmSync(profile, { recursive: true, force: true });
      }
    },
  };
  return b;
}

const url = (b, path) => new URL(path, b.base).toString();

// useTestClient answers the page's /static/client.js (and sound-worklet.js) with the test
// build (above): the server's response (status, headers) with the test build's bytes; a
// failed response (no client built) goes to the page as it is.
async function useTestClient(context, base) {
  await context.route(
    (u) => u.origin === base.origin && Object.hasOwn(TEST_FILES, u.pathname),
    async (route) => {
      const response = await route.fetch();
      if (!response.ok()) return route.fulfill({ response });
      const headers = { ...response.headers() };
      delete headers["content-length"];
      delete headers["content-encoding"];
      return route.fulfill({ response, headers, body: readFileSync(TEST_FILES[new URL(route.request().url()).pathname]) });
    },
  );
}

// fbToPage maps framebuffer pixel (x, y) to the centre of its page area.
async function fbToPage(page, x, y) {
  const p = await page.evaluate(
    ([x, y]) => {
      const c = document.getElementById("screen");
      const r = c.getBoundingClientRect();
      if (!c.width || !c.height || !r.width) return null;
      return { x: r.left + ((x + 0.5) * r.width) / c.width, y: r.top + ((y + 0.5) * r.height) / c.height };
    },
    [x, y],
  );
  if (!p) throw new Error("the canvas has no framebuffer yet");
  return p;
}

async function canvasRGBA(page) {
  return page.evaluate(() => {
    const c = document.getElementById("screen");
    const d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
    let s = "";
    for (let i = 0; i < d.length; i += 0x8000) s += String.fromCharCode.apply(null, d.subarray(i, i + 0x8000));
    return { width: c.width, height: c.height, b64: btoa(s) };
  });
}

async function focusCanvas(page) {
  await page.bringToFront();
  if (await page.isVisible("#terminal")) await focusTerminal(page);
  else await page.focus("#screen");
}

async function focusTerminal(page) {
  await page.bringToFront();
  await page.focus("#terminal .xterm-helper-textarea");
}

const STEPS = {
  async login(b, v) {
    await b.page.goto(url(b, "/login"));
    await b.page.fill('[name="username"]', String(v.username ?? ""));
    await b.page.fill('[name="password"]', String(v.password ?? ""));
    const nav = b.page.waitForNavigation({ timeout: b.timeoutMs }).catch(() => null);
    const submit = b.page.locator('form [type="submit"]');
    if (await submit.count()) await submit.first().click();
    else await b.page.press('[name="password"]', "Enter");
    await nav;
    return { url: b.page.url() };
  },

  async open(b, name) {
    const here = new URL(b.page.url() === "about:blank" ? url(b, "/") : b.page.url());
    if (here.origin !== b.base.origin || here.pathname !== "/") await b.page.goto(url(b, "/"));
    const link = b.page.locator(`a[data-endpoint="${String(name).replace(/["\\]/g, "\\$&")}"]`);
    let how = "link";
    if ((await link.count()) > 0) {
      const popup = b.context.waitForEvent("page", { timeout: 1000 }).catch(() => null);
      await link.first().click();
      const p = await popup;
      if (p) {
        // The link opened a new tab: drive that one from now on.
        b.page = p;
        b.cdp = null;
        p.on("pageerror", (e) => b.logs.push(`pageerror: ${e.message}`));
      }
      await b.page.waitForURL(/\/connect\//);
    } else {
      how = "url";
      await b.page.goto(url(b, `/connect/${encodeURIComponent(name)}`));
    }
    await b.page.waitForSelector("#screen", { state: "attached" });
    return { how, url: b.page.url() };
  },

  async waitState(b, state, step) {
    const timeout = step.timeoutMs ?? b.timeoutMs;
    try {
      await b.page.waitForSelector(`#screen[data-state="${state}"]`, { state: "attached", timeout });
    } catch (e) {
      const now = await b.page.evaluate(() => [document.getElementById("screen")?.dataset.state, document.getElementById("status-text")?.textContent]).catch(() => []);
      throw new Error(`state is ${now[0]} (${now[1]}), not ${state} after ${timeout} ms`);
    }
    return { state };
  },

  async canvasPNG(b, path) {
    const r = await b.page.evaluate(() => {
      const c = document.getElementById("screen");
      return { width: c.width, height: c.height, url: c.toDataURL("image/png") };
    });
    writeFileSync(path, Buffer.from(r.url.slice(r.url.indexOf(",") + 1), "base64"));
    return { path, width: r.width, height: r.height };
  },

  async canvasRaw(b, path) {
    const r = await canvasRGBA(b.page);
    writeFileSync(path, Buffer.from(r.b64, "base64"));
    return { path, width: r.width, height: r.height };
  },

  async type(b, text, step) {
    await focusCanvas(b.page);
    // Key by key, so that characters outside the US layout still make key events
    // (keyboard.type would insert them as text without any).
    for (const ch of String(text)) {
      try {
        await b.page.keyboard.press(ch === "\n" ? "Enter" : ch, { delay: step.delayMs ?? 5 });
      } catch (e) {
        if (!/Unknown key/.test(String(e?.message))) throw e;
        // Not on playwright's US layout: a key event carrying the character, as a
        // keyboard with that character on a key would make.
        b.cdp ??= await b.context.newCDPSession(b.page);
        await b.cdp.send("Input.dispatchKeyEvent", { type: "keyDown", key: ch, text: ch, unmodifiedText: ch });
        await b.cdp.send("Input.dispatchKeyEvent", { type: "keyUp", key: ch });
      }
    }
    return {};
  },

  async press(b, key) {
    await focusCanvas(b.page);
    await b.page.keyboard.press(String(key));
    return {};
  },

  async click(b, v) {
    const p = await fbToPage(b.page, Number(v.x), Number(v.y));
    await b.page.mouse.click(p.x, p.y, { button: v.button ?? "left" });
    return { pageX: p.x, pageY: p.y };
  },

  async tap(b, v) {
    const p = await fbToPage(b.page, Number(v.x), Number(v.y));
    await b.page.touchscreen.tap(p.x, p.y);
    return { pageX: p.x, pageY: p.y };
  },

  async wheel(b, v) {
    const p = await fbToPage(b.page, Number(v.x), Number(v.y));
    await b.page.mouse.move(p.x, p.y);
    await b.page.mouse.wheel(Number(v.dx ?? 0), Number(v.dy ?? 0));
    return {};
  },

  async setViewport(b, v) {
    await b.page.setViewportSize({ width: Number(v.width), height: Number(v.height) });
    return {};
  },

  async readClipboard(b) {
    await b.page.bringToFront();
    return { text: await b.page.evaluate(() => navigator.clipboard.readText()) };
  },

  async readClipboardImage(b) {
    await b.page.bringToFront();
    return b.page.evaluate(async () => {
      const [item] = await navigator.clipboard.read();
      if (!item?.types.includes("image/png")) return { png: "", types: item ? [...item.types] : [] };
      const bytes = new Uint8Array(await (await item.getType("image/png")).arrayBuffer());
      let s = "";
      for (const b of bytes) s += String.fromCharCode(b);
      return { png: btoa(s), types: [...item.types] };
    });
  },

  async writeClipboardImage(b, v) {
    await b.page.bringToFront();
    await b.page.evaluate(async ({ png, text }) => {
      const bytes = Uint8Array.from(atob(png), (c) => c.charCodeAt(0));
      const parts = { "image/png": new Blob([bytes], { type: "image/png" }) };
      if (text) parts["text/plain"] = new Blob([text], { type: "text/plain" });
      await navigator.clipboard.write([new ClipboardItem(parts)]);
      window.dispatchEvent(new Event("focus")); // the page syncs its clipboard on focus
    }, { png: String(v.png), text: v.text ?? "" });
    return {};
  },

  async writeClipboard(b, text) {
    await b.page.bringToFront();
    await b.page.evaluate(async (t) => {
      await navigator.clipboard.writeText(t);
      window.dispatchEvent(new Event("focus")); // the page syncs its clipboard on focus
    }, String(text));
    return {};
  },

  async waitFor(b, v) {
    const timeout = v.timeoutMs ?? b.timeoutMs;
    await b.page.waitForFunction(
      ([sel, text]) => {
        const e = document.querySelector(sel);
        return !!e && (text == null || (e.textContent ?? "").includes(text));
      },
      [v.selector, v.text ?? null],
      { timeout },
    );
    return {};
  },

  async statusText(b) {
    return { text: (await b.page.textContent("#status-text")) ?? "" };
  },

  async noticeText(b) {
    return b.page.evaluate(() => {
      const e = document.getElementById("notice");
      if (!e) throw new Error("no #notice in the page");
      const level = e.dataset.level ?? "";
      return { text: level ? (e.textContent ?? "") : "", level };
    });
  },

  async title(b) {
    return { text: await b.page.title() };
  },

  async reconnect(b) {
    await b.page.click("#reconnect");
    return {};
  },

  async menu(b, open) {
    const isOpen = () => b.page.evaluate(() => document.getElementById("status").dataset.open !== undefined);
    if ((await isOpen()) !== Boolean(open)) {
      if (open) await b.page.click("#menu-handle");
      else await b.page.click("#menu-close");
    }
    return { open: await isOpen() };
  },

  async terminalText(b) {
    return b.page.evaluate(() => {
      const t = window.racgateTerminal;
      if (!t) throw new Error("no terminal (window.racgateTerminal)");
      const buf = t.buffer.active;
      const lines = [];
      for (let y = buf.viewportY; y < buf.viewportY + t.rows; y++) lines.push(buf.getLine(y)?.translateToString(true) ?? "");
      return { text: lines.join("\n"), cols: t.cols, rows: t.rows, fontSize: t.options.fontSize };
    });
  },

  async terminalType(b, text, step) {
    await focusTerminal(b.page);
    for (const part of String(text).split(/(\n)/)) {
      if (part === "\n") await b.page.keyboard.press("Enter");
      else if (part) await b.page.keyboard.type(part, { delay: step.delayMs ?? 5 });
    }
    return {};
  },

  async answerPrompt(b, answers, step) {
    const timeout = step.timeoutMs ?? b.timeoutMs;
    await b.page.waitForSelector("form#prompt:not([hidden]) input[data-answer]", { timeout });
    const fields = await b.page.$$eval("form#prompt input[data-answer]", (inputs) =>
      inputs.map((i) => ({ label: i.labels?.[0]?.textContent ?? "", type: i.type })),
    );
    if (answers === null) {
      await b.page.press("form#prompt input[data-answer]", "Escape");
    } else {
      if (!Array.isArray(answers) || answers.length !== fields.length) {
        throw new Error(`the form asks ${fields.length} questions (${fields.map((f) => f.label).join(" | ")}); the step has ${JSON.stringify(answers)}`);
      }
      const inputs = b.page.locator("form#prompt input[data-answer]");
      for (let i = 0; i < answers.length; i++) await inputs.nth(i).fill(String(answers[i]));
      await b.page.click('form#prompt [type="submit"]');
    }
    await b.page.waitForSelector("form#prompt", { state: "hidden", timeout });
    return { fields };
  },

  async sleep(b, ms) {
    await new Promise((r) => setTimeout(r, Number(ms)));
    return {};
  },
  // soundOutput: the last `seconds` the page played (after its volume), at the
  // AudioContext's rate, each channel as base64 of little-endian float32 (test build).
  async soundOutput(b, seconds) {
    return await b.page.evaluate(async (s) => {
      const o = await window.racgateSound.output(s);
      const b64 = (f) => {
        const u8 = new Uint8Array(f.buffer, f.byteOffset, f.byteLength);
        let t = "";
        for (let i = 0; i < u8.length; i += 0x8000) t += String.fromCharCode.apply(null, u8.subarray(i, i + 0x8000));
        return btoa(t);
      };
      return { rate: o.rate, left: b64(o.left), right: b64(o.right) };
    }, Number(seconds));
  },
  // soundStats: the player's counters (underruns, delay, ...) and the AudioContext's state.
  async soundStats(b) {
    return { stats: await b.page.evaluate(() => window.racgateSound.stats()) };
  },
};

/** runStep runs one step object and returns its result (throws on failure). */
export async function runStep(b, step) {
  if (!step || typeof step !== "object") throw new Error(`a step must be an object, got ${JSON.stringify(step)}`);
  const name = Object.keys(STEPS).find((k) => k in step);
  if (!name) throw new Error(`unknown step ${JSON.stringify(step)}; steps: ${Object.keys(STEPS).join(", ")}`);
  const t0 = Date.now();
  const r = await STEPS[name](b, step[name], step);
  return { step: name, ...r, ms: Date.now() - t0 };
}

/** runSteps runs a list of steps in a fresh browser; never throws. */
export async function runSteps(steps, { baseURL, timeoutMs } = {}) {
  const results = [];
  let b;
  try {
    if (!Array.isArray(steps)) throw new Error("the steps file must hold a JSON list");
    b = await openBrowser({ baseURL, timeoutMs });
  } catch (e) {
    return { ok: false, failed: { index: -1, step: "launch", error: String(e?.message ?? e) }, results };
  }
  try {
    for (let i = 0; i < steps.length; i++) {
      try {
        results.push(await runStep(b, steps[i]));
      } catch (e) {
        return { ok: false, failed: { index: i, step: steps[i], error: String(e?.message ?? e) }, results, logs: b.logs };
      }
    }
    return { ok: true, results, logs: b.logs };
  } finally {
    await b.close().catch(() => {});
  }
}

async function main() {
  const file = process.argv[2];
  if (!file) {
    process.stderr.write("usage: RACGATE_URL=http://host:port node session.mjs steps.json\n");
    process.exit(2);
  }
  let steps;
  try {
    steps = JSON.parse(readFileSync(file, "utf8"));
  } catch (e) {
    process.stdout.write(JSON.stringify({ ok: false, failed: { index: -1, step: "read steps", error: String(e.message) }, results: [] }) + "\n");
    process.exit(2);
  }
  const out = await runSteps(steps, { baseURL: process.env.RACGATE_URL, timeoutMs: Number(process.env.RACGATE_STEP_TIMEOUT_MS) || undefined });
  process.stdout.write(JSON.stringify(out) + "\n");
  process.exit(out.ok ? 0 : 1);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) await main();
