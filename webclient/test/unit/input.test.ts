// Keysyms, coordinate scaling, pointer buttons and wheel notches.
import { test } from "node:test";
import assert from "node:assert/strict";
import { keysymFor, charKeysym } from "../../src/keysym.js";
import { fitRect, toFramebuffer, toPage, devicePixels, pointerButtons, WheelAccumulator, DELTA_LINE, DELTA_PIXEL, DELTA_PAGE } from "../../src/geometry.js";
import { endpointFromPath, targetFromPath } from "../../src/main.js";

test("keysym: Latin-1 characters are their own keysym", () => {
  assert.equal(keysymFor("a", "KeyA"), 0x61);
  assert.equal(keysymFor("A", "KeyA"), 0x41);
  assert.equal(keysymFor(" ", "Space"), 0x20);
  assert.equal(keysymFor("~", "Backquote"), 0x7e);
  assert.equal(keysymFor("é", "Digit2"), 0xe9);
  assert.equal(keysymFor("ß", "Minus"), 0xdf);
  assert.equal(keysymFor("ÿ", "KeyY"), 0xff);
  assert.equal(keysymFor("\u00a0", "Space"), 0xa0);
});

test("keysym: other Unicode is 0x01000000 + code point", () => {
  assert.equal(keysymFor("€", "KeyE"), 0x010020ac);
  assert.equal(keysymFor("ж", "Semicolon"), 0x01000436);
  assert.equal(keysymFor("😀", ""), 0x0101f600); // astral: one code point in two UTF-16 units
  assert.equal(keysymFor("ab", "KeyA"), null); // not one character
  assert.equal(charKeysym("\u0007"), null);
  assert.equal(charKeysym("\u0085"), null);
});

test("keysym: named keys", () => {
  const want: Record<string, number> = {
    Enter: 0xff0d, Backspace: 0xff08, Tab: 0xff09, Escape: 0xff1b, Delete: 0xffff, Insert: 0xff63,
    Home: 0xff50, End: 0xff57, PageUp: 0xff55, PageDown: 0xff56,
    ArrowLeft: 0xff51, ArrowUp: 0xff52, ArrowRight: 0xff53, ArrowDown: 0xff54,
    F1: 0xffbe, F12: 0xffc9, F24: 0xffd5, CapsLock: 0xffe5, NumLock: 0xff7f,
    ContextMenu: 0xff67, PrintScreen: 0xff61, Pause: 0xff13, ScrollLock: 0xff14,
  };
  for (const [key, ks] of Object.entries(want)) assert.equal(keysymFor(key, key), ks, key);
  assert.equal(keysymFor("F", "KeyF"), 0x46); // the letter, not a function key
});

test("keysym: modifiers left and right, AltGraph", () => {
  assert.equal(keysymFor("Shift", "ShiftLeft", 1), 0xffe1);
  assert.equal(keysymFor("Shift", "ShiftRight", 2), 0xffe2);
  assert.equal(keysymFor("Control", "ControlLeft", 1), 0xffe3);
  assert.equal(keysymFor("Control", "ControlRight", 2), 0xffe4);
  assert.equal(keysymFor("Alt", "AltLeft", 1), 0xffe9);
  assert.equal(keysymFor("Alt", "AltRight", 2), 0xffea);
  assert.equal(keysymFor("Meta", "MetaLeft", 1), 0xffeb); // Super_L
  assert.equal(keysymFor("Meta", "MetaRight", 2), 0xffec);
  assert.equal(keysymFor("AltGraph", "AltRight", 2), 0xfe03); // ISO_Level3_Shift
});

test("keysym: dead keys send nothing; the composed character does", () => {
  assert.equal(keysymFor("Dead", "BracketLeft"), null);
  assert.equal(keysymFor("Dead", "Equal"), null);
  assert.equal(keysymFor("ê", "KeyE"), 0xea);
  assert.equal(keysymFor("ŵ", "KeyW"), 0x01000175);
  assert.equal(keysymFor("Unidentified", ""), null);
});

test("keysym: numpad by code when it types a digit", () => {
  for (let d = 0; d <= 9; d++) assert.equal(keysymFor(String(d), `Numpad${d}`, 3), 0xffb0 + d);
  assert.equal(keysymFor("5", "Digit5"), 0x35); // the top row stays a digit
  assert.equal(keysymFor("+", "NumpadAdd", 3), 0xffab);
  assert.equal(keysymFor("-", "NumpadSubtract", 3), 0xffad);
  assert.equal(keysymFor("*", "NumpadMultiply", 3), 0xffaa);
  assert.equal(keysymFor("/", "NumpadDivide", 3), 0xffaf);
  assert.equal(keysymFor(".", "NumpadDecimal", 3), 0xffae);
  assert.equal(keysymFor(",", "NumpadDecimal", 3), 0xffae); // layouts with a decimal comma
  assert.equal(keysymFor("Enter", "NumpadEnter", 3), 0xff8d);
  // NumLock off: the browser reports navigation keys.
  assert.equal(keysymFor("Home", "Numpad7", 3), 0xff50);
  assert.equal(keysymFor("Delete", "NumpadDecimal", 3), 0xffff);
});

