// How many samples (per channel) an Opus packet or an MP3 frame decodes to, read from
// their headers, and an MP3 AUDIO cut into its frames. WebCodecs' AudioDecoder stamps its
// outputs on its own running clock, whatever the inputs' timestamps: these counts tie
// each output back to the AUDIO it came from, so that timestamp gaps (§ AUDIO) survive
// decoding. And Chromium's decodes one MP3 frame per chunk, not the several an AUDIO may
// hold (§ AUDIO_FORMAT).

/**
 * opusFrames: the samples at 48 kHz in one Opus packet (RFC 6716 § 3.1: the TOC byte's
 * configuration gives the frame duration, its code the frame count); 0 if malformed.
 */
export function opusFrames(p: Uint8Array): number {
  if (p.length < 1) return 0;
  const config = p[0] >> 3;
  // Frame sizes in 48 kHz samples: SILK 10/20/40/60 ms, Hybrid 10/20 ms, CELT 2.5/5/10/20 ms.
  const size = config < 12 ? [480, 960, 1920, 2880][config & 3] : config < 16 ? [480, 960][config & 1] : [120, 240, 480, 960][config & 3];
  switch (p[0] & 3) {
    case 0:
      return size;
    case 1:
    case 2:
      return 2 * size;
    default: // code 3: the frame count is in the next byte
      return p.length < 2 ? 0 : (p[1] & 0x3f) * size;
  }
}

// MPEG audio layer III tables (ISO 11172-3, ISO 13818-3): kbit/s by bitrate index, Hz by
// sample rate index.
const BITRATE_V1 = [0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320];
const BITRATE_V2 = [0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160];
const RATES: Record<number, number[]> = { 3: [44100, 48000, 32000], 2: [22050, 24000, 16000], 0: [11025, 12000, 8000] };

/** One MPEG audio frame: its bytes (header included) and its samples per channel. */
export type MP3Frame = { data: Uint8Array; frames: number };

/**
 * mp3Split cuts whole MPEG-1/2/2.5 layer III frames apart, walking header to header;
 * empty where a header is not one (free format included) or a frame is cut short.
 */
export function mp3Split(p: Uint8Array): MP3Frame[] {
  const out: MP3Frame[] = [];
  let off = 0;
  while (off < p.length) {
    if (off + 4 > p.length) return [];
    const b1 = p[off + 1], b2 = p[off + 2];
    if (p[off] !== 0xff || (b1 & 0xe0) !== 0xe0) return []; // frame sync
    const version = (b1 >> 3) & 3; // 3 MPEG-1, 2 MPEG-2, 0 MPEG-2.5
    if (version === 1 || ((b1 >> 1) & 3) !== 1) return []; // reserved, or not layer III
    const bi = b2 >> 4, ri = (b2 >> 2) & 3;
    if (bi === 0 || bi === 15 || ri === 3) return [];
    const kbps = (version === 3 ? BITRATE_V1 : BITRATE_V2)[bi];
    const rate = RATES[version][ri];
    const frames = version === 3 ? 1152 : 576;
    const len = Math.floor(((frames / 8) * kbps * 1000) / rate) + ((b2 >> 1) & 1);
    if (off + len > p.length) return [];
    out.push({ data: p.subarray(off, off + len), frames });
    off += len;
  }
  return out;
}
