// The wire decoder and encoder against the shared vectors (render/wire/testdata/vectors.json),
// including the deflate stream vectors drawn to exact pixels.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { Deflate, Z_SYNC_FLUSH, deflate } from "pako";
import { decodeMessages, encodeMessages, ProtocolError, ENC_ZRGB, ENC_ZPALETTE, ENC_ZRGB1, ENC_ZPALETTE1, T, closeAllowsReconnect, MAX_PROMPT_TEXT } from "../../src/wire.js";
import type { Message } from "../../src/wire.js";
import { Inflater, OneShotInflater, PaletteDecoder, rgbToRGBA, paletteSize } from "../../src/zstream.js";

type Vector = {
  name: string;
  hex: string;
  message?: Record<string, unknown>;
  messages?: Record<string, unknown>[];
  canvas?: { width: number; height: number; rgb: string };
  error?: string;
};

const vectorsURL = new URL("../../../render/wire/testdata/vectors.json", import.meta.url);
const vectors: Vector[] = JSON.parse(readFileSync(vectorsURL, "utf8"));

const hex = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString("hex");
const unhex = (s: string) => new Uint8Array(Buffer.from(s, "hex"));

// describe gives a decoded message the vectors' JSON form: byte fields as hex.
function describe(m: Message): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(m)) out[k] = v instanceof Uint8Array ? hex(v) : v;
  return out;
}

// undescribe turns a vector's JSON message back into a Message for the encoder.
function undescribe(j: Record<string, unknown>): Message {
  const m: Record<string, unknown> = { ...j };
  for (const k of ["data", "rgba", "payload", "config", "png"]) if (typeof m[k] === "string") m[k] = unhex(m[k] as string);
  return m as unknown as Message;
}

function decodeAll(b: Uint8Array): Message[] {
  const out: Message[] = [];
  decodeMessages(b, (m) => out.push(m));
  return out;
}

test("vectors file is there and covers every message type", () => {
  assert.ok(vectors.length > 20, `only ${vectors.length} vectors`);
  const seen = new Set<number>();
  for (const v of vectors) for (const m of v.error ? [] : decodeAll(unhex(v.hex))) {
    seen.add(m.type === "UNKNOWN" ? m.typeByte : (T as Record<string, number>)[m.type]);
  }
  for (const [name, code] of Object.entries(T)) {
    assert.ok(seen.has(code), `no vector for ${name}`);
  }
});

for (const v of vectors) {
  test(`vector ${v.name}`, () => {
    const bytes = unhex(v.hex);
    if (v.error === "canvas") {
      // Decodes, but drawing it is a protocol error.
      const ms = decodeAll(bytes);
      assert.throws(() => drawModel(ms), ProtocolError);
      return;
    }
    if (v.error) {
      assert.throws(() => decodeAll(bytes), ProtocolError);
      return;
    }
    const got = decodeAll(bytes).map(describe);
    const want = v.message ? [v.message] : v.messages!;
    assert.deepEqual(got, want);
    // The encoder writes the same bytes back.
    assert.equal(hex(encodeMessages(...want.map(undescribe))), v.hex);
    if (v.canvas) {
      const c = drawModel(decodeAll(bytes));
      assert.equal(c.width, v.canvas.width);
      assert.equal(c.height, v.canvas.height);
      assert.equal(hex(c.rgb()), v.canvas.rgb);
    }
  });
}

