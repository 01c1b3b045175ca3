// The menu's keys: combinations pressed in order and released in reverse, text typed as
// keystrokes, and the figures it shows (menu.ts).
import { test } from "node:test";
import assert from "node:assert/strict";
import { COMBOS, comboKeys, oskKeys, rate, textKeys } from "../../src/menu.js";

const short = (ks: { down: boolean; keysym: number; code: string }[]) =>
  ks.map((k) => `${k.down ? "+" : "-"}${k.keysym.toString(16)}${k.code ? ":" + k.code : ""}`).join(" ");

test("Ctrl+Alt+Del: Control, Alt, Delete down, then up in reverse, with scancode names", () => {
  assert.equal(short(comboKeys(COMBOS["ctrl-alt-del"])),
    "+ffe3:ControlLeft +ffe9:AltLeft +ffff:Delete -ffff:Delete -ffe9:AltLeft -ffe3:ControlLeft");
  assert.equal(short(comboKeys(COMBOS.super)), "+ffeb:MetaLeft -ffeb:MetaLeft");
  assert.equal(short(comboKeys(COMBOS["alt-tab"])), "+ffe9:AltLeft +ff09:Tab -ff09:Tab -ffe9:AltLeft");
});

test("Ctrl+Alt+F1..F12: the function key's keysym (F1 0xffbe, F12 0xffc9)", () => {
  assert.equal(short(comboKeys(COMBOS["ctrl-alt-f1"])).split(" ")[2], "+ffbe:F1");
  assert.equal(short(comboKeys(COMBOS["ctrl-alt-f12"])).split(" ")[2], "+ffc9:F12");
  assert.equal(COMBOS["ctrl-alt-f13"], undefined);
});

test("textKeys: each character pressed and released; Unicode beyond Latin-1 as 0x01000000+cp; line ends as Return", () => {
  assert.equal(short(textKeys("aZ")), "+61 -61 +5a -5a");
  assert.equal(short(textKeys("é✓")), "+e9 -e9 +1002713 -1002713");
  assert.equal(short(textKeys("a\r\nb\tc")), "+61 -61 +ff0d:Enter -ff0d:Enter +62 -62 +ff09:Tab -ff09:Tab +63 -63");
  assert.equal(short(textKeys("😀")), "+101f600 -101f600"); // one code point, two UTF-16 units
  assert.equal(textKeys("\u0007\u0000").length, 0); // control characters are left out
});

test("rate: frames and kilobytes per second between two samples", () => {
  assert.equal(rate({ bytes: 0, frames: 0 }, { bytes: 512 * 1024, frames: 30 }, 1000), "30 frames/s · 512 KB/s");
  assert.equal(rate({ bytes: 0, frames: 0 }, { bytes: 1024, frames: 5 }, 2000), "2.5 frames/s · 0.5 KB/s");
  assert.equal(rate({ bytes: 0, frames: 0 }, { bytes: 1, frames: 1 }, 0), "");
});

test("oskKeys: the on-screen keyboard's input as keystrokes: text, BackSpace, Delete, Return", () => {
  assert.equal(short(oskKeys("insertText", "a!")), "+61 -61 +21 -21");
  assert.equal(short(oskKeys("insertCompositionText", "é")), "+e9 -e9");
  assert.equal(short(oskKeys("deleteContentBackward", null)), "+ff08:Backspace -ff08:Backspace");
  assert.equal(short(oskKeys("deleteContentForward", null)), "+ffff:Delete -ffff:Delete");
  assert.equal(short(oskKeys("insertLineBreak", null)), "+ff0d:Enter -ff0d:Enter");
  assert.deepEqual(oskKeys("formatBold", null), []);
});
