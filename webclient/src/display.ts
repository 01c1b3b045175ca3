// The desktop canvas: draws RESIZE, FILL, COPY, IMAGE and CURSOR
// (docs/protocol.md § Server to client) into a 2D canvas of framebuffer size.

import { Inflater, OneShotInflater, PaletteDecoder, paletteSize, rgbToRGBA } from "./zstream.js";
import type { PieceInflater } from "./zstream.js";
import { ENC_ZPALETTE, ENC_ZPALETTE1, ENC_ZRGB, ENC_ZRGB1, ProtocolError } from "./wire.js";
import type { PredictDecoder } from "./predict.js";
import type { Copy, Cursor, Fill, Image, Resize } from "./wire.js";

// Canvas size limits: browsers refuse larger canvases, and bounding the framebuffer
// bounds every IMAGE buffer, which must lie inside it.
export const MAX_SIDE = 16384;
export const MAX_AREA = 8192 * 8192;

export class Display {
  readonly canvas: HTMLCanvasElement;
  private ctx: CanvasRenderingContext2D;
  private w = 0;
  private h = 0;
  // One ImageData, grown as needed and drawn from with a dirty rectangle, so an
  // IMAGE does not allocate.
  private scratch: ImageData | null = null;
  private palette = new PaletteDecoder();
  private oneShot = new OneShotInflater(); // ZRGB1 and ZPALETTE1: reset per IMAGE
  private copyScratch: CanvasRenderingContext2D | null = null; // COPY's way round, grown as needed

  /** The framebuffer's size (RESIZE). */
  get width(): number {
    return this.w;
  }
  get height(): number {
    return this.h;
  }

  /**
   * willReadFrequently: the canvas is read back (a recording's PREDICT images are
   * predicted from it), so the browser keeps it in memory rather than on the GPU.
   */
  constructor(canvas: HTMLCanvasElement, opts: { willReadFrequently?: boolean } = {}) {
    this.canvas = canvas;
    const ctx = canvas.getContext("2d", { alpha: false, willReadFrequently: opts.willReadFrequently ?? false });
    if (!ctx) throw new Error("canvas 2D context unavailable");
    this.ctx = ctx;
  }

  /** § RESIZE: new size, content black. */
  resize(m: Pick<Resize, "width" | "height">): void {
    if (m.width > MAX_SIDE || m.height > MAX_SIDE || m.width * m.height > MAX_AREA) {
      throw new ProtocolError(`RESIZE ${m.width}x${m.height} is larger than this client draws`);
    }
    this.w = m.width;
    this.h = m.height;
    this.canvas.width = m.width; // also clears and resets the context
    this.canvas.height = m.height;
    this.ctx.imageSmoothingEnabled = false;
    this.ctx.fillStyle = "#000";
    this.ctx.fillRect(0, 0, m.width, m.height);
    if (this.scratch && (this.scratch.width > m.width || this.scratch.height > m.height)) this.scratch = null;
    const c = this.copyScratch?.canvas;
    if (c && (c.width > m.width || c.height > m.height)) this.copyScratch = null;
  }

  private inside(name: string, x: number, y: number, w: number, h: number): void {
    if (x + w > this.width || y + h > this.height) {
      throw new ProtocolError(`${name} ${w}x${h}+${x}+${y} outside the ${this.width}x${this.height} framebuffer`);
    }
  }

  /** § FILL */
  fill(m: Fill): void {
    this.inside("FILL", m.x, m.y, m.width, m.height);
    this.ctx.fillStyle = `rgb(${m.r},${m.g},${m.b})`;
    this.ctx.fillRect(m.x, m.y, m.width, m.height);
  }

  /**
   * § COPY, through a scratch canvas. A canvas drawn onto itself makes the browser copy
   * the whole canvas first, whatever the area: about 10 ms a copy in Chromium's software
   * canvas at 1024x768, where two draws through a scratch canvas cost what the area does
   * (docs/protocol.md § COPY).
   */
  copy(m: Copy): void {
    this.inside("COPY", m.x, m.y, m.width, m.height);
    this.inside("COPY source", m.srcX, m.srcY, m.width, m.height);
    const { width: w, height: h } = m;
    if (w === 0 || h === 0) return;
    const s = this.copyScratchFor(w, h);
    s.drawImage(this.canvas, m.srcX, m.srcY, w, h, 0, 0, w, h);
    this.ctx.drawImage(s.canvas, 0, 0, w, h, m.x, m.y, w, h);
  }

  private copyScratchFor(w: number, h: number): CanvasRenderingContext2D {
    let s = this.copyScratch;
    if (s && s.canvas.width >= w && s.canvas.height >= h) return s;
    const c = this.canvas.ownerDocument.createElement("canvas");
    c.width = Math.max(w, s ? s.canvas.width : 0);
    c.height = Math.max(h, s ? s.canvas.height : 0);
    s = c.getContext("2d", { alpha: false });
    if (!s) throw new Error("canvas 2D context unavailable");
    s.imageSmoothingEnabled = false;
    this.copyScratch = s;
    return s;
  }

