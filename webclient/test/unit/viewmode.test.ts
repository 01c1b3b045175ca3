// The desktop's view modes: actual size (1:1) placement at dpr 1, 2 and 1.5, centring and
// top-left alignment, pointer mapping through a scrolled area, and the toggle's state
// and storage (viewmode.ts).
import { test } from "node:test";
import assert from "node:assert/strict";
import { actualRect, clampZoom, fillRect, fitRect, scrolledRect, toFramebuffer, toPage, zoomRect } from "../../src/geometry.js";
import type { Rect } from "../../src/geometry.js";
import { parseViewMode, VIEW_MODE_KEY, ViewModeToggle } from "../../src/viewmode.js";
import type { ViewMode } from "../../src/viewmode.js";

test("actualRect: dpr 1, larger than the area: framebuffer size in CSS pixels, top-left", () => {
  assert.deepEqual(actualRect(800, 600, 1600, 1000, 1), { left: 0, top: 0, width: 1600, height: 1000 });
  assert.deepEqual(actualRect(800, 600, 1920, 1080), { left: 0, top: 0, width: 1920, height: 1080 });
});

test("actualRect: dpr 2: one framebuffer pixel per device pixel is half a CSS pixel", () => {
  // 1600x1000 at dpr 2 is 800x500 CSS: as wide as the area (at 0), centred in its height.
  assert.deepEqual(actualRect(800, 600, 1600, 1000, 2), { left: 0, top: 50, width: 800, height: 500 });
  // 3200x1400 at dpr 2 is 1600x700 CSS: larger both ways.
  assert.deepEqual(actualRect(800, 600, 3200, 1400, 2), { left: 0, top: 0, width: 1600, height: 700 });
  // dpr 1.5: 1500x900 device pixels are 1000x600 CSS pixels.
  assert.deepEqual(actualRect(1200, 500, 1500, 900, 1.5), { left: 100, top: 0, width: 1000, height: 600 });
});

test("actualRect: smaller than the area: centred, on whole device pixels", () => {
  assert.deepEqual(actualRect(1280, 1024, 1024, 768, 1), { left: 128, top: 128, width: 1024, height: 768 });
  // An odd margin: the half pixel goes right and down (floor), never a blurring half.
  assert.deepEqual(actualRect(801, 601, 600, 400, 1), { left: 100, top: 100, width: 600, height: 400 });
  // dpr 2: 600x400 device pixels are 300x200 CSS; (801-300)/2 = 250.5 CSS = 501 device pixels.
  const r = actualRect(801, 601, 600, 400, 2);
  assert.deepEqual(r, { left: 250.5, top: 200.5, width: 300, height: 200 });
  assert.ok(Number.isInteger(r.left * 2) && Number.isInteger(r.top * 2));
  // dpr 1.5: 300 device pixels = 200 CSS; (401-200)/2 = 100.5 CSS = 150.75 device → 150 → 100 CSS.
  assert.deepEqual(actualRect(401, 200, 300, 300, 1.5), { left: 100, top: 0, width: 200, height: 200 });
  // Larger on one axis only: at 0 there, centred on the other.
  assert.deepEqual(actualRect(800, 600, 1600, 400, 1), { left: 0, top: 100, width: 1600, height: 400 });
  assert.deepEqual(actualRect(800, 600, 400, 1600, 1), { left: 200, top: 0, width: 400, height: 1600 });
});

test("actualRect: no framebuffer yet: an empty rect", () => {
  assert.deepEqual(actualRect(800, 600, 0, 0, 1), { left: 0, top: 0, width: 0, height: 0 });
});

test("actualRect and fitRect agree where the framebuffer is the area's device size", () => {
  for (const dpr of [1, 2]) {
    assert.deepEqual(actualRect(800, 600, 800 * dpr, 600 * dpr, dpr), fitRect(800, 600, 800 * dpr, 600 * dpr, dpr));
  }
});

test("scrolledRect: the area's corner on the viewport, less the scroll offset", () => {
  const r: Rect = { left: 10, top: 20, width: 1600, height: 1000 };
  assert.deepEqual(scrolledRect(r, 0, 0, 0, 0), r);
  assert.deepEqual(scrolledRect(r, 5, 7, 300, 200), { left: -285, top: -173, width: 1600, height: 1000 });
});