// A software canvas drawing what Display draws, with the same deflate and pixel code.
function drawModel(ms: Message[]) {
  let width = 0, height = 0;
  let px = new Uint8Array(0); // RGBA
  const z = new Inflater();
  const one = new OneShotInflater();
  const pal = new PaletteDecoder();
  let scratch = new Uint8Array(0);
  for (const m of ms) {
    switch (m.type) {
      case "RESIZE":
        width = m.width; height = m.height;
        px = new Uint8Array(width * height * 4);
        for (let i = 3; i < px.length; i += 4) px[i] = 255;
        break;
      case "FILL":
        for (let y = m.y; y < m.y + m.height; y++) for (let x = m.x; x < m.x + m.width; x++) px.set([m.r, m.g, m.b, 255], (y * width + x) * 4);
        break;
      case "COPY": {
        const src = px.slice();
        for (let y = 0; y < m.height; y++) for (let x = 0; x < m.width; x++) {
          const s = ((m.srcY + y) * width + m.srcX + x) * 4;
          px.set(src.subarray(s, s + 4), ((m.y + y) * width + m.x + x) * 4);
        }
        break;
      }
      case "IMAGE": {
        // Decode into a scratch buffer wider than the image, as Display does (stride ≠ width).
        const stride = (m.width + 3) * 4;
        scratch = new Uint8Array(stride * m.height);
        if (m.x + m.width > width || m.y + m.height > height) throw new ProtocolError("IMAGE outside the canvas");
        if (m.encoding === ENC_ZRGB) rgbToRGBA(z.inflate(m.data, m.width * m.height * 3), m.width, m.height, scratch, stride);
        else if (m.encoding === ENC_ZPALETTE) pal.decode(z, m.data, m.width, m.height, scratch, stride);
        else if (m.encoding === ENC_ZRGB1) rgbToRGBA(one.inflate(m.data, m.width * m.height * 3), m.width, m.height, scratch, stride);
        else if (m.encoding === ENC_ZPALETTE1) pal.decode(one, m.data, m.width, m.height, scratch, stride);
        else throw new Error(`model cannot draw encoding ${m.encoding}`);
        for (let y = 0; y < m.height; y++) px.set(scratch.subarray(y * stride, y * stride + m.width * 4), ((m.y + y) * width + m.x) * 4);
        break;
      }
    }
  }
  return {
    width, height,
    rgb() {
      const out = new Uint8Array(width * height * 3);
      for (let i = 0, j = 0; i < px.length; i += 4, j += 3) out.set(px.subarray(i, i + 3), j);
      return out;
    },
  };
}

test("stream vectors: every piece inflates whole on its own", () => {
  let oneShots = 0;
  for (const v of vectors.filter((v) => v.canvas)) {
    const z = new Inflater();
    for (const m of decodeAll(unhex(v.hex))) {
      if (m.type !== "IMAGE") continue;
      if (m.encoding === ENC_ZRGB1 || m.encoding === ENC_ZPALETTE1) {
        // A complete stream: pako's one-call inflate ends it, checksum and all.
        oneShots++;
        const raw = new OneShotInflater().inflateUpTo(m.data, paletteSize(256, m.width, m.height) + m.width * m.height * 3);
        assert.equal(raw.length, m.encoding === ENC_ZRGB1 ? m.width * m.height * 3 : paletteSize(raw[0] + 1, m.width, m.height));
        continue;
      }
      // Ends with a sync flush marker, and inflating stops exactly at the piece's end.
      assert.equal(hex(m.data.subarray(m.data.length - 4)), "0000ffff", `${v.name}: piece lacks sync flush`);
      const n = m.encoding === ENC_ZRGB ? m.width * m.height * 3 : -1;
      if (n >= 0) assert.equal(z.inflate(m.data, n).length, n);
      else {
        const got = z.inflateUpTo(m.data, paletteSize(256, m.width, m.height));
        assert.equal(got.length, paletteSize(got[0] + 1, m.width, m.height));
      }
    }
  }
  assert.ok(oneShots >= 2, "no one-shot IMAGE in the stream vectors");
});

test("one-shot inflater: exact size, end, checksum and trailing bytes checked; reusable after an error", () => {
  const one = new OneShotInflater();
  let seed = 3;
  const rnd = () => (seed = (seed * 1103515245 + 12345) >>> 0) >>> 24;
  for (let i = 0; i < 30; i++) {
    const raw = new Uint8Array(1 + ((i * 4099) % 70000)).map((_, k) => (i & 1 ? rnd() : (k >> 6) & 0xff));
    const z = deflate(raw, { level: (i % 9) + 1 });
    assert.deepEqual(one.inflate(z, raw.length), raw, `piece ${i}`);
    assert.throws(() => one.inflate(z, raw.length + 1), /inflates to \d+ bytes, want/);
    if (raw.length > 1) assert.throws(() => one.inflate(z, raw.length - 1), /more than/);
    const badSum = z.slice();
    badSum[badSum.length - 1] ^= 0x10;
    assert.throws(() => one.inflate(badSum, raw.length), ProtocolError);
    assert.throws(() => one.inflate(z.subarray(0, z.length - 2), raw.length), /does not end/);
    const trailing = new Uint8Array(z.length + 1);
    trailing.set(z);
    assert.throws(() => one.inflate(trailing, raw.length), /after the zlib stream/);
    // The stream of a connection (sync-flushed, no final block) is not a one-shot piece.
    assert.throws(() => one.inflate(serverStream()(raw), raw.length), /does not end/);
  }
  // Empty: a whole stream of nothing.
  assert.equal(one.inflate(deflate(new Uint8Array(0)), 0).length, 0);
});

