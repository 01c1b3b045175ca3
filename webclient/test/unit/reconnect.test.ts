// Reconnecting by itself (reconnect.ts): the back-off, the countdown, a success starting
// again at 1 s, giving up, and cancelling; on a fake clock.
import { test } from "node:test";
import assert from "node:assert/strict";
import { backoff, MAX_TRIES, Reconnector } from "../../src/reconnect.js";
import { fakeClock } from "./fakeclock.js";

function setup() {
  const c = fakeClock();
  const said: string[] = [];
  let tries = 0;
  const r = new Reconnector({ reconnect: () => tries++, say: (t) => said.push(t) }, c.timers);
  return { c, r, said, tries: () => tries };
}

test("backoff: 1, 2, 4, 8, 16, then 30 s", () => {
  assert.deepEqual([0, 1, 2, 3, 4, 5, 6, 20].map(backoff), [1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000]);
});

test("a loss counts down each second, then reconnects; each further loss waits twice as long", () => {
  const { c, r, said, tries } = setup();
  r.lost();
  assert.deepEqual(said, ["connection lost: reconnecting in 1 s…"]);
  c.advance(999);
  assert.equal(tries(), 0);
  c.advance(1);
  assert.equal(tries(), 1);
  r.lost(); // the try failed too
  assert.equal(said.at(-1), "connection lost: reconnecting in 2 s…");
  c.advance(1000);
  assert.equal(said.at(-1), "connection lost: reconnecting in 1 s…");
  c.advance(999);
  assert.equal(tries(), 1);
  c.advance(1);
  assert.equal(tries(), 2);
  r.lost();
  c.advance(3999);
  assert.equal(tries(), 2);
  c.advance(1);
  assert.equal(tries(), 3);
});

test("a connection that came up starts the next loss at 1 s again", () => {
  const { c, r, tries } = setup();
  r.lost();
  c.advance(1000);
  r.lost();
  c.advance(2000);
  assert.equal(tries(), 2);
  r.connected();
  r.lost();
  c.advance(1000);
  assert.equal(tries(), 3);
});

test("it gives up after MAX_TRIES losses; cancel stops a countdown", () => {
  const { c, r, said, tries } = setup();
  for (let i = 0; i < MAX_TRIES; i++) {
    assert.equal(r.lost(), true);
    c.advance(backoff(i));
  }
  assert.equal(tries(), MAX_TRIES);
  assert.equal(r.lost(), false);
  assert.match(said.at(-1)!, /gave up after 10 tries/);
  assert.equal(c.pending(), 0);

  const s = setup();
  s.r.lost();
  assert.equal(s.r.pending, true);
  s.r.cancel();
  s.c.advance(60000);
  assert.equal(s.tries(), 0);
  assert.equal(s.c.pending(), 0);
});

test("an instance going away leads the countdown with its reason", () => {
  const { c, r, said, tries } = setup();
  r.lost("racgate is shutting down");
  assert.deepEqual(said, ["racgate is shutting down: reconnecting in 1 s…"]);
  c.advance(1000);
  assert.equal(tries(), 1);
});