  /** Check an IMAGE's rectangle before anything is allocated or decoded for it. */
  checkImage(m: Image): void {
    this.inside("IMAGE", m.x, m.y, m.width, m.height);
  }

  /**
   * § IMAGE ZRGB and ZPALETTE, from this websocket's deflate stream z; ZRGB1 and
   * ZPALETTE1, each a zlib stream of its own (z is neither read nor advanced).
   */
  imageDeflate(m: Image, z: Inflater): void {
    this.checkImage(m);
    const { width: w, height: h } = m;
    let src: PieceInflater;
    let rgb: boolean;
    switch (m.encoding) {
      case ENC_ZRGB: src = z; rgb = true; break;
      case ENC_ZPALETTE: src = z; rgb = false; break;
      case ENC_ZRGB1: src = this.oneShot; rgb = true; break;
      case ENC_ZPALETTE1: src = this.oneShot; rgb = false; break;
      default: throw new ProtocolError(`IMAGE encoding ${m.encoding} is not a deflate encoding`);
    }
    if (w === 0 || h === 0) {
      // Nothing to draw, but the data is checked all the same, and a piece of the
      // websocket's stream must be consumed to keep the stream in step.
      const got = src.inflateUpTo(m.data, rgb ? 0 : paletteSize(256, w, h));
      if (!rgb && (got.length < 1 || got.length !== paletteSize(got[0] + 1, w, h))) {
        throw new ProtocolError(`IMAGE ZPALETTE: empty piece inflates to ${got.length} bytes`);
      }
      return;
    }
    const img = this.scratchFor(w, h);
    const stride = img.width * 4;
    if (rgb) {
      const want = w * h * 3;
      const px = src.inflateUpTo(m.data, want);
      if (px.length !== want) throw new ProtocolError(`IMAGE: piece inflates to ${px.length} bytes, want ${want}`);
      rgbToRGBA(px, w, h, img.data, stride);
    } else {
      this.palette.decode(src, m.data, w, h, img.data, stride);
    }
    this.ctx.putImageData(img, m.x, m.y, 0, 0, w, h);
  }

  /**
   * § IMAGE 6 PREDICT (recordings only): the image is decoded against the screen around
   * it, read back from the canvas (black beyond its edges), by dec, the stream's decoder.
   */
  imagePredict(m: Image, dec: PredictDecoder): void {
    this.checkImage(m);
    const { width: w, height: h } = m;
    const bw = w + 8, bh = h + 4;
    const buf = this.scratchFor(bw, bh);
    const stride = buf.width * 4;
    const sx = m.x - 5, sy = m.y - 3;
    const x0 = Math.max(sx, 0), y0 = Math.max(sy, 0);
    const x1 = Math.max(Math.min(sx + bw, this.w), x0), y1 = Math.max(Math.min(sy + bh, this.h), y0);
    const got = x1 > x0 && y1 > y0 ? this.ctx.getImageData(x0, y0, x1 - x0, y1 - y0).data : null;
    const rowBytes = (x1 - x0) * 4;
    for (let y = 0; y < bh; y++) {
      const row = y * stride;
      if (!got || y + sy < y0 || y + sy >= y1) {
        buf.data.fill(0, row, row + bw * 4); // beyond the canvas: black
        continue;
      }
      buf.data.fill(0, row, row + (x0 - sx) * 4);
      buf.data.set(got.subarray((y + sy - y0) * rowBytes, (y + sy - y0 + 1) * rowBytes), row + (x0 - sx) * 4);
      buf.data.fill(0, row + (x1 - sx) * 4, row + bw * 4);
    }
    dec.decode(m.data, buf.data, buf.width, w, h);
    if (w > 0 && h > 0) this.ctx.putImageData(buf, sx, sy, 5, 3, w, h);
  }

  private scratchFor(w: number, h: number): ImageData {
    const s = this.scratch;
    if (s && s.width >= w && s.height >= h) return s;
    const nw = Math.max(w, s ? s.width : 0);
    const nh = Math.max(h, s ? s.height : 0);
    this.scratch = new ImageData(nw, nh);
    return this.scratch;
  }

  /** § IMAGE JPEG and PNG, once decoded. */
  drawBitmap(m: Image, bm: ImageBitmap): void {
    this.checkImage(m);
    this.ctx.drawImage(bm, 0, 0, m.width, m.height, m.x, m.y, m.width, m.height);
  }
}

/**
 * cursorCSS makes the CSS cursor value for § CURSOR: a PNG data URL of the RGBA
 * image with its hot spot, or "none" for an empty cursor.
 */
export function cursorCSS(m: Cursor, doc: Document = document): string {
  if (m.width === 0 || m.height === 0) return "none";
  const c = doc.createElement("canvas");
  c.width = m.width;
  c.height = m.height;
  const ctx = c.getContext("2d");
  if (!ctx) return "auto";
  const img = new ImageData(m.width, m.height);
  img.data.set(m.rgba.subarray(0, m.width * m.height * 4));
  ctx.putImageData(img, 0, 0);
  const hx = Math.min(m.hotX, m.width - 1);
  const hy = Math.min(m.hotY, m.height - 1);
  return `url(${c.toDataURL("image/png")}) ${hx} ${hy}, auto`;
}
