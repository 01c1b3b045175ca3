// Browser tests of the web client's sound (§ AUDIO, § AUDIO_FORMAT, § AUDIO_ENABLE) against
// the fake gateway (fake_server.mjs), in Debian's chromium: the server streams tones in
// real time, and the tests analyse what the page actually played, read through the test
// build's recorder after the volume (window.racgateSound): pitch, level, silences.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { startFakeServer } from "./fake_server.mjs";
import { openBrowser, CHROMIUM, TEST_CLIENT } from "./session.mjs";

const here = fileURLToPath(new URL(".", import.meta.url));
const required = process.env.RACGATE_BROWSER_TESTS === "1";
const haveChromium = existsSync(CHROMIUM);
const haveDist = existsSync(join(here, "../../dist/sound-worklet.js"));
const skip = !haveChromium ? `no ${CHROMIUM}` : !haveDist || !existsSync(TEST_CLIENT) ? "dist/ not built (npm run build)" : false;
if (skip && required) throw new Error(`RACGATE_BROWSER_TESTS=1 but ${skip}`);

const wire = skip ? null : await import("../out/wire.mjs");
const enc = (...ms) => wire.encodeMessages(...ms);
const decode = (bytes) => {
  const out = [];
  wire.decodeMessages(bytes, (m) => out.push(m));
  return out;
};
const all = (conn) => conn.messages.flatMap(decode);
const waitMsg = (conn, pred, what, ms = 5000) => conn.next((msgs) => msgs.flatMap(decode).find(pred), ms, what);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const AUTOPLAY = ["--autoplay-policy=no-user-gesture-required"];
const FLAG_AUDIO = 8;
const CODEC = { none: 0, pcm: 1, adpcm: 2, opus: 3, mp3: 4 };
const ENC_PNG = 3; // IMAGE encoding (§ IMAGE)

let server;
let b; // chromium that may play without a gesture
const sessions = {}; // endpoint → function(conn)

before(async () => {
  if (skip) return;
  server = await startFakeServer({ onSession: (conn) => (sessions[conn.endpoint] ?? (() => {}))(conn) });
  b = await openBrowser({ baseURL: server.url, extraArgs: AUTOPLAY });
});

after(async () => {
  await b?.close();
  await server?.close();
});

const hello = (flags = 7 | FLAG_AUDIO) => ({ type: "HELLO", version: 1, kind: 0, flags, name: "Sound Desk" });
const screen = [{ type: "RESIZE", width: 64, height: 48 }, { type: "FILL", x: 0, y: 0, width: 64, height: 48, r: 0, g: 0, b: 90 }, { type: "FRAME", id: 1 }];

// IMA ADPCM encoding, written here apart from src/adpcm.ts, so a bug there shows (the
// step and index tables of the IMA/DVI recommendation; § AUDIO_FORMAT's block layout).
const STEP = [
  7, 8, 9, 10, 11, 12, 13, 14, 16, 17, 19, 21, 23, 25, 28, 31, 34, 37, 41, 45, 50, 55, 60, 66, 73, 80, 88, 97, 107, 118,
  130, 143, 157, 173, 190, 209, 230, 253, 279, 307, 337, 371, 408, 449, 494, 544, 598, 658, 724, 796, 876, 963, 1060,
  1166, 1282, 1411, 1552, 1707, 1878, 2066, 2272, 2499, 2749, 3024, 3327, 3660, 4026, 4428, 4871, 5358, 5894, 6484,
  7132, 7845, 8630, 9493, 10442, 11487, 12635, 13899, 15289, 16818, 18500, 20350, 22385, 24623, 27086, 29794, 32767,
];
const INDEX_MOVE = [-1, -1, -1, -1, 2, 4, 6, 8];
function adpcmCode(st, x) {
  const step = STEP[st.i];
  let d = x - st.p;
  let c = 0;
  if (d < 0) (c = 8), (d = -d);
  // The code whose decoding comes nearest: magnitude bits 4, 2, 1 of the step.
  let diff = step >> 3;
  if (d >= step) (c |= 4), (d -= step), (diff += step);
  if (d >= step >> 1) (c |= 2), (d -= step >> 1), (diff += step >> 1);
  if (d >= step >> 2) (c |= 1), (diff += step >> 2);
  st.p = Math.max(-32768, Math.min(32767, c & 8 ? st.p - diff : st.p + diff));
  st.i = Math.max(0, Math.min(88, st.i + INDEX_MOVE[c & 7]));
  return c;
}
// adpcmBlock encodes interleaved 16-bit frames as one block, from and advancing states.
function adpcmBlock(pcm, channels, states) {
  const out = [];
  for (const st of states) out.push(st.p & 255, (st.p >> 8) & 255, st.i);
  let low = -1;
  for (let k = 0; k < pcm.length; k++) {
    const c = adpcmCode(states[k % channels], pcm[k]);
    if (low < 0) low = c;
    else out.push(low | (c << 4)), (low = -1);
  }
  if (low >= 0) out.push(low);
  return new Uint8Array(out);
}

