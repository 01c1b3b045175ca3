// Playing a terminal recording, asciicast v2 (docs/recording.md § Terminal format), in
// xterm.js: seeking writes everything up to the time at once into a reset terminal, then
// events follow at their times, scaled by the speed. Its output is searchable.

import { Terminal } from "@xterm/xterm";
import type { PlaybackHooks } from "./playback.js";

export type CastEvent = { at: number; code: string; data: string }; // at in ms

/** parseCast reads an asciicast v2 file: the header's size and the events, in order. */
export function parseCast(text: string): { cols: number; rows: number; events: CastEvent[] } {
  const lines = text.split("\n");
  const h = JSON.parse(lines[0]) as { version?: number; width?: number; height?: number };
  if (h.version !== 2) throw new Error("not an asciicast v2 recording");
  const events: CastEvent[] = [];
  for (const l of lines.slice(1)) {
    if (!l.trim()) continue;
    let e: unknown;
    try {
      e = JSON.parse(l);
    } catch {
      break; // a torn last line (racgate stopped while writing)
    }
    if (!Array.isArray(e) || typeof e[0] !== "number" || typeof e[1] !== "string" || typeof e[2] !== "string") continue;
    events.push({ at: Math.round(e[0] * 1000), code: e[1], data: e[2] });
  }
  return { cols: h.width ?? 80, rows: h.height ?? 24, events };
}

/** A search hit: the event's time and the text around the match. */
export type Hit = { at: number; context: string };

/** search finds text (case-insensitive) in the output events, at most limit hits. */
export function searchCast(events: CastEvent[], text: string, limit = 200): Hit[] {
  const q = text.toLowerCase();
  if (!q) return [];
  const hits: Hit[] = [];
  for (const e of events) {
    if (e.code !== "o") continue;
    // eslint-disable-next-line no-control-regex
    const plain = e.data.replace(/\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(\x07|\x1b\\)|[\x00-\x08\x0b-\x1f]/g, "");
    const i = plain.toLowerCase().indexOf(q);
    if (i < 0) continue;
    hits.push({ at: e.at, context: plain.slice(Math.max(0, i - 30), i + q.length + 30).replace(/\s+/g, " ") });
    if (hits.length >= limit) break;
  }
  return hits;
}

export class CastPlayback {
  readonly term: Terminal;
  private next = 0; // the first event not written
  private base = 0;
  private startedAt = 0;
  private playing = false;
  private speedFactor = 1;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private gen = 0;
  readonly duration: number;

  constructor(
    container: HTMLElement,
    private readonly cast: { cols: number; rows: number; events: CastEvent[] },
    private readonly hooks: PlaybackHooks,
  ) {
    this.term = new Terminal({ cols: cast.cols, rows: cast.rows, disableStdin: true, scrollback: 10000, convertEol: false });
    this.term.open(container);
    // The browser tests read the terminal's text as for a live session (terminalText).
    if (RACGATE_TEST_BUILD) (window as unknown as { racgateTerminal: unknown }).racgateTerminal = this.term;
    this.duration = cast.events.length ? cast.events[cast.events.length - 1].at : 0;
  }

  get isPlaying(): boolean {
    return this.playing;
  }

  position(): number {
    if (!this.playing) return this.base;
    return Math.min(this.duration, this.base + (performance.now() - this.startedAt) * this.speedFactor);
  }

  set speed(f: number) {
    this.base = this.position();
    this.startedAt = performance.now();
    this.speedFactor = f;
  }

  /** seek shows the terminal as it was at ms; it resolves once xterm.js has drawn it. */
  seek(ms: number): Promise<void> {
    const gen = ++this.gen;
    ms = Math.max(0, Math.min(ms, this.duration));
    this.term.reset();
    this.term.resize(this.cast.cols, this.cast.rows);
    this.next = 0;
    this.base = ms;
    this.startedAt = performance.now();
    const done = this.writeUntil(ms);
    this.hooks.position(ms);
    return done.then(() => {
      if (gen !== this.gen) return;
      this.hooks.drawn(ms);
      if (this.playing) this.tick();
    });
  }

  // writeUntil writes the events up to ms, output joined between resizes.
  private writeUntil(ms: number): Promise<void> {
    const ev = this.cast.events;
    let out = "";
    const writes: Promise<void>[] = [];
    const flush = () => {
      if (!out) return;
      const s = out;
      out = "";
      writes.push(new Promise((r) => this.term.write(s, r)));
    };
    while (this.next < ev.length && ev[this.next].at <= ms) {
      const e = ev[this.next++];
      if (e.code === "o") out += e.data;
      else if (e.code === "r") {
        const m = /^(\d+)x(\d+)$/.exec(e.data);
        if (m) {
          flush();
          this.term.resize(Number(m[1]), Number(m[2]));
        }
      }
    }
    flush();
    return Promise.all(writes).then(() => {});
  }

  play(): void {
    if (this.playing) return;
    if (this.base >= this.duration) {
      void this.seek(0).then(() => this.play());
      return;
    }
    this.playing = true;
    this.startedAt = performance.now();
    this.tick();
  }

  pause(): void {
    if (!this.playing) return;
    this.base = this.position();
    this.playing = false;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    const gen = this.gen;
    void this.writeUntil(this.base).then(() => gen === this.gen && this.hooks.drawn(this.base));
  }

  private tick(): void {
    if (!this.playing) return;
    const pos = this.position();
    void this.writeUntil(pos);
    this.hooks.position(pos);
    if (pos >= this.duration) {
      this.base = this.duration;
      this.playing = false;
      this.hooks.ended();
      const gen = this.gen;
      void this.writeUntil(this.base).then(() => gen === this.gen && this.hooks.drawn(this.base));
      return;
    }
    this.timer = setTimeout(() => this.tick(), 16);
  }

  close(): void {
    this.gen++;
    this.playing = false;
    if (this.timer !== null) clearTimeout(this.timer);
    this.term.dispose();
  }
}