test("1:1 mapping at dpr 1: a point lands on its framebuffer pixel at any scroll offset", () => {
  const fbW = 1600;
  const fbH = 1000;
  const r = actualRect(800, 600, fbW, fbH, 1);
  // Scrolled to the bottom-right: the viewport's last pixel is the framebuffer's last.
  const end = scrolledRect(r, 0, 0, fbW - 800, fbH - 600);
  assert.deepEqual(toFramebuffer(799.5, 599.5, end, fbW, fbH), { x: 1599, y: 999 });
  assert.deepEqual(toFramebuffer(0, 0, end, fbW, fbH), { x: 800, y: 400 });
  // Pixel edges: x = 1234 starts at client 1234 - scroll.
  const s = scrolledRect(r, 0, 0, 517, 333);
  assert.deepEqual(toFramebuffer(1234 - 517, 876 - 333, s, fbW, fbH), { x: 1234, y: 876 });
  assert.deepEqual(toFramebuffer(1234 - 517 - 0.01, 876 - 333 - 0.01, s, fbW, fbH), { x: 1233, y: 875 });
  assert.deepEqual(toFramebuffer(1234 - 517 + 0.99, 876 - 333 + 0.99, s, fbW, fbH), { x: 1234, y: 876 });
});

test("1:1 mapping at dpr 2: half-CSS-pixel framebuffer pixels, scrolled and offset", () => {
  const fbW = 3200;
  const fbH = 2000;
  const r = actualRect(800, 600, fbW, fbH, 2); // 1600x1000 CSS
  const end = scrolledRect(r, 0, 0, 800, 400);
  assert.deepEqual(toFramebuffer(799.75, 599.75, end, fbW, fbH), { x: 3199, y: 1999 });
  assert.deepEqual(toFramebuffer(799.25, 599.25, end, fbW, fbH), { x: 3198, y: 1998 });
  // An area not at the viewport's corner (origin 30, 40), scrolled by (123.5, 77).
  const s = scrolledRect(r, 30, 40, 123.5, 77);
  assert.deepEqual(toFramebuffer(30 + (1001 / 2 - 123.5), 40 + (777 / 2 - 77), s, fbW, fbH), { x: 1001, y: 777 });
});

test("1:1 mapping round trip: toPage then toFramebuffer for pixels across the framebuffer", () => {
  for (const dpr of [1, 1.5, 2]) {
    for (const [areaW, areaH, fbW, fbH] of [[800, 600, 1600, 1000], [1280, 1024, 1024, 768], [801, 601, 1203, 401]]) {
      const r = actualRect(areaW, areaH, fbW, fbH, dpr);
      for (const [sx, sy] of [[0, 0], [100, 50], [(fbW / dpr) - areaW, (fbH / dpr) - areaH]]) {
        const s = scrolledRect(r, 0, 0, Math.max(0, sx), Math.max(0, sy));
        for (const [x, y] of [[0, 0], [fbW - 1, fbH - 1], [Math.floor(fbW / 3), Math.floor(fbH / 7)]]) {
          const p = toPage(x, y, s, fbW, fbH);
          assert.deepEqual(toFramebuffer(p.x, p.y, s, fbW, fbH), { x, y }, `dpr ${dpr} ${fbW}x${fbH} in ${areaW}x${areaH} scroll ${sx},${sy} pixel ${x},${y}`);
        }
      }
    }
  }
});

test("parseViewMode: only 1:1 is 1:1 and fill fill; missing or garbage is fit", () => {
  assert.equal(parseViewMode("1:1"), "1:1");
  assert.equal(parseViewMode("fill"), "fill");
  assert.equal(parseViewMode("fit"), "fit");
  for (const v of [null, undefined, "", "actual", "1:2", " 1:1", "FIT", "{}"]) assert.equal(parseViewMode(v), "fit", String(v));
});

// A button enough for ViewModeToggle, and a localStorage.
function fakeButton() {
  const attrs = new Map<string, string>();
  const listeners: Array<() => void> = [];
  const b = {
    hidden: false,
    title: "",
    dataset: {} as Record<string, string>,
    setAttribute: (k: string, v: string) => void attrs.set(k, v),
    getAttribute: (k: string) => attrs.get(k) ?? null,
    addEventListener: (_type: string, f: () => void) => void listeners.push(f),
    click: () => listeners.forEach((f) => f()),
  };
  return b;
}

function withStorage(initial: Record<string, string>): Map<string, string> {
  const m = new Map(Object.entries(initial));
  Object.defineProperty(globalThis, "localStorage", {
    configurable: true,
    writable: true,
    value: { getItem: (k: string) => m.get(k) ?? null, setItem: (k: string, v: string) => void m.set(k, String(v)) },
  });
  return m;
}

function toggle(stored: Record<string, string>) {
  const storage = withStorage(stored);
  const button = fakeButton();
  const modes: ViewMode[] = [];
  let focused = 0;
  const t = new ViewModeToggle(button as unknown as HTMLButtonElement, {
    changed: (m) => modes.push(m),
    focusDisplay: () => focused++,
  });
  t.listen();
  return { t, button, storage, modes, focused: () => focused };
}