// toneFrames: interleaved 16-bit samples of a sine per channel, frames [from, from + n).
function toneFrames(rate, freqs, amps, from, n) {
  const ch = freqs.length;
  const pcm = new Int16Array(n * ch);
  for (let i = 0; i < n; i++) for (let c = 0; c < ch; c++) pcm[i * ch + c] = Math.round(32767 * amps[c] * Math.sin((2 * Math.PI * freqs[c] * (from + i)) / rate));
  return pcm;
}

// stream sends packets in real time: packets[k] = { ts, data }, each sent when the clock
// reaches its timestamp (ms from the first).
async function stream(conn, packets) {
  const t0 = performance.now();
  for (const p of packets) {
    const wait = t0 + p.ts - packets[0].ts - performance.now();
    if (wait > 0) await sleep(wait);
    if (conn.closed) return;
    conn.send(enc({ type: "AUDIO", timestamp: p.ts, data: p.data }));
  }
}

// tonePackets cuts a tone into packets of packetMs (timestamps from ts0, with a hole of
// holeMs after holeAt ms if asked), encoded by codec.
function tonePackets({ codec, rate, freqs, amps, seconds, packetMs = 20, ts0 = 0, holeAt = -1, holeMs = 0 }) {
  const per = Math.round((rate * packetMs) / 1000);
  const ch = freqs.length;
  const states = freqs.map(() => ({ p: 0, i: 0 }));
  const out = [];
  for (let from = 0; from + per <= rate * seconds; from += per) {
    const pcm = toneFrames(rate, freqs, amps, from, per);
    let ts = ts0 + Math.round((from * 1000) / rate);
    if (holeAt >= 0 && ts >= holeAt) ts += holeMs;
    const data = codec === CODEC.adpcm ? adpcmBlock(pcm, ch, states) : new Uint8Array(pcm.buffer);
    out.push({ ts, data });
  }
  return out;
}

// played reads the last seconds the page played (after the volume), both channels.
async function played(page, seconds) {
  const r = await page.evaluate(async (s) => {
    const o = await window.racgateSound.output(s);
    const b64 = (f) => {
      const u8 = new Uint8Array(f.buffer, f.byteOffset, f.byteLength);
      let t = "";
      for (let i = 0; i < u8.length; i += 0x8000) t += String.fromCharCode.apply(null, u8.subarray(i, i + 0x8000));
      return btoa(t);
    };
    return { rate: o.rate, left: b64(o.left), right: b64(o.right) };
  }, seconds);
  const f32 = (s) => new Float32Array(new Uint8Array(Buffer.from(s, "base64")).buffer);
  return { rate: r.rate, left: f32(r.left), right: f32(r.right) };
}

const stats = (page) => page.evaluate(() => window.racgateSound.stats());

const SILENT = 1e-3;
// analyse: where sound starts and ends, the silences in between, and over the steady
// middle (fades and the drift's settling left out) the pitch and the RMS level.
function analyse(x, rate) {
  const a = x.findIndex((v) => Math.abs(v) > SILENT);
  let z = x.length - 1;
  while (z >= 0 && Math.abs(x[z]) <= SILENT) z--;
  const silences = [];
  let run = 0;
  for (let i = a; i <= z + 1; i++) {
    if (i <= z && Math.abs(x[i]) <= SILENT) run++;
    else {
      if (run > rate * 0.005) silences.push({ atMs: Math.round(((i - run - a) * 1000) / rate), ms: Math.round((run * 1000) / rate) });
      run = 0;
    }
  }
  const measure = (from, to) => {
    let first = -1, last = -1, count = 0, sq = 0;
    for (let i = from; i < to; i++) {
      sq += x[i] * x[i];
      if (x[i - 1] < 0 && x[i] >= 0) {
        if (first < 0) first = i;
        else count++;
        last = i;
      }
    }
    return { freq: (count * rate) / (last - first), rms: Math.sqrt(sq / (to - from)) };
  };
  return { start: a, end: z, seconds: a < 0 ? 0 : (z - a) / rate, silences, measure, ...(a < 0 ? { freq: 0, rms: 0 } : measure(a + Math.round(rate * 0.2), z - Math.round(rate * 0.2))) };
}

