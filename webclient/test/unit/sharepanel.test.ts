// The share section's texts: how long a link has left, who watches, a link's URL.
import { test } from "node:test";
import assert from "node:assert/strict";
import { absoluteURL, expiryText, watchersText } from "../../src/sharepanel.js";
import { SHARE_CONTROL, SHARE_VIEW } from "../../src/wire.js";

test("share: a link's expiry in words", () => {
  assert.equal(expiryText(0), "expired");
  assert.equal(expiryText(-3), "expired");
  assert.equal(expiryText(59.5), "expires in under a minute");
  assert.equal(expiryText(60), "expires in 1 min");
  assert.equal(expiryText(61), "expires in 2 min");
  assert.equal(expiryText(3600), "expires in 60 min");
  assert.equal(expiryText(119 * 60), "expires in 119 min");
  assert.equal(expiryText(120 * 60), "expires in 2 h");
  assert.equal(expiryText(8 * 3600), "expires in 8 h");
});

test("share: who watches", () => {
  assert.equal(watchersText({ type: "SHARES", links: [], watchers: [] }), "Nobody is watching.");
  assert.equal(
    watchersText({
      type: "SHARES", links: [],
      watchers: [{ link: 0, mode: SHARE_VIEW, name: "ann" }, { link: 2, mode: SHARE_VIEW, name: "bob" }, { link: 3, mode: SHARE_CONTROL, name: "carol" }],
    }),
    "Watching: ann (administrator), bob (view only), carol (control).",
  );
});

test("share: a link's URL, absolute", () => {
  assert.equal(absoluteURL("/share/ab.CD", "https://gw.example/connect/desk"), "https://gw.example/share/ab.CD");
  assert.equal(absoluteURL("https://racgate.example/share/x", "http://127.0.0.1:8080/connect/desk"), "https://racgate.example/share/x");
});
