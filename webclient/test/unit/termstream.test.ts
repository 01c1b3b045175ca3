// TERMINAL_DEFLATE: the terminal deflate stream against the shared vectors
// (render/wire/testdata/vectors.json, "stream-terminal"), and broken pieces.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { Deflate, Z_SYNC_FLUSH } from "pako";
import { decodeMessages, encodeMessages, ProtocolError } from "../../src/wire.js";
import type { Message } from "../../src/wire.js";
import { TerminalInflater } from "../../src/termstream.js";

type Vector = { name: string; hex: string; terminal?: string };
const vectors: Vector[] = JSON.parse(readFileSync(new URL("../../../render/wire/testdata/vectors.json", import.meta.url), "utf8"));
const unhex = (s: string) => new Uint8Array(Buffer.from(s, "hex"));
const hex = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString("hex");

// output is what a terminal would be given, in order: TERMINAL data and inflated
// TERMINAL_DEFLATE pieces.
function output(ms: Message[], z = new TerminalInflater()): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const m of ms) {
    if (m.type === "TERMINAL") out.push(m.data);
    if (m.type === "TERMINAL_DEFLATE") out.push(z.inflate(m));
  }
  return out;
}

function decodeAll(b: Uint8Array): Message[] {
  const ms: Message[] = [];
  decodeMessages(b, (m) => ms.push(m));
  return ms;
}

test("stream-terminal vector: TERMINAL and TERMINAL_DEFLATE give the output", () => {
  const v = vectors.find((v) => v.name === "stream-terminal");
  assert.ok(v?.terminal, "no stream-terminal vector with its output");
  const ms = decodeAll(unhex(v.hex));
  assert.ok(ms.some((m) => m.type === "TERMINAL_SCROLLBACK" && m.lines === 1000));
  const pieces = output(ms);
  assert.equal(hex(Buffer.concat(pieces)), v.terminal);
  // Each piece is a buffer of its own: xterm.js may still hold an earlier one.
  assert.notEqual(pieces[1].buffer, pieces[2].buffer);
});

test("TERMINAL_DEFLATE: a piece that inflates to fewer or more bytes than its size is a protocol error", () => {
  const d = new Deflate();
  let chunks: Uint8Array[] = [];
  d.onData = (c: Uint8Array) => chunks.push(c);
  const piece = (s: string) => {
    chunks = [];
    d.push(new TextEncoder().encode(s), Z_SYNC_FLUSH);
    return new Uint8Array(Buffer.concat(chunks));
  };
  const p1 = piece("hello, ");
  const p2 = piece("world\r\n");
  const z = new TerminalInflater();
  assert.equal(new TextDecoder().decode(z.inflate({ type: "TERMINAL_DEFLATE", size: 7, data: p1 })), "hello, ");
  assert.throws(() => z.inflate({ type: "TERMINAL_DEFLATE", size: 8, data: p2 }), (e) => e instanceof ProtocolError && /TERMINAL_DEFLATE/.test(e.message));
  const z2 = new TerminalInflater();
  z2.inflate({ type: "TERMINAL_DEFLATE", size: 7, data: p1 });
  assert.throws(() => z2.inflate({ type: "TERMINAL_DEFLATE", size: 6, data: p2 }), ProtocolError);
  assert.throws(() => new TerminalInflater().inflate({ type: "TERMINAL_DEFLATE", size: 3, data: new Uint8Array([1, 2, 3, 4]) }), ProtocolError);
});

test("TERMINAL_DEFLATE: the size is bounded before anything is inflated", () => {
  const big = encodeMessages({ type: "TERMINAL_DEFLATE", size: (64 << 10) + 1, data: new Uint8Array([0x78, 0x01]) });
  assert.throws(() => decodeAll(big), ProtocolError);
  const zero = encodeMessages({ type: "TERMINAL_DEFLATE", size: 0, data: new Uint8Array(0) });
  assert.throws(() => decodeAll(zero), ProtocolError);
});
