// § IMAGE 6 PREDICT (docs/recording.md § PREDICT): the decoder of a recording's predicted
// images, following render/predict (Go) step for step. Every operation is on integers
// below 2^53, and every shift on values that fit 32 bits, so that it decodes exactly
// what Go encodes; test/unit/predict.test.ts checks it against vectors Go wrote.

import { ProtocolError } from "./wire.js";

const SQUASH_POINTS = [1, 2, 4, 6, 10, 17, 27, 45, 74, 120, 194, 311, 488, 747, 1102, 1546,
  2048, 2550, 2994, 3349, 3608, 3785, 3902, 3976, 4022, 4051, 4069, 4079, 4086, 4090, 4092, 4094, 4095];

function squash(d: number): number {
  if (d > 2047) d = 2047;
  if (d < -2047) d = -2047;
  const w = d & 127;
  const i = (d >> 7) + 16;
  return (SQUASH_POINTS[i] * (128 - w) + SQUASH_POINTS[i + 1] * w + 64) >> 7;
}

const STRETCH = (() => {
  const t = new Int16Array(4096);
  let p = 0;
  for (let d = -2047; d <= 2047; d++) {
    const v = squash(d);
    for (; p <= v; p++) t[p] = d;
  }
  for (; p < 4096; p++) t[p] = 2047;
  return t;
})();

const RATE = (() => {
  const t = new Int32Array(256);
  for (let n = 0; n < 256; n++) t[n] = Math.floor(65536 / (n + 2));
  return t;
})();

const COUNTER_INIT = 32768;
const DIRECT_LIMIT = 30;
const HASHED_LIMIT = 60;
const SMALL_LIMIT = 30;
const HASH_BITS = 18;
const CACHE_SIZE = 255;
const MIX_RATE = 6;
const MAX_WEIGHT = 1 << 21;
const SURE = 4090;

/**
 * A counter (Go: counter): probability in bits 0–15, count in 16–23, check byte 24–31.
 * Tables are Int32Array, so that a counter with its top bit set is still a small integer
 * to the JIT; the bits are the same.
 */
function moved(c: number, y: number, limit: number): number {
  let p = c & 0xffff;
  let n = (c >>> 16) & 0xff;
  p += ((y ? 65535 : 0) - p) * RATE[n] >> 16;
  if (n < limit) n++;
  return (c & 0xff000000) | (n << 16) | p;
}

/**
 * The binary arithmetic decoder. Its 32-bit bounds are kept as int32 bit patterns, which
 * the JIT keeps in registers rather than as boxed doubles, and compared unsigned by
 * flipping the sign bit.
 */
class Coder {
  private x1 = 0;
  private x2 = -1;
  private x = 0;
  private pos = 0;
  private data: Uint8Array = new Uint8Array(0);

  start(data: Uint8Array): void {
    this.data = data;
    this.x1 = 0;
    this.x2 = -1;
    this.pos = 0;
    this.x = 0;
    for (let i = 0; i < 4; i++) this.x = (this.x << 8) | this.next();
  }

  private next(): number {
    const i = this.pos++;
    return i < this.data.length ? this.data[i] : 0xff;
  }

  /** The next bit, with p the probability (1..4095, in 1/4096ths) that it is 1. */
  bit(p: number): number {
    let x1 = this.x1, x2 = this.x2;
    const xmid = (x1 + ((x2 - x1) >>> 12) * p) | 0;
    let y: number;
    if ((this.x ^ 0x80000000) <= (xmid ^ 0x80000000)) {
      y = 1;
      x2 = xmid;
    } else {
      y = 0;
      x1 = (xmid + 1) | 0;
    }
    while (((x1 ^ x2) & 0xff000000) === 0) {
      this.x = (this.x << 8) | this.next();
      x1 <<= 8;
      x2 = (x2 << 8) | 0xff;
    }
    this.x1 = x1;
    this.x2 = x2;
    return y;
  }

  /** A whole piece is read three bytes past its end. */
  whole(): boolean {
    return this.pos === this.data.length + 3;
  }
}

function small(c: Coder, t: Int32Array, i: number): number {
  const ct = t[i];
  let p = (ct & 0xffff) >> 4;
  if (p < 1) p = 1;
  const y = c.bit(p);
  t[i] = moved(ct, y, SMALL_LIMIT);
  return y;
}