// soundState sets the stored mute and volume before a page loads.
async function soundState(page, { muted = false, volume = 1 } = {}) {
  await page.goto(new URL("/", server.url).href);
  await page.evaluate(([m, v]) => {
    localStorage.setItem("racgate.sound.muted", m ? "1" : "0");
    localStorage.setItem("racgate.sound.volume", String(v));
  }, [muted, volume]);
}

// openSound opens endpoint (its server side: HELLO with sound, a small screen, then
// script(conn)) and resolves with the websocket once the sound controls show.
// With menu (the default) it opens the menu, where the sound controls are, and waits for
// them; without, nothing is clicked (a click is a gesture that lets sound play).
async function openSound(br, endpoint, script = () => {}, { menu = true } = {}) {
  let conn;
  const got = new Promise((resolve) => {
    sessions[endpoint] = (c) => {
      conn = c;
      c.send(enc(hello(), ...screen));
      script(c);
      resolve(c);
    };
  });
  await br.run({ open: endpoint });
  await br.run({ waitState: "connected" });
  await got;
  if (!menu) return conn;
  await br.run({ menu: true }); // the sound controls are in the menu
  await br.page.waitForSelector("#sound-controls", { state: "visible" });
  return conn;
}

// report puts what was measured in the test's output (node --test diagnostics).
function report(t, what, L, st) {
  const r = (x) => Math.round(x * 1000) / 1000;
  t.diagnostic(`${what}: ${r(L.seconds)} s, ${r(L.freq)} Hz, rms ${r(L.rms)}, silences ${JSON.stringify(L.silences.filter((s) => s.ms > 20))}, underruns ${st.underruns}, dropped ${r(st.droppedMs)} ms, delay ${r(st.delayMs)} ms (target ${st.targetMs})`);
}

const near = (got, want, tol, what) => assert.ok(Math.abs(got / want - 1) <= tol, `${what}: ${got}, want ${want} ±${tol * 100}%`);

test("the connect request lists the codecs: WebCodecs' first, then adpcm,pcm; none without AudioWorklet", { skip }, async () => {
  let conn;
  sessions.codecs = (c) => {
    conn = c;
    c.send(enc(hello(7), ...screen));
  };
  await b.run({ open: "codecs" });
  await b.run({ waitState: "connected" });
  const names = conn.query.audio.split(",");
  assert.deepEqual(names.slice(-2), ["adpcm", "pcm"], conn.query.audio);
  // This chromium decodes both with WebCodecs, opus preferred.
  assert.deepEqual(names, ["opus", "mp3", "adpcm", "pcm"]);
  // No sound flag in HELLO: no controls, no AudioContext.
  assert.equal(await b.page.isVisible("#sound-controls"), false);
  assert.equal(await b.page.evaluate(() => window.racgateSound === undefined), true);

  // The worklet racgate serves (dist/) loads, with the player and no test recorder.
  const served = await b.page.evaluate(async () => {
    const ctx = new AudioContext();
    try {
      await ctx.audioWorklet.addModule("/static/sound-worklet.js");
      const made = (name) => {
        try {
          new AudioWorkletNode(ctx, name);
          return true;
        } catch {
          return false;
        }
      };
      return { player: made("racgate-sound"), tap: made("racgate-sound-tap") };
    } finally {
      await ctx.close();
    }
  });
  assert.deepEqual(served, { player: true, tap: false });

  // Without WebCodecs, only what the client decodes itself; without AudioWorklet, nothing.
  for (const [hide, want] of [["AudioDecoder", "adpcm,pcm"], ["AudioWorkletNode", undefined]]) {
    const page = await b.context.newPage();
    try {
      await page.addInitScript((name) => delete window[name], hide);
      const next = new Promise((r) => (sessions.codecs = (c) => r(c)));
      await page.goto(new URL("/connect/codecs", server.url).href);
      assert.equal((await next).query.audio, want, `without ${hide}`);
    } finally {
      await page.close();
    }
  }
});

