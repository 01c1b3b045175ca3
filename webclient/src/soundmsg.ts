// The messages between the page (soundoutput.ts) and the sound worklet (soundworklet.ts),
// over the AudioWorkletNode's port.

import type { JitterStats } from "./jitter.js";

/** The player processor's name, and the test build's recorder after the volume. */
export const PLAYER = "racgate-sound";
export const TAP = "racgate-sound-tap";

export type ToPlayer =
  // Decoded samples, channels planar, at the stream's rate, the first playing at
  // timestamp (§ AUDIO, ms).
  | { type: "chunk"; timestamp: number; rate: number; planes: Float32Array[] }
  | { type: "end" } // the stream stopped (codec 0, a new AUDIO_FORMAT): play out the queue
  | { type: "stop" } // the connection is over: the processor ends
  | { type: "stats"; id: number }; // the test build asks

export type PlayerStats = JitterStats & { live: number }; // live: player processors not stopped
export type FromPlayer = { type: "stats"; id: number; stats: PlayerStats };

// The test build's recorder keeps the last seconds played, after the volume.
export type ToTap = { type: "output"; id: number; seconds: number };
export type FromTap = { type: "output"; id: number; rate: number; frames: number; left: Float32Array; right: Float32Array };