/** byteTree decodes a byte through the tree of 256 counters at t[base:]. */
function byteTree(c: Coder, t: Int32Array, base: number): number {
  let node = 1;
  for (let b = 7; b >= 0; b--) node = (node << 1) | small(c, t, base + node);
  return node & 0xff;
}

/** One question of the walk, with its three tables and mixer (Go: decision). */
class Decision {
  t1 = new Int32Array(1 << 16);
  t2 = new Int32Array(1 << 13);
  t3 = new Int32Array(1 << HASH_BITS);
  w = new Int32Array(16);
  private st = new Int32Array(4);

  reset(): void {
    this.t1.fill(COUNTER_INIT);
    this.t2.fill(COUNTER_INIT);
    this.t3.fill(COUNTER_INIT);
    for (let s = 0; s < 4; s++) this.w.set([19661, 19661, 19661, 0], s * 4);
  }

  /**
   * mixed codes a bit the direct counter is not sure of (the walk codes the sure ones
   * itself, inline): Go's decision.code past its shortcut.
   */
  mixed(c: Coder, k1: number, k2: number, k3: number): number {
    const t1 = this.t1;
    const c1 = t1[k1];
    let h = Math.imul(k3, 0x9e3779b1);
    h ^= h >>> 15;
    h = Math.imul(h, 0x85ebca77);
    h ^= h >>> 13;
    const i3 = h >>> (32 - HASH_BITS);
    const chk = h & 0xff;
    const t2 = this.t2, t3 = this.t3;
    let c3 = t3[i3];
    if (c3 >>> 24 !== chk) c3 = (chk << 24) | COUNTER_INIT; // another context's slot
    const c2 = t2[k2];
    const n3 = (c3 >>> 16) & 0xff;
    const set = (n3 < 3 ? n3 : 3) * 4;
    const st = this.st, w = this.w;
    const s0 = STRETCH[(c1 & 0xffff) >> 4], s1 = STRETCH[(c2 & 0xffff) >> 4], s2 = STRETCH[(c3 & 0xffff) >> 4];
    st[0] = s0;
    st[1] = s1;
    st[2] = s2;
    st[3] = 256;
    const dot = w[set] * s0 + w[set + 1] * s1 + w[set + 2] * s2 + w[set + 3] * 256;
    let d = Math.floor(dot / 65536);
    if (d > 2047) d = 2047;
    if (d < -2047) d = -2047;
    const pr = squash(d);
    const y = c.bit(pr);
    const err = ((y << 12) - pr) * MIX_RATE;
    for (let k = 0; k < 4; k++) {
      let v = w[set + k] + ((st[k] * err) >> 10);
      if (v > MAX_WEIGHT) v = MAX_WEIGHT;
      if (v < -MAX_WEIGHT) v = -MAX_WEIGHT;
      w[set + k] = v;
    }
    t1[k1] = moved(c1, y, DIRECT_LIMIT);
    t2[k2] = moved(c2, y, DIRECT_LIMIT);
    t3[i3] = moved(c3, y, HASHED_LIMIT);
    return y;
  }
}

function lum(c: number): number {
  return ((c >> 16) & 0xff) + ((c >> 8) & 0xff) + (c & 0xff) > 384 ? 1 : 0;
}

/**
 * PredictDecoder decodes one stream's PREDICT images. Its model carries over from image
 * to image until reset (a recording's key record).
 */
export class PredictDecoder {
  private same = new Decision();
  private left = new Decision();
  private others = new Int32Array(3 * 64);
  private lit = new Int32Array(256);
  private rgb = new Int32Array(3 * 256);
  private cache = new Int32Array(CACHE_SIZE); // the colours last coded as literals, most recent first
  private cached = 0; // how many
  private c = new Coder();
  private lums: Uint8Array[] = [];
  private cols: Uint32Array[] = [];
  private chg: Uint8Array[] = [];

  constructor() {
    this.reset();
  }

  reset(): void {
    this.same.reset();
    this.left.reset();
    this.others.fill(COUNTER_INIT);
    this.lit.fill(COUNTER_INIT);
    this.rgb.fill(COUNTER_INIT);
    this.cached = 0;
  }

