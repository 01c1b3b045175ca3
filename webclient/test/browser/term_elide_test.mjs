// Exactness of terminal output elision and snapshots (docs/protocol.md § TERMINAL), in
// Debian's chromium with the xterm.js the web client ships: for every case of
// render/term/testdata/term_elide.json (made by render/term's own code), one terminal is
// written everything the remote wrote, another only what racgate sent, both of the same
// size and scrollback; every cell of every line of both screens' buffers (scrollback
// included), the wrap flags and the cursor must be equal. Runs when chromium exists
// (RACGATE_BROWSER_TESTS=1 makes a missing chromium a failure).

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { join } from "node:path";
import * as esbuild from "esbuild";
import { chromium } from "playwright-core";
import { CHROMIUM, CHROMIUM_ARGS } from "./session.mjs";

const here = fileURLToPath(new URL(".", import.meta.url));
const root = join(here, "../..");
const required = process.env.RACGATE_BROWSER_TESTS === "1";
const skip = existsSync(CHROMIUM) ? false : `no ${CHROMIUM}`;
if (skip && required) throw new Error(`RACGATE_BROWSER_TESTS=1 but ${skip}`);

const fixture = JSON.parse(readFileSync(join(root, "../render/term/testdata/term_elide.json"), "utf8"));

let browser;
let page;

before(async () => {
  if (skip) return;
  // xterm.js and the Unicode 11 widths the web client uses (src/terminal.ts), bundled for
  // the page.
  const bundle = await esbuild.build({
    stdin: {
      contents: `import { Terminal } from "@xterm/xterm"; import { Unicode11Addon } from "@xterm/addon-unicode11";
        window.Terminal = Terminal; window.Unicode11Addon = Unicode11Addon;`,
      resolveDir: root,
      loader: "js",
    },
    bundle: true,
    write: false,
    format: "iife",
    logLevel: "warning",
  });
  browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true });
  page = await browser.newPage();
  await page.setContent("<!doctype html><body><div id=full></div><div id=sent></div></body>");
  await page.addScriptTag({ content: bundle.outputFiles[0].text });
});

after(async () => {
  await browser?.close();
});

// In the page: write both terminals, then describe each.
async function compare(c) {
  return page.evaluate(async ({ rows, cols, scrollback, input, pieces }) => {
    const bytes = Uint8Array.from(atob(input), (ch) => ch.charCodeAt(0));
    const make = (id) => {
      const t = new window.Terminal({ rows, cols, scrollback, allowProposedApi: true });
      t.loadAddon(new window.Unicode11Addon());
      t.unicode.activeVersion = "11";
      const el = document.getElementById(id);
      el.textContent = "";
      t.open(el);
      return t;
    };
    const write = (t, b) => new Promise((resolve) => t.write(b, resolve));
    const full = make("full");
    const sent = make("sent");
    // Everything, in pieces cut after a line feed (never inside a character) of at
    // most 32 KiB.
    for (let i = 0; i < bytes.length; ) {
      let j = Math.min(bytes.length, i + (32 << 10));
      if (j < bytes.length) j = bytes.lastIndexOf(0x0a, j - 1) + 1 || j;
      await write(full, bytes.subarray(i, j));
      i = j;
    }
    // What racgate sent: one write per message, as the web client does.
    for (const [from, to] of pieces) await write(sent, bytes.slice(from, to));
    const cell = (line, x) => {
      const c = line.getCell(x);
      if (!c) return "-";
      return [c.getChars(), c.getWidth(), c.getFgColorMode(), c.getFgColor(), c.getBgColorMode(), c.getBgColor(),
        c.isBold(), c.isItalic(), c.isDim(), c.isUnderline(), c.isInverse(), c.isInvisible(), c.isStrikethrough()].join(",");
    };
    const lines = (buf) => {
      const out = [];
      for (let y = 0; y < buf.length; y++) {
        const line = buf.getLine(y);
        const cells = [];
        for (let x = 0; x < cols; x++) cells.push(cell(line, x));
        out.push({ wrapped: line.isWrapped, text: line.translateToString(false), cells: cells.join(";") });
      }
      return out;
    };
    const describe = (t) => {
      const a = t.buffer.active;
      return {
        active: a.type, cursorX: a.cursorX, cursorY: a.cursorY, baseY: a.baseY, viewportY: a.viewportY,
        normal: lines(t.buffer.normal), alternate: lines(t.buffer.alternate),
      };
    };
    const out = { full: describe(full), sent: describe(sent) };
    full.dispose();
    sent.dispose();
    return out;
  }, c);
}

test("the fixture has the cases this test is for", { skip }, () => {
  assert.ok(fixture.cases.length >= 15, `${fixture.cases.length} cases`);
  const dropping = fixture.cases.filter((c) => c.dropped > 0 && c.jumps > 0);
  assert.ok(dropping.length >= fixture.cases.length / 2, "most cases must drop output: else they prove nothing");
  assert.ok(fixture.cases.some((c) => c.jumps > 10), "no case with snapshots");
});

for (const c of fixture.cases) {
  test(`terminal elision is exact: ${c.name}`, { skip }, async () => {
    const { full, sent } = await compare(c);
    assert.ok(full.normal.length >= c.rows, "no buffer");
    // Same buffers, line by line (the first difference reads best), then everything.
    for (const which of ["normal", "alternate"]) {
      assert.equal(sent[which].length, full[which].length, `${which} buffer: ${sent[which].length} lines, want ${full[which].length}`);
      for (let y = 0; y < full[which].length; y++) {
        assert.deepEqual(sent[which][y], full[which][y], `${which} buffer line ${y} of ${full[which].length} (${c.dropped} bytes dropped in ${c.jumps} jumps)`);
      }
    }
    assert.deepEqual(sent, full);
  });
}

// A control: the comparison notices a wrong elision (too few lines kept: rows +
// scrollback instead of 2 × rows + scrollback, with text below the cursor).
test("a wrong elision is noticed", { skip }, async () => {
  const rows = 5, cols = 20, scrollback = 3;
  const enc = new TextEncoder();
  let pre = "\x1b[H";
  for (let i = 0; i < 4; i++) pre += "XXXXXXXXXXXXXXX\r\n";
  pre += "XXXX\x1b[41m\x1b[H";
  let flood = "";
  for (let i = 0; i < 100; i++) flood += `${i}\r\n`;
  const bytes = enc.encode(pre + flood);
  // Keep only the last rows + scrollback lines of the flood: bytes[cut] is the line feed
  // before them.
  const keep = rows + scrollback;
  let cut = bytes.length;
  for (let n = 0; n <= keep; ) if (bytes[--cut] === 0x0a) n++;
  const input = Buffer.from(bytes).toString("base64");
  const { full, sent } = await compare({ rows, cols, scrollback, input, pieces: [[0, pre.length], [cut + 1, bytes.length]] });
  assert.notDeepEqual(sent, full);
});
