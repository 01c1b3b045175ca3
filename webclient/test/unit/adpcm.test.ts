// The IMA ADPCM block decoder (AUDIO codec 2) against the shared vectors
// (render/wire/testdata/adpcm_vectors.json, the Go decoder's too), and random blocks.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { adpcmFrames, decodeADPCM } from "../../src/adpcm.js";
import { ProtocolError } from "../../src/wire.js";

type Vector = { name: string; channels: number; block: string; pcm?: string; error?: string; comment?: string };
const vectors: Vector[] = JSON.parse(readFileSync(new URL("../../../render/wire/testdata/adpcm_vectors.json", import.meta.url), "utf8"));

const unhex = (s: string) => new Uint8Array(Buffer.from(s, "hex"));
// S16LE bytes, as the vectors' pcm field holds them.
const s16le = (x: Int16Array) => Buffer.from(x.buffer, x.byteOffset, x.byteLength).toString("hex");

test("adpcm vectors file is there, with good and malformed blocks", () => {
  assert.ok(vectors.length >= 6, `only ${vectors.length} vectors`);
  assert.ok(vectors.some((v) => v.error) && vectors.some((v) => !v.error));
  assert.ok(vectors.some((v) => v.channels === 1) && vectors.some((v) => v.channels === 2));
});

for (const v of vectors) {
  test(`adpcm vector ${v.name}`, () => {
    const block = unhex(v.block);
    if (v.error) {
      assert.throws(() => decodeADPCM(block, v.channels), ProtocolError);
      return;
    }
    const pcm = decodeADPCM(block, v.channels);
    assert.equal(s16le(pcm), v.pcm);
    assert.equal(pcm.length, adpcmFrames(block.length, v.channels) * v.channels);
  });
}

test("adpcm frame counts: stereo exact, mono's last high nibble is padding", () => {
  assert.equal(adpcmFrames(2, 1), 0);
  assert.equal(adpcmFrames(3, 1), 0);
  assert.equal(adpcmFrames(4, 1), 2);
  assert.equal(adpcmFrames(5, 1), 4);
  assert.equal(adpcmFrames(6, 2), 0);
  assert.equal(adpcmFrames(7, 2), 1);
  assert.equal(adpcmFrames(8, 2), 2);
  // Stereo with an odd code byte count: floor((9-6)*2/2) = 3 frames, 6 nibbles of 6.
  assert.equal(decodeADPCM(new Uint8Array(9), 2).length, 6);
});

test("adpcm: random blocks decode or throw ProtocolError, nothing else", () => {
  // A fixed-seed generator: failures reproduce.
  let seed = 0x2545f491;
  const rnd = () => {
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return seed >>> 0;
  };
  let decoded = 0, refused = 0;
  for (let k = 0; k < 20000; k++) {
    const n = rnd() % 64;
    const block = new Uint8Array(n);
    for (let i = 0; i < n; i++) block[i] = rnd() & 255;
    // Headers with valid step indexes half the time, so most blocks get decoded.
    if (k & 1) for (let c = 0; c < 2 && 3 * c + 2 < n; c++) block[3 * c + 2] %= 89;
    const channels = (rnd() % 4) as number; // 0 and 3 are not valid channel counts either
    try {
      const pcm = decodeADPCM(block, channels);
      assert.equal(pcm.length, adpcmFrames(n, channels) * channels);
      decoded++;
    } catch (e) {
      assert.ok(e instanceof ProtocolError, `block ${Buffer.from(block).toString("hex")}, ${channels} channels: ${String(e)}`);
      refused++;
    }
  }
  assert.ok(decoded > 5000 && refused > 5000, `decoded ${decoded}, refused ${refused}`);
});