  /**
   * decode draws an image's data into buf, RGBA rows of bw pixels: the screen around the
   * image, 5 pixels left of it, 3 right, 3 rows above and 1 below (black where that is
   * off the screen), the image at (5, 3) and w×h. Data that is not exactly what the
   * image needs is a ProtocolError.
   */
  decode(data: Uint8Array, buf: Uint8ClampedArray, bw: number, w: number, h: number): void {
    const c = this.c;
    c.start(data);
    const rw = w + 8;
    if (this.lums.length === 0 || this.lums[0].length < rw) {
      this.lums = [0, 1, 2, 3, 4].map(() => new Uint8Array(rw));
      this.cols = [0, 1].map(() => new Uint32Array(rw));
      this.chg = [0, 1].map(() => new Uint8Array(rw));
    }
    const at = (x: number, y: number): number => {
      const o = (y * bw + x) * 4;
      return (buf[o] << 16) | (buf[o + 1] << 8) | buf[o + 2];
    };
    // Local coordinates: the image's left column is x = 5, its top row y = 3.
    const lumRow = (dst: Uint8Array, y: number) => {
      for (let i = 0; i < rw; i++) dst[i] = lum(at(i, y));
    };
    const lums = this.lums, cols = this.cols, chg = this.chg;
    const same = this.same, left = this.left, others = this.others;
    const sameT1 = same.t1, leftT1 = left.t1;
    for (let k = 0; k < 5; k++) lumRow(lums[k], k);
    for (let i = 0; i < rw; i++) cols[0][i] = at(i, 2);
    chg[0].fill(0, 0, rw);
    for (let y = 3; y < h + 3; y++) {
      if (y > 3) {
        lums.push(lums.shift()!);
        lumRow(lums[4], y + 1);
        cols.push(cols.shift()!);
        chg.push(chg.shift()!);
      }
      const r3 = lums[0], r2 = lums[1], r1 = lums[2], r0 = lums[3], rs = lums[4];
      const above = cols[0], row = cols[1];
      for (let i = 0; i < rw; i++) row[i] = at(i, y);
      const prev = chg[0], cur = chg[1];
      cur.fill(0, 0, rw);
      let w3 = 0, w2 = 0, w1 = 0, w0 = 0;
      for (let i = 2; i < 8; i++) {
        w3 = (w3 << 1) | r3[i];
        w2 = (w2 << 1) | r2[i];
        w1 = (w1 << 1) | r1[i];
      }
      for (let i = 0; i < 4; i++) w0 = (w0 << 1) | r0[i];
      let lastSame = 1;
      // What the walk reads about a pixel's neighbours slides along the row in locals.
      let W = row[4], WW = row[3], NW = above[4], N = above[5];
      let lo = r0[5], cp = prev[5];
      for (let i = 5; i < w + 5; i++) {
        w3 = ((w3 << 1) | r3[i + 3]) & 0x7f;
        w2 = ((w2 << 1) | r2[i + 3]) & 0x7f;
        w1 = ((w1 << 1) | r1[i + 3]) & 0x7f;
        w0 = ((w0 << 1) | r0[i - 1]) & 0x1f;
        const O = row[i], NE = above[i + 1];
        const le = r0[i + 1], ls = rs[i], cpr = prev[i + 1];
        const eqWN = W === N ? 1 : 0, eqOW = O === W ? 1 : 0;
        const tpl = (((w1 >> 1) & 0x1f) << 5) | (((w2 >> 2) & 7) << 2) | (w0 & 3);
        const k1 = (tpl << 6) | (lo << 5) | (le << 4) | (ls << 3) | (lastSame << 2) | (cp << 1);
        // near and far are needed only when a direct counter is not sure: made then.
        let near = -1, far = 0;
        let col = -1;
        // Question 1, its sure case inline (Decision.sure).
        let bit: number;
        let k = k1 | eqOW;
        let ct = sameT1[k];
        let p = (ct & 0xffff) >> 4;
        if (p >= SURE || p <= 4096 - SURE) {
          bit = c.bit(p < 1 ? 1 : p);
          sameT1[k] = moved(ct, bit, DIRECT_LIMIT);
        } else {
          near = ((w0 & 3) << 11) | (((w1 >> 2) & 7) << 8) | (lo << 7) | (le << 6) | (ls << 5) | (lastSame << 2) | (cp << 1) | cpr;
          // 30 bits: w3 in bits 23–29, so the value stays a positive int32.
          far = (w3 << 23) | (w2 << 16) | (w1 << 9) | (w0 << 4) | (lo << 3) | (le << 2) | (ls << 1);
          bit = same.mixed(c, k, near | (eqOW << 3) | (eqWN << 4), far | eqOW);
        }
        if (bit === 1) {
          col = O;
        } else if (O !== W) {
          k = k1 | eqWN;
          ct = leftT1[k];
          p = (ct & 0xffff) >> 4;
          if (p >= SURE || p <= 4096 - SURE) {
            bit = c.bit(p < 1 ? 1 : p);
            leftT1[k] = moved(ct, bit, DIRECT_LIMIT);
          } else {
            if (near < 0) {
              near = ((w0 & 3) << 11) | (((w1 >> 2) & 7) << 8) | (lo << 7) | (le << 6) | (ls << 5) | (lastSame << 2) | (cp << 1) | cpr;
              far = (w3 << 23) | (w2 << 16) | (w1 << 9) | (w0 << 4) | (lo << 3) | (le << 2) | (ls << 1);
            }
            bit = left.mixed(c, k, near | (eqWN << 4), far | eqWN);
          }
          if (bit === 1) col = W;
        }
        if (col < 0) {
          const ctx = eqWN | ((W === NW ? 1 : 0) << 1) | ((N === NE ? 1 : 0) << 2) | ((W === WW ? 1 : 0) << 3) |
            ((N === NW ? 1 : 0) << 4) | ((NE === NW ? 1 : 0) << 5);
          // N, NE, NW, each asked only when it is not a colour asked about already.
          if (N !== O && N !== W && small(c, others, ctx) === 1) col = N;
          else if (NE !== O && NE !== W && NE !== N && small(c, others, 64 + ctx) === 1) col = NE;
          else if (NW !== O && NW !== W && NW !== N && NW !== NE && small(c, others, 128 + ctx) === 1) col = NW;
          else col = this.literal(c);
        }
        row[i] = col;
        const same1 = col === O ? 1 : 0;
        r0[i] = ((col >> 16) & 0xff) + ((col >> 8) & 0xff) + (col & 0xff) > 384 ? 1 : 0;
        cur[i] = 1 - same1;
        lastSame = same1;
        WW = W;
        W = col;
        NW = N;
        N = NE;
        lo = le;
        cp = cpr;
      }
      let o = (y * bw + 5) * 4;
      for (let i = 5; i < w + 5; i++, o += 4) {
        const col = row[i];
        buf[o] = col >> 16;
        buf[o + 1] = (col >> 8) & 0xff;
        buf[o + 2] = col & 0xff;
        buf[o + 3] = 255;
      }
    }
    if (!c.whole()) throw new ProtocolError(`IMAGE PREDICT: ${data.length} bytes are not what a ${w}x${h} image needs`);
  }

