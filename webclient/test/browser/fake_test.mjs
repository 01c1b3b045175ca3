// Browser tests of the web client against a scripted fake gateway (fake_server.mjs), in
// Debian's chromium. They run when chromium exists (RACGATE_BROWSER_TESTS=1 makes a
// missing chromium a failure). Canvas pixels are compared with what the server sent.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { deflateSync } from "node:zlib";
import { Deflate, Z_SYNC_FLUSH } from "pako";
import { startFakeServer } from "./fake_server.mjs";
import { openBrowser, CHROMIUM, TEST_CLIENT } from "./session.mjs";

// The menu handle's strip at the window's left edge (client.css): the remote screen
// is the window less it.
const HANDLE = 6;

const here = fileURLToPath(new URL(".", import.meta.url));
const required = process.env.RACGATE_BROWSER_TESTS === "1";
const haveChromium = existsSync(CHROMIUM);
const haveDist = existsSync(join(here, "../../dist/client.js"));
const skip = !haveChromium ? `no ${CHROMIUM}` : !haveDist || !existsSync(TEST_CLIENT) ? "dist/client.js not built (npm run build)" : false;
if (skip && required) throw new Error(`RACGATE_BROWSER_TESTS=1 but ${skip}`);

// The wire module compiled by `node build.mjs --tests` (the same code the page runs).
const wire = skip ? null : await import("../out/wire.mjs");
const enc = (...ms) => wire.encodeMessages(...ms);
const decode = (bytes) => {
  const out = [];
  wire.decodeMessages(bytes, (m) => out.push(m));
  return out;
};
const all = (conn) => conn.messages.flatMap(decode);
const waitMsg = (conn, pred, what, ms = 5000) => conn.next((msgs) => msgs.flatMap(decode).find(pred), ms, what);
// waitRelease waits for a POINTER press with these buttons at column x and then a release
// after it. Waiting for a release alone could match the move that comes before the press.
const waitRelease = (conn, x, buttons, what, ms = 5000) =>
  conn.next(
    (msgs) => {
      const ptr = msgs.flatMap(decode).filter((m) => m.type === "POINTER" && m.x === x);
      const i = ptr.findIndex((m) => m.buttons === buttons);
      return i >= 0 && ptr.slice(i + 1).find((m) => m.buttons === 0);
    },
    ms,
    what,
  );

let server;
let b;
const sessions = {}; // endpoint → function(conn) scripting the server side
const endpoints = ["desk", "desk2"];

before(async () => {
  if (skip) return;
  server = await startFakeServer({
    endpoints,
    onSession: (conn) => (sessions[conn.endpoint] ?? (() => {}))(conn),
  });
  b = await openBrowser({ baseURL: server.url, viewport: { width: 1024 + HANDLE, height: 768 } });
});

after(async () => {
  await b?.close();
  await server?.close();
});

const hello = (flags = 7, name = "Fake Desk") => ({ type: "HELLO", version: 1, kind: 0, flags, name });

// One zlib stream per websocket, sync-flushed per piece, as the server's.
function zstream() {
  const d = new Deflate({ level: 6 });
  let chunks = [];
  d.onData = (c) => chunks.push(c);
  return (raw) => {
    chunks = [];
    d.push(raw, Z_SYNC_FLUSH);
    return new Uint8Array(Buffer.concat(chunks));
  };
}

// A software framebuffer (RGB) that applies what the test sends.
class Model {
  constructor(w, h) {
    this.w = w;
    this.h = h;
    this.px = new Uint8Array(w * h * 3);
  }
  set(x, y, r, g, b) {
    this.px.set([r, g, b], (y * this.w + x) * 3);
  }
  get(x, y) {
    return [...this.px.subarray((y * this.w + x) * 3, (y * this.w + x) * 3 + 3)];
  }
  fill(x, y, w, h, r, g, b) {
    for (let j = y; j < y + h; j++) for (let i = x; i < x + w; i++) this.set(i, j, r, g, b);
  }
  rgb(x, y, w, h, rgb) {
    for (let j = 0; j < h; j++) for (let i = 0; i < w; i++) this.set(x + i, y + j, ...rgb.subarray((j * w + i) * 3, (j * w + i) * 3 + 3));
  }
  copy(x, y, w, h, sx, sy) {
    const src = this.px.slice();
    for (let j = 0; j < h; j++) for (let i = 0; i < w; i++) this.px.set(src.subarray(((sy + j) * this.w + sx + i) * 3, ((sy + j) * this.w + sx + i) * 3 + 3), ((y + j) * this.w + x + i) * 3);
  }
}

// A PNG of RGB pixels (PNG spec: signature, IHDR, IDAT with filter 0 rows, IEND).
const CRC = new Int32Array(256).map((_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c;
});
function crc32(b) {
  let c = -1;
  for (const x of b) c = CRC[(c ^ x) & 255] ^ (c >>> 8);
  return (c ^ -1) >>> 0;
}
function png(w, h, rgb) {
  const chunk = (type, data) => {
    const t = Buffer.concat([Buffer.from(type, "ascii"), data]);
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(t));
    return Buffer.concat([len, t, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(h, 4);
  ihdr.set([8, 2, 0, 0, 0], 8); // 8-bit RGB
  const raw = Buffer.alloc((w * 3 + 1) * h);
  for (let y = 0; y < h; y++) Buffer.from(rgb.buffer, rgb.byteOffset + y * w * 3, w * 3).copy(raw, y * (w * 3 + 1) + 1);
  return new Uint8Array(Buffer.concat([Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]), chunk("IHDR", ihdr), chunk("IDAT", deflateSync(raw)), chunk("IEND", Buffer.alloc(0))]));
}

async function canvasRGB() {
  const r = await b.page.evaluate(() => {
    const c = document.getElementById("screen");
    return { w: c.width, h: c.height, d: Array.from(c.getContext("2d").getImageData(0, 0, c.width, c.height).data) };
  });
  const m = new Model(r.w, r.h);
  for (let i = 0, j = 0; i < r.d.length; i += 4, j += 3) {
    m.px[j] = r.d[i];
    m.px[j + 1] = r.d[i + 1];
    m.px[j + 2] = r.d[i + 2];
  }
  return m;
}

function firstDiff(got, want, skipRect) {
  for (let y = 0; y < want.h; y++)
    for (let x = 0; x < want.w; x++) {
      if (skipRect && x >= skipRect.x && x < skipRect.x + skipRect.w && y >= skipRect.y && y < skipRect.y + skipRect.h) continue;
      if (got.get(x, y).join() !== want.get(x, y).join()) return `(${x},${y}): got ${got.get(x, y)}, want ${want.get(x, y)}`;
    }
  return null;
}

test("draws FILL, ZRGB, ZPALETTE, PNG, overlapping COPY and JPEG exactly, ACKs each FRAME", { skip }, async () => {
  const W = 64, H = 48;
  const want = new Model(W, H);
  let conn;
  sessions.desk = (c) => {
    conn = c;
    const z = zstream();
    want.fill(0, 0, W, H, 10, 20, 30);
    const grad = new Uint8Array(16 * 8 * 3).map((_, i) => (i * 37) & 255);
    want.rgb(4, 4, 16, 8, grad);
    // ZPALETTE, 3 colours → 2 bits per index, 13 px rows (4 bytes each, padded).
    const pal = [[255, 0, 0], [0, 255, 0], [1, 2, 3]];
    const pw = 13, ph = 5, rowBytes = 4;
    const praw = new Uint8Array(1 + 9 + rowBytes * ph);
    praw[0] = 2;
    pal.forEach((c, i) => praw.set(c, 1 + 3 * i));
    for (let y = 0; y < ph; y++)
      for (let x = 0; x < pw; x++) {
        const idx = (x + y) % 3;
        praw[10 + y * rowBytes + (x >> 2)] |= idx << (6 - 2 * (x & 3));
        want.set(24 + x, 4 + y, ...pal[idx]);
      }
    const prgb = new Uint8Array(8 * 8 * 3).map((_, i) => (i % 3 === 0 ? 200 : i * 5) & 255);
    want.rgb(40, 4, 8, 8, prgb);
    want.copy(8, 6, 20, 10, 4, 4); // overlapping source and destination
    // Two websocket messages; the second holds several protocol messages.
    c.send(enc(hello(), { type: "RESIZE", width: W, height: H }));
    c.send(
      enc(
        { type: "FILL", x: 0, y: 0, width: W, height: H, r: 10, g: 20, b: 30 },
        { type: "IMAGE", x: 4, y: 4, width: 16, height: 8, encoding: 0, data: z(grad) },
        { type: "IMAGE", x: 24, y: 4, width: pw, height: ph, encoding: 1, data: z(praw) },
        { type: "IMAGE", x: 40, y: 4, width: 8, height: 8, encoding: 3, data: png(8, 8, prgb) },
        { type: "COPY", x: 8, y: 6, width: 20, height: 10, srcX: 4, srcY: 4 },
        { type: "FRAME", id: 1 },
      ),
    );
  };
  await b.run({ open: "desk" });
  await b.run({ waitState: "connected", timeoutMs: 5000 });
  assert.deepEqual({ width: conn.query.width, height: conn.query.height }, { width: "1024", height: "768" }, "websocket asks for the window size in device pixels");
  assert.ok(Number(conn.query.cols) > 20 && Number(conn.query.rows) > 10, `an estimate of the terminal size in cells: ${JSON.stringify(conn.query)}`);
  await waitMsg(conn, (m) => m.type === "ACK" && m.id === 1, "ACK 1");
  assert.equal(firstDiff(await canvasRGB(), want), null);
  assert.equal((await b.run({ title: true })).text, "Fake Desk");

  // JPEG: made by the browser itself, solid colour, so decoding is within a few levels.
  const jpeg = await b.page.evaluate(() => {
    const c = document.createElement("canvas");
    c.width = c.height = 16;
    const x = c.getContext("2d");
    x.fillStyle = "rgb(200,30,60)";
    x.fillRect(0, 0, 16, 16);
    return c.toDataURL("image/jpeg", 1);
  });
  const jpegBytes = new Uint8Array(Buffer.from(jpeg.slice(jpeg.indexOf(",") + 1), "base64"));
  conn.send(enc({ type: "IMAGE", x: 0, y: 32, width: 16, height: 16, encoding: 2, data: jpegBytes }, { type: "FILL", x: 60, y: 44, width: 4, height: 4, r: 9, g: 9, b: 9 }, { type: "FRAME", id: 2 }, { type: "NAME", name: "xterm — user@host" }));
  want.fill(60, 44, 4, 4, 9, 9, 9);
  await waitMsg(conn, (m) => m.type === "ACK" && m.id === 2, "ACK 2");
  const got = await canvasRGB();
  // The FILL after the JPEG is drawn after it (order kept across the async decode).
  assert.equal(firstDiff(got, want, { x: 0, y: 32, w: 16, h: 16 }), null);
  for (let y = 32; y < 48; y++)
    for (let x = 0; x < 16; x++) {
      const [r, g, bl] = got.get(x, y);
      assert.ok(Math.abs(r - 200) <= 4 && Math.abs(g - 30) <= 4 && Math.abs(bl - 60) <= 4, `JPEG pixel (${x},${y}) = ${[r, g, bl]}`);
    }
  assert.equal((await b.run({ title: true })).text, "xterm — user@host");
  // Frames are acknowledged once each, in order.
  assert.deepEqual(all(conn).filter((m) => m.type === "ACK").map((m) => m.id), [1, 2]);
  // Scaled to fit: 64×48 in 1024×768 is 16× with the aspect ratio kept.
  const box = await b.page.evaluate(() => {
    const r = document.getElementById("screen").getBoundingClientRect();
    return [r.left, r.top, r.width, r.height];
  });
  assert.deepEqual(box, [HANDLE, 0, 1024, 768]);
});

