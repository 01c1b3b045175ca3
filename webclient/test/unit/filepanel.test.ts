import { test } from "node:test";
import assert from "node:assert/strict";
import { apiURL, joinPath, parentPath, sizeText, validName } from "../../src/filepanel.js";

test("sizeText: bytes for people", () => {
  assert.equal(sizeText(0), "0 B");
  assert.equal(sizeText(1023), "1023 B");
  assert.equal(sizeText(1024), "1 KiB");
  assert.equal(sizeText(1536), "1.5 KiB");
  assert.equal(sizeText(50 << 20), "50 MiB");
  assert.equal(sizeText(4 * 2 ** 30), "4 GiB");
});

test("paths: join, parent, the shared folder's top", () => {
  assert.equal(joinPath("/", "a.txt"), "/a.txt");
  assert.equal(joinPath("/docs", "a.txt"), "/docs/a.txt");
  assert.equal(parentPath("/docs/x"), "/docs");
  assert.equal(parentPath("/docs"), "/");
  assert.equal(parentPath("/"), "/");
  assert.equal(parentPath("/docs/"), "/");
});

test("validName refuses what cannot be one name", () => {
  for (const bad of ["", ".", "..", "a/b", "a\0b", "x".repeat(256)]) assert.equal(validName(bad), false, JSON.stringify(bad));
  for (const good of ["a", "..a", "notes.txt", "ä".repeat(127), "x".repeat(255)]) assert.equal(validName(good), true, good);
});

test("apiURL: the operation under the token, the query escaped", () => {
  assert.equal(apiURL("T-1", "download", { path: "/a b/ü&x" }), "/files/T-1/download?path=%2Fa+b%2F%C3%BC%26x");
  assert.equal(apiURL("T", "rename", { from: "/a", to: "/b" }), "/files/T/rename?from=%2Fa&to=%2Fb");
});