  private literal(c: Coder): number {
    let idx = byteTree(c, this.lit, 0);
    const cache = this.cache;
    if (idx > 0) {
      if (idx > this.cached) {
        idx = this.cached; // garbage, which fails the length check
        if (idx === 0) return 0;
      }
      const col = cache[idx - 1];
      cache.copyWithin(1, 0, idx - 1);
      cache[0] = col;
      return col;
    }
    let col = 0;
    for (let k = 0; k < 3; k++) col = (col << 8) | byteTree(c, this.rgb, k * 256);
    if (this.cached < CACHE_SIZE) this.cached++;
    cache.copyWithin(1, 0, this.cached - 1);
    cache[0] = col;
    return col;
  }
}

/**
 * warm decodes noise a few times, so that the JIT has compiled the decoder, on all its
 * paths, before a seek needs it. Noise is not a whole image: the errors are expected.
 */
export function warm(): void {
  const d = new PredictDecoder();
  let x = 1;
  // Many small images (the JIT optimizes a function after enough calls, not only its
  // loops), then a few large ones.
  const sizes: number[][] = [];
  for (let i = 0; i < 200; i++) sizes.push([16 + (i % 5) * 8, 4 + (i % 3)]);
  sizes.push([300, 40], [64, 200], [500, 30]);
  for (const [w, h] of sizes) {
    const data = new Uint8Array((w * h) >> 2);
    for (let i = 0; i < data.length; i++) {
      x = (Math.imul(x, 1103515245) + 12345) | 0;
      data[i] = x >>> 24;
    }
    try {
      d.decode(data, new Uint8ClampedArray((w + 8) * (h + 4) * 4), w + 8, w, h);
    } catch {
      // expected
    }
  }
}
