// NOTICE's line: how long a notice shows, and a newer one replacing it, on a fake clock.
import { test } from "node:test";
import assert from "node:assert/strict";
import { NoticeLine, NOTICE_INFO_MS, NOTICE_WARNING_MS } from "../../src/notice.js";
import type { NoticeElement } from "../../src/notice.js";
import { NOTICE_INFO, NOTICE_WARNING } from "../../src/wire.js";
import { fakeClock } from "./fakeclock.js";

function element(): NoticeElement {
  return { textContent: "", dataset: {} } as NoticeElement;
}

test("notice: info shows 5 s, warning 10 s, then the line is empty", () => {
  for (const [level, ms, name] of [[NOTICE_INFO, NOTICE_INFO_MS, "info"], [NOTICE_WARNING, NOTICE_WARNING_MS, "warning"]] as const) {
    const c = fakeClock();
    const el = element();
    const n = new NoticeLine(el, c.timers);
    n.show(level, "hello ✓");
    assert.equal(n.text, "hello ✓");
    assert.equal(el.dataset.level, name);
    c.advance(ms - 1);
    assert.equal(n.text, "hello ✓", `${name} still up 1 ms before its time`);
    c.advance(1);
    assert.equal(n.text, "", `${name} gone after ${ms} ms`);
    assert.equal(el.dataset.level, undefined);
    assert.equal(el.textContent, "");
  }
  assert.equal(NOTICE_INFO_MS, 5000);
  assert.equal(NOTICE_WARNING_MS, 10000);
});

test("notice: a newer one replaces the one shown, with its own time", () => {
  const c = fakeClock();
  const el = element();
  const n = new NoticeLine(el, c.timers);
  n.show(NOTICE_WARNING, "first");
  c.advance(9000);
  n.show(NOTICE_INFO, "second");
  assert.equal(n.text, "second");
  assert.equal(el.dataset.level, "info");
  assert.equal(c.pending(), 1, "the first one's timer is cancelled");
  c.advance(4999);
  assert.equal(n.text, "second", "the first one's time does not take the second down");
  c.advance(1);
  assert.equal(n.text, "");
  // clear takes it down at once.
  n.show(NOTICE_INFO, "third");
  n.clear();
  assert.equal(n.text, "");
  assert.equal(c.pending(), 0);
});