test("ADPCM 44.1 kHz stereo plays at pitch and level: 440 Hz left, 660 Hz right, no gaps", { skip }, async (t) => {
  await soundState(b.page, { volume: 1 });
  const conn = await openSound(b, "adpcm", (c) => c.send(enc({ type: "AUDIO_FORMAT", codec: CODEC.adpcm, channels: 2, sampleRate: 44100, config: new Uint8Array(0) })));
  // The volume by keyboard: 100 → 50 in steps of 5; the setting is kept.
  await b.page.focus("#sound-volume");
  for (let i = 0; i < 10; i++) await b.page.keyboard.press("ArrowLeft");
  await b.page.keyboard.press("Escape"); // gives the keyboard back to the screen
  assert.equal(await b.page.evaluate(() => document.activeElement?.id), "screen");
  assert.equal(await b.page.evaluate(() => localStorage.getItem("racgate.sound.volume")), "0.5");

  await stream(conn, tonePackets({ codec: CODEC.adpcm, rate: 44100, freqs: [440, 660], amps: [0.5, 0.25], seconds: 3 }));
  await sleep(400); // the jitter buffer's delay plays out
  const out = await played(b.page, 4.5);
  const st = await stats(b.page);
  const L = analyse(out.left, out.rate), R = analyse(out.right, out.rate);
  const info = JSON.stringify({ stats: st, silences: L.silences.slice(0, 5) });
  report(t, "adpcm", L, st);
  assert.ok(Math.abs(L.seconds - 3) < 0.1, `played ${L.seconds} s; ${info}`);
  assert.deepEqual(L.silences.filter((s) => s.ms > 50), [], info);
  near(L.freq, 440, 0.01, "left pitch");
  near(R.freq, 660, 0.01, "right pitch");
  near(L.rms, (0.5 * 0.5) / Math.SQRT2, 0.1, "left level at volume 50");
  near(R.rms, (0.25 * 0.5) / Math.SQRT2, 0.1, "right level at volume 50");
  assert.equal(st.droppedMs, 0, info);
  assert.ok(st.delayMs >= 40 && st.delayMs <= 200, info);
});

test("PCM 22050 Hz mono is resampled to the context's rate: 440 Hz on both channels", { skip }, async (t) => {
  await soundState(b.page, { volume: 1 });
  const conn = await openSound(b, "pcm", (c) => c.send(enc({ type: "AUDIO_FORMAT", codec: CODEC.pcm, channels: 1, sampleRate: 22050, config: new Uint8Array(0) })));
  await stream(conn, tonePackets({ codec: CODEC.pcm, rate: 22050, freqs: [440], amps: [0.5], seconds: 3 }));
  await sleep(400);
  const out = await played(b.page, 4.5);
  const L = analyse(out.left, out.rate), R = analyse(out.right, out.rate);
  const st = await stats(b.page);
  const info = JSON.stringify({ stats: st, silences: L.silences.slice(0, 5) });
  report(t, "pcm", L, st);
  assert.ok(Math.abs(L.seconds - 3) < 0.1, `played ${L.seconds} s; ${info}`);
  assert.deepEqual(L.silences.filter((s) => s.ms > 50), [], info);
  near(L.freq, 440, 0.01, "pitch");
  near(R.freq, 440, 0.01, "right pitch");
  near(L.rms, 0.5 / Math.SQRT2, 0.1, "level at volume 100");
});

test("a 300 ms hole in the timestamps plays as 300 ms of silence, the rest unshifted", { skip }, async (t) => {
  await soundState(b.page);
  const conn = await openSound(b, "gap", (c) => c.send(enc({ type: "AUDIO_FORMAT", codec: CODEC.adpcm, channels: 1, sampleRate: 44100, config: new Uint8Array(0) })));
  await stream(conn, tonePackets({ codec: CODEC.adpcm, rate: 44100, freqs: [440], amps: [0.5], seconds: 2, holeAt: 1000, holeMs: 300 }));
  await sleep(400);
  const out = await played(b.page, 4);
  const L = analyse(out.left, out.rate);
  const st = await stats(b.page);
  const info = JSON.stringify({ stats: st, silences: L.silences });
  report(t, "gap", L, st);
  const long = L.silences.filter((s) => s.ms > 20);
  assert.equal(long.length, 1, info);
  assert.ok(Math.abs(long[0].ms - 300) <= 15, `silence of ${long[0].ms} ms; ${info}`);
  assert.ok(Math.abs(long[0].atMs - 1000) <= 15, `silence at ${long[0].atMs} ms; ${info}`);
  assert.ok(Math.abs(L.seconds - 2.3) < 0.05, `played ${L.seconds} s; ${info}`);
  assert.equal(st.underruns, 0, info);
  near(L.measure(L.start + Math.round(out.rate * 1.5), L.end - Math.round(out.rate * 0.1)).freq, 440, 0.01, "pitch after the hole");
});

