// IMA ADPCM blocks, AUDIO codec 2 (§ AUDIO_FORMAT, "IMA ADPCM blocks"): per channel a
// header of the predicted sample (i16 LE) and the step index (u8, 0-88), then 4-bit codes
// frame by frame, channel by channel within a frame, two to a byte, the earlier sample in
// the low nibble. Each block decodes alone from its own header.

import { ProtocolError } from "./wire.js";

// The IMA/DVI ADPCM step table: 89 steps, 7 to 32767.
const STEP = new Int32Array([
  7, 8, 9, 10, 11, 12, 13, 14, 16, 17, 19, 21, 23, 25, 28, 31, 34, 37, 41, 45,
  50, 55, 60, 66, 73, 80, 88, 97, 107, 118, 130, 143, 157, 173, 190, 209, 230, 253, 279, 307,
  337, 371, 408, 449, 494, 544, 598, 658, 724, 796, 876, 963, 1060, 1166, 1282, 1411, 1552, 1707, 1878, 2066,
  2272, 2499, 2749, 3024, 3327, 3660, 4026, 4428, 4871, 5358, 5894, 6484, 7132, 7845, 8630, 9493, 10442, 11487, 12635, 13899,
  15289, 16818, 18500, 20350, 22385, 24623, 27086, 29794, 32767,
]);
const MAX_INDEX = STEP.length - 1; // 88

// How the step index moves for the code's magnitude bits (c & 7).
const INDEX = [-1, -1, -1, -1, 2, 4, 6, 8];

/** adpcmFrames: the frames a block of n bytes holds (§ AUDIO_FORMAT); 0 if too short. */
export function adpcmFrames(n: number, channels: number): number {
  if (channels < 1 || n < 3 * channels) return 0;
  return Math.floor(((n - 3 * channels) * 2) / channels);
}

/**
 * decodeADPCM decodes one block into 16-bit samples, channels interleaved. It throws
 * ProtocolError for a block shorter than its headers or a step index over 88.
 */
export function decodeADPCM(block: Uint8Array, channels: number): Int16Array {
  if (channels < 1 || channels > 2) throw new ProtocolError(`AUDIO: ADPCM with ${channels} channels`);
  if (block.length < 3 * channels) throw new ProtocolError(`AUDIO: ADPCM block of ${block.length} bytes for ${channels} channels`);
  const pred = [0, 0];
  const index = [0, 0];
  for (let c = 0; c < channels; c++) {
    pred[c] = (block[3 * c] | (block[3 * c + 1] << 8)) << 16 >> 16; // i16 LE
    index[c] = block[3 * c + 2];
    if (index[c] > MAX_INDEX) throw new ProtocolError(`AUDIO: ADPCM step index ${index[c]}`);
  }
  const n = adpcmFrames(block.length, channels) * channels;
  const out = new Int16Array(n);
  const codes = 3 * channels;
  for (let i = 0; i < n; i++) {
    const c = (block[codes + (i >> 1)] >> ((i & 1) * 4)) & 15;
    const ch = channels === 2 ? i & 1 : 0;
    const step = STEP[index[ch]];
    let diff = step >> 3;
    if (c & 4) diff += step;
    if (c & 2) diff += step >> 1;
    if (c & 1) diff += step >> 2;
    let p = c & 8 ? pred[ch] - diff : pred[ch] + diff;
    p = p < -32768 ? -32768 : p > 32767 ? 32767 : p;
    pred[ch] = p;
    const j = index[ch] + INDEX[c & 7];
    index[ch] = j < 0 ? 0 : j > MAX_INDEX ? MAX_INDEX : j;
    out[i] = p;
  }
  return out;
}
