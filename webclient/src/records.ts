// A desktop recording's records (docs/recording.md § Records) as they stream in.

export const KIND_OUTPUT = 1;
export const KIND_KEY = 2;
export const KIND_INPUT = 3;
export const KIND_END = 4;
/** A key frame drawn over the picture of the last KIND_KEY's records before it. */
export const KIND_DELTA = 5;

const HEADER = 9;
/** The largest record payload (4 MiB); a longer length is a damaged file. */
export const MAX_RECORD = 4 << 20;

export type Rec = { kind: number; at: number; payload: Uint8Array };

/** RecordParser takes the bytes of a records stream in pieces and gives whole records. */
export class RecordParser {
  private buf = new Uint8Array(0);

  /** push adds a piece and returns the records it completed, in order. */
  push(piece: Uint8Array): Rec[] {
    let b = piece;
    if (this.buf.length > 0) {
      b = new Uint8Array(this.buf.length + piece.length);
      b.set(this.buf);
      b.set(piece, this.buf.length);
    }
    const out: Rec[] = [];
    const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
    let off = 0;
    while (b.length - off >= HEADER) {
      const n = dv.getUint32(off + 5, true);
      if (n > MAX_RECORD) throw new Error(`a record of ${n} bytes: the recording is damaged`);
      if (b.length - off - HEADER < n) break;
      out.push({ kind: b[off], at: dv.getUint32(off + 1, true), payload: b.subarray(off + HEADER, off + HEADER + n) });
      off += HEADER + n;
    }
    this.buf = b.slice(off); // a copy: the records keep their views of b
    return out;
  }
}

/** lastFrame is the id of the FRAME among payload's messages, the last one if several; null without. */
export function lastFrame(payload: Uint8Array): number | null {
  const dv = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
  let id: number | null = null;
  for (let off = 0; payload.length - off >= 5; ) {
    const n = dv.getUint32(off + 1, true);
    if (n > payload.length - off - 5) break;
    if (payload[off] === 0x06 && n >= 4) id = dv.getUint32(off + 5, true); // § FRAME
    off += 5 + n;
  }
  return id;
}
