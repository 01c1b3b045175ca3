// One connection's sound: AUDIO_FORMAT and AUDIO (§ AUDIO_FORMAT, § AUDIO) in, decoded
// chunks out (channels planar, Float32, with their stream timestamp and the rate they
// play at) to the player (soundoutput.ts). pcm and adpcm decode here; opus and mp3
// through WebCodecs' AudioDecoder. Sound problems end sound for the stream, with a
// console warning, never the session.

import { decodeADPCM } from "./adpcm.js";
import { mp3Split, opusFrames } from "./packetframes.js";
import { CODEC_ADPCM, CODEC_MP3, CODEC_NAMES, CODEC_NONE, CODEC_OPUS, CODEC_PCM } from "./wire.js";
import type { Audio, AudioFormat } from "./wire.js";

/** Samples for the player: planes[c][i], the first playing at timestamp (ms) at rate. */
export type Chunk = { timestamp: number; rate: number; planes: Float32Array[] };

export interface SoundSink {
  chunk(c: Chunk): void;
  /** end: the stream stopped; what is queued plays out. */
  end(): void;
}

// The decoders WebCodecs is asked about for the connect request (§ Connecting).
const WEBCODECS_CONFIGS: [string, AudioDecoderConfig][] = [
  ["opus", { codec: "opus", sampleRate: 48000, numberOfChannels: 2 }],
  ["mp3", { codec: "mp3", sampleRate: 44100, numberOfChannels: 2 }],
];

/** soundSupported: the browser can play the player (AudioContext with AudioWorklet). */
export function soundSupported(): boolean {
  return typeof AudioContext === "function" && typeof AudioWorkletNode === "function";
}

/**
 * soundCodecs lists the codecs for the connect request's audio parameter, in order of
 * preference: opus and mp3 where WebCodecs decodes them, then adpcm and pcm, decoded
 * here. Empty without AudioContext/AudioWorklet: no sound then.
 */
export async function soundCodecs(): Promise<string[]> {
  if (!soundSupported()) return [];
  const out: string[] = [];
  if (typeof AudioDecoder === "function") {
    for (const [name, config] of WEBCODECS_CONFIGS) {
      try {
        if ((await AudioDecoder.isConfigSupported(config)).supported) out.push(name);
      } catch {
        /* not this one */
      }
    }
  }
  return [...out, "adpcm", "pcm"];
}

type Mode = "off" | "pcm" | "adpcm" | "webcodecs" | "skip" | "failed";

/** SoundStream decodes one connection's sound for its sink. */
export class SoundStream {
  private mode: Mode = "off";
  private format: AudioFormat | null = null;
  private decoder: WebDecoder | null = null;
  private warnedOff = false;

  constructor(private readonly sink: SoundSink) {}

  message(m: Audio | AudioFormat): void {
    if (m.type === "AUDIO_FORMAT") this.setFormat(m);
    else this.audio(m);
  }

  /** close: the connection is over; pending decodes are dropped. */
  close(): void {
    this.decoder?.close();
    this.decoder = null;
    this.mode = "off";
  }

  // § AUDIO_FORMAT: what is queued plays out; the AUDIO that follow are in this format.
  private setFormat(f: AudioFormat): void {
    this.decoder?.finish();
    this.decoder = null;
    if (this.mode !== "off") this.sink.end();
    this.format = f;
    this.warnedOff = false;
    switch (f.codec) {
      case CODEC_NONE:
        this.mode = "off";
        return;
      case CODEC_PCM:
        this.mode = "pcm";
        return;
      case CODEC_ADPCM:
        this.mode = "adpcm";
        return;
      case CODEC_OPUS:
      case CODEC_MP3:
        try {
          this.decoder = new WebDecoder(f, this.sink, (why) => this.fail(why));
          this.mode = "webcodecs";
        } catch (e) {
          this.fail(`cannot decode ${CODEC_NAMES[f.codec]}: ${errText(e)}`);
        }
        return;
      default:
        this.mode = "skip"; // a codec this client does not know: its AUDIO is skipped
        return;
    }
  }

  private audio(m: Audio): void {
    const f = this.format;
    try {
      switch (this.mode) {
        case "pcm":
          this.sink.chunk({ timestamp: m.timestamp, rate: f!.sampleRate, planes: pcmPlanes(m.data, f!.channels) });
          return;
        case "adpcm": {
          const pcm = decodeADPCM(m.data, f!.channels);
          this.sink.chunk({ timestamp: m.timestamp, rate: f!.sampleRate, planes: planar(pcm, f!.channels) });
          return;
        }
        case "webcodecs":
          this.decoder!.decode(m);
          return;
        case "off":
          if (!this.warnedOff) console.warn("racgate: sound: AUDIO with no format (none announced, or codec 0): skipped");
          this.warnedOff = true;
          return;
        default:
          return; // skip, failed
      }
    } catch (e) {
      this.fail(errText(e));
    }
  }

  private fail(why: string): void {
    if (this.mode === "failed") return;
    console.warn(`racgate: sound stops until the next AUDIO_FORMAT: ${why}`);
    this.mode = "failed";
    this.decoder?.close();
    this.decoder = null;
    this.sink.end();
  }
}

