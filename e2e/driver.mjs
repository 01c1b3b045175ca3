#!/usr/bin/env node
// Line-mode driver for the Go end-to-end tests: one JSON step per line on stdin (the step
// vocabulary of webclient/test/browser/session.mjs), one JSON result per line on stdout,
// {"ok": true, ...result} or {"ok": false, "error": "..."}. One browser for the whole run,
// so the Go test can act on the remote machine between steps.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { createInterface } from "node:readline";
import { openBrowser, runStep } from "../webclient/test/browser/session.mjs";

const out = (o) => process.stdout.write(JSON.stringify(o) + "\n");

// axe-core's browser bundle, from the web client's node_modules (a devDependency).
let axeSrc = null;
function axeSource() {
  if (axeSrc === null) {
    const require = createRequire(new URL("../webclient/package.json", import.meta.url));
    axeSrc = readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");
  }
  return axeSrc;
}

// Steps of the Go tests' own, beside session.mjs's (viewmode_test.go):
//   {"viewState": true}            the desktop's view mode as the page shows it: the toggle
//                                  (#view-mode), #view's mode, size and scroll, the canvas's
//                                  rect on the viewport, the stored choice, the focused element
//   {"scrollView": {"x","y"}}      scrolls #view (as its scrollbars would); result: where it got
//   {"clickSelector": "css"}       clicks the element (playwright's checks: visible, enabled)
//   {"reload": true}               reloads the page
//   {"screenshot": "path"}         the viewport as a PNG file
//   {"setInputFiles": {"selector","path"}}  gives a file input the file at path (files_test.go)
//   {"download": "css"}            clicks a download link and waits for the download;
//                                  result: path (where it was saved), name (the suggested name)
//   {"dropFile": {"selector","name","text"}}  drops a file of that name and text on the element
//   {"expectDownload": true}       from now on, waits for the page's next download (one the
//                                  page starts by itself); {"takeDownload": true} then waits
//                                  for it to finish; result: path, name
//   {"text": "css"}                the element's textContent ("" without one)
//   {"goto": "/path"}              loads a page of the gateway (forwardauth_test.go)
//   {"fill": {"selector","value"}} types value into a form field (oidc_test.go)
//   {"clickAndWait": "css"}        clicks, then waits for the navigation it starts, redirects
//                                  and all, to load; result: where it ended
//   {"key": "ArrowDown"}           presses a key where the focus is (launcher_test.go)
//   {"keyAndWait": "Enter"}        the same, then waits for the navigation it starts
//   {"visible": "css"}             result: count of the matching elements that are shown
//   {"active": true}               result: the focused element's id, endpoint (data-endpoint)
//                                  and the page's URL
//   {"axe": true}                  runs axe-core (WCAG 2.1 A and AA rules) on the page; result:
//                                  violations [{id, impact, help, targets}] (a11y_test.go)
//   {"selectOption": {"selector","value"}}  picks a <select>'s option by value (share_test.go)
//   {"value": "css"}               result: the form field's value ("" without one)
//   {"seekPlayer": ms}             the recording player: moves #seek to ms (at most the end) as a
//                                  user would and waits until #player's data-drawn says that
//                                  picture is drawn;
//                                  result: elapsed (ms from the change to drawn, measured in the
//                                  page) (player_test.go)
const EXTRA = {
  async seekPlayer(b, ms) {
    return b.page.evaluate(
      (ms) =>
        new Promise((resolve, reject) => {
          const player = document.getElementById("player");
          const seek = document.getElementById("seek");
          const t0 = performance.now();
          let want = String(ms);
          const obs = new MutationObserver(() => {
            if (player.dataset.drawn === want) {
              obs.disconnect();
              clearTimeout(timer);
              resolve({ elapsed: performance.now() - t0 });
            }
          });
          const timer = setTimeout(() => {
            obs.disconnect();
            reject(new Error(`the player did not draw ${ms} ms (data-drawn ${player.dataset.drawn}, note "${document.getElementById("note").textContent}")`));
          }, 10000);
          obs.observe(player, { attributes: true, attributeFilter: ["data-drawn"] });
          seek.value = String(ms);
          want = String(Math.round(Number(seek.value))); // the slider keeps within the recording
          seek.dispatchEvent(new Event("input", { bubbles: true }));
          seek.dispatchEvent(new Event("change", { bubbles: true }));
        }),
      Number(ms),
    );
  },
  async axe(b) {
    // Evaluated through the DevTools protocol, which the pages' CSP does not govern.
    if (!(await b.page.evaluate(() => typeof window.axe === "object"))) await b.page.evaluate(axeSource());
    const r = await b.page.evaluate(() => window.axe.run(document, { runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"] } }));
    return {
      violations: r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, targets: v.nodes.map((n) => n.target.join(" ")).slice(0, 5) })),
    };
  },
  async key(b, k) {
    await b.page.keyboard.press(String(k));
    return { url: b.page.url() };
  },
  async keyAndWait(b, k) {
    await Promise.all([b.page.waitForNavigation({ timeout: b.timeoutMs, waitUntil: "load" }), b.page.keyboard.press(String(k))]);
    return { url: b.page.url() };
  },
  async visible(b, sel) {
    return { count: await b.page.evaluate((s) => [...document.querySelectorAll(s)].filter((e) => e.offsetParent !== null).length, String(sel)) };
  },
  async active(b) {
    return b.page.evaluate(() => ({ id: document.activeElement?.id ?? "", endpoint: document.activeElement?.dataset?.endpoint ?? "", url: location.href }));
  },
  async fill(b, v) {
    await b.page.fill(String(v.selector), String(v.value));
    return {};
  },
  async clickAndWait(b, sel) {
    await Promise.all([b.page.waitForNavigation({ timeout: b.timeoutMs, waitUntil: "load" }), b.page.click(String(sel))]);
    return { url: b.page.url() };
  },
  async goto(b, path) {
    await b.page.goto(new URL(String(path), b.base).href);
    return { url: b.page.url() };
  },
  async selectOption(b, v) {
    await b.page.selectOption(String(v.selector), String(v.value));
    return {};
  },
  async value(b, sel) {
    return { value: await b.page.evaluate((s) => document.querySelector(s)?.value ?? "", String(sel)) };
  },
  async text(b, sel) {
    return { text: await b.page.evaluate((s) => document.querySelector(s)?.textContent ?? "", String(sel)) };
  },
  async viewState(b) {
    return b.page.evaluate(() => {
      const c = document.getElementById("screen");
      const v = document.getElementById("view");
      const t = document.getElementById("view-mode");
      const r = c.getBoundingClientRect();
      let stored = null;
      try {
        stored = localStorage.getItem("racgate.viewMode");
      } catch {
        /* none */
      }
      return {
        toggle: t && {
          shown: !t.hidden && getComputedStyle(t).display !== "none",
          pressed: t.getAttribute("aria-pressed"),
          text: t.textContent,
          title: t.title,
          tag: t.tagName,
        },
        mode: v.dataset.viewMode ?? "",
        stored,
        state: c.dataset.state,
        canvas: { width: c.width, height: c.height, left: r.left, top: r.top, cssWidth: r.width, cssHeight: r.height },
        view: {
          clientWidth: v.clientWidth, clientHeight: v.clientHeight, scrollWidth: v.scrollWidth, scrollHeight: v.scrollHeight,
          scrollLeft: v.scrollLeft, scrollTop: v.scrollTop, overflow: getComputedStyle(v).overflow,
        },
        active: document.activeElement?.id ?? "",
        dpr: window.devicePixelRatio,
      };
    });
  },
  async scrollView(b, v) {
    return b.page.evaluate(async ([x, y]) => {
      const e = document.getElementById("view");
      e.scrollTo(x, y);
      await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
      return { scrollLeft: e.scrollLeft, scrollTop: e.scrollTop };
    }, [Number(v.x), Number(v.y)]);
  },
  async clickSelector(b, sel) {
    await b.page.click(String(sel));
    return {};
  },
  async reload(b) {
    await b.page.reload();
    await b.page.waitForSelector("#screen", { state: "attached" });
    return { url: b.page.url() };
  },
  async screenshot(b, path) {
    await b.page.screenshot({ path: String(path), type: "png" });
    return { path };
  },
  async setInputFiles(b, v) {
    await b.page.setInputFiles(String(v.selector), String(v.path));
    return {};
  },
  async download(b, sel) {
    const [d] = await Promise.all([b.page.waitForEvent("download", { timeout: b.timeoutMs }), b.page.click(String(sel))]);
    const path = await d.path(); // waits for the whole download
    const failure = await d.failure();
    if (failure) throw new Error(`download failed: ${failure}`);
    return { path, name: d.suggestedFilename() };
  },
  async expectDownload(b) {
    b.nextDownload = b.page.waitForEvent("download", { timeout: 60000 });
    b.nextDownload.catch(() => {}); // taken, or its timeout reported, by takeDownload
    return {};
  },
  async takeDownload(b) {
    const d = await b.nextDownload;
    b.nextDownload = null;
    const path = await d.path();
    const failure = await d.failure();
    if (failure) throw new Error(`download failed: ${failure}`);
    return { path, name: d.suggestedFilename() };
  },
  async dropFile(b, v) {
    await b.page.evaluate(([sel, name, text]) => {
      const dt = new DataTransfer();
      dt.items.add(new File([text], name));
      const el = document.querySelector(sel);
      el.dispatchEvent(new DragEvent("dragover", { dataTransfer: dt, bubbles: true, cancelable: true }));
      el.dispatchEvent(new DragEvent("drop", { dataTransfer: dt, bubbles: true, cancelable: true }));
    }, [String(v.selector), String(v.name), String(v.text)]);
    return {};
  },
};

async function run(b, step) {
  const name = step && typeof step === "object" ? Object.keys(EXTRA).find((k) => k in step) : undefined;
  if (!name) return runStep(b, step);
  const t0 = Date.now();
  const r = await EXTRA[name](b, step[name], step);
  return { step: name, ...r, ms: Date.now() - t0 };
}

let b;
try {
  // Sound plays without a click first: the sound tests read what the page played.
  b = await openBrowser({ baseURL: process.env.RACGATE_URL, extraArgs: ["--autoplay-policy=no-user-gesture-required"] });
} catch (e) {
  out({ ok: false, error: `launch: ${e?.message ?? e}` });
  process.exit(1);
}
const lines = createInterface({ input: process.stdin, crlfDelay: Infinity });
for await (const line of lines) {
  if (!line.trim()) continue;
  try {
    out({ ok: true, ...(await run(b, JSON.parse(line))) });
  } catch (e) {
    out({ ok: false, error: String(e?.message ?? e), logs: b.logs?.slice(-20) });
  }
}
await b.close().catch(() => {});
