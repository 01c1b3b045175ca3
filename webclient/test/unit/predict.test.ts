// The PREDICT decoder against what the Go encoder wrote (render/predict/testdata/vectors.json):
// each image decoded over the screen as it stands must leave the screen Go's encoder had.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { createHash } from "node:crypto";
import { PredictDecoder } from "../../src/predict.js";
import { ProtocolError } from "../../src/wire.js";

type Img = { X: number; Y: number; W: number; H: number; reset?: boolean; data: string; sha256: string };
type Stream = { name: string; width: number; height: number; images: Img[] };

const streams: Stream[] = JSON.parse(readFileSync(new URL("../../../render/predict/testdata/vectors.json", import.meta.url), "utf8"));
const unhex = (s: string) => new Uint8Array(Buffer.from(s, "hex"));

/** decodeOnto decodes an image onto a whole screen (RGBA) as Display does onto a canvas. */
function decodeOnto(dec: PredictDecoder, screen: Uint8ClampedArray, sw: number, sh: number, im: Img, data: Uint8Array): void {
  const bw = im.W + 8, bh = im.H + 4, sx = im.X - 5, sy = im.Y - 3;
  const buf = new Uint8ClampedArray(bw * bh * 4);
  for (let y = 0; y < bh; y++) {
    for (let x = 0; x < bw; x++) {
      const X = sx + x, Y = sy + y;
      if (X < 0 || Y < 0 || X >= sw || Y >= sh) continue; // black beyond the screen
      buf.set(screen.subarray((Y * sw + X) * 4, (Y * sw + X) * 4 + 4), (y * bw + x) * 4);
    }
  }
  dec.decode(data, buf, bw, im.W, im.H);
  for (let y = 0; y < im.H; y++) {
    screen.set(buf.subarray(((y + 3) * bw + 5) * 4, ((y + 3) * bw + 5 + im.W) * 4), ((im.Y + y) * sw + im.X) * 4);
  }
}

function blank(s: Stream): Uint8ClampedArray {
  const screen = new Uint8ClampedArray(s.width * s.height * 4);
  for (let i = 3; i < screen.length; i += 4) screen[i] = 255;
  return screen;
}

test("PREDICT vectors decode to the encoder's screens", () => {
  assert.ok(streams.length >= 2);
  for (const s of streams) {
    const screen = blank(s);
    const dec = new PredictDecoder();
    s.images.forEach((im, i) => {
      if (im.reset) dec.reset();
      decodeOnto(dec, screen, s.width, s.height, im, unhex(im.data));
      const sum = createHash("sha256").update(screen).digest("hex");
      assert.equal(sum, im.sha256, `${s.name} image ${i} (${im.W}x${im.H}+${im.X}+${im.Y})`);
    });
  }
});

test("PREDICT data that is not what the image needs is a protocol error", () => {
  const s = streams[0];
  const im = s.images[0];
  const data = unhex(im.data);
  // (One byte more may happen to decode, to other pixels: arithmetic-coded data has no
  // redundancy but its length. Twice the data, or none, cannot.)
  for (const bad of [new Uint8Array([...data, ...data]), new Uint8Array(0)]) {
    assert.throws(() => decodeOnto(new PredictDecoder(), blank(s), s.width, s.height, im, bad), ProtocolError);
  }
  // A stream whose model was not reset where the encoder's was draws something else.
  const screen = blank(s);
  const dec = new PredictDecoder();
  let differs = false;
  s.images.forEach((m) => {
    try {
      decodeOnto(dec, screen, s.width, s.height, m, unhex(m.data)); // no reset
    } catch {
      differs = true;
      return;
    }
    if (createHash("sha256").update(screen).digest("hex") !== m.sha256) differs = true;
  });
  assert.ok(differs, "ignoring the reset changed nothing: the vectors do not test it");
});