test("codec 0 plays out what is queued; the next AUDIO_FORMAT goes on on the same clock", { skip }, async (t) => {
  await soundState(b.page);
  const conn = await openSound(b, "stop", (c) => c.send(enc({ type: "AUDIO_FORMAT", codec: CODEC.adpcm, channels: 1, sampleRate: 44100, config: new Uint8Array(0) })));
  await stream(conn, tonePackets({ codec: CODEC.adpcm, rate: 44100, freqs: [440], amps: [0.5], seconds: 1 }));
  conn.send(enc({ type: "AUDIO_FORMAT", codec: CODEC.none, channels: 0, sampleRate: 0, config: new Uint8Array(0) }));
  await sleep(500);
  // The clock ran on: the next sound starts at 1.5 s, as PCM.
  conn.send(enc({ type: "AUDIO_FORMAT", codec: CODEC.pcm, channels: 1, sampleRate: 22050, config: new Uint8Array(0) }));
  await stream(conn, tonePackets({ codec: CODEC.pcm, rate: 22050, freqs: [440], amps: [0.5], seconds: 0.5, ts0: 1500 }));
  await sleep(400);
  const out = await played(b.page, 3);
  const L = analyse(out.left, out.rate);
  const st = await stats(b.page);
  const info = JSON.stringify({ stats: st, silences: L.silences });
  report(t, "stop", L, st);
  const long = L.silences.filter((s) => s.ms > 20);
  assert.equal(long.length, 1, info);
  assert.ok(Math.abs(long[0].atMs - 1000) <= 15, `the first sound played ${long[0].atMs} ms of 1000; ${info}`);
  assert.ok(Math.abs(long[0].ms - 500) <= 20, `silence of ${long[0].ms} ms; ${info}`);
  assert.ok(Math.abs(L.seconds - 2) < 0.05, `played ${L.seconds} s; ${info}`);
  assert.equal(st.underruns, 0, info);
});

test("sound does not wait behind image decodes: it plays while a PNG is still decoding", { skip }, async () => {
  await soundState(b.page);
  const page = await b.context.newPage();
  try {
    // Every image decode takes 1.5 s here (the decoded bitmap: 8×8 of nothing).
    await page.addInitScript(() => {
      const orig = window.createImageBitmap.bind(window);
      window.createImageBitmap = (src, ...rest) =>
        src instanceof Blob ? new Promise((r) => setTimeout(r, 1500)).then(() => orig(new ImageData(8, 8))) : orig(src, ...rest);
    });
    let conn;
    const got = new Promise((resolve) => {
      sessions.queue = (c) => {
        conn = c;
        const png = { type: "IMAGE", x: 0, y: 0, width: 8, height: 8, encoding: ENC_PNG, data: new Uint8Array([137, 80, 78, 71]) };
        c.send(enc(hello(), ...screen, { type: "AUDIO_FORMAT", codec: CODEC.pcm, channels: 1, sampleRate: 22050, config: new Uint8Array(0) }, png, { type: "FRAME", id: 2 }));
        resolve();
      };
    });
    await page.goto(new URL("/connect/queue", server.url).href);
    await got;
    await stream(conn, tonePackets({ codec: CODEC.pcm, rate: 22050, freqs: [440], amps: [0.5], seconds: 0.6 }));
    const st = await page.evaluate(() => window.racgateSound.stats());
    assert.ok(!all(conn).some((m) => m.type === "ACK" && m.id === 2), "the image decoded already: the test proves nothing");
    assert.equal(st.state, "playing", JSON.stringify(st));
    await waitMsg(conn, (m) => m.type === "ACK" && m.id === 2, "ACK 2 after the image");
  } finally {
    await page.close();
  }
});