test("scaling: fit keeps aspect ratio, centred", () => {
  assert.deepEqual(fitRect(1000, 500, 1000, 1000), { left: 250, top: 0, width: 500, height: 500 });
  assert.deepEqual(fitRect(800, 600, 400, 300), { left: 0, top: 0, width: 800, height: 600 });
  assert.deepEqual(fitRect(1024, 768, 1024, 768), { left: 0, top: 0, width: 1024, height: 768 });
  // devicePixelRatio 2: a framebuffer of the window's device size shows 1:1 in device pixels.
  assert.deepEqual(fitRect(640, 480, 1280, 960, 2), { left: 0, top: 0, width: 640, height: 480 });
  assert.deepEqual(fitRect(0, 480, 1280, 960), { left: 0, top: 0, width: 0, height: 0 });
});

test("scaling: page point ↔ framebuffer pixel", () => {
  const r = fitRect(1000, 500, 1000, 1000); // scale 0.5, 250 px left margin
  assert.deepEqual(toFramebuffer(250, 0, r, 1000, 1000), { x: 0, y: 0 });
  assert.deepEqual(toFramebuffer(500, 250, r, 1000, 1000), { x: 500, y: 500 });
  assert.deepEqual(toFramebuffer(749.9, 499.9, r, 1000, 1000), { x: 999, y: 999 });
  // Outside the picture: clamped to the edge.
  assert.deepEqual(toFramebuffer(10, -5, r, 1000, 1000), { x: 0, y: 0 });
  assert.deepEqual(toFramebuffer(990, 600, r, 1000, 1000), { x: 999, y: 999 });
  // Round trip through toPage for every pixel of a small, oddly scaled framebuffer.
  const r2 = fitRect(333, 777, 37, 23);
  for (let y = 0; y < 23; y++) for (let x = 0; x < 37; x++) {
    const p = toPage(x, y, r2, 37, 23);
    assert.deepEqual(toFramebuffer(p.x, p.y, r2, 37, 23), { x, y });
  }
});

test("device pixels: CSS size × devicePixelRatio, rounded and bounded", () => {
  assert.deepEqual(devicePixels(800, 600, 1), { width: 800, height: 600 });
  assert.deepEqual(devicePixels(801, 601, 1.25), { width: 1001, height: 751 });
  assert.deepEqual(devicePixels(100000, 0, 1), { width: 65535, height: 1 });
});

test("pointer buttons: DOM order (left, right, middle) to POINTER bits (left, middle, right)", () => {
  assert.equal(pointerButtons(0), 0);
  assert.equal(pointerButtons(1), 1);
  assert.equal(pointerButtons(2), 4); // right
  assert.equal(pointerButtons(4), 2); // middle
  assert.equal(pointerButtons(8), 8);
  assert.equal(pointerButtons(16), 16);
  assert.equal(pointerButtons(1 | 2 | 4 | 8 | 16), 31);
  assert.equal(pointerButtons(1 | 2), 5);
});

test("wheel: 100 px or one line is a notch, remainders carry", () => {
  const w = new WheelAccumulator();
  assert.deepEqual(w.add(0, 40, DELTA_PIXEL), { dx: 0, dy: 0 });
  assert.deepEqual(w.add(0, 40, DELTA_PIXEL), { dx: 0, dy: 0 });
  assert.deepEqual(w.add(0, 40, DELTA_PIXEL), { dx: 0, dy: 1 }); // 120 px
  assert.deepEqual(w.add(0, 80, DELTA_PIXEL), { dx: 0, dy: 1 }); // 20 + 80
  assert.deepEqual(w.add(-250, 0, DELTA_PIXEL), { dx: -2, dy: 0 });
  w.reset();
  assert.deepEqual(w.add(0, 3, DELTA_LINE), { dx: 0, dy: 3 });
  assert.deepEqual(w.add(0, -1, DELTA_PAGE), { dx: 0, dy: -1 });
  assert.deepEqual(w.add(0, 1e9, DELTA_LINE), { dx: 0, dy: 32767 });
});

test("endpoint: last path segment, URL-decoded", () => {
  assert.equal(endpointFromPath("/connect/my%20pc"), "my pc");
  assert.equal(endpointFromPath("/connect/b%C3%BCro/"), "büro");
  assert.equal(endpointFromPath("/connect/bad%zz"), "bad%zz");
  assert.deepEqual(targetFromPath("/connect/my%20pc"), { wsPath: "/ws/my%20pc", title: "my pc" });
  assert.deepEqual(targetFromPath("/connect/share"), { wsPath: "/ws/share", title: "share" });
  assert.deepEqual(targetFromPath("/share/0123abcd.ABCDEF234567"), { wsPath: "/ws/share/0123abcd.ABCDEF234567", title: "Shared session" });
  assert.deepEqual(targetFromPath("/watch/0123abcd01234567"), { wsPath: "/ws/watch/0123abcd01234567", title: "Watching a session" });
});
