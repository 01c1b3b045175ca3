// A small stand-in for the racgate gateway, for the browser tests: serves dist/ under
// /static/, /connect/{endpoint} as client.html, a / page with endpoint links and a /login
// form, and /ws/{endpoint} websockets with subprotocol racgate.v1, whose server side the
// test scripts. The websocket code is the minimum of RFC 6455 the tests need.

import { createHash } from "node:crypto";
import { createServer } from "node:http";
import { readFile } from "node:fs/promises";
import { join, normalize } from "node:path";
import { fileURLToPath } from "node:url";

const WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"; // RFC 6455 § 1.3
const DIST = fileURLToPath(new URL("../../dist/", import.meta.url));
const TYPES = { ".html": "text/html; charset=utf-8", ".js": "text/javascript", ".css": "text/css", ".map": "application/json" };

/**
 * startFakeServer listens on 127.0.0.1:0. onSession(conn) is called for every websocket
 * (conn.endpoint, conn.query, conn.send(bytes), conn.close(), conn.messages: the client's
 * raw binary messages, conn.next(pred, ms) waits for one).
 */
export async function startFakeServer({ onSession, endpoints = [] } = {}) {
  const conns = [];
  const server = createServer(async (req, res) => {
    const u = new URL(req.url, "http://x");
    try {
      if (u.pathname.startsWith("/static/")) {
        const rel = normalize(decodeURIComponent(u.pathname.slice("/static/".length)));
        if (rel.startsWith("..")) throw Object.assign(new Error("bad path"), { status: 400 });
        const body = await readFile(join(DIST, rel));
        res.writeHead(200, { "content-type": TYPES[rel.slice(rel.lastIndexOf("."))] ?? "application/octet-stream" });
        res.end(body);
      } else if (u.pathname.startsWith("/connect/")) {
        res.writeHead(200, { "content-type": TYPES[".html"] });
        res.end(await readFile(join(DIST, "client.html")));
      } else if (u.pathname === "/login") {
        if (req.method === "POST") {
          let body = "";
          for await (const c of req) body += c;
          const f = new URLSearchParams(body);
          const ok = f.get("username") === "alice" && f.get("password") === "secret";
          res.writeHead(303, { location: ok ? "/" : "/login?failed=1", "set-cookie": ok ? "session=1; Path=/" : "session=; Path=/" });
          res.end();
        } else {
          res.writeHead(200, { "content-type": TYPES[".html"] });
          res.end('<!doctype html><form method="post" action="/login"><input name="username"><input name="password" type="password"><button type="submit">Log in</button></form>');
        }
      } else if (u.pathname === "/") {
        const loggedIn = /(^|; )session=1/.test(req.headers.cookie ?? "");
        res.writeHead(200, { "content-type": TYPES[".html"] });
        res.end(`<!doctype html><p id="user">${loggedIn ? "alice" : "anonymous"}</p>` + endpoints.map((e) => `<a data-endpoint="${e}" href="/connect/${encodeURIComponent(e)}">${e}</a>`).join(" "));
      } else {
        res.writeHead(404).end();
      }
    } catch (e) {
      res.writeHead(e.status ?? 404).end(String(e.message));
    }
  });
  server.on("upgrade", (req, socket) => {
    const u = new URL(req.url, "http://x");
    const protocols = String(req.headers["sec-websocket-protocol"] ?? "").split(",").map((s) => s.trim());
    // Endpoints named refused* are refused, as a gateway refuses an unknown endpoint.
    if (!u.pathname.startsWith("/ws/") || !protocols.includes("racgate.v1") || u.pathname.startsWith("/ws/refused")) {
      socket.end("HTTP/1.1 400 Bad Request\r\n\r\n");
      return;
    }
    const accept = createHash("sha1").update(req.headers["sec-websocket-key"] + WS_GUID).digest("base64");
    socket.write(
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
        `Sec-WebSocket-Accept: ${accept}\r\nSec-WebSocket-Protocol: racgate.v1\r\n\r\n`,
    );
    const conn = new Conn(socket, decodeURIComponent(u.pathname.slice(4)), Object.fromEntries(u.searchParams));
    conns.push(conn);
    onSession?.(conn);
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address();
  return {
    url: `http://127.0.0.1:${port}`,
    conns,
    async close() {
      for (const c of conns) c.socket.destroy();
      await new Promise((r) => server.close(r));
    },
  };
}

class Conn {
  constructor(socket, endpoint, query) {
    this.socket = socket;
    this.endpoint = endpoint;
    this.query = query;
    this.messages = []; // binary messages from the client (Uint8Array)
    this.closeCode = null; // the client's close code, once closed
    this.closed = false;
    this.waiters = new Set();
    this.buf = Buffer.alloc(0);
    this.frag = [];
    socket.on("data", (d) => this.data(d));
    socket.on("close", () => {
      this.closed = true;
      this.notify();
    });
    socket.on("error", () => {});
  }

  data(d) {
    this.buf = Buffer.concat([this.buf, d]);
    for (;;) {
      const b = this.buf;
      if (b.length < 2) return;
      const fin = b[0] & 0x80, op = b[0] & 0x0f, masked = b[1] & 0x80;
      let len = b[1] & 0x7f, off = 2;
      if (len === 126) {
        if (b.length < 4) return;
        len = b.readUInt16BE(2);
        off = 4;
      } else if (len === 127) {
        if (b.length < 10) return;
        len = Number(b.readBigUInt64BE(2));
        off = 10;
      }
      if (!masked) return this.socket.destroy(); // RFC 6455 § 5.1: clients mask
      if (b.length < off + 4 + len) return;
      const key = b.subarray(off, off + 4);
      const payload = Buffer.from(b.subarray(off + 4, off + 4 + len));
      for (let i = 0; i < len; i++) payload[i] ^= key[i & 3];
      this.buf = b.subarray(off + 4 + len);
      if (op === 0x8) {
        this.closeCode = payload.length >= 2 ? payload.readUInt16BE(0) : 1005;
        this.closeReason = payload.subarray(2).toString("utf8");
        this.frame(0x8, payload.subarray(0, 2));
        this.socket.end();
        this.closed = true;
        this.notify();
        return;
      }
      if (op === 0x9) {
        this.frame(0xa, payload);
        continue;
      }
      if (op === 0x2 || op === 0x1 || op === 0x0) {
        this.frag.push(payload);
        if (fin) {
          this.messages.push(new Uint8Array(Buffer.concat(this.frag)));
          this.frag = [];
          this.notify();
        }
      }
    }
  }

  frame(op, payload) {
    if (this.socket.destroyed) return;
    const n = payload.length;
    const h = n < 126 ? Buffer.from([0x80 | op, n]) : n < 65536 ? Buffer.from([0x80 | op, 126, n >> 8, n & 255]) : Buffer.alloc(10);
    if (n >= 65536) {
      h[0] = 0x80 | op;
      h[1] = 127;
      h.writeBigUInt64BE(BigInt(n), 2);
    }
    this.socket.write(Buffer.concat([h, Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength)]));
  }

  /** Send one binary websocket message. */
  send(bytes) {
    this.frame(0x2, bytes);
  }

  /** Send a text websocket message (a protocol error for racgate.v1). */
  sendText(s) {
    this.frame(0x1, Buffer.from(s, "utf8"));
  }

  /** Close the websocket (code 1000), or drop the TCP connection with abrupt. */
  close({ abrupt = false } = {}) {
    if (abrupt) return this.socket.destroy();
    this.frame(0x8, Buffer.from([0x03, 0xe8]));
    this.socket.end();
  }

  notify() {
    for (const w of this.waiters) w();
  }

  /**
   * next waits until pred(messages) returns something truthy and returns it; it fails
   * after ms with what arrived, for a clear test failure.
   */
  next(pred, ms = 5000, what = "client message") {
    return new Promise((resolve, reject) => {
      const check = () => {
        const r = pred(this.messages, this);
        if (r) {
          this.waiters.delete(check);
          clearTimeout(t);
          resolve(r);
        }
      };
      const t = setTimeout(() => {
        this.waiters.delete(check);
        reject(new Error(`timed out after ${ms} ms waiting for ${what}; got ${this.messages.length} messages`));
      }, ms);
      this.waiters.add(check);
      check();
    });
  }
}