test("mute sends AUDIO_ENABLE 0, unmute 1, focus goes back; a stored mute is sent after HELLO; reconnects leak nothing", { skip }, async () => {
  await soundState(b.page);
  let conn = await openSound(b, "mute", (c) => c.send(enc({ type: "AUDIO_FORMAT", codec: CODEC.pcm, channels: 1, sampleRate: 22050, config: new Uint8Array(0) })));
  const enables = (c) => all(c).filter((m) => m.type === "AUDIO_ENABLE").map((m) => m.enabled);
  assert.deepEqual(enables(conn), []);
  assert.equal(await b.page.getAttribute("#sound-mute", "aria-pressed"), "false");
  await b.page.click("#sound-mute");
  await conn.next(() => enables(conn).length === 1, 3000, "AUDIO_ENABLE");
  assert.deepEqual(enables(conn), [false]);
  assert.equal(await b.page.getAttribute("#sound-mute", "aria-pressed"), "true");
  assert.equal(await b.page.evaluate(() => document.activeElement?.id), "screen", "the keyboard is the screen's again");
  assert.equal((await stats(b.page)).level, 0);
  await b.page.click("#sound-mute");
  await conn.next(() => enables(conn).length === 2, 3000, "AUDIO_ENABLE");
  assert.deepEqual(enables(conn), [false, true]);
  // The keyboard: Tab to the button, Enter.
  await b.page.focus("#sound-mute");
  await b.page.keyboard.press("Enter");
  await conn.next(() => enables(conn).length === 3, 3000, "AUDIO_ENABLE");
  assert.equal(await b.page.evaluate(() => localStorage.getItem("racgate.sound.muted")), "1");

  // Reload: the stored mute goes to the server right after HELLO.
  const next = new Promise((r) => (sessions.mute = (c) => (c.send(enc(hello(), ...screen)), r(c))));
  await b.page.reload();
  conn = await next;
  await waitMsg(conn, (m) => m.type === "AUDIO_ENABLE", "AUDIO_ENABLE after HELLO");
  assert.deepEqual(enables(conn), [false]);
  assert.equal(await b.page.getAttribute("#sound-mute", "aria-pressed"), "true");

  // Reconnects: one AudioContext for the page, one live player.
  sessions.mute = (c) => {
    conn = c;
    c.send(enc(hello(), ...screen, { type: "AUDIO_FORMAT", codec: CODEC.pcm, channels: 1, sampleRate: 22050, config: new Uint8Array(0) }));
    for (const p of tonePackets({ codec: CODEC.pcm, rate: 22050, freqs: [440], amps: [0.5], seconds: 0.2 })) c.send(enc({ type: "AUDIO", timestamp: p.ts, data: p.data }));
  };
  for (let i = 0; i < 3; i++) {
    conn.close();
    await b.run({ waitState: "closed" });
    assert.equal(await b.page.isVisible("#sound-controls"), false, "no controls while closed");
    await b.run({ reconnect: true });
    await b.run({ waitState: "connected" });
    await b.run({ menu: true });
    await b.page.waitForSelector("#sound-controls", { state: "visible" });
  }
  await sleep(200);
  const st = await stats(b.page);
  assert.equal(st.contexts, 1, JSON.stringify(st));
  assert.equal(st.live, 1, JSON.stringify(st));
  await b.page.click("#sound-mute"); // unmuted again
});

test("autoplay blocked: 'Click to enable sound' shows, and clicking it starts the sound", { skip }, async () => {
  const nb = await openBrowser({ baseURL: server.url }); // no autoplay flag
  try {
    const conn = await openSound(nb, "blocked", (c) => c.send(enc({ type: "AUDIO_FORMAT", codec: CODEC.adpcm, channels: 1, sampleRate: 44100, config: new Uint8Array(0) })), { menu: false });
    const button = nb.page.locator("#sound-enable");
    await button.waitFor({ state: "visible" });
    assert.equal(await button.textContent(), "Click to enable sound");
    assert.equal(await button.evaluate((e) => e.tagName), "BUTTON");
    assert.equal((await stats(nb.page)).context, "suspended");
    // It shows with the menu closed: no need to find it.
    assert.equal(await nb.page.evaluate(() => document.getElementById("status").dataset.open), undefined);
    const sending = stream(conn, tonePackets({ codec: CODEC.adpcm, rate: 44100, freqs: [440], amps: [0.5], seconds: 2 }));
    await sleep(300);
    await button.click();
    await nb.page.waitForFunction(async () => (await window.racgateSound.stats()).context === "running");
    await button.waitFor({ state: "hidden" });
    assert.equal(await nb.page.evaluate(() => document.activeElement?.id), "screen", await nb.page.evaluate(() => document.activeElement?.outerHTML.slice(0, 100)));
    await sending;
    await sleep(400);
    const out = await played(nb.page, 2.5);
    const L = analyse(out.left, out.rate);
    assert.ok(L.seconds > 1.3, `played ${L.seconds} s`);
    near(L.freq, 440, 0.01, "pitch");
  } finally {
    await nb.close();
  }
});