test("one-shot inflater: random pieces throw only ProtocolError", () => {
  let seed = 5;
  const rnd = () => (seed = (seed * 1664525 + 1013904223) >>> 0) >>> 24;
  const good = deflate(new Uint8Array([1, 0, 0, 0, 255, 255, 255, 0b10100000]));
  const one = new OneShotInflater();
  for (let i = 0; i < 2000; i++) {
    let piece: Uint8Array;
    if (i % 2) {
      piece = good.slice(0, 1 + (rnd() % good.length));
      piece[rnd() % piece.length] ^= 1 << (rnd() & 7);
    } else {
      piece = new Uint8Array(rnd() % 64).map(() => rnd());
      if (piece.length > 2) piece.set([0x78, 0x9c]);
    }
    const w = 1 + (rnd() % 20), h = 1 + (rnd() % 5);
    try {
      if (i & 2) new PaletteDecoder().decode(one, piece, w, h, new Uint8Array(w * h * 4), w * 4);
      else one.inflate(piece, w * h * 3);
    } catch (e) {
      assert.ok(e instanceof ProtocolError, `piece ${hex(piece)}: ${e}`);
    }
  }
});

// A server-side stream made with pako, to check sizes that the vectors do not.
function serverStream() {
  const d = new Deflate({ level: 6 });
  const chunks: Uint8Array[] = [];
  d.onData = (c: Uint8Array) => chunks.push(c);
  return (raw: Uint8Array) => {
    chunks.length = 0;
    d.push(raw, Z_SYNC_FLUSH);
    const n = chunks.reduce((a, c) => a + c.length, 0);
    const out = new Uint8Array(n);
    let o = 0;
    for (const c of chunks) { out.set(c, o); o += c.length; }
    return out;
  };
}

test("inflater: many pieces in one stream, back references across pieces", () => {
  const piece = serverStream();
  const z = new Inflater();
  let seed = 7;
  const rnd = () => (seed = (seed * 1103515245 + 12345) >>> 0) >>> 24;
  const first = new Uint8Array(30000).map(() => rnd());
  for (let i = 0; i < 20; i++) {
    // Later pieces repeat the first: deflate refers back into earlier pieces.
    const raw = i % 2 ? first : new Uint8Array(1000 + i * 777).map((_, k) => (k * i) & 0xff);
    const got = z.inflate(piece(raw), raw.length);
    assert.deepEqual(got, raw);
  }
});

test("inflater: a piece of the wrong size is a protocol error", () => {
  const piece = serverStream();
  const raw = new Uint8Array(3 * 10 * 10).fill(9);
  assert.throws(() => new Inflater().inflate(piece(raw), raw.length - 3), /more than/);
  const piece2 = serverStream();
  assert.throws(() => new Inflater().inflate(piece2(raw), raw.length + 3), /inflates to 300 bytes, want 303/);
  assert.throws(() => new Inflater().inflate(new Uint8Array([1, 2, 3, 4, 5, 6]), 10), ProtocolError);
});

test("palette: 1, 2, 4 and 8 bits per index, rows start on a byte", () => {
  for (const n of [1, 2, 3, 4, 5, 16, 17, 256]) {
    const w = 13, h = 3;
    const bits = n <= 2 ? 1 : n <= 4 ? 2 : n <= 16 ? 4 : 8;
    const rowBytes = Math.ceil((w * bits) / 8);
    const raw = new Uint8Array(1 + 3 * n + rowBytes * h);
    raw[0] = n - 1;
    for (let i = 0; i < n; i++) raw.set([i, 255 - i, (i * 7) & 0xff], 1 + 3 * i);
    const idx = (x: number, y: number) => (x * 5 + y * 3) % n;
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
      const bit = x * bits;
      raw[1 + 3 * n + y * rowBytes + (bit >> 3)] |= idx(x, y) << (8 - bits - (bit & 7));
    }
    const dst = new Uint8Array(w * h * 4);
    new PaletteDecoder().decode(new Inflater(), serverStream()(raw), w, h, dst, w * 4);
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
      const i = idx(x, y);
      assert.deepEqual([...dst.subarray((y * w + x) * 4, (y * w + x) * 4 + 4)], [i, 255 - i, (i * 7) & 0xff, 255], `n=${n} (${x},${y})`);
    }
    // The wrong count for the length is refused.
    const bad = raw.slice();
    bad[0] = n === 256 ? 0 : n;
    assert.throws(() => new PaletteDecoder().decode(new Inflater(), serverStream()(bad), w, h, dst, w * 4), ProtocolError, `n=${n}`);
  }
});

