// The web client's terminal with TERMINAL_SCROLLBACK and TERMINAL_DEFLATE (docs/protocol.md),
// against the scripted fake gateway, in Debian's chromium: the scrollback the server
// relies on is xterm.js's, deflated output shows and is acknowledged, a broken piece
// ends the session as a protocol error.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Deflate, Z_SYNC_FLUSH } from "pako";
import { startFakeServer } from "./fake_server.mjs";
import { openBrowser, CHROMIUM, TEST_CLIENT } from "./session.mjs";

const here = fileURLToPath(new URL(".", import.meta.url));
const required = process.env.RACGATE_BROWSER_TESTS === "1";
const skip = !existsSync(CHROMIUM) ? `no ${CHROMIUM}` : !existsSync(join(here, "../../dist/client.js")) || !existsSync(TEST_CLIENT) ? "dist/client.js not built (npm run build)" : false;
if (skip && required) throw new Error(`RACGATE_BROWSER_TESTS=1 but ${skip}`);

const wire = skip ? null : await import("../out/wire.mjs");
const enc = (...ms) => wire.encodeMessages(...ms);
const decode = (bytes) => {
  const out = [];
  wire.decodeMessages(bytes, (m) => out.push(m));
  return out;
};
const waitMsg = (conn, pred, what, ms = 5000) => conn.next((msgs) => msgs.flatMap(decode).find(pred), ms, what);
const text = (s) => new TextEncoder().encode(s);

// One terminal deflate stream, as the server's: a sync-flushed piece per message.
function termStream() {
  const d = new Deflate({ level: 4 });
  let chunks = [];
  d.onData = (c) => chunks.push(c);
  return (s) => {
    const raw = text(s);
    chunks = [];
    d.push(raw, Z_SYNC_FLUSH);
    return { type: "TERMINAL_DEFLATE", size: raw.length, data: new Uint8Array(Buffer.concat(chunks)) };
  };
}

let server;
const sessions = {};

before(async () => {
  if (skip) return;
  server = await startFakeServer({ endpoints: ["tty", "bad"], onSession: (conn) => sessions[conn.endpoint]?.(conn) });
});

after(async () => {
  await server?.close();
});

test("TERMINAL_SCROLLBACK sets xterm.js's scrollback; TERMINAL_DEFLATE output shows, in order with TERMINAL", { skip }, async () => {
  const b = await openBrowser({ baseURL: server.url, viewport: { width: 800, height: 500 } });
  try {
    let conn;
    const z = termStream();
    sessions.tty = (c) => {
      conn = c;
      c.send(enc(
        { type: "HELLO", version: 1, kind: 1, flags: 7, name: "shell" },
        { type: "TERMINAL_CONFIG", fontSize: 0, colorScheme: "" },
        { type: "TERMINAL_SCROLLBACK", lines: 123 },
        z("first deflated line\r\n"),
        { type: "TERMINAL", data: text("raw ") },
        z("and deflated again, 漢字\r\n"), // refers back to the first piece
        { type: "FRAME", id: 1 },
      ));
    };
    await b.run({ open: "tty" });
    await b.run({ waitState: "connected" });
    await waitMsg(conn, (m) => m.type === "ACK" && m.id === 1, "ACK of the first FRAME");
    assert.match((await b.run({ terminalText: true })).text, /^first deflated line\nraw and deflated again, 漢字\n/);
    // Many lines: the scrollback keeps 123 of those scrolled off.
    let flood = "";
    for (let i = 0; i < 400; i++) flood += `line ${i}\r\n`;
    conn.send(enc(z(flood + "$ "), { type: "FRAME", id: 2 }));
    await waitMsg(conn, (m) => m.type === "ACK" && m.id === 2, "ACK of the deflated output's FRAME");
    const got = await b.page.evaluate(() => {
      const t = window.racgateTerminal;
      const buf = t.buffer.active;
      const lines = [];
      for (let y = 0; y < buf.length; y++) lines.push(buf.getLine(y).translateToString(true));
      return { scrollback: t.options.scrollback, rows: t.rows, lines };
    });
    assert.equal(got.scrollback, 123);
    assert.equal(got.lines.length, got.rows + 123, "the buffer holds the screen and 123 lines above it");
    assert.equal(got.lines.at(-1), "$ ");
    assert.equal(got.lines.at(-2), "line 399");
    assert.equal(got.lines[0], `line ${400 - (got.rows + 123) + 1}`);
  } finally {
    await b.close();
  }
});

test("a TERMINAL_DEFLATE piece that inflates to less than its size is a protocol error", { skip }, async () => {
  const b = await openBrowser({ baseURL: server.url });
  try {
    sessions.bad = (c) => {
      const z = termStream();
      const piece = z("short");
      c.send(enc(
        { type: "HELLO", version: 1, kind: 1, flags: 7, name: "shell" },
        { ...piece, size: piece.size + 1 },
        { type: "FRAME", id: 1 },
      ));
    };
    await b.run({ open: "bad" });
    await b.run({ waitState: "closed" });
    assert.match((await b.run({ statusText: true })).text, /protocol error: TERMINAL_DEFLATE/);
  } finally {
    await b.close();
  }
});