// Opus packets of a tone, encoded in the page by WebCodecs' AudioEncoder (null if it cannot).
async function opusPackets(page, seconds) {
  return page.evaluate(async (seconds) => {
    if (typeof AudioEncoder !== "function") return null;
    const config = { codec: "opus", sampleRate: 48000, numberOfChannels: 2, bitrate: 128000 };
    if (!(await AudioEncoder.isConfigSupported(config)).supported) return null;
    const packets = [];
    const e = new AudioEncoder({
      output: (c) => {
        const d = new Uint8Array(c.byteLength);
        c.copyTo(d);
        let s = "";
        for (const x of d) s += String.fromCharCode(x);
        packets.push(btoa(s));
      },
      error: () => {},
    });
    e.configure(config);
    const n = 48000 * seconds;
    const d = new Float32Array(n * 2);
    for (let i = 0; i < n; i++) {
      d[i] = 0.5 * Math.sin((2 * Math.PI * 440 * i) / 48000);
      d[n + i] = 0.25 * Math.sin((2 * Math.PI * 660 * i) / 48000);
    }
    e.encode(new AudioData({ format: "f32-planar", sampleRate: 48000, numberOfFrames: n, numberOfChannels: 2, timestamp: 0, data: d }));
    await e.flush();
    e.close();
    return packets;
  }, seconds);
}

test("opus through WebCodecs: 48 kHz plays at pitch, a timestamp hole stays; announced as 44.1 kHz (xrdp) it plays at 44.1 kHz", { skip }, async (t) => {
  await soundState(b.page);
  const packets = await opusPackets(b.page, 2);
  if (!packets) return t.skip("this chromium's WebCodecs has no Opus AudioEncoder");
  const data = packets.map((p) => new Uint8Array(Buffer.from(p, "base64")));
  for (const rate of [48000, 44100]) {
    const conn = await openSound(b, `opus${rate}`, (c) => c.send(enc({ type: "AUDIO_FORMAT", codec: CODEC.opus, channels: 2, sampleRate: rate, config: new Uint8Array(0) })));
    // 960 samples a packet, played at the announced rate; at 48 kHz with a 200 ms hole
    // after 1 s, which WebCodecs' own output timestamps would lose.
    const hole = rate === 48000 ? 200 : 0;
    await stream(conn, data.map((d, k) => ({ ts: Math.round((k * 960 * 1000) / rate) + (k >= 50 ? hole : 0), data: d })));
    await sleep(400);
    const out = await played(b.page, 3.5);
    const L = analyse(out.left, out.rate), R = analyse(out.right, out.rate);
    const st = await stats(b.page);
    const info = JSON.stringify({ stats: st, silences: L.silences.slice(0, 5) });
    report(t, `opus ${rate}`, L, st);
    const scale = rate / 48000;
    near(L.seconds, (data.length * 960) / rate + hole / 1000, 0.05, `seconds at ${rate}`);
    const long = L.silences.filter((s) => s.ms > 50);
    // Pitch and level over the steady part before the hole (or the whole, without one).
    let [l, r] = [L, R];
    if (hole) {
      assert.equal(long.length, 1, info);
      assert.ok(Math.abs(long[0].ms - hole) <= 25 && Math.abs(long[0].atMs - 1000) <= 25, info); // Opus fades at its edges
      // A hole, not a late packet: the stamps survived decoding.
      assert.equal(st.underruns, 0, info);
      const steady = (x) => x.measure(x.start + Math.round(out.rate * 0.2), x.start + Math.round(out.rate * 0.9));
      [l, r] = [steady(L), steady(R)];
    } else assert.deepEqual(long, [], info);
    near(l.freq, 440 * scale, 0.01, `left pitch announced ${rate}`);
    near(r.freq, 660 * scale, 0.01, `right pitch announced ${rate}`);
    near(l.rms, 0.5 / Math.SQRT2, 0.15, `left level`);
  }
});