test("decoder: several messages in one websocket message, unknown types skipped", () => {
  const b = encodeMessages(
    { type: "FRAME", id: 1 },
    { type: "UNKNOWN", typeByte: 0x7f, payload: new Uint8Array([1, 2, 3]) },
    { type: "FILL", x: 1, y: 2, width: 3, height: 4, r: 5, g: 6, b: 7 },
  );
  const got = decodeAll(b);
  assert.deepEqual(got.map((m) => m.type), ["FRAME", "UNKNOWN", "FILL"]);
  // Longer payloads than a type's fixed fields are accepted (fields appended in a version).
  const longer = new Uint8Array([0x06, 6, 0, 0, 0, 9, 0, 0, 0, 0xaa, 0xbb]);
  assert.deepEqual(decodeAll(longer), [{ type: "FRAME", id: 9 }]);
});

test("decoder: random and truncated input throws only ProtocolError", () => {
  let seed = 1;
  const rnd = () => (seed = (seed * 1664525 + 1013904223) >>> 0) >>> 24;
  const all = vectors.filter((v) => !v.error).map((v) => unhex(v.hex));
  for (let i = 0; i < 5000; i++) {
    let b: Uint8Array;
    if (i % 2) {
      const v = all[i % all.length];
      b = v.slice(0, rnd() % (v.length + 1));
      if (b.length) b[rnd() % b.length] ^= rnd();
    } else {
      b = new Uint8Array(rnd() % 40).map(() => rnd());
      if (b.length > 4 && i % 4 === 0) b[0] = (rnd() % 14) | (i % 8 === 0 ? 0x80 : 0);
    }
    try {
      decodeAll(b);
    } catch (e) {
      assert.ok(e instanceof ProtocolError, `input ${hex(b)}: ${e}`);
    }
  }
});

test("a length beyond the message is refused before anything is allocated", () => {
  const b = new Uint8Array([0x05, 0xff, 0xff, 0xff, 0xff, 0, 0]);
  assert.throws(() => decodeAll(b), /exceeds/);
  // A cursor claiming 65535×65535 pixels in a short payload.
  const c = new Uint8Array([0x07, 8, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff]);
  assert.throws(() => decodeAll(c), ProtocolError);
});

test("CLOSE codes: reconnect makes sense except for 3, 7, 9, 10, 12", () => {
  const no = [3, 7, 9, 10, 12];
  for (let c = 1; c <= 12; c++) assert.equal(closeAllowsReconnect(c), !no.includes(c), `code ${c}`);
});

test("inflater and palette: random pieces throw only ProtocolError", () => {
  let seed = 99;
  const rnd = () => (seed = (seed * 1664525 + 1013904223) >>> 0) >>> 24;
  const good = serverStream()(new Uint8Array([1, 0, 0, 0, 255, 255, 255, 0b10100000]));
  for (let i = 0; i < 2000; i++) {
    const z = new Inflater();
    let piece: Uint8Array;
    if (i % 3 === 0) {
      piece = good.slice();
      piece[rnd() % piece.length] ^= 1 << (rnd() & 7);
    } else {
      piece = new Uint8Array(rnd() % 64).map(() => rnd());
      if (i % 3 === 1 && piece.length > 2) piece.set([0x78, 0x9c]); // a valid zlib header
    }
    const w = 1 + (rnd() % 20), h = 1 + (rnd() % 5);
    const dst = new Uint8Array(w * h * 4);
    try {
      if (i & 1) new PaletteDecoder().decode(z, piece, w, h, dst, w * 4);
      else z.inflate(piece, w * h * 3);
    } catch (e) {
      assert.ok(e instanceof ProtocolError, `piece ${hex(piece)}: ${e}`);
    }
  }
});