test("ViewModeToggle: hidden and fit until available; then the stored choice", () => {
  const { t, button, modes } = toggle({ [VIEW_MODE_KEY]: "1:1" });
  assert.equal(button.hidden, true);
  assert.equal(t.mode, "fit");
  assert.equal(button.getAttribute("aria-pressed"), "true"); // the choice, shown when it shows
  t.setAvailable(true);
  assert.equal(button.hidden, false);
  assert.equal(t.mode, "1:1");
  assert.deepEqual(modes, ["1:1"]);
  t.setAvailable(false); // a resizable remote, a terminal, a closed session
  assert.equal(button.hidden, true);
  assert.equal(t.mode, "fit");
  assert.deepEqual(modes, ["1:1", "fit"]);
});

test("ViewModeToggle: a click switches, is stored and gives the keyboard back", () => {
  const { t, button, storage, modes, focused } = toggle({});
  t.setAvailable(true);
  assert.equal(t.mode, "fit");
  assert.equal(button.getAttribute("aria-pressed"), "false");
  button.click();
  assert.equal(t.mode, "1:1");
  assert.equal(button.getAttribute("aria-pressed"), "true");
  assert.match(button.title, /fit to the window/);
  assert.equal(storage.get(VIEW_MODE_KEY), "1:1");
  assert.equal(focused(), 1);
  button.click();
  assert.equal(t.mode, "fit");
  assert.equal(storage.get(VIEW_MODE_KEY), "fit");
  assert.deepEqual(modes, ["fit", "1:1", "fit"]);
});

test("ViewModeToggle: a garbage stored value is fit", () => {
  const { t } = toggle({ [VIEW_MODE_KEY]: "zoom:200%" });
  t.setAvailable(true);
  assert.equal(t.mode, "fit");
});

test("ViewModeToggle: no localStorage (privacy settings): fit, the choice kept for the page", () => {
  Object.defineProperty(globalThis, "localStorage", {
    configurable: true,
    get() {
      throw new Error("SecurityError");
    },
  });
  const button = fakeButton();
  const t = new ViewModeToggle(button as unknown as HTMLButtonElement, { changed: () => {}, focusDisplay: () => {} });
  t.listen();
  t.setAvailable(true);
  assert.equal(t.mode, "fit");
  button.click();
  assert.equal(t.mode, "1:1");
});

test("ViewModeToggle with Fill: each button switches its mode on and off; one at a time", () => {
  const storage = withStorage({});
  const actual = fakeButton();
  const fill = fakeButton();
  const modes: ViewMode[] = [];
  const t = new ViewModeToggle(actual as unknown as HTMLButtonElement, { changed: (m) => modes.push(m), focusDisplay: () => {} },
    fill as unknown as HTMLButtonElement);
  t.listen();
  assert.equal(fill.hidden, true);
  t.setAvailable(true);
  assert.equal(fill.hidden, false);
  fill.click();
  assert.equal(t.mode, "fill");
  assert.equal(storage.get(VIEW_MODE_KEY), "fill");
  assert.deepEqual([actual.getAttribute("aria-pressed"), fill.getAttribute("aria-pressed")], ["false", "true"]);
  actual.click();
  assert.equal(t.mode, "1:1");
  assert.deepEqual([actual.getAttribute("aria-pressed"), fill.getAttribute("aria-pressed")], ["true", "false"]);
  actual.click();
  assert.equal(t.mode, "fit");
  assert.deepEqual(modes, ["fit", "fill", "1:1", "fit"]);
  t.setAvailable(false);
  assert.equal(fill.hidden, true);
});

test("fillRect: the whole area, whatever the framebuffer's proportions", () => {
  assert.deepEqual(fillRect(800, 600), { left: 0, top: 0, width: 800, height: 600 });
  const r = fillRect(800, 600);
  assert.deepEqual(toFramebuffer(799.9, 599.9, r, 1600, 400), { x: 1599, y: 399 });
  assert.deepEqual(toFramebuffer(400, 300, r, 1600, 400), { x: 800, y: 200 });
});

test("zoomRect: the placed picture times z, centred where smaller than the area, else at 0", () => {
  const fit = fitRect(400, 300, 800, 600); // 400x300 at 0,0
  assert.deepEqual(zoomRect(400, 300, fit, 1), fit);
  assert.deepEqual(zoomRect(400, 300, fit, 2), { left: 0, top: 0, width: 800, height: 600 });
  // A small picture zoomed but still smaller than the area stays centred.
  const small = actualRect(400, 300, 100, 50); // 100x50 centred at 150,125
  assert.deepEqual(zoomRect(400, 300, small, 2), { left: 100, top: 100, width: 200, height: 100 });
  assert.deepEqual([clampZoom(0.5), clampZoom(9), clampZoom(NaN), clampZoom(2.5)], [1, 4, 1, 2.5]);
});