for (const name of ["stream-zrgb", "stream-zpalette"]) {
  test(`vector ${name} drawn by the page equals the vector's canvas`, { skip }, async () => {
    const vectors = JSON.parse(readFileSync(join(here, "../../../render/wire/testdata/vectors.json"), "utf8"));
    const v = vectors.find((v) => v.name === name);
    assert.ok(v, `no vector ${name}`);
    let conn;
    sessions[name] = (c) => {
      conn = c;
      c.send(enc(hello()));
      c.send(new Uint8Array(Buffer.from(v.hex, "hex")));
    };
    await b.run({ open: name });
    await b.run({ waitState: "connected" });
    await waitMsg(conn, (m) => m.type === "ACK" && m.id === 1, "ACK 1");
    const got = await canvasRGB();
    assert.deepEqual([got.w, got.h], [v.canvas.width, v.canvas.height]);
    assert.equal(Buffer.from(got.px).toString("hex"), v.canvas.rgb);
  });
}

test("keyboard, pointer, wheel and cursor", { skip }, async () => {
  let conn;
  sessions.input = (c) => {
    conn = c;
    c.send(enc(hello(), { type: "RESIZE", width: 200, height: 100 }, { type: "FILL", x: 0, y: 0, width: 200, height: 100, r: 50, g: 50, b: 50 }, { type: "FRAME", id: 1 }));
  };
  await b.run({ open: "input" });
  await b.run({ waitState: "connected" });
  await waitMsg(conn, (m) => m.type === "ACK", "ACK");
  const keys = () => all(conn).filter((m) => m.type === "KEY").map((m) => [m.down ? "down" : "up", m.keysym.toString(16), m.code]);

  await b.run({ type: "aé€" });
  await b.run({ press: "Enter" });
  await waitMsg(conn, (m) => m.type === "KEY" && m.keysym === 0xff0d && !m.down, "Enter up");
  assert.deepEqual(keys(), [
    ["down", "61", "KeyA"], ["up", "61", "KeyA"],
    ["down", "e9", ""], ["up", "e9", ""],
    ["down", "10020ac", ""], ["up", "10020ac", ""],
    ["down", "ff0d", "Enter"], ["up", "ff0d", "Enter"],
  ]);

  // A key held when the canvas loses focus is released.
  conn.messages.length = 0;
  await b.page.keyboard.down("Shift");
  await b.page.evaluate(() => document.getElementById("screen").blur());
  await waitMsg(conn, (m) => m.type === "KEY" && !m.down, "Shift released on blur");
  assert.deepEqual(keys(), [["down", "ffe1", "ShiftLeft"], ["up", "ffe1", "ShiftLeft"]]);
  await b.page.keyboard.up("Shift");

  // Pointer: framebuffer coordinates through the 5.12× scale; buttons left=1, right=4.
  conn.messages.length = 0;
  await b.run({ click: { x: 10, y: 20 } });
  await b.run({ click: { x: 150, y: 80, button: "right" } });
  await b.run({ click: { x: 199, y: 99, button: "middle" } });
  await waitRelease(conn, 199, 2, "middle release");
  const ptr = all(conn).filter((m) => m.type === "POINTER").map((m) => [m.x, m.y, m.buttons]);
  for (const want of [[10, 20, 1], [10, 20, 0], [150, 80, 4], [150, 80, 0], [199, 99, 2], [199, 99, 0]]) {
    assert.ok(ptr.some((p) => p.join() === want.join()), `no POINTER ${want} in ${JSON.stringify(ptr)}`);
  }
  const focused = await b.page.evaluate(() => document.activeElement?.id);
  assert.equal(focused, "screen", "a click focuses the canvas");

  conn.messages.length = 0;
  await b.run({ wheel: { x: 50, y: 50, dy: 300 } });
  await b.run({ wheel: { x: 50, y: 50, dy: -100 } });
  await waitMsg(conn, (m) => m.type === "WHEEL" && m.dy < 0, "wheel up");
  const wheels = all(conn).filter((m) => m.type === "WHEEL");
  assert.equal(wheels.filter((m) => m.dy > 0).reduce((a, m) => a + m.dy, 0), 3);
  assert.equal(wheels.filter((m) => m.dy < 0).reduce((a, m) => a + m.dy, 0), -1);
  assert.ok(wheels.every((m) => m.x === 50 && m.y === 50 && m.dx === 0), JSON.stringify(wheels));

  // Context menu suppressed: a right click left no menu and the default was prevented.
  const prevented = await b.page.evaluate(() => {
    const e = new MouseEvent("contextmenu", { bubbles: true, cancelable: true });
    return !document.getElementById("screen").dispatchEvent(e);
  });
  assert.ok(prevented, "contextmenu default prevented");

  // CURSOR: an image with hot spot, then hidden.
  const rgba = new Uint8Array(4 * 4 * 4).map((_, i) => (i % 4 === 3 ? 255 : i * 13));
  conn.send(enc({ type: "CURSOR", hotX: 1, hotY: 2, width: 4, height: 4, rgba }, { type: "FRAME", id: 2 }));
  await waitMsg(conn, (m) => m.type === "ACK" && m.id === 2, "ACK 2");
  const cur = await b.page.evaluate(() => document.getElementById("screen").style.cursor);
  assert.match(cur, /^url\("data:image\/png;base64,[A-Za-z0-9+/=]+"\) 1 2, auto$/);
  // The cursor image holds the pixels sent.
  const px = await b.page.evaluate(async (u) => {
    const img = new Image();
    img.src = u;
    await img.decode();
    const c = document.createElement("canvas");
    c.width = img.width;
    c.height = img.height;
    const x = c.getContext("2d");
    x.drawImage(img, 0, 0);
    return Array.from(x.getImageData(0, 0, c.width, c.height).data);
  }, cur.slice(5, cur.indexOf('")')));
  assert.deepEqual(px, Array.from(rgba));
  conn.send(enc({ type: "CURSOR", hotX: 0, hotY: 0, width: 0, height: 0, rgba: new Uint8Array(0) }, { type: "FRAME", id: 3 }));
  await waitMsg(conn, (m) => m.type === "ACK" && m.id === 3, "ACK 3");
  assert.equal(await b.page.evaluate(() => document.getElementById("screen").style.cursor), "none");
});

test("clipboard both ways, the panel, and RESIZE_REQUEST on window resize", { skip }, async () => {
  let conn;
  sessions.clip = (c) => {
    conn = c;
    c.send(enc(hello(7), { type: "RESIZE", width: 320, height: 200 }, { type: "FRAME", id: 1 }));
  };
  await b.run({ open: "clip" });
  await b.run({ waitState: "connected" });
  await waitMsg(conn, (m) => m.type === "ACK", "ACK");

  conn.send(enc({ type: "CLIPBOARD", text: "héllo\nwörld ✓" }));
  let text = "";
  for (let i = 0; i < 50 && text !== "héllo\nwörld ✓"; i++) {
    text = (await b.run({ readClipboard: true })).text;
    if (text !== "héllo\nwörld ✓") await new Promise((r) => setTimeout(r, 50));
  }
  assert.equal(text, "héllo\nwörld ✓");

  await b.run({ writeClipboard: "from browser ✓" });
  const cc = await waitMsg(conn, (m) => m.type === "CLIENT_CLIPBOARD", "CLIENT_CLIPBOARD");
  assert.equal(cc.text, "from browser ✓");

  // The panel, from the menu: type text, send.
  await b.run({ menu: true });
  await b.page.click("#clipboard-toggle");
  await b.page.fill("#clipboard", "typed in the panel");
  await b.page.click("#clipboard-send");
  const cp = await waitMsg(conn, (m) => m.type === "CLIENT_CLIPBOARD" && m.text.startsWith("typed"), "panel CLIPBOARD");
  assert.equal(cp.text, "typed in the panel");
  await b.page.click("#clipboard-toggle");
  await b.run({ menu: false });

  // Window resize: one RESIZE_REQUEST (debounced) with the new size in device pixels.
  await b.run({ setViewport: { width: 700 + HANDLE, height: 500 } });
  await b.run({ setViewport: { width: 640 + HANDLE, height: 400 } });
  const rr = await waitMsg(conn, (m) => m.type === "RESIZE_REQUEST", "RESIZE_REQUEST");
  assert.deepEqual([rr.width, rr.height, rr.scale], [640, 400, 100]);
  await new Promise((r) => setTimeout(r, 600));
  assert.equal(all(conn).filter((m) => m.type === "RESIZE_REQUEST").length, 1);
  // The canvas is rescaled to the new window at once (320×200 → 640×400).
  const box = await b.page.evaluate(() => {
    const r = document.getElementById("screen").getBoundingClientRect();
    return [r.width, r.height];
  });
  assert.deepEqual(box, [640, 400]);
  conn.send(enc({ type: "RESIZE", width: 640, height: 400 }, { type: "FRAME", id: 2 }));
  await waitMsg(conn, (m) => m.type === "ACK" && m.id === 2, "ACK 2");
  await b.run({ setViewport: { width: 1024 + HANDLE, height: 768 } });
});

