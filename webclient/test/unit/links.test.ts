// Terminal links open only http(s); the search bar's match indication.
import { test } from "node:test";
import assert from "node:assert/strict";
import { linkTarget, openLink } from "../../src/links.js";
import { countText } from "../../src/termsearch.js";

test("linkTarget: http and https only", () => {
  assert.equal(linkTarget("https://example.test/path"), "https://example.test/path");
  assert.equal(linkTarget("HTTP://Example.test"), "http://example.test/");
  for (const bad of [
    "javascript:alert(1)",
    "JavaScript:alert(1)",
    " javascript:alert(1)", // URL trims leading spaces: still javascript:
    "data:text/html,<script>alert(1)</script>",
    "file:///etc/passwd",
    "vbscript:msgbox",
    "ftp://example.test/",
    "//example.test/path",
    "/path",
    "",
    "https//missing-colon",
  ]) {
    assert.equal(linkTarget(bad), null, bad);
  }
});

test("openLink: opens in a new tab without opener, refuses the rest", () => {
  const calls: string[][] = [];
  const open = (u: string, t: string, f: string) => calls.push([u, t, f]);
  assert.equal(openLink("https://example.test/a?b=1#c", open), true);
  assert.equal(openLink("javascript:alert(1)", open), false);
  assert.equal(openLink("data:,x", open), false);
  assert.deepEqual(calls, [["https://example.test/a?b=1#c", "_blank", "noopener,noreferrer"]]);
});

test("countText: position, no match, over the highlight limit", () => {
  assert.equal(countText("", 0, 0), "");
  assert.equal(countText("x", -1, 0), "no match");
  assert.equal(countText("x", 0, 2), "1/2");
  assert.equal(countText("x", 1, 2), "2/2");
  assert.equal(countText("x", -1, 1000), "1000+");
});
