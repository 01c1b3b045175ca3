// Terminal settings from TERMINAL_CONFIG and the connect URL's size estimate.
import { test } from "node:test";
import assert from "node:assert/strict";
import { estimateCells, schemeName, SCHEMES } from "../../src/termconfig.js";

test("colour schemes: built-in names, Guacamole's aliases, anything else the default", () => {
  assert.equal(schemeName("solarized-dark"), "solarized-dark");
  assert.equal(schemeName(" Light "), "light");
  assert.equal(schemeName("black-white"), "light");
  assert.equal(schemeName("solarized"), "solarized-dark");
  for (const odd of ["", "nope", "constructor", "__proto__", "toString", "hasOwnProperty"]) {
    assert.equal(schemeName(odd), "default", odd);
  }
  for (const name of Object.keys(SCHEMES)) {
    assert.match(SCHEMES[name].background ?? "", /^#[0-9a-f]{6}$/, name);
    assert.match(SCHEMES[name].foreground ?? "", /^#[0-9a-f]{6}$/, name);
  }
});

test("size estimate: whole cells, within 1-4096, 80x24 without a cell size", () => {
  assert.deepEqual(estimateCells(900, 600, 9, 18), { cols: 100, rows: 33 });
  assert.deepEqual(estimateCells(5, 5, 9, 18), { cols: 1, rows: 1 });
  assert.deepEqual(estimateCells(1e9, 1e9, 1, 1), { cols: 4096, rows: 4096 });
  assert.deepEqual(estimateCells(900, 600, 0, 18), { cols: 80, rows: 24 });
  assert.deepEqual(estimateCells(900, 600, NaN, 18), { cols: 80, rows: 24 });
});