// pngPixels decodes a PNG in the page (the browser's own decoder) to RGBA.
const pngPixels = (bytes) =>
  b.page.evaluate(async (arr) => {
    const bmp = await createImageBitmap(new Blob([new Uint8Array(arr)], { type: "image/png" }));
    const c = new OffscreenCanvas(bmp.width, bmp.height).getContext("2d");
    c.drawImage(bmp, 0, 0);
    return [bmp.width, bmp.height, Array.from(c.getImageData(0, 0, bmp.width, bmp.height).data)];
  }, Array.from(bytes));

test("clipboard with HTML and an image both ways (CLIPBOARD_CONTENT), copy, focus and paste", { skip }, async () => {
  let conn;
  sessions.richclip = (c) => {
    conn = c;
    c.send(enc(hello(7), { type: "RESIZE", width: 320, height: 200 }, { type: "FRAME", id: 1 }));
  };
  await b.run({ open: "richclip" });
  await b.run({ waitState: "connected" });
  await waitMsg(conn, (m) => m.type === "ACK", "ACK");
  await b.page.bringToFront();

  // Remote → browser: one ClipboardItem with the text, the HTML and the image.
  const rgb = new Uint8Array([255, 0, 0, 0, 255, 0, 0, 0, 255, 255, 255, 255]);
  conn.send(enc({ type: "CLIPBOARD_CONTENT", text: "rich ✓", html: "<b>rich</b> ✓", png: png(2, 2, rgb) }));
  const got = await b.page.evaluate(async () => {
    for (let i = 0; i < 100; i++) {
      const [item] = await navigator.clipboard.read();
      if (item?.types.includes("image/png")) {
        const bytes = new Uint8Array(await (await item.getType("image/png")).arrayBuffer());
        return { types: [...item.types].sort(), text: await (await item.getType("text/plain")).text(), html: await (await item.getType("text/html")).text(), png: Array.from(bytes) };
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    return null;
  });
  assert.ok(got, "the image never reached the browser's clipboard");
  assert.deepEqual(got.types, ["image/png", "text/html", "text/plain"]);
  assert.equal(got.text, "rich ✓");
  assert.match(got.html, /<b>rich<\/b> ✓/);
  const [w, h, rgba] = await pngPixels(got.png);
  assert.deepEqual([w, h], [2, 2]);
  assert.deepEqual(rgba.filter((_, i) => i % 4 !== 3), Array.from(rgb), "the image's pixels");
  // What racgate put there is not sent back when the page regains focus.
  await b.page.evaluate(() => window.dispatchEvent(new Event("focus")));
  await new Promise((r) => setTimeout(r, 300));
  // (The page may have sent what an earlier test left on the clipboard when it connected.)
  assert.equal(all(conn).filter((m) => m.type.startsWith("CLIENT_CLIPBOARD") && m.text === "rich ✓").length, 0, "echoed back");

  // Browser → remote on focus: text and HTML as CLIPBOARD_CONTENT.
  await b.page.evaluate(async () => {
    const item = new ClipboardItem({ "text/plain": new Blob(["a b"], { type: "text/plain" }), "text/html": new Blob(["<p>a <i>b</i></p>"], { type: "text/html" }) });
    await navigator.clipboard.write([item]);
    window.dispatchEvent(new Event("focus"));
  });
  const cc = await waitMsg(conn, (m) => m.type === "CLIENT_CLIPBOARD_CONTENT", "CLIPBOARD_CONTENT on focus");
  assert.equal(cc.text, "a b");
  assert.match(cc.html, /<p>a <i>b<\/i><\/p>/);
  assert.equal(cc.png.length, 0);

  // The paste shortcut with an image on the clipboard: the image arrives before the V.
  conn.messages.length = 0;
  const blue = new Uint8Array([0, 0, 255, 0, 0, 255, 0, 0, 255]);
  await b.page.evaluate(async (arr) => {
    const item = new ClipboardItem({ "image/png": new Blob([new Uint8Array(arr)], { type: "image/png" }) });
    await navigator.clipboard.write([item]);
  }, Array.from(png(3, 1, blue)));
  await b.page.click("#screen");
  await b.run({ press: "Control+v" });
  await waitMsg(conn, (m) => m.type === "KEY" && m.keysym === 0xffe3 && !m.down, "Control up");
  const seq = all(conn).filter((m) => m.type !== "POINTER").map((m) => (m.type === "KEY" ? `${m.down ? "+" : "-"}${m.keysym.toString(16)}` : m.type));
  assert.deepEqual(seq, ["+ffe3", "CLIENT_CLIPBOARD_CONTENT", "+76", "-76", "-ffe3"]);
  const pasted = all(conn).find((m) => m.type === "CLIENT_CLIPBOARD_CONTENT");
  const [pw, ph, prgba] = await pngPixels(pasted.png);
  assert.deepEqual([pw, ph], [3, 1]);
  assert.deepEqual(prgba.filter((_, i) => i % 4 !== 3), Array.from(blue), "the pasted image's pixels");
});

test("HELLO flags: no paste, no copy, no resize", { skip }, async () => {
  let conn;
  sessions.locked = (c) => {
    conn = c;
    c.send(enc(hello(0), { type: "RESIZE", width: 320, height: 200 }, { type: "FRAME", id: 1 }));
  };
  await b.run({ writeClipboard: "before" });
  await b.run({ open: "locked" });
  await b.run({ waitState: "connected" });
  await waitMsg(conn, (m) => m.type === "ACK", "ACK");
  conn.send(enc({ type: "CLIPBOARD", text: "must not arrive" }, { type: "FRAME", id: 2 }));
  await waitMsg(conn, (m) => m.type === "ACK" && m.id === 2, "ACK 2");
  await b.run({ writeClipboard: "secret from browser" });
  await b.run({ setViewport: { width: 800, height: 600 } });
  await new Promise((r) => setTimeout(r, 700));
  assert.equal((await b.run({ readClipboard: true })).text, "secret from browser");
  const types = all(conn).map((m) => m.type);
  assert.ok(!types.includes("CLIENT_CLIPBOARD"), `sent ${types}`);
  assert.ok(!types.includes("RESIZE_REQUEST"), `sent ${types}`);
  await b.run({ setViewport: { width: 1024 + HANDLE, height: 768 } });
});

test("NOTICE: shown in an aria-live line, a warning longer and styled apart, a newer one replacing it", { skip }, async () => {
  let conn;
  sessions.notice = (c) => {
    conn = c;
    c.send(enc(hello(), { type: "RESIZE", width: 100, height: 100 }, { type: "FRAME", id: 1 }));
  };
  await b.run({ open: "notice" });
  await b.run({ waitState: "connected" });
  await waitMsg(conn, (m) => m.type === "ACK", "ACK");
  const notice = async () => {
    const { text, level } = await b.run({ noticeText: true });
    return { text, level };
  };
  const look = () =>
    b.page.evaluate(() => {
      const e = document.getElementById("notice");
      return { role: e.getAttribute("role"), live: e.getAttribute("aria-live"), background: getComputedStyle(e).backgroundColor, focus: document.activeElement?.id };
    });
  const shown = () => b.page.waitForFunction(() => getComputedStyle(document.getElementById("notice")).opacity === "1", null, { timeout: 3000 });
  assert.deepEqual(await notice(), { text: "", level: "" });

  // NOTICE is drawn in order: once FRAME 2 is acknowledged, the notice before it shows.
  conn.send(enc({ type: "NOTICE", level: 0, text: "Bildqualität reduziert ✓" }, { type: "FRAME", id: 2 }));
  await waitMsg(conn, (m) => m.type === "ACK" && m.id === 2, "ACK 2");
  assert.deepEqual(await notice(), { text: "Bildqualität reduziert ✓", level: "info" });
  await shown();
  const info = await look();
  assert.equal(info.role, "status");
  assert.equal(info.live, "polite");
  assert.equal(info.focus, "screen", "the notice does not take the focus");

  conn.send(enc({ type: "NOTICE", level: 1, text: "The session ends in 5 minutes." }, { type: "FRAME", id: 3 }));
  await waitMsg(conn, (m) => m.type === "ACK" && m.id === 3, "ACK 3");
  assert.deepEqual(await notice(), { text: "The session ends in 5 minutes.", level: "warning" });
  assert.notEqual((await look()).background, info.background, "a warning looks different");

  // An info notice goes after 5 s (its time: the unit tests, on a fake clock).
  conn.send(enc({ type: "NOTICE", level: 0, text: "brief" }, { type: "FRAME", id: 4 }));
  await waitMsg(conn, (m) => m.type === "ACK" && m.id === 4, "ACK 4");
  assert.equal((await notice()).text, "brief");
  await b.page.waitForFunction(() => !document.getElementById("notice").dataset.level, null, { timeout: 9000 });
  assert.deepEqual(await notice(), { text: "", level: "" });
  assert.deepEqual(b.logs.filter((l) => l.startsWith("pageerror")), []);
});

test("CLOSE shows the reason, reconnect opens a new websocket, a dropped one reconnects by itself with a countdown", { skip }, async () => {
  const conns = [];
  sessions.closing = (c) => {
    conns.push(c);
    c.send(enc(hello(), { type: "RESIZE", width: 100, height: 100 }, { type: "FRAME", id: 1 }));
  };
  await b.run({ open: "closing" });
  await b.run({ waitState: "connected" });
  await waitMsg(conns[0], (m) => m.type === "ACK", "ACK");
  assert.equal(await b.page.isVisible("#reconnect"), false);
  conns[0].send(enc({ type: "CLOSE", code: 1, reason: "the remote machine ended the session" }));
  conns[0].close();
  await b.run({ waitState: "closed" });
  const st = await b.run({ statusText: true });
  assert.match(st.text, /the remote machine ended the session/);
  assert.equal(await b.page.isVisible("#reconnect"), true);

  await b.run({ reconnect: true });
  await b.run({ waitState: "connected" });
  assert.equal(conns.length, 2);
  await waitMsg(conns[1], (m) => m.type === "ACK" && m.id === 1, "ACK 1 on the new websocket");
  assert.equal(await b.page.isVisible("#reconnect"), false);
  // Dropped without a CLOSE: a countdown from 1 s, then a new websocket by itself.
  conns[1].close({ abrupt: true });
  await b.run({ waitState: "closed" });
  assert.match((await b.run({ statusText: true })).text, /connection lost: reconnecting in 1 s/);
  assert.equal(await b.page.getAttribute("#reconnect", "data-useful"), "true");
  await b.run({ waitState: "connected" });
  assert.equal(conns.length, 3);
  await waitMsg(conns[2], (m) => m.type === "ACK" && m.id === 1, "ACK 1 after reconnecting by itself");
  // Tries that fail wait longer each time: 1 s, then 2 s.
  const failing = sessions.closing;
  sessions.closing = (c) => {
    conns.push(c);
    c.close({ abrupt: true });
  };
  conns[2].close({ abrupt: true });
  await b.page.waitForFunction(() => /reconnecting in 2 s/.test(document.getElementById("status-text").textContent), null, { timeout: 5000 });
  assert.equal(conns.length, 4, "one try after 1 s");
  sessions.closing = failing;
  await b.run({ waitState: "connected" });
  assert.equal(conns.length, 5);
  // The user's Disconnect is not retried.
  await b.run({ menu: true });
  await b.page.click("#disconnect");
  await b.run({ waitState: "closed" });
  await new Promise((r) => setTimeout(r, 1500));
  assert.equal(conns.length, 5, "Disconnect reconnected by itself");
  assert.match((await b.run({ statusText: true })).text, /disconnected/);

  // CLOSE SHUTDOWN (racgate going away, as in a rolling upgrade): its reason, then a
  // countdown and a new websocket by itself, as for a lost connection.
  await b.run({ reconnect: true });
  await b.run({ waitState: "connected" });
  assert.equal(conns.length, 6);
  conns[5].send(enc({ type: "CLOSE", code: 8, reason: "racgate is shutting down" }));
  conns[5].close();
  await b.page.waitForFunction(() => /racgate is shutting down: reconnecting in 1 s/.test(document.getElementById("status-text").textContent), null, { timeout: 5000 });
  await b.run({ waitState: "connected" });
  assert.equal(conns.length, 7);
  await waitMsg(conns[6], (m) => m.type === "ACK" && m.id === 1, "ACK 1 after the instance went away");

  // CLOSE with a code where retrying does not help: the button stays, marked so.
  sessions.denied = (c) => {
    c.send(enc({ type: "CLOSE", code: 3, reason: "the remote machine refused the credentials" }));
    c.close();
  };
  await b.run({ open: "denied" });
  await b.run({ waitState: "closed" });
  assert.match((await b.run({ statusText: true })).text, /refused the credentials/);
  assert.equal(await b.page.getAttribute("#reconnect", "data-useful"), "false");

  // A websocket the gateway refuses.
  await b.run({ open: "refused-one" });
  await b.run({ waitState: "closed" });
  assert.match((await b.run({ statusText: true })).text, /connection lost \(the websocket could not be opened\)/);
});

test("malformed messages end the session with a clear error, the page survives", { skip }, async () => {
  const cases = [
    ["short FILL", new Uint8Array([0x03, 2, 0, 0, 0, 1, 2]), /FILL/],
    ["IMAGE outside the framebuffer", enc({ type: "IMAGE", x: 90, y: 0, width: 20, height: 1, encoding: 0, data: zstream()(new Uint8Array(60)) }), /outside/],
    ["length beyond the message", new Uint8Array([0x06, 9, 0, 0, 0, 1]), /exceeds/],
    ["bad deflate data", enc({ type: "IMAGE", x: 0, y: 0, width: 2, height: 2, encoding: 0, data: new Uint8Array([1, 2, 3, 4]) }), /deflate/],
    ["NOTICE level 2", new Uint8Array([0x13, 2, 0, 0, 0, 2, 0x78]), /NOTICE: level 2/],
    ["text websocket message", "text", /binary/],
  ];
  for (const [name, bytes, re] of cases) {
    let conn;
    const ep = `broken-${name.replace(/\W+/g, "-")}`;
    sessions[ep] = (c) => {
      conn = c;
      c.send(enc(hello(), { type: "RESIZE", width: 100, height: 100 }));
      if (typeof bytes === "string") c.sendText(bytes);
      else c.send(bytes);
    };
    b.logs.length = 0;
    await b.run({ open: ep });
    await b.run({ waitState: "closed" });
    const st = (await b.run({ statusText: true })).text;
    assert.match(st, /protocol error/, name);
    assert.match(st, re, name);
    await conn.next((_, c) => c.closed, 3000, "websocket closed by the client");
    assert.equal(conn.closeCode, 4000, `${name}: close code`);
    assert.deepEqual(b.logs.filter((l) => l.startsWith("pageerror")), [], name);
  }
});

test("session.mjs CLI: login, open by link, screenshot; a failing step exits non-zero", { skip }, async () => {
  const dir = mkdtempSync(join(tmpdir(), "racgate-cli-"));
  try {
    sessions.desk2 = (c) => c.send(enc(hello(7, "Desk Two"), { type: "RESIZE", width: 30, height: 20 }, { type: "FILL", x: 0, y: 0, width: 30, height: 20, r: 1, g: 200, b: 3 }, { type: "FRAME", id: 1 }));
    sessions.silent = () => {}; // never says HELLO
    const run = (steps) =>
      new Promise((resolve, reject) => {
        const f = join(dir, `steps-${Math.random()}.json`);
        writeFileSync(f, JSON.stringify(steps));
        const p = spawn(process.execPath, [join(here, "session.mjs"), f], { env: { ...process.env, RACGATE_URL: server.url }, stdio: ["ignore", "pipe", "pipe"] });
        let out = "", err = "";
        p.stdout.on("data", (d) => (out += d));
        p.stderr.on("data", (d) => (err += d));
        p.on("error", reject);
        p.on("close", (code) => {
          try {
            resolve({ code, out: JSON.parse(out), err });
          } catch {
            reject(new Error(`bad output (exit ${code}): ${out} ${err}`));
          }
        });
      });
    const ok = await run([
      { login: { username: "alice", password: "secret" } },
      { open: "desk2" },
      { waitState: "connected", timeoutMs: 5000 },
      { sleep: 200 },
      { canvasPNG: join(dir, "c.png") },
      { canvasRaw: join(dir, "c.raw") },
      { statusText: true },
      { title: true },
    ]);
    assert.equal(ok.code, 0, JSON.stringify(ok.out));
    assert.equal(ok.out.ok, true);
    assert.equal(ok.out.results[1].how, "link");
    assert.match(ok.out.results[0].url, /\/$/);
    assert.deepEqual([ok.out.results[4].width, ok.out.results[4].height], [30, 20]);
    assert.deepEqual(readFileSync(join(dir, "c.png")).subarray(0, 8), Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]));
    const raw = readFileSync(join(dir, "c.raw"));
    assert.equal(raw.length, 30 * 20 * 4);
    for (let i = 0; i < raw.length; i += 4) assert.deepEqual([...raw.subarray(i, i + 4)], [1, 200, 3, 255]);
    assert.equal(ok.out.results[7].text, "Desk Two");

    const bad = await run([{ open: "silent" }, { waitState: "connected", timeoutMs: 500 }, { sleep: 1 }]);
    assert.equal(bad.code, 1);
    assert.equal(bad.out.ok, false);
    assert.equal(bad.out.failed.index, 1);
    assert.match(bad.out.failed.error, /connecting/);
    assert.equal(bad.out.results.length, 1);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("dead keys, numpad, AltGraph, the paste shortcut, BELL, terminal endpoints", { skip }, async () => {
  let conn;
  sessions.keys = (c) => {
    conn = c;
    c.send(enc(hello(7, ""), { type: "RESIZE", width: 100, height: 100 }, { type: "FRAME", id: 1 }));
  };
  await b.run({ open: "keys" });
  await b.run({ waitState: "connected" });
  await waitMsg(conn, (m) => m.type === "ACK", "ACK");
  assert.equal(await b.page.title(), "keys", "the endpoint name is the title when HELLO has no name");
  const cdp = await b.context.newCDPSession(b.page);
  const key = async (type, o) => cdp.send("Input.dispatchKeyEvent", { type, ...o });
  await b.page.focus("#screen");
  conn.messages.length = 0;
  // A dead circumflex, then the composed ê.
  await key("rawKeyDown", { key: "Dead", code: "BracketLeft", windowsVirtualKeyCode: 219 });
  await key("keyUp", { key: "Dead", code: "BracketLeft", windowsVirtualKeyCode: 219 });
  await key("keyDown", { key: "ê", code: "KeyE", text: "ê", windowsVirtualKeyCode: 69 });
  await key("keyUp", { key: "ê", code: "KeyE", windowsVirtualKeyCode: 69 });
  // Numpad 7 with NumLock on, AltGraph.
  await key("keyDown", { key: "7", code: "Numpad7", text: "7", location: 3, windowsVirtualKeyCode: 103 });
  await key("keyUp", { key: "7", code: "Numpad7", location: 3, windowsVirtualKeyCode: 103 });
  await key("rawKeyDown", { key: "AltGraph", code: "AltRight", location: 2, windowsVirtualKeyCode: 225 });
  await key("keyUp", { key: "AltGraph", code: "AltRight", location: 2, windowsVirtualKeyCode: 225 });
  await waitMsg(conn, (m) => m.type === "KEY" && m.keysym === 0xfe03 && !m.down, "AltGraph up");
  const keys = all(conn).filter((m) => m.type === "KEY").map((m) => [m.down, m.keysym.toString(16), m.code]);
  assert.deepEqual(keys, [
    [true, "ea", "KeyE"], [false, "ea", "KeyE"],
    [true, "ffb7", "Numpad7"], [false, "ffb7", "Numpad7"],
    [true, "fe03", "AltRight"], [false, "fe03", "AltRight"],
  ]);

  // Ctrl+V: the clipboard reaches the remote before the V does.
  conn.messages.length = 0;
  await b.page.evaluate(() => {
    window.__pastes = 0;
    document.addEventListener("paste", () => window.__pastes++);
    return navigator.clipboard.writeText("pasted ✓");
  });
  await b.run({ press: "Control+v" });
  await waitMsg(conn, (m) => m.type === "KEY" && m.keysym === 0xffe3 && !m.down, "Control up");
  const seq = all(conn).map((m) => (m.type === "KEY" ? `${m.down ? "+" : "-"}${m.keysym.toString(16)}` : m.type === "CLIENT_CLIPBOARD" ? `clip:${m.text}` : m.type));
  assert.deepEqual(seq, ["+ffe3", "clip:pasted ✓", "+76", "-76", "-ffe3"]);
  assert.equal(await b.page.evaluate(() => window.__pastes), 1, "the browser's paste event carried the text");

  // BELL flashes the view.
  conn.send(enc({ type: "BELL" }, { type: "FRAME", id: 2 }));
  await waitMsg(conn, (m) => m.type === "ACK" && m.id === 2, "ACK 2");
  assert.equal(await b.page.evaluate(() => document.getElementById("view").classList.contains("bell")), true);
  await cdp.detach();

  // A terminal endpoint: the canvas gives way to the terminal (more in its own test).
  sessions.term = (c) => c.send(enc({ type: "HELLO", version: 1, kind: 1, flags: 2, name: "shell" }, { type: "TERMINAL", data: new Uint8Array([0x24, 0x20]) }));
  await b.run({ open: "term" });
  await b.run({ waitState: "connected" });
  assert.equal(await b.page.isVisible("#terminal"), true);
  assert.equal(await b.page.isVisible("#screen"), false);
});

test("terminal screen reader mode: from the menu, the rows become readable text, and the choice is kept", { skip }, async () => {
  const t = await openBrowser({ baseURL: server.url, viewport: { width: 900, height: 600 } });
  try {
    sessions.reader = (c) => c.send(enc(
      { type: "HELLO", version: 1, kind: 1, flags: 7, name: "shell" },
      { type: "TERMINAL", data: new TextEncoder().encode("readable line ✓\r\n$ ") },
      { type: "FRAME", id: 1 },
    ));
    const rows = () => t.page.evaluate(() => document.querySelector("#terminal .xterm-accessibility-tree")?.textContent ?? "");
    await t.run({ open: "reader" });
    await t.run({ waitState: "connected" });
    assert.equal(await rows(), "", "no accessibility tree before it is asked for");
    await t.run({ menu: true });
    assert.equal(await t.page.isVisible("#screen-reader"), true);
    assert.equal(await t.page.isVisible("[data-keys]"), false, "a terminal's menu has no desktop keys");
    await t.page.click("#screen-reader");
    assert.equal(await t.page.getAttribute("#screen-reader", "aria-pressed"), "true");
    await t.page.waitForFunction(() => (document.querySelector("#terminal .xterm-accessibility-tree")?.textContent ?? "").includes("readable line ✓"));
    // Kept: the next page starts with it on.
    await t.page.reload();
    await t.run({ waitState: "connected" });
    await t.page.waitForFunction(() => (document.querySelector("#terminal .xterm-accessibility-tree")?.textContent ?? "").includes("readable line ✓"));
    assert.equal(await t.page.getAttribute("#screen-reader", "aria-pressed"), "true");
    assert.ok((await rows()).includes("readable line"));
  } finally {
    await t.close();
  }
});

test("terminal endpoint: xterm.js shows TERMINAL bytes, sends input, paste and its size", { skip }, async () => {
  const t = await openBrowser({ baseURL: server.url, viewport: { width: 900, height: 600 } });
  try {
    let conn;
    sessions.tty = (c) => {
      conn = c;
      c.send(enc(
        { type: "HELLO", version: 1, kind: 1, flags: 7, name: "shell" },
        { type: "TERMINAL_CONFIG", fontSize: 20, colorScheme: "solarized-dark" },
        { type: "TERMINAL", data: new TextEncoder().encode("wide 漢字 \x1b[1mbold\x1b[0m\r\n$ ") },
        { type: "FRAME", id: 1 },
      ));
    };
    await t.run({ open: "tty" });
    await t.run({ waitState: "connected" });
    assert.equal(await t.page.getAttribute("#terminal", "data-state"), "connected");
    assert.equal(await t.page.getAttribute("#terminal", "data-scheme"), "solarized-dark");
    const renderer = await t.page.getAttribute("#terminal", "data-renderer");
    assert.match(renderer ?? "", /^(webgl|dom)$/);
    console.log(`# terminal renderer: ${renderer}`);
    // FRAME after terminal output: ACK once xterm.js has processed it.
    await waitMsg(conn, (m) => m.type === "ACK" && m.id === 1, "ACK of the terminal's FRAME");
    const first = await t.run({ terminalText: true });
    assert.match(first.text, /^wide 漢字 bold\n\$/);
    assert.equal(await t.page.evaluate(() => window.racgateTerminal.options.fontSize), 20);
    // Fitted to the window with the server's font: the size goes to the server.
    const q = { cols: Number(conn.query.cols), rows: Number(conn.query.rows) };
    if (q.cols !== first.cols || q.rows !== first.rows) {
      await waitMsg(conn, (m) => m.type === "TERMINAL_RESIZE" && m.cols === first.cols && m.rows === first.rows, "TERMINAL_RESIZE after TERMINAL_CONFIG");
    }
    // Typing: TERMINAL_INPUT, never KEY.
    await t.run({ terminalType: "ls\n" });
    await waitMsg(conn, (m) => m.type === "TERMINAL_INPUT" && new TextDecoder().decode(m.data) === "\r", "Enter");
    const typed = all(conn).filter((m) => m.type === "TERMINAL_INPUT").map((m) => new TextDecoder().decode(m.data)).join("");
    assert.equal(typed, "ls\r");
    assert.equal(all(conn).filter((m) => m.type === "KEY").length, 0);
    // Ctrl+Shift+V pastes the browser clipboard as input.
    await t.run({ writeClipboard: "pasted ✓" });
    await t.run({ press: "Control+Shift+V" });
    await waitMsg(conn, (m) => m.type === "TERMINAL_INPUT" && new TextDecoder().decode(m.data) === "pasted ✓", "paste");
    // Enter right after Ctrl+Shift+V waits for the clipboard's text, however slowly the
    // browser reads it: the remote gets them in the order they were typed.
    await t.page.evaluate(() => {
      const read = (window.realReadText = navigator.clipboard.readText.bind(navigator.clipboard));
      navigator.clipboard.readText = () => new Promise((r) => setTimeout(r, 300)).then(read);
    });
    const inputs = (msgs) => msgs.flatMap(decode).filter((m) => m.type === "TERMINAL_INPUT").map((m) => new TextDecoder().decode(m.data));
    const before = inputs(conn.messages).length;
    await t.run({ press: "Control+Shift+V" });
    await t.run({ press: "Enter" });
    await t.run({ press: "KeyA" });
    await conn.next((msgs) => inputs(msgs).length >= before + 3, 5000, "the paste, Enter and a");
    assert.deepEqual(inputs(conn.messages).slice(before), ["pasted ✓", "\r", "a"]);
    // A clipboard the browser refuses holds nothing up: what was typed behind it goes.
    await t.page.evaluate(() => {
      navigator.clipboard.readText = () => new Promise((_, reject) => setTimeout(() => reject(new Error("denied")), 200));
    });
    await t.run({ press: "Control+Shift+V" });
    await t.run({ press: "KeyB" });
    await conn.next((msgs) => inputs(msgs).length >= before + 4, 5000, "b after a refused paste");
    assert.deepEqual(inputs(conn.messages).slice(before + 3), ["b"]);
    assert.match((await t.run({ noticeText: true })).text, /refused clipboard access/);
    await t.page.evaluate(() => (navigator.clipboard.readText = window.realReadText));
    // A smaller window: fewer cells, sent once the size settles.
    await t.run({ setViewport: { width: 500, height: 300 } });
    await waitMsg(conn, (m) => m.type === "TERMINAL_RESIZE" && m.cols < first.cols && m.rows < first.rows, "TERMINAL_RESIZE smaller");
    const now = await t.run({ terminalText: true });
    const last = all(conn).filter((m) => m.type === "TERMINAL_RESIZE").at(-1);
    assert.deepEqual([last.cols, last.rows], [now.cols, now.rows]);
    // Selecting copies to the clipboard.
    await t.page.evaluate(() => window.racgateTerminal.selectAll());
    await t.page.waitForFunction(() => navigator.clipboard.readText().then((s) => s.includes("wide 漢字")));
    // CLOSE: the terminal keeps its text, the state says closed.
    conn.send(enc({ type: "CLOSE", code: 1, reason: "The remote session ended (exit status 0)." }));
    conn.close();
    await t.run({ waitState: "closed" });
    assert.equal(await t.page.getAttribute("#terminal", "data-state"), "closed");
    assert.match((await t.run({ statusText: true })).text, /exit status 0/);
  } finally {
    await t.close();
  }
});

test("terminal search bar: Ctrl+Shift+F, incremental, Enter / Shift+Enter, Escape; Ctrl+F goes to the shell", { skip }, async () => {
  const t = await openBrowser({ baseURL: server.url, viewport: { width: 900, height: 600 } });
  try {
    let conn;
    sessions.find = (c) => {
      conn = c;
      c.send(enc(
        { type: "HELLO", version: 1, kind: 1, flags: 7, name: "shell" },
        { type: "TERMINAL", data: new TextEncoder().encode("first line\r\nthe quokka lives here\r\nwombat one\r\nfiller\r\nmore filler\r\n  a wombat two\r\n$ ") },
        { type: "FRAME", id: 1 },
      ));
    };
    await t.run({ open: "find" });
    await t.run({ waitState: "connected" });
    await waitMsg(conn, (m) => m.type === "ACK" && m.id === 1, "ACK");
    const p = t.page;
    const sel = () => p.evaluate(() => ({ text: window.racgateTerminal.getSelection(), pos: window.racgateTerminal.getSelectionPosition() }));
    const count = () => p.textContent("#terminal-search-count");
    const inputs = () => all(conn).filter((m) => m.type === "TERMINAL_INPUT").length;
    assert.equal(await p.isVisible("#terminal-search"), false);
    await t.run({ writeClipboard: "untouched" });

    await t.run({ press: "Control+Shift+F" });
    await p.waitForSelector("#terminal-search", { state: "visible" });
    assert.equal(await p.evaluate(() => document.activeElement?.id), "terminal-search-input");
    // Typing searches as it goes; none of it reaches the remote.
    await p.keyboard.type("quokka", { delay: 10 });
    await p.waitForFunction(() => window.racgateTerminal.getSelection() === "quokka");
    assert.deepEqual((await sel()).pos, { start: { x: 4, y: 1 }, end: { x: 10, y: 1 } });
    assert.equal(await count(), "1/1");
    // The match the search selected is not copied (copy on select is for the user's own).
    await p.waitForTimeout(400);
    assert.equal((await t.run({ readClipboard: true })).text, "untouched");

    // Two occurrences: Enter goes to the next, Shift+Enter back, the buttons too.
    await p.fill("#terminal-search-input", "wombat");
    await p.waitForFunction(() => window.racgateTerminal.getSelection() === "wombat");
    assert.deepEqual((await sel()).pos, { start: { x: 0, y: 2 }, end: { x: 6, y: 2 } });
    assert.equal(await count(), "1/2");
    await p.keyboard.press("Enter");
    assert.deepEqual(await sel(), { text: "wombat", pos: { start: { x: 4, y: 5 }, end: { x: 10, y: 5 } } });
    assert.equal(await count(), "2/2");
    await p.keyboard.press("Shift+Enter");
    assert.deepEqual((await sel()).pos, { start: { x: 0, y: 2 }, end: { x: 6, y: 2 } });
    await p.click("#terminal-search-next");
    assert.deepEqual((await sel()).pos.start, { x: 4, y: 5 });
    await p.click("#terminal-search-previous");
    assert.deepEqual((await sel()).pos.start, { x: 0, y: 2 });
    await p.keyboard.press("Enter"); // wraps past the last match
    await p.keyboard.press("Enter");
    assert.deepEqual((await sel()).pos.start, { x: 0, y: 2 });

    await p.fill("#terminal-search-input", "xyzzy");
    await p.waitForFunction(() => document.getElementById("terminal-search-count").textContent === "no match");
    assert.equal(await p.getAttribute("#terminal-search", "data-found"), "false");
    assert.equal((await sel()).text, "");
    assert.equal(inputs(), 0, "search keys are not terminal input");

    // Escape: the bar goes, the keyboard is the terminal's again.
    await p.focus("#terminal-search-input");
    await p.keyboard.press("Escape");
    await p.waitForSelector("#terminal-search", { state: "hidden" });
    assert.equal(await p.evaluate(() => document.getElementById("terminal").contains(document.activeElement)), true);
    // Ctrl+F alone is the shell's (forward-char in readline): TERMINAL_INPUT 0x06.
    await p.keyboard.press("Control+f");
    const cf = await waitMsg(conn, (m) => m.type === "TERMINAL_INPUT", "Ctrl+F as TERMINAL_INPUT");
    assert.deepEqual([...cf.data], [0x06]);
    assert.equal(await p.isVisible("#terminal-search"), false);
    // Reopened: the last query is there, selected, so typing replaces it.
    await t.run({ press: "Control+Shift+F" });
    await p.waitForSelector("#terminal-search", { state: "visible" });
    assert.equal(await p.inputValue("#terminal-search-input"), "xyzzy");
    assert.deepEqual(await p.evaluate(() => { const i = document.activeElement; return [i.selectionStart, i.selectionEnd]; }), [0, 5]);
    // Search reaches into the scrollback and scrolls the match into view.
    conn.send(enc({ type: "TERMINAL", data: new TextEncoder().encode(Array.from({ length: 80 }, (_, i) => `\r\nscroll ${i}`).join("")) }));
    await p.waitForFunction(() => window.racgateTerminal.buffer.active.viewportY > 40);
    await p.keyboard.type("quokka", { delay: 10 });
    await p.waitForFunction(() => window.racgateTerminal.getSelection() === "quokka");
    assert.deepEqual((await sel()).pos.start, { x: 4, y: 1 });
    assert.ok(await p.evaluate(() => window.racgateTerminal.buffer.active.viewportY <= 1), "scrolled to the match");
    await p.click("#terminal-search-close");
    await p.waitForSelector("#terminal-search", { state: "hidden" });
    assert.equal(await p.evaluate(() => document.getElementById("terminal").contains(document.activeElement)), true);
    assert.equal(inputs(), 1);
  } finally {
    await t.close();
  }
});

test("terminal search bar on macOS: Cmd+F opens it; Ctrl+F stays the shell's", { skip }, async () => {
  const t = await openBrowser({ baseURL: server.url, viewport: { width: 700, height: 400 } });
  try {
    await t.page.addInitScript(() => {
      Object.defineProperty(Navigator.prototype, "platform", { get: () => "MacIntel" });
      Object.defineProperty(Navigator.prototype, "userAgentData", { get: () => ({ platform: "macOS" }) });
    });
    let conn;
    sessions.mac = (c) => {
      conn = c;
      c.send(enc({ type: "HELLO", version: 1, kind: 1, flags: 7, name: "shell" }, { type: "TERMINAL", data: new TextEncoder().encode("one kiwi\r\n$ ") }));
    };
    await t.run({ open: "mac" });
    await t.run({ waitState: "connected" });
    await t.run({ press: "Control+f" });
    const cf = await waitMsg(conn, (m) => m.type === "TERMINAL_INPUT", "Ctrl+F as TERMINAL_INPUT");
    assert.deepEqual([...cf.data], [0x06]);
    assert.equal(await t.page.isVisible("#terminal-search"), false);
    await t.run({ press: "Meta+f" });
    await t.page.waitForSelector("#terminal-search", { state: "visible" });
    await t.page.keyboard.type("kiwi");
    await t.page.waitForFunction(() => window.racgateTerminal.getSelection() === "kiwi");
    await t.page.keyboard.press("Escape");
    await t.page.waitForSelector("#terminal-search", { state: "hidden" });
    assert.equal(all(conn).filter((m) => m.type === "TERMINAL_INPUT").length, 1, "Cmd+F and the search typed nothing into the shell");
  } finally {
    await t.close();
  }
});

test("terminal links: a click opens http(s) in a new tab, javascript: never", { skip }, async () => {
  const t = await openBrowser({ baseURL: server.url, viewport: { width: 900, height: 600 } });
  try {
    const osc8 = (uri, text) => `\x1b]8;;${uri}\x07${text}\x1b]8;;\x07`;
    sessions.links = (c) => c.send(enc(
      { type: "HELLO", version: 1, kind: 1, flags: 7, name: "shell" },
      { type: "TERMINAL", data: new TextEncoder().encode(
        "see https://example.test/path for more\r\n" +
        "javascript:alert(1)\r\n" +
        `${osc8("javascript:alert(2)", "evil osc")}\r\n` +
        `${osc8("https://example.test/osc", "good osc")}\r\n$ `,
      ) },
      { type: "FRAME", id: 1 },
    ));
    await t.run({ open: "links" });
    await t.run({ waitState: "connected" });
    const p = t.page;
    await p.waitForFunction(() => window.racgateTerminal.buffer.active.getLine(3)?.translateToString(true) === "good osc");
    await p.evaluate(() => {
      window.opened = [];
      window.confirmed = [];
      window.open = (...a) => { window.opened.push(a); return null; };
      window.confirm = (q) => { window.confirmed.push(q); return true; };
    });
    // The page position of the middle of cell (col, row), from the rendered screen's size.
    const cell = (col, row) => p.evaluate(([col, row]) => {
      const term = window.racgateTerminal;
      const r = document.querySelector("#terminal .xterm-screen").getBoundingClientRect();
      const w = r.width / term.cols, h = r.height / term.rows;
      return { x: r.left + (col + 0.5) * w, y: r.top + (row + 0.5) * h };
    }, [col, row]);
    const clickCell = async (col, row) => {
      const { x, y } = await cell(col, row);
      await p.mouse.move(x - 3, y);
      await p.mouse.move(x, y); // hovering finds the link
      await p.waitForTimeout(150);
      await p.mouse.click(x, y);
      await p.waitForTimeout(150);
    };
    await clickCell(8, 0); // inside "https://example.test/path"
    await p.waitForFunction(() => window.opened.length === 1);
    assert.deepEqual(await p.evaluate(() => window.opened), [["https://example.test/path", "_blank", "noopener,noreferrer"]]);
    await clickCell(3, 1); // plain javascript: text is no link
    await clickCell(14, 1);
    await clickCell(2, 2); // an OSC 8 javascript: link is never offered
    await clickCell(5, 3); // an OSC 8 https link: asked first, then opened
    await p.waitForFunction(() => window.opened.length === 2);
    const got = await p.evaluate(() => ({ opened: window.opened, confirmed: window.confirmed }));
    assert.deepEqual(got.opened[1], ["https://example.test/osc", "_blank", "noopener,noreferrer"]);
    assert.equal(got.confirmed.length, 1);
    assert.match(got.confirmed[0], /https:\/\/example\.test\/osc/);
    assert.equal(got.opened.length, 2);
    assert.equal(got.opened.some((a) => /javascript/i.test(String(a[0]))), false);
  } finally {
    await t.close();
  }
});

test("login prompts: the form asks while connecting, answers go back as PROMPT_RESPONSE, Escape cancels", { skip }, async () => {
  const t = await openBrowser({ baseURL: server.url, viewport: { width: 700, height: 500 } });
  try {
    let conn;
    sessions.ask = (c) => {
      conn = c;
      c.send(enc({
        type: "PROMPT", id: 5, name: "Zwei-Faktor", instruction: "Bitte anmelden",
        prompts: [{ text: "Password: ", echo: false }, { text: "Code: ", echo: true }],
      }));
    };
    await t.run({ open: "ask" });
    const r = await t.run({ answerPrompt: ["sécret", "123456"] });
    assert.deepEqual(r.fields, [{ label: "Password:", type: "password" }, { label: "Code:", type: "text" }]);
    assert.equal(await t.page.getAttribute("#screen", "data-state"), "connecting");
    const resp = await waitMsg(conn, (m) => m.type === "PROMPT_RESPONSE", "PROMPT_RESPONSE");
    assert.deepEqual(resp, { type: "PROMPT_RESPONSE", id: 5, answers: ["sécret", "123456"] });
    // A second round (a wrong password), then the session connects and the form stays away.
    conn.send(enc({ type: "PROMPT", id: 6, name: "", instruction: "", prompts: [{ text: "Password: ", echo: false }] }));
    assert.equal((await t.run({ answerPrompt: ["again"] })).fields.length, 1);
    await waitMsg(conn, (m) => m.type === "PROMPT_RESPONSE" && m.id === 6 && m.answers[0] === "again", "second PROMPT_RESPONSE");
    conn.send(enc({ type: "HELLO", version: 1, kind: 1, flags: 7, name: "shell" }, { type: "TERMINAL", data: new TextEncoder().encode("in\r\n") }));
    await t.run({ waitState: "connected" });
    assert.equal(await t.page.isVisible("#prompt"), false);
    assert.equal(await t.page.isVisible("#terminal"), true);

    // Escape sends no answers; the server's CLOSE follows and the form is gone.
    sessions.cancel = (c) => {
      conn = c;
      c.send(enc({ type: "PROMPT", id: 1, name: "", instruction: "", prompts: [{ text: "Password: ", echo: false }] }));
    };
    await t.run({ open: "cancel" });
    await t.run({ answerPrompt: null });
    const cancel = await waitMsg(conn, (m) => m.type === "PROMPT_RESPONSE", "cancel");
    assert.deepEqual(cancel, { type: "PROMPT_RESPONSE", id: 1, answers: [] });
    conn.send(enc({ type: "CLOSE", code: 3, reason: "Authentication cancelled." }));
    conn.close();
    await t.run({ waitState: "closed" });
    assert.match((await t.run({ statusText: true })).text, /Authentication cancelled/);
    assert.equal(await t.page.isVisible("#prompt"), false);
  } finally {
    await t.close();
  }
});

test("terminal without WebGL: xterm.js's DOM renderer draws the text", { skip }, async () => {
  const t = await openBrowser({ baseURL: server.url, viewport: { width: 600, height: 400 }, extraArgs: ["--disable-3d-apis"] });
  try {
    sessions.nogl = (c) => c.send(enc(
      { type: "HELLO", version: 1, kind: 1, flags: 7, name: "shell" },
      { type: "TERMINAL_CONFIG", fontSize: 0, colorScheme: "no-such-scheme" },
      { type: "TERMINAL", data: new TextEncoder().encode("plain DOM text\r\n") },
    ));
    await t.run({ open: "nogl" });
    await t.run({ waitState: "connected" });
    assert.equal(await t.page.getAttribute("#terminal", "data-renderer"), "dom");
    assert.equal(await t.page.getAttribute("#terminal", "data-scheme"), "default", "an unknown scheme gives the default");
    await t.page.waitForFunction(() => (document.querySelector("#terminal .xterm-rows")?.textContent ?? "").includes("plain DOM text"));
    assert.equal(await t.page.evaluate(() => window.racgateTerminal.options.fontSize), 15, "font size 0 gives the default");
  } finally {
    await t.close();
  }
});

test("terminal on WebGL emulated by the CPU (SwiftShader): xterm.js's DOM renderer, not WebGL", { skip }, async (tc) => {
  const t = await openBrowser({ baseURL: server.url, viewport: { width: 600, height: 400 },
    extraArgs: ["--use-angle=swiftshader", "--enable-unsafe-swiftshader"] });
  try {
    sessions.swgl = (c) => c.send(enc(
      { type: "HELLO", version: 1, kind: 1, flags: 7, name: "shell" },
      { type: "TERMINAL", data: new TextEncoder().encode("software GL\r\n") },
    ));
    await t.run({ open: "swgl" });
    // What this browser's WebGL2 is, asked the standard way, apart from the client's code.
    const gl = await t.page.evaluate(() => {
      const g = document.createElement("canvas").getContext("webgl2");
      const info = g?.getExtension("WEBGL_debug_renderer_info");
      return g ? String(info ? g.getParameter(info.UNMASKED_RENDERER_WEBGL) : "") : null;
    });
    if (gl === null || !/SwiftShader/.test(gl)) {
      tc.skip(`this Chromium's WebGL2 is ${gl === null ? "missing" : JSON.stringify(gl)}, not SwiftShader`);
      return;
    }
    await t.run({ waitState: "connected" });
    assert.equal(await t.page.getAttribute("#terminal", "data-renderer"), "dom", `WebGL2 here is ${gl}`);
    await t.page.waitForFunction(() => (document.querySelector("#terminal .xterm-rows")?.textContent ?? "").includes("software GL"));
  } finally {
    await t.close();
  }
});

test("devicePixelRatio 2: sizes in device pixels with scale 200, pointer mapped through the scale", { skip }, async () => {
  const hi = await openBrowser({ baseURL: server.url, viewport: { width: 400 + HANDLE, height: 300 }, deviceScaleFactor: 2 });
  try {
    let conn;
    sessions.hidpi = (c) => {
      conn = c;
      c.send(enc(hello(7), { type: "RESIZE", width: 800, height: 600 }, { type: "FRAME", id: 1 }));
    };
    await hi.run({ open: "hidpi" });
    await hi.run({ waitState: "connected" });
    await waitMsg(conn, (m) => m.type === "ACK", "ACK");
    assert.deepEqual({ width: conn.query.width, height: conn.query.height, scale: conn.query.scale }, { width: "800", height: "600", scale: "200" });
    const box = await hi.page.evaluate(() => {
      const r = document.getElementById("screen").getBoundingClientRect();
      return [r.left, r.top, r.width, r.height];
    });
    assert.deepEqual(box, [HANDLE, 0, 400, 300], "one framebuffer pixel per device pixel");
    await hi.run({ click: { x: 799, y: 599 } });
    await hi.run({ click: { x: 1, y: 3 } });
    await waitRelease(conn, 1, 1, "second click");
    const ptr = all(conn).filter((m) => m.type === "POINTER" && m.buttons === 1).map((m) => [m.x, m.y]);
    assert.deepEqual(ptr, [[799, 599], [1, 3]]);
    await hi.run({ setViewport: { width: 500 + HANDLE, height: 300 } });
    const rr = await waitMsg(conn, (m) => m.type === "RESIZE_REQUEST", "RESIZE_REQUEST");
    assert.deepEqual([rr.width, rr.height, rr.scale], [1000, 600, 200]);
  } finally {
    await hi.close();
  }
});

test("touch acts as the mouse: a tap is a left click where the finger was", { skip }, async () => {
  const t = await openBrowser({ baseURL: server.url, viewport: { width: 400, height: 300 }, hasTouch: true });
  try {
    let conn;
    sessions.touch = (c) => {
      conn = c;
      c.send(enc(hello(), { type: "RESIZE", width: 800, height: 600 }, { type: "FRAME", id: 1 }));
    };
    await t.run({ open: "touch" });
    await t.run({ waitState: "connected" });
    await waitMsg(conn, (m) => m.type === "ACK", "ACK");
    conn.messages.length = 0;
    await t.run({ tap: { x: 600, y: 150 } });
    await waitRelease(conn, 600, 1, "tap release");
    const ptr = all(conn).filter((m) => m.type === "POINTER").map((m) => [m.x, m.y, m.buttons]);
    assert.ok(ptr.some((p) => p.join() === "600,150,1"), `no press at the tap in ${JSON.stringify(ptr)}`);
    assert.ok(ptr.every((p) => p[0] === 600 && p[1] === 150), `a tap moved the pointer elsewhere: ${JSON.stringify(ptr)}`);
  } finally {
    await t.close();
  }
});
test("full screen from the menu: the page goes full screen with the keyboard locked where the browser can, and back", { skip }, async () => {
  let conn;
  sessions.full = (c) => {
    conn = c;
    c.send(enc(hello(), { type: "RESIZE", width: 320, height: 200 }, { type: "FRAME", id: 1 }));
  };
  await b.run({ open: "full" });
  await b.run({ waitState: "connected" });
  await waitMsg(conn, (m) => m.type === "ACK", "ACK");
  await b.page.evaluate(() => {
    window.__locks = 0;
    if (navigator.keyboard) {
      const lock = navigator.keyboard.lock.bind(navigator.keyboard);
      navigator.keyboard.lock = (...a) => (window.__locks++, lock(...a));
    }
  });
  await b.run({ menu: true });
  await b.page.click("#fullscreen");
  await b.page.waitForFunction(() => document.fullscreenElement === document.documentElement);
  // The button follows fullscreenchange, which Chromium fires a frame after the element changes.
  await b.page.waitForFunction(() => document.getElementById("fullscreen").getAttribute("aria-pressed") === "true");
  assert.equal(await b.page.textContent("#fullscreen"), "Leave full screen");
  // The menu closes once requestFullscreen's promise (and the lock's) settled.
  await b.page.waitForFunction(() => document.getElementById("status").dataset.open === undefined, null, { timeout: 3000 });
  assert.equal(await b.page.evaluate(() => document.activeElement?.id), "screen");
  if (await b.page.evaluate(() => Boolean(navigator.keyboard))) assert.equal(await b.page.evaluate(() => window.__locks), 1, "the keyboard was locked to the page");
  await b.run({ menu: true });
  await b.page.click("#fullscreen");
  await b.page.waitForFunction(() => document.fullscreenElement === null);
  await b.page.waitForFunction(() => document.getElementById("fullscreen").getAttribute("aria-pressed") === "false");
  assert.equal(await b.page.textContent("#fullscreen"), "Full screen");
  await b.run({ menu: false });
});

test("menu figures: frames and KB per second, and the round trip from each PING to its PONG; no PING once the menu is closed", { skip }, async () => {
  let conn;
  sessions.figures = (c) => {
    conn = c;
    c.send(enc(hello(), { type: "RESIZE", width: 320, height: 200 }, { type: "FRAME", id: 1 }));
  };
  await b.run({ open: "figures" });
  await b.run({ waitState: "connected" });
  await waitMsg(conn, (m) => m.type === "ACK", "ACK");
  // The server answers every PING 200 ms late, and first with a token nobody sent.
  let seen = 0;
  const answer = () => {
    for (; seen < conn.messages.length; seen++) {
      for (const m of decode(conn.messages[seen])) {
        if (m.type !== "PING") continue;
        conn.send(enc({ type: "PONG", token: (m.token + 1000) >>> 0 }));
        setTimeout(() => conn.send(enc({ type: "PONG", token: m.token })), 200);
      }
    }
  };
  conn.waiters.add(answer);
  const pings = () => all(conn).filter((m) => m.type === "PING");
  assert.equal(pings().length, 0, "no PING before the menu opens");
  await b.run({ menu: true });
  await b.page.waitForFunction(() => /round trip \d+ ms/.test(document.getElementById("details").textContent), null, { timeout: 5000 });
  const text = await b.page.textContent("#details");
  const ms = Number(/round trip (\d+) ms/.exec(text)[1]);
  assert.ok(ms >= 200 && ms < 1200, `round trip ${ms} ms, want the 200 ms the server waited (${text})`);
  assert.match(text, /frames\/s/);
  assert.match(text, /KB\/s/);
  const tokens = pings().map((m) => m.token);
  assert.equal(new Set(tokens).size, tokens.length, `PING tokens repeat: ${tokens}`);
  await b.run({ menu: false });
  const n = pings().length;
  await new Promise((r) => setTimeout(r, 2500));
  assert.equal(pings().length, n, "PINGs went on with the menu closed");
  conn.waiters.delete(answer);
});

test("zoom from the menu: the picture grows around the middle, the area scrolls, clicks land on the right pixel", { skip }, async () => {
  const t = await openBrowser({ baseURL: server.url, viewport: { width: 400 + HANDLE, height: 300 } });
  try {
    let conn;
    sessions.zoom = (c) => {
      conn = c;
      c.send(enc(hello(), { type: "RESIZE", width: 800, height: 600 }, { type: "FRAME", id: 1 }));
    };
    await t.run({ open: "zoom" });
    await t.run({ waitState: "connected" });
    await waitMsg(conn, (m) => m.type === "ACK", "ACK");
    const rect = () => t.page.evaluate(() => {
      const r = document.getElementById("screen").getBoundingClientRect();
      const v = document.getElementById("view");
      return { w: r.width, h: r.height, sx: v.scrollLeft, sy: v.scrollTop, zoomed: v.dataset.zoomed !== undefined };
    });
    assert.deepEqual(await rect(), { w: 400, h: 300, sx: 0, sy: 0, zoomed: false });
    await t.run({ menu: true });
    for (let i = 0; i < 3; i++) await t.page.click("#zoom-in"); // 1.25, 1.5, 2
    assert.equal(await t.page.textContent("#zoom-level"), "200%");
    await t.run({ menu: false });
    const z = await rect();
    assert.equal(z.w, 800);
    assert.equal(z.h, 600);
    assert.equal(z.zoomed, true);
    // The middle stays in the middle (scroll offsets are whole pixels at each step).
    assert.ok(Math.abs(z.sx - 200) <= 1 && Math.abs(z.sy - 150) <= 1, `scrolled to ${z.sx},${z.sy}, want about 200,150`);
    conn.messages.length = 0;
    await t.run({ click: { x: 421, y: 310 } });
    await waitRelease(conn, 421, 1, "click under zoom");
    assert.ok(all(conn).some((m) => m.type === "POINTER" && m.x === 421 && m.y === 310 && m.buttons === 1));
    await t.run({ menu: true });
    for (let i = 0; i < 5; i++) await t.page.click("#zoom-out");
    assert.equal(await t.page.textContent("#zoom-level"), "100%");
    assert.equal((await rect()).zoomed, false);
  } finally {
    await t.close();
  }
});

test("touch: a long press is a right click, two fingers scroll, the Keyboard button types at the remote", { skip }, async () => {
  const t = await openBrowser({ baseURL: server.url, viewport: { width: 400 + HANDLE, height: 300 }, hasTouch: true });
  try {
    let conn;
    sessions.fingers = (c) => {
      conn = c;
      c.send(enc(hello(), { type: "RESIZE", width: 800, height: 600 }, { type: "FRAME", id: 1 }));
    };
    await t.run({ open: "fingers" });
    await t.run({ waitState: "connected" });
    await waitMsg(conn, (m) => m.type === "ACK", "ACK");
    const cdp = await t.page.context().newCDPSession(t.page);
    const touch = (type, points) => cdp.send("Input.dispatchTouchEvent", { type, touchPoints: points.map(([x, y], id) => ({ x, y, id })) });
    // The canvas is 400x300 CSS for 800x600: page (HANDLE+100, 100) is framebuffer (200, 200).
    conn.messages.length = 0;
    await touch("touchStart", [[HANDLE + 100, 100]]);
    await new Promise((r) => setTimeout(r, 700));
    await touch("touchEnd", []);
    await waitMsg(conn, (m) => m.type === "POINTER" && m.buttons === 4, "right press");
    const ptr = all(conn).filter((m) => m.type === "POINTER").map((m) => `${m.x},${m.y},${m.buttons}`);
    assert.deepEqual(ptr.slice(0, 3), ["200,200,0", "200,200,4", "200,200,0"]);

    // Two fingers up by 150 CSS px: one notch down, and no button.
    conn.messages.length = 0;
    await touch("touchStart", [[HANDLE + 100, 250], [HANDLE + 200, 250]]);
    for (let y = 240; y >= 100; y -= 10) await touch("touchMove", [[HANDLE + 100, y], [HANDLE + 200, y]]);
    await touch("touchEnd", []);
    const w = await waitMsg(conn, (m) => m.type === "WHEEL", "WHEEL");
    assert.equal(w.dy, 1);
    assert.ok(all(conn).every((m) => m.type !== "POINTER" || m.buttons === 0), "a scroll pressed a button");

    // Two fingers spreading from 100 to 200 px apart: the picture zooms to 200%, locally.
    conn.messages.length = 0;
    await touch("touchStart", [[HANDLE + 150, 150], [HANDLE + 250, 150]]);
    for (let d = 55; d <= 100; d += 5) await touch("touchMove", [[HANDLE + 200 - d, 150], [HANDLE + 200 + d, 150]]);
    await touch("touchEnd", []);
    assert.equal(await t.page.textContent("#zoom-level"), "200%");
    assert.equal(await t.page.evaluate(() => document.getElementById("screen").getBoundingClientRect().width), 800);
    assert.ok(all(conn).every((m) => m.type !== "WHEEL" && (m.type !== "POINTER" || m.buttons === 0)), "a pinch went to the remote");
    await cdp.detach();

    // The on-screen keyboard: the menu's Keyboard focuses its box; typing goes as keys.
    await t.run({ menu: true });
    await t.page.click("#keyboard");
    assert.equal(await t.page.evaluate(() => document.activeElement?.id), "osk");
    conn.messages.length = 0;
    await t.page.keyboard.type("hi");
    await t.page.keyboard.press("Backspace");
    await waitMsg(conn, (m) => m.type === "KEY" && m.keysym === 0xff08 && !m.down, "BackSpace up");
    const keys = all(conn).filter((m) => m.type === "KEY").map((m) => `${m.down ? "+" : "-"}${m.keysym.toString(16)}`);
    assert.deepEqual(keys, ["+68", "-68", "+69", "-69", "+ff08", "-ff08"]);
    assert.equal(await t.page.inputValue("#osk"), "", "the box keeps nothing");
  } finally {
    await t.close();
  }
});