test("RGB → RGBA: the u32 and the byte paths agree, stride kept", async () => {
  const { rgbToRGBA32, rgbToRGBA8 } = await import("../../src/zstream.js");
  const w = 7, h = 5, stride = (w + 2) * 4;
  const src = new Uint8Array(w * h * 3).map((_, i) => (i * 31 + 7) & 255);
  const a = new Uint8Array(stride * h).fill(1), b = new Uint8Array(stride * h).fill(1);
  rgbToRGBA32(src, w, h, a, stride);
  rgbToRGBA8(src, w, h, b, stride);
  assert.deepEqual(a, b);
  assert.deepEqual([...a.subarray(stride, stride + 4)], [src[w * 3], src[w * 3 + 1], src[w * 3 + 2], 255]);
  assert.equal(a[w * 4], 1, "bytes past the row untouched");
});

test("PROMPT and PROMPT_RESPONSE: bounds, UTF-8 and flags checked before use", () => {
  const ok = encodeMessages({ type: "PROMPT", id: 2, name: "n", instruction: "", prompts: [{ text: "Password: ", echo: false }] });
  assert.deepEqual(decodeAll(ok), [{ type: "PROMPT", id: 2, name: "n", instruction: "", prompts: [{ text: "Password: ", echo: false }] }]);
  // The same message with one byte changed: flags 2, name not UTF-8, count 0, count 17.
  const flagsAt = ok.length - 2 - "Password: ".length - 1;
  const variants: [number, number][] = [[flagsAt, 2], [11, 0xff], [14, 0], [14, 17]];
  for (const [at, v] of variants) {
    const b = ok.slice();
    b[at] = v;
    assert.throws(() => decodeAll(b), ProtocolError, `byte ${at} = ${v}`);
  }
  // Answers: empty (cancel), and one over 4 KiB refused.
  assert.deepEqual(decodeAll(encodeMessages({ type: "PROMPT_RESPONSE", id: 1, answers: [] })), [{ type: "PROMPT_RESPONSE", id: 1, answers: [] }]);
  const long = encodeMessages({ type: "PROMPT_RESPONSE", id: 1, answers: ["x".repeat(MAX_PROMPT_TEXT + 1)] });
  assert.throws(() => decodeAll(long), /over the 4096 limit/);
  const atLimit = encodeMessages({ type: "PROMPT_RESPONSE", id: 1, answers: ["é".repeat(MAX_PROMPT_TEXT / 2)] });
  assert.equal(decodeAll(atLimit).length, 1);
});

// Vectors typed by hand from docs/protocol.md's layouts (render/wire/testdata/spec_vectors.json;
// the Go test checks their fields against the spec's tables): the decoder and encoder
// against the spec itself, not only against the Go codec.
type SpecVector = {
  name: string;
  fields: [string, string][];
  message: Record<string, unknown>;
  canvas?: { width: number; height: number; rgb: string };
  terminal?: string;
};
const specVectors: SpecVector[] = JSON.parse(readFileSync(new URL("../../../render/wire/testdata/spec_vectors.json", import.meta.url), "utf8"));

test("spec vectors file is there", () => assert.ok(specVectors.length >= 25, `only ${specVectors.length} spec vectors`));

for (const v of specVectors) {
  test(`spec vector ${v.name}`, () => {
    const all = v.fields.map(([, h]) => h).join("");
    const ms = decodeAll(unhex(all));
    assert.deepEqual(ms.map(describe), [v.message]);
    assert.equal(hex(encodeMessages(undescribe(v.message))), all);
    if (v.canvas) {
      const c = drawModel([{ type: "RESIZE", width: v.canvas.width, height: v.canvas.height } as Message, ...ms]);
      assert.equal(hex(c.rgb()), v.canvas.rgb);
    }
    if (v.terminal !== undefined) {
      const m = ms[0];
      assert.ok(m.type === "TERMINAL_DEFLATE");
      assert.equal(hex(new Inflater().inflate(m.data, m.size)), v.terminal);
    }
  });
}

test("inflater: restart begins a new stream, as a recording's key record does", () => {
  const first = serverStream();
  const z = new Inflater();
  const raw = new Uint8Array(5000).map((_, k) => (k * 7) & 0xff);
  assert.deepEqual(z.inflate(first(raw), raw.length), raw);
  assert.deepEqual(z.inflate(first(raw), raw.length), raw);
  const second = serverStream(); // a new zlib stream: header and an empty window
  const p = second(raw);
  assert.throws(() => new Inflater().inflate(first(raw), raw.length), ProtocolError, "a stream's later piece alone");
  z.restart();
  assert.deepEqual(z.inflate(p, raw.length), raw);
  assert.deepEqual(z.inflate(second(raw), raw.length), raw);
});
