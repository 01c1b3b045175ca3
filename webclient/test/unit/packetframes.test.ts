// Opus packet and MP3 frame sample counts (src/packetframes.ts), from headers built here
// by the RFC 6716 and ISO 11172-3 / 13818-3 layouts.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mp3Split, opusFrames } from "../../src/packetframes.js";

test("opus: the TOC byte's configuration and code give the samples at 48 kHz", () => {
  const toc = (config: number, code: number) => (config << 3) | code;
  assert.equal(opusFrames(new Uint8Array([toc(1, 0)])), 960); // SILK 20 ms
  assert.equal(opusFrames(new Uint8Array([toc(3, 0)])), 2880); // SILK 60 ms
  assert.equal(opusFrames(new Uint8Array([toc(13, 0)])), 960); // Hybrid 20 ms
  assert.equal(opusFrames(new Uint8Array([toc(16, 0)])), 120); // CELT 2.5 ms
  assert.equal(opusFrames(new Uint8Array([toc(31, 0), 1, 2])), 960); // CELT 20 ms
  assert.equal(opusFrames(new Uint8Array([toc(31, 1), 1, 2])), 1920); // two frames, equal sizes
  assert.equal(opusFrames(new Uint8Array([toc(30, 2), 1, 2])), 960); // two 10 ms frames
  assert.equal(opusFrames(new Uint8Array([toc(18, 3), 0x83, 0])), 3 * 480); // code 3: M = 3, VBR bit
  assert.equal(opusFrames(new Uint8Array([toc(31, 3)])), 0); // code 3 without its count
  assert.equal(opusFrames(new Uint8Array(0)), 0);
});

// frame builds one layer III frame: its header, then zero bytes to its length.
function frame(o: { version: 3 | 2 | 0; kbpsIndex: number; rateIndex: number; pad?: boolean }): Uint8Array {
  const kbps = (o.version === 3 ? [0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320] : [0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160])[o.kbpsIndex];
  const rate = { 3: [44100, 48000, 32000], 2: [22050, 24000, 16000], 0: [11025, 12000, 8000] }[o.version][o.rateIndex];
  const len = Math.floor(((o.version === 3 ? 144 : 72) * kbps * 1000) / rate) + (o.pad ? 1 : 0);
  const f = new Uint8Array(len);
  f[0] = 0xff;
  f[1] = 0xe0 | (o.version << 3) | (1 << 1) | 1; // layer III, no CRC
  f[2] = (o.kbpsIndex << 4) | (o.rateIndex << 2) | (o.pad ? 2 : 0);
  return f;
}
const cat = (...fs: Uint8Array[]) => new Uint8Array(Buffer.concat(fs));

test("mp3: frames are cut apart header to header, 1152 samples for MPEG-1, 576 for 2 and 2.5", () => {
  const a = frame({ version: 3, kbpsIndex: 9, rateIndex: 0 }); // 128 kbit/s, 44.1 kHz: 417 bytes
  const b = frame({ version: 3, kbpsIndex: 9, rateIndex: 0, pad: true }); // 418
  assert.equal(a.length, 417);
  const two = mp3Split(cat(a, b));
  assert.deepEqual(two.map((f) => [f.data.length, f.frames]), [[417, 1152], [418, 1152]]);
  assert.equal(two[1].data[0], 0xff);
  assert.deepEqual(mp3Split(frame({ version: 2, kbpsIndex: 8, rateIndex: 0 })).map((f) => f.frames), [576]); // 64 kbit/s, 22.05 kHz
  assert.deepEqual(mp3Split(frame({ version: 0, kbpsIndex: 4, rateIndex: 2 })).map((f) => f.frames), [576]); // MPEG-2.5, 8 kHz
});

test("mp3: anything that is not whole layer III frames gives no frames", () => {
  const a = frame({ version: 3, kbpsIndex: 9, rateIndex: 0 });
  assert.deepEqual(mp3Split(a.subarray(0, 416)), []); // cut short
  assert.deepEqual(mp3Split(cat(a, new Uint8Array([0xff, 0xfb]))), []); // a header cut short
  assert.deepEqual(mp3Split(cat(a, new Uint8Array(10))), []); // no sync after the first
  const free = a.slice();
  free[2] &= 0x0f; // bitrate index 0: free format
  assert.deepEqual(mp3Split(free), []);
  const layer2 = a.slice();
  layer2[1] = 0xfd; // layer II
  assert.deepEqual(mp3Split(layer2), []);
  const badRate = a.slice();
  badRate[2] |= 0x0c; // sample rate index 3: reserved
  assert.deepEqual(mp3Split(badRate), []);
  assert.deepEqual(mp3Split(new Uint8Array(0)), []);
});
