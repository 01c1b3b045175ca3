// Browser tests of the desktop's view modes (viewmode.ts) against the fake gateway, in
// Debian's chromium at devicePixelRatio 2 with real scrollbars: the "Actual size" toggle
// for a remote that cannot be resized, the canvas at one framebuffer pixel per device
// pixel, pointer mapping through the scrolled page area, the keyboard kept on the canvas,
// the stored choice. (e2e/viewmode_test.go does the same against Xvnc at dpr 1.)

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { startFakeServer } from "./fake_server.mjs";
import { openBrowser, CHROMIUM, TEST_CLIENT } from "./session.mjs";

// The menu handle's strip at the window's left edge (client.css): the desktop's area
// starts right of it, so client x is HANDLE more than the area's.
const HANDLE = 6;

const here = fileURLToPath(new URL(".", import.meta.url));
const required = process.env.RACGATE_BROWSER_TESTS === "1";
const skip = !existsSync(CHROMIUM) ? `no ${CHROMIUM}` : !existsSync(join(here, "../../dist/client.js")) || !existsSync(TEST_CLIENT) ? "dist/ not built (npm run build)" : false;
if (skip && required) throw new Error(`RACGATE_BROWSER_TESTS=1 but ${skip}`);

const wire = skip ? null : await import("../out/wire.mjs");
const enc = (...ms) => wire.encodeMessages(...ms);
const decode = (bytes) => {
  const out = [];
  wire.decodeMessages(bytes, (m) => out.push(m));
  return out;
};

const FLAG_RESIZE = 1;
const SIZES = { big: [3200, 2000], small: [600, 401], resizable: [3200, 2000] };
let server;
let b;
const conns = {};

before(async () => {
  if (skip) return;
  server = await startFakeServer({
    endpoints: Object.keys(SIZES),
    onSession: (c) => {
      conns[c.endpoint] = c;
      const [width, height] = SIZES[c.endpoint];
      const flags = 6 | (c.endpoint === "resizable" ? FLAG_RESIZE : 0);
      c.send(enc({ type: "HELLO", version: 1, kind: 0, flags, name: c.endpoint }, { type: "RESIZE", width, height }));
      c.send(enc({ type: "FILL", x: 0, y: 0, width, height, r: 40, g: 80, b: 120 }, { type: "FRAME", id: 1 }));
    },
  });
  // Playwright hides scrollbars in headless chromium: show them, as a user has them.
  b = await openBrowser({ baseURL: server.url, viewport: { width: 800 + HANDLE, height: 600 }, deviceScaleFactor: 2, ignoreDefaultArgs: ["--hide-scrollbars"] });
});

after(async () => {
  await b?.close();
  await server?.close();
});

const state = () =>
  b.page.evaluate(() => {
    const c = document.getElementById("screen");
    const v = document.getElementById("view");
    const t = document.getElementById("view-mode");
    const r = c.getBoundingClientRect();
    return {
      shown: !t.hidden && getComputedStyle(t).display !== "none",
      pressed: t.getAttribute("aria-pressed"),
      mode: v.dataset.viewMode,
      stored: localStorage.getItem("racgate.viewMode"),
      fb: [c.width, c.height],
      rect: [r.left, r.top, r.width, r.height],
      client: [v.clientWidth, v.clientHeight],
      scrollSize: [v.scrollWidth, v.scrollHeight],
      scroll: [v.scrollLeft, v.scrollTop],
      active: document.activeElement?.id ?? "",
      dpr: devicePixelRatio,
    };
  });

async function connect(endpoint) {
  await b.run({ open: endpoint });
  await b.run({ waitState: "connected", timeoutMs: 10000 });
  await conns[endpoint].next((msgs) => msgs.flatMap(decode).find((m) => m.type === "ACK" && m.id === 1), 10000, "ACK 1");
  return conns[endpoint];
}

async function scrollView(x, y) {
  return b.page.evaluate(async ([x, y]) => {
    const v = document.getElementById("view");
    v.scrollTo(x, y);
    await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
    return [v.scrollLeft, v.scrollTop];
  }, [x, y]);
}

// clickAt clicks the client point and returns the POINTER press it sent.
async function clickAt(conn, cx, cy) {
  const from = conn.messages.length;
  await b.page.mouse.click(cx, cy);
  return conn.next((msgs) => msgs.slice(from).flatMap(decode).find((m) => m.type === "POINTER" && m.buttons === 1), 5000, `press at ${cx},${cy}`);
}

