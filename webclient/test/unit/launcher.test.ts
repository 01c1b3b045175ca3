// The launcher's filter and recent list (launcher.ts).
import { test } from "node:test";
import assert from "node:assert/strict";
import { MAX_RECENT, matches, parseRecent, withRecent } from "../../src/launcher.js";

test("matches: every word of the query, in any order, any case", () => {
  assert.equal(matches("Windows box lab rdp", "box win"), true);
  assert.equal(matches("Windows box lab rdp", "WIN RDP"), true);
  assert.equal(matches("Windows box lab rdp", "box vnc"), false);
  assert.equal(matches("desk-12 lab vnc", "desk-1"), true);
  assert.equal(matches("desk-12 lab vnc", ""), true);
});

test("withRecent: the newest first, once, at most MAX_RECENT", () => {
  assert.deepEqual(withRecent([], "a"), ["a"]);
  assert.deepEqual(withRecent(["a", "b", "c"], "c"), ["c", "a", "b"]);
  const many = withRecent(["a", "b", "c", "d", "e"], "f");
  assert.equal(many.length, MAX_RECENT);
  assert.deepEqual(many, ["f", "a", "b", "c", "d"]);
});

test("parseRecent: only a list of strings is kept; anything else is none", () => {
  assert.deepEqual(parseRecent('["a","b"]'), ["a", "b"]);
  assert.deepEqual(parseRecent('["a",3,null,"b"]'), ["a", "b"]);
  assert.deepEqual(parseRecent("{}"), []);
  assert.deepEqual(parseRecent("not json"), []);
  assert.deepEqual(parseRecent(null), []);
  assert.equal(parseRecent(JSON.stringify(Array.from({ length: 50 }, (_, i) => `e${i}`))).length, MAX_RECENT);
});