// pcmPlanes: codec 1, S16LE with channels interleaved, a whole number of frames.
function pcmPlanes(data: Uint8Array, channels: number): Float32Array[] {
  if (data.length % (2 * channels) !== 0) throw new Error(`PCM of ${data.length} bytes is not whole ${channels}-channel frames`);
  const n = data.length / 2 / channels;
  const planes = Array.from({ length: channels }, () => new Float32Array(n));
  for (let i = 0, o = 0; i < n; i++) {
    for (let c = 0; c < channels; c++, o += 2) planes[c][i] = (((data[o] | (data[o + 1] << 8)) << 16) >> 16) / 32768;
  }
  return planes;
}

// planar splits interleaved 16-bit samples into Float32 planes.
function planar(pcm: Int16Array, channels: number): Float32Array[] {
  const n = pcm.length / channels;
  const planes = Array.from({ length: channels }, () => new Float32Array(n));
  for (let i = 0, o = 0; i < n; i++) for (let c = 0; c < channels; c++) planes[c][i] = pcm[o++] / 32768;
  return planes;
}

// An input's timestamp and its length in decoder samples (0: unknown), for the outputs.
type Pending = { timestamp: number; frames: number; used: number };

// WebDecoder: opus and mp3 through WebCodecs. Opus decodes at 48 kHz whatever the
// announced rate; the samples play at the announced rate all the same (§ AUDIO_FORMAT).
class WebDecoder {
  private readonly d: AudioDecoder;
  private readonly pending: Pending[] = [];
  private readonly rate: number; // the announced rate: the samples play at it
  private readonly opus: boolean;
  private next = 0; // where the last output ended, stream ms
  private closed = false;

  constructor(
    f: AudioFormat,
    private readonly sink: SoundSink,
    private readonly failed: (why: string) => void,
  ) {
    if (typeof AudioDecoder !== "function") throw new Error("no WebCodecs AudioDecoder");
    this.rate = f.sampleRate;
    const opus = (this.opus = f.codec === CODEC_OPUS);
    this.d = new AudioDecoder({
      output: (a) => this.output(a),
      error: (e) => {
        if (!this.closed) this.failed(`${CODEC_NAMES[f.codec]} decoder: ${errText(e)}`);
      },
    });
    this.d.configure({ codec: opus ? "opus" : "mp3", sampleRate: opus ? 48000 : f.sampleRate, numberOfChannels: f.channels });
  }

  decode(m: Audio): void {
    if (this.closed || m.data.length === 0) return;
    // An MP3 AUDIO goes in frame by frame (a frame that does not parse: whole, for the
    // decoder to judge); an Opus one as it is.
    let parts = this.opus ? [{ data: m.data, frames: opusFrames(m.data) }] : mp3Split(m.data);
    if (parts.length === 0) parts = [{ data: m.data, frames: 0 }];
    let ts = m.timestamp;
    for (const p of parts) {
      this.pending.push({ timestamp: ts, frames: p.frames, used: 0 });
      this.d.decode(new EncodedAudioChunk({ type: "key", timestamp: Math.round(ts * 1000), data: p.data }));
      ts += (p.frames * 1000) / this.rate;
    }
  }

  // output stamps a decoded AudioData with the timestamp of the AUDIO it came from (and
  // how far into it), by the sample counts read from the inputs.
  private output(a: AudioData): void {
    try {
      if (this.closed) return;
      const n = a.numberOfFrames;
      let ts = this.next;
      const head = this.pending[0];
      if (head && head.frames === 0) {
        this.pending.shift();
        ts = head.timestamp;
      } else if (head) {
        ts = head.timestamp + (head.used * 1000) / this.rate;
        for (let left = n; left > 0 && this.pending.length; ) {
          const p = this.pending[0];
          const take = Math.min(left, p.frames - p.used);
          p.used += take;
          left -= take;
          if (p.used >= p.frames) this.pending.shift();
        }
      }
      this.next = ts + (n * 1000) / this.rate;
      this.sink.chunk({ timestamp: ts, rate: this.rate, planes: audioPlanes(a) });
    } finally {
      a.close();
    }
  }

  /** finish: no more input; what is being decoded still plays, then the decoder goes. */
  finish(): void {
    if (this.closed) return;
    const d = this.d;
    void d.flush().catch(() => {}).finally(() => this.close());
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.d.state !== "closed") this.d.close();
  }
}

// audioPlanes copies an AudioData's samples out as Float32 planes.
function audioPlanes(a: AudioData): Float32Array[] {
  const n = a.numberOfFrames;
  const ch = a.numberOfChannels;
  const planes: Float32Array[] = [];
  try {
    for (let c = 0; c < ch; c++) {
      const p = new Float32Array(n);
      a.copyTo(p, { planeIndex: c, format: "f32-planar" });
      planes.push(p);
    }
    return planes;
  } catch {
    // A browser that converts only to interleaved f32.
    const all = new Float32Array(n * ch);
    a.copyTo(all, { planeIndex: 0, format: "f32" });
    return Array.from({ length: ch }, (_, c) => {
      const p = new Float32Array(n);
      for (let i = 0; i < n; i++) p[i] = all[i * ch + c];
      return p;
    });
  }
}

function errText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