// mp3Packets: a tone encoded by lame (if installed), cut into whole frames, two a packet.
function mp3Packets(seconds) {
  const lame = ["/usr/bin/lame", "/usr/local/bin/lame"].find(existsSync);
  if (!lame) return null;
  const dir = mkdtempSync(join(tmpdir(), "racgate-mp3-"));
  try {
    const pcm = toneFrames(44100, [440, 660], [0.5, 0.25], 0, 44100 * seconds);
    const r = spawnSync(lame, ["--quiet", "-r", "-s", "44.1", "--bitwidth", "16", "--signed", "--little-endian", "-m", "s", "--cbr", "-b", "128", "-", join(dir, "t.mp3")], { input: Buffer.from(pcm.buffer) });
    if (r.status !== 0) return null;
    const mp3 = new Uint8Array(readFileSync(join(dir, "t.mp3")));
    // MPEG-1 layer III frames at 128 kbit/s, 44.1 kHz: 417 or 418 bytes (the padding bit).
    const frames = [];
    for (let off = mp3.indexOf(0xff); off >= 0 && off + 4 <= mp3.length; ) {
      if (mp3[off] !== 0xff || (mp3[off + 1] & 0xe0) !== 0xe0) break;
      const len = 417 + ((mp3[off + 2] >> 1) & 1);
      frames.push(mp3.subarray(off, off + len));
      off += len;
    }
    const packets = [];
    // A 200 ms hole in the timestamps from about 1 s on.
    for (let k = 0; k + 1 < frames.length; k += 2) packets.push({ ts: Math.round((k * 1152 * 1000) / 44100) + (k >= 38 ? 200 : 0), data: new Uint8Array(Buffer.concat([frames[k], frames[k + 1]])) });
    return packets;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test("mp3 through WebCodecs (frames from lame, two an AUDIO): pitch, and a timestamp hole stays", { skip }, async (t) => {
  const packets = mp3Packets(2);
  if (!packets) return t.skip("no lame to make MP3 frames with");
  await soundState(b.page);
  const conn = await openSound(b, "mp3", (c) => c.send(enc({ type: "AUDIO_FORMAT", codec: CODEC.mp3, channels: 2, sampleRate: 44100, config: new Uint8Array(0) })));
  await stream(conn, packets);
  await sleep(400);
  const out = await played(b.page, 3.5);
  const L = analyse(out.left, out.rate), R = analyse(out.right, out.rate);
  const st = await stats(b.page);
  const info = JSON.stringify({ stats: st, silences: L.silences.slice(0, 5) });
  report(t, "mp3", L, st);
  assert.ok(Math.abs(L.seconds - 2.2) < 0.15, `played ${L.seconds} s; ${info}`);
  const long = L.silences.filter((s) => s.ms > 50);
  assert.equal(long.length, 1, info);
  assert.ok(Math.abs(long[0].ms - 200) <= 25, info);
  assert.equal(st.underruns, 0, `a hole, not a late packet: ${info}`);
  const after = (x) => x.measure(x.end - Math.round(out.rate * 0.8), x.end - Math.round(out.rate * 0.1)); // the steady part after the hole
  near(after(L).freq, 440, 0.01, "left pitch");
  near(after(R).freq, 660, 0.01, "right pitch");
});

test("a broken stream ends its sound with a warning, not the session; unknown codecs are skipped", { skip }, async () => {
  await soundState(b.page);
  const conn = await openSound(b, "broken", (c) => c.send(enc({ type: "AUDIO_FORMAT", codec: 99, channels: 1, sampleRate: 44100, config: new Uint8Array(0) })));
  const logs = b.logs.length;
  conn.send(enc({ type: "AUDIO", timestamp: 0, data: new Uint8Array([1, 2, 3]) })); // codec 99: skipped
  conn.send(enc({ type: "AUDIO_FORMAT", codec: CODEC.adpcm, channels: 1, sampleRate: 44100, config: new Uint8Array(0) }));
  conn.send(enc({ type: "AUDIO", timestamp: 20, data: new Uint8Array([0, 0, 89, 0]) })); // step index 89
  conn.send(enc({ type: "AUDIO_FORMAT", codec: CODEC.pcm, channels: 2, sampleRate: 44100, config: new Uint8Array(0) }));
  conn.send(enc({ type: "AUDIO", timestamp: 40, data: new Uint8Array(6) })); // 1.5 frames
  conn.send(enc({ type: "AUDIO_FORMAT", codec: CODEC.opus, channels: 2, sampleRate: 48000, config: new Uint8Array(0) }));
  conn.send(enc({ type: "AUDIO", timestamp: 60, data: new Uint8Array([0xff, 0xff, 0xff]) })); // not Opus
  conn.send(enc({ type: "FRAME", id: 2 }));
  await waitMsg(conn, (m) => m.type === "ACK" && m.id === 2, "ACK 2");
  await sleep(300);
  assert.equal(await b.page.getAttribute("#screen", "data-state"), "connected");
  const warnings = b.logs.slice(logs).filter((l) => /sound/.test(l));
  assert.ok(warnings.some((l) => /ADPCM step index 89/.test(l)), warnings.join("\n"));
  assert.ok(warnings.some((l) => /whole 2-channel frames/.test(l)), warnings.join("\n"));
  assert.ok(!warnings.some((l) => /99/.test(l)), warnings.join("\n"));
});
