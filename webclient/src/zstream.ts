// The per-websocket deflate stream of IMAGE ZRGB and ZPALETTE (docs/protocol.md § IMAGE,
// "The deflate stream"), the one-shot zlib streams of ZRGB1 and ZPALETTE1, and the
// conversion of their pixels to RGBA.

import { ZStream, zlibInflate, zlibInflateInit, zlibInflateReset, Z_OK, Z_BUF_ERROR, Z_STREAM_END, Z_SYNC_FLUSH } from "pako";
import { ProtocolError } from "./wire.js";

/** What the pixel decoders need of an inflater: a whole piece, at most max bytes of it. */
export interface PieceInflater {
  inflateUpTo(piece: Uint8Array, max: number): Uint8Array;
}

/**
 * The buffers and the inflate loop both IMAGE inflaters share. A piece inflates into at
 * most max bytes; what its input still holds after that (a sync flush's empty stored
 * block, a stream's end and checksum) goes into a scratch buffer that must stay empty.
 */
abstract class PieceInflaterBase implements PieceInflater {
  protected strm = new ZStream();
  private scratch = new Uint8Array(64);
  private out = new Uint8Array(0);

  /** What a piece is, for error messages. */
  protected abstract readonly what: string;

  constructor() {
    if (zlibInflateInit(this.strm) !== Z_OK) throw new Error("zlib: inflateInit failed");
  }

  abstract inflateUpTo(piece: Uint8Array, max: number): Uint8Array;

  /**
   * Inflate one piece to exactly want bytes. The result is a view of an internal buffer,
   * valid until the next call.
   */
  inflate(piece: Uint8Array, want: number): Uint8Array {
    const got = this.inflateUpTo(piece, want);
    if (got.length < want) throw new ProtocolError(`IMAGE: ${this.what} inflates to ${got.length} bytes, want ${want}`);
    return got;
  }

  /** Inflate piece into at most max bytes; returns the output and zlib's last result. */
  protected run(piece: Uint8Array, max: number): [Uint8Array, number] {
    if (this.out.length < max) this.out = new Uint8Array(Math.max(max, this.out.length * 2));
    const s = this.strm;
    s.input = piece;
    s.next_in = 0;
    s.avail_in = piece.length;
    s.output = this.out as Uint8Array<ArrayBuffer>;
    s.next_out = 0;
    s.avail_out = max;
    let rc = max > 0 ? zlibInflate(s, Z_SYNC_FLUSH) : Z_OK;
    check(rc, s.msg);
    const got = max - s.avail_out;
    while (rc !== Z_STREAM_END && s.avail_in > 0) {
      s.output = this.scratch as Uint8Array<ArrayBuffer>;
      s.next_out = 0;
      s.avail_out = this.scratch.length;
      const before = s.avail_in;
      rc = zlibInflate(s, Z_SYNC_FLUSH);
      check(rc, s.msg);
      if (s.next_out > 0) throw new ProtocolError(`IMAGE: ${this.what} inflates to more than ${max} bytes`);
      if (s.avail_in === before) break;
    }
    return [this.out.subarray(0, got), rc];
  }
}

/**
 * Inflater holds one zlib stream for the life of a websocket. Each piece must
 * inflate to exactly the size its IMAGE header implies, given all earlier pieces.
 */
export class Inflater extends PieceInflaterBase {
  protected readonly what = "deflate piece";

  /**
   * Inflate a whole sync-flushed piece into at most max bytes (more is a protocol
   * error). The result is a view of an internal buffer, valid until the next call.
   */
  inflateUpTo(piece: Uint8Array, max: number): Uint8Array {
    return this.run(piece, max)[0];
  }

  /** restart makes the next piece the first of a new zlib stream (a recording's key record). */
  restart(): void {
    if (zlibInflateReset(this.strm) !== Z_OK) throw new Error("zlib: inflateReset failed");
  }
}

/**
 * OneShotInflater inflates IMAGE ZRGB1 and ZPALETTE1 data: each piece is a complete zlib
 * stream (header, final block, Adler-32) on its own, independent of the websocket's
 * stream. One instance is reset for every piece, so pieces allocate nothing.
 */
export class OneShotInflater extends PieceInflaterBase {
  protected readonly what = "zlib stream";

  /**
   * Inflate a complete stream to at most max bytes. The stream must end, its checksum
   * verified, exactly at the piece's end: more output, a missing end or trailing bytes
   * are protocol errors.
   */
  inflateUpTo(piece: Uint8Array, max: number): Uint8Array {
    if (zlibInflateReset(this.strm) !== Z_OK) throw new Error("zlib: inflateReset failed");
    const [out, rc] = this.run(piece, max);
    if (rc !== Z_STREAM_END) throw new ProtocolError("IMAGE: zlib stream does not end within its piece");
    if (this.strm.avail_in > 0) throw new ProtocolError(`IMAGE: ${this.strm.avail_in} bytes after the zlib stream`);
    return out;
  }
}

