#!/usr/bin/env node
// What one WebSocket.send costs a page's main thread in headless Chromium, by how the
// sends come: back to back, or one per animation frame as a web client's ACK does
// (docs/benchmarks.md § Fourth round, "The page's ACK"). Wall time around each call, in
// µs; the server is a minimal websocket endpoint on loopback that reads and discards.
//
//   node bench/browser/wssend.mjs
//
// playwright-core comes from the web client's node_modules (its devDependency).
import { createHash } from "node:crypto";
import http from "node:http";
import { createRequire } from "node:module";

const require = createRequire(new URL("../../webclient/package.json", import.meta.url));
const { chromium } = require("playwright-core");
const CHROMIUM = process.env.RACGATE_CHROMIUM || "/usr/bin/chromium";
const ROUNDS = 120;

const page = `<html><body><script>
const ws = new WebSocket("ws://" + location.host + "/ws");
const msg = (k) => new Uint8Array([7, 0, 4, 0, 0, 0, k & 255]); // an ACK's size
// perFrame: two sends in each of ROUNDS animation frames; the first and the second timed apart.
const perFrame = () => new Promise((done) => {
  let k = 0, first = 0, second = 0;
  const f = () => {
    let t = performance.now();
    ws.send(msg(k));
    first += performance.now() - t;
    t = performance.now();
    ws.send(msg(k));
    second += performance.now() - t;
    if (++k < ${ROUNDS}) requestAnimationFrame(f);
    else done([first, second].map((s) => Math.round(s / ${ROUNDS} * 1000)));
  };
  requestAnimationFrame(f);
});
ws.onopen = async () => {
  const t = performance.now();
  for (let i = 0; i < 2000; i++) ws.send(msg(i));
  const backToBack = Math.round((performance.now() - t) / 2000 * 1000);
  window.result = { backToBack, perFrame: await perFrame() };
};
</script></body></html>`;

const srv = http.createServer((_, res) => {
  res.setHeader("content-type", "text/html");
  res.end(page);
});
srv.on("upgrade", (req, sock) => { // RFC 6455 § 4.2.2, then read and discard
  const accept = createHash("sha1").update(req.headers["sec-websocket-key"] + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").digest("base64");
  sock.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`);
  sock.on("data", () => {});
});
srv.listen(0, "127.0.0.1");
await new Promise((r) => srv.on("listening", r));
const browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--headless", "--no-sandbox", "--disable-gpu"] });
try {
  const p = await browser.newPage();
  await p.goto(`http://127.0.0.1:${srv.address().port}/`);
  await p.waitForFunction(() => window.result, null, { timeout: 60000 });
  const r = await p.evaluate(() => window.result);
  console.log(`µs per send: back to back ${r.backToBack}; one frame's first ${r.perFrame[0]}, its second ${r.perFrame[1]}`);
} finally {
  await browser.close();
  srv.close();
}