test("dpr 2, a remote larger than the window: fit, then 1:1 scrolling with exact mapping", { skip }, async () => {
  const conn = await connect("big");
  let s = await state();
  assert.equal(s.dpr, 2);
  assert.equal(s.shown, true, "the toggle shows for a remote that cannot be resized");
  assert.equal(s.pressed, "false");
  assert.equal(s.mode, "fit");
  assert.ok(s.rect[2] <= 800 && s.rect[3] <= 600, `fitted: ${s.rect}`);

  await b.run({ menu: true }); // the toggle is in the menu
  await b.page.click("#view-mode");
  s = await state();
  assert.equal(s.mode, "1:1");
  assert.equal(s.pressed, "true");
  assert.equal(s.stored, "1:1");
  assert.equal(s.active, "screen", "the keyboard goes back to the canvas");
  await b.run({ menu: false });
  s = await state();
  assert.deepEqual(s.rect, [HANDLE, 0, 1600, 1000], "3200x2000 device pixels at dpr 2 are 1600x1000 CSS pixels, at the corner");
  assert.deepEqual(s.scrollSize, [1600, 1000]);
  assert.ok(s.client[0] < 800 && s.client[1] < 600, `real scrollbars take from the area: ${s.client}`);

  // Scrolled: the point lands on the framebuffer pixel under it.
  assert.deepEqual(await scrollView(413, 271), [413, 271]);
  let p = await clickAt(conn, HANDLE + 100.25, 200.25);
  assert.deepEqual([p.x, p.y], [Math.floor((100.25 + 413) * 2), Math.floor((200.25 + 271) * 2)]);
  // As far as it goes: the last visible device pixel is the framebuffer's last.
  const [sx, sy] = await scrollView(1e6, 1e6);
  assert.deepEqual([sx, sy], [1600 - s.client[0], 1000 - s.client[1]]);
  p = await clickAt(conn, HANDLE + s.client[0] - 0.25, s.client[1] - 0.25);
  assert.deepEqual([p.x, p.y], [3199, 1999]);

  // The wheel over the canvas goes to the remote; the area does not scroll.
  const from = conn.messages.length;
  await b.page.mouse.move(300, 300);
  await b.page.mouse.wheel(0, -300);
  const w = await conn.next((msgs) => msgs.slice(from).flatMap(decode).find((m) => m.type === "WHEEL"), 5000, "WHEEL");
  assert.ok(w.dy < 0, `WHEEL up: ${JSON.stringify(w)}`);
  await new Promise((r) => setTimeout(r, 200));
  assert.deepEqual((await state()).scroll, [sx, sy], "the wheel scrolled the page area");

  // A press on the area's scrollbar leaves the keyboard on the canvas.
  await b.page.mouse.click(HANDLE + s.client[0] + 4, 300);
  await new Promise((r) => setTimeout(r, 50));
  assert.equal((await state()).active, "screen");
});

test("dpr 2, a remote smaller than the window: 1:1 centred on whole device pixels", { skip }, async () => {
  const conn = await connect("small"); // 1:1 is stored from the test before
  const s = await state();
  assert.equal(s.mode, "1:1");
  // 600x401 device pixels = 300x200.5 CSS; (800-300)/2 = 250; (600-200.5)/2 = 199.75 CSS =
  // 399.5 device pixels, down to 399 = 199.5 CSS.
  assert.deepEqual(s.rect, [HANDLE + 250, 199.5, 300, 200.5]);
  assert.deepEqual(s.scrollSize, [800, 600], "nothing to scroll");
  const p = await clickAt(conn, HANDLE + 250 + 17.5 / 2, 199.5 + 33.5 / 2);
  assert.deepEqual([p.x, p.y], [17, 33]);
  // A click beside the canvas leaves the keyboard on it.
  await b.page.mouse.click(HANDLE + 50, 500);
  await new Promise((r) => setTimeout(r, 50));
  assert.equal((await state()).active, "screen");
});

test("fill: the picture stretched over the whole area, corner to corner", { skip }, async () => {
  const conn = await connect("big"); // 3200x2000 in an 800x600 area: fit would letterbox it
  await b.run({ menu: true });
  if ((await state()).mode === "1:1") await b.page.click("#view-mode"); // back to fit first
  await b.page.click("#view-fill");
  await b.run({ menu: false });
  const s = await state();
  assert.equal(s.mode, "fill");
  assert.equal(s.stored, "fill");
  assert.deepEqual(s.rect, [HANDLE, 0, s.client[0], s.client[1]], "the whole area");
  // 4 framebuffer pixels a CSS pixel across, 3⅓ down: the corners map to the corners.
  let p = await clickAt(conn, HANDLE + 0.2, 0.2);
  assert.deepEqual([p.x, p.y], [0, 0]);
  p = await clickAt(conn, HANDLE + s.client[0] - 0.2, s.client[1] - 0.2);
  assert.deepEqual([p.x, p.y], [3199, 1999]);
  await b.run({ menu: true });
  await b.page.click("#view-mode"); // 1:1 again for the next tests
  await b.run({ menu: false });
  assert.equal((await state()).mode, "1:1");
});

test("a resizable remote: no toggle, fitted, the choice kept for later", { skip }, async () => {
  await connect("resizable");
  const s = await state();
  assert.equal(s.shown, false);
  assert.equal(s.mode, "fit");
  assert.equal(s.stored, "1:1");
  assert.ok(s.rect[2] <= 800 && s.rect[3] <= 600, `fitted: ${s.rect}`);
});

test("a garbage stored choice is fit", { skip }, async () => {
  await b.page.evaluate(() => localStorage.setItem("racgate.viewMode", "zoom:200%"));
  await connect("big");
  const s = await state();
  assert.equal(s.shown, true);
  assert.equal(s.pressed, "false");
  assert.equal(s.mode, "fit");
  assert.ok(s.rect[2] <= 800 && s.rect[3] <= 600, `fitted: ${s.rect}`);
});