function check(rc: number, msg: string): void {
  if (rc !== Z_OK && rc !== Z_BUF_ERROR && rc !== Z_STREAM_END) {
    throw new ProtocolError(`IMAGE: deflate stream: ${msg || "error " + rc}`);
  }
}

// Whether a u32 store puts its low byte first: then a pixel is one store of R | G<<8 |
// B<<16 | A<<24, about a third faster than four byte stores.
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** ZRGB (§ IMAGE encoding 0): RGB rows → RGBA into dst with dstStride bytes per row. */
export function rgbToRGBA(src: Uint8Array, width: number, height: number, dst: Uint8ClampedArray | Uint8Array, dstStride: number): void {
  if (LITTLE_ENDIAN && (dst.byteOffset & 3) === 0 && (dstStride & 3) === 0) rgbToRGBA32(src, width, height, dst, dstStride);
  else rgbToRGBA8(src, width, height, dst, dstStride);
}

export function rgbToRGBA32(src: Uint8Array, width: number, height: number, dst: Uint8ClampedArray | Uint8Array, dstStride: number): void {
  const out = new Uint32Array(dst.buffer, dst.byteOffset, dst.byteLength >>> 2);
  const stride = dstStride >>> 2;
  let s = 0;
  for (let y = 0; y < height; y++) {
    let d = y * stride;
    const end = d + width;
    while (d < end) {
      out[d++] = src[s] | (src[s + 1] << 8) | (src[s + 2] << 16) | 0xff000000;
      s += 3;
    }
  }
}

export function rgbToRGBA8(src: Uint8Array, width: number, height: number, dst: Uint8ClampedArray | Uint8Array, dstStride: number): void {
  let s = 0;
  for (let y = 0; y < height; y++) {
    let d = y * dstStride;
    const end = d + width * 4;
    while (d < end) {
      dst[d] = src[s];
      dst[d + 1] = src[s + 1];
      dst[d + 2] = src[s + 2];
      dst[d + 3] = 255;
      d += 4;
      s += 3;
    }
  }
}

/** The number of bytes a ZPALETTE piece inflates to for n colours (§ IMAGE encoding 1). */
export function paletteSize(n: number, width: number, height: number): number {
  return 1 + 3 * n + paletteRowBytes(n, width) * height;
}

export function paletteBits(n: number): number {
  return n <= 2 ? 1 : n <= 4 ? 2 : n <= 16 ? 4 : 8;
}

function paletteRowBytes(n: number, width: number): number {
  return Math.ceil((width * paletteBits(n)) / 8);
}

/**
 * ZPALETTE: inflate the piece, then expand indices to RGBA into dst. The palette is held as packed u32 (RGBA in
 * memory order) so that each pixel is one store.
 */
export class PaletteDecoder {
  private pal = new Uint32Array(256);
  private palBytes = new Uint8Array(this.pal.buffer);

  decode(z: PieceInflater, piece: Uint8Array, width: number, height: number, dst: Uint8ClampedArray | Uint8Array, dstStride: number): void {
    // The size depends on the count byte inside the piece, so inflate into room for
    // 256 colours and check the length against the count afterwards.
    const data = z.inflateUpTo(piece, paletteSize(256, width, height));
    if (data.length < 1) throw new ProtocolError("IMAGE ZPALETTE: empty piece");
    const n = data[0] + 1;
    const want = paletteSize(n, width, height);
    if (data.length !== want) throw new ProtocolError(`IMAGE ZPALETTE: piece inflates to ${data.length} bytes, want ${want} for ${n} colours`);
    const pb = this.palBytes;
    for (let i = 0; i < n; i++) {
      pb[i * 4] = data[1 + i * 3];
      pb[i * 4 + 1] = data[2 + i * 3];
      pb[i * 4 + 2] = data[3 + i * 3];
      pb[i * 4 + 3] = 255;
    }
    for (let i = n; i < 256; i++) this.pal[i] = this.pal[0]; // indices ≥ n: defined, not garbage
    const bits = paletteBits(n);
    const rowBytes = paletteRowBytes(n, width);
    let src = 1 + 3 * n;
    const out32 = new Uint32Array(dst.buffer, dst.byteOffset, dst.byteLength >>> 2);
    const stride32 = dstStride >>> 2;
    const mask = (1 << bits) - 1;
    const pal = this.pal;
    for (let y = 0; y < height; y++) {
      let d = y * stride32;
      if (bits === 8) {
        for (let x = 0; x < width; x++) out32[d++] = pal[data[src + x]];
      } else {
        const perByte = 8 / bits;
        let x = 0;
        for (let i = 0; i < rowBytes; i++) {
          const b = data[src + i];
          for (let k = 0; k < perByte && x < width; k++, x++) {
            out32[d++] = pal[(b >> (8 - bits * (k + 1))) & mask];
          }
        }
      }
      src += rowBytes;
    }
  }
}

