// Touch as a mouse (touch.ts): a tap is a left click where the finger was, a long press a
// right click, a drag holds the left button, two fingers scroll; on a fake clock.
import { test } from "node:test";
import assert from "node:assert/strict";
import { LONG_PRESS_MS, TouchGestures } from "../../src/touch.js";
import { fakeClock } from "./fakeclock.js";

function setup() {
  const { timers, advance } = fakeClock();
  const sent: string[] = [];
  const g = new TouchGestures((m) => sent.push(m.type === "POINTER" ? `P${m.x},${m.y},${m.buttons}` : `W${m.dx},${m.dy}`), timers);
  // A finger at page (px, py) is framebuffer (2px, 2py): the caller's mapping.
  const pt = (id: number, px: number, py: number) => ({ id, pageX: px, pageY: py, x: px * 2, y: py * 2 });
  return { g, sent, advance, pt };
}

test("a tap is a left click where the finger went down, sent when it lifts", () => {
  const { g, sent, advance, pt } = setup();
  g.down(pt(1, 100, 50));
  advance(100);
  g.move(pt(1, 104, 52)); // within the slop
  assert.deepEqual(sent, []);
  g.up(pt(1, 104, 52));
  assert.deepEqual(sent, ["P200,100,0", "P200,100,1", "P200,100,0"]);
});

test("holding still for the long press is a right click; lifting afterwards sends nothing", () => {
  const { g, sent, advance, pt } = setup();
  g.down(pt(1, 10, 10));
  advance(LONG_PRESS_MS - 1);
  assert.deepEqual(sent, []);
  advance(1);
  assert.deepEqual(sent, ["P20,20,0", "P20,20,4", "P20,20,0"]);
  g.move(pt(1, 60, 60));
  g.up(pt(1, 60, 60));
  assert.equal(sent.length, 3);
});

test("a drag presses the left button where it began and moves with it held", () => {
  const { g, sent, advance, pt } = setup();
  g.down(pt(1, 10, 10));
  g.move(pt(1, 30, 10));
  g.move(pt(1, 50, 20));
  advance(LONG_PRESS_MS * 2); // no long press once dragging
  g.up(pt(1, 55, 25));
  assert.deepEqual(sent, ["P20,20,0", "P20,20,1", "P60,20,1", "P100,40,1", "P110,50,0"]);
});

test("two fingers scroll: the content follows them, 100 px a notch; no click", () => {
  const { g, sent, pt } = setup();
  g.down(pt(1, 100, 300));
  g.down(pt(2, 200, 300));
  // Fingers move a little at a time, one event each: as pointer events come.
  let y = 300;
  const to = (target: number) => {
    while (y !== target) {
      y += Math.sign(target - y) * 10;
      g.move(pt(1, 100, y));
      g.move(pt(2, 200, y));
    }
  };
  to(250); // up 50 px
  assert.deepEqual(sent, []);
  to(150); // up 150 px in all: one notch down
  assert.deepEqual(sent, ["W0,1"]);
  to(400); // down 250 px: two notches up, one at a time
  assert.deepEqual(sent, ["W0,1", "W0,-1", "W0,-1"]);
  g.up(pt(1, 100, 400));
  g.move(pt(2, 300, 400));
  g.up(pt(2, 300, 400));
  assert.equal(sent.length, 3, "the finger left after a scroll neither clicks nor drags");
});

test("a second finger during a drag lets go of the button first", () => {
  const { g, sent, pt } = setup();
  g.down(pt(1, 10, 10));
  g.move(pt(1, 40, 10));
  g.down(pt(2, 80, 10));
  assert.deepEqual(sent, ["P20,20,0", "P20,20,1", "P80,20,1", "P80,20,0"]);
});

test("two fingers that spread are a pinch: zoom ratios around their midpoint, no scroll", () => {
  const zooms: string[] = [];
  const sent: string[] = [];
  const g = new TouchGestures((m) => sent.push(m.type), undefined, (ratio, x, y) => zooms.push(`${ratio.toFixed(2)}@${x},${y}`));
  const pt = (id: number, px: number, py: number) => ({ id, pageX: px, pageY: py, x: px, y: py });
  g.down(pt(1, 100, 100));
  g.down(pt(2, 200, 100)); // 100 apart
  g.move(pt(2, 210, 100)); // 110: 10%, not yet a pinch; a small sideways scroll
  assert.deepEqual(zooms, []);
  g.move(pt(2, 220, 100)); // 120: a pinch, 120/100 since the last step
  g.move(pt(1, 80, 100)); // 140
  assert.deepEqual(zooms, ["1.20@160,100", "1.17@150,100"]);
  g.move(pt(1, 150, 100)); // 70: closing
  assert.equal(zooms.at(-1), "0.50@185,100");
  g.up(pt(1, 150, 100));
  g.up(pt(2, 220, 100));
  assert.deepEqual(sent, [], "a pinch sends the remote nothing");
});
