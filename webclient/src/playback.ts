// Playing a desktop recording (docs/recording.md): records fetched from the key frame at
// or before a time (after its base's picture, for a delta key frame) are handed to a
// Session through a socket of its own, so the picture is drawn by the same code as a
// live one; up to the time sought they go at once, then at their times, scaled by the
// speed. The socket's ACKs say when a picture is drawn.

import { Display } from "./display.js";
import { warm } from "./predict.js";
import { lastFrame, RecordParser, KIND_DELTA, KIND_KEY, KIND_OUTPUT, type Rec } from "./records.js";
import { Session, type SessionUI } from "./session.js";
import { encodeMessages, decodeMessages, KIND_DESKTOP } from "./wire.js";

/** How far ahead of the position records are read from the network. */
const READ_AHEAD_MS = 10_000;

/** RecordedSocket stands in for the websocket: it delivers records and hears the ACKs. */
class RecordedSocket {
  readyState = 1; // WebSocket.OPEN
  binaryType = "arraybuffer";
  onopen: ((ev: Event) => void) | null = null;
  onmessage: ((ev: { data: ArrayBuffer }) => void) | null = null;
  onclose: ((ev: { code: number; reason: string }) => void) | null = null;
  onerror: ((ev: Event) => void) | null = null;
  acked = 0;
  onAck: (() => void) | null = null;

  deliver(payload: Uint8Array): void {
    this.onmessage?.({ data: payload.slice().buffer });
  }
  send(data: Uint8Array): void {
    decodeMessages(data, (m) => {
      if (m.type === "ACK") {
        this.acked = Math.max(this.acked, m.id);
        this.onAck?.();
      }
    });
  }
  close(): void {
    this.readyState = 3;
  }
}

export interface PlaybackHooks {
  /** The position moved (playing) or was set (seek), in ms. */
  position(ms: number): void;
  /** Everything up to ms is drawn (after a seek, and when paused). */
  drawn(ms: number): void;
  /** Playing stopped at the end. */
  ended(): void;
  /** Something went wrong: the text is for the user. */
  error(text: string): void;
}

const noUI: SessionUI = {
  state() {}, hello() {}, title() {}, resized() {}, cursor() {}, clipboard() {}, bell() {}, terminal() {},
};

export class Playback {
  private session: Session | null = null;
  private sock: RecordedSocket | null = null;
  private queue: Rec[] = [];
  private head = 0;
  private reader: ReadableStreamDefaultReader<Uint8Array> | null = null;
  private abort: AbortController | null = null;
  private streamDone = false;
  private reading: Promise<void> | null = null;
  private gen = 0;
  private base = 0; // the position when the clock last started or stopped
  private startedAt = 0; // performance.now() then
  private playing = false;
  private speedFactor = 1;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private wanted = 0; // the last FRAME delivered: drawn once acked
  private startDelta = false; // the seek starts at a delta key frame, still to come

  constructor(
    private readonly canvas: HTMLCanvasElement,
    private readonly id: string,
    private readonly duration: number,
    private readonly name: string,
    private readonly hooks: PlaybackHooks,
  ) {
    // The first seek into PREDICT images would otherwise wait for the JIT to compile
    // their decoder (about 100 ms in Chromium); it is compiled while the recording opens.
    setTimeout(warm, 0);
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
    this.whenDrawn(this.gen, this.base);
  }

  /** seek shows the picture at ms; it resolves once that picture is drawn. */
  async seek(ms: number): Promise<void> {
    const gen = ++this.gen;
    ms = Math.max(0, Math.min(ms, this.duration));
    this.stopStream();
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.session?.disconnect();
    this.queue = [];
    this.head = 0;
    this.wanted = 0;
    const sock = new RecordedSocket();
    this.sock = sock;
    const session = new Session({
      url: "recording:" + this.id,
      display: new Display(this.canvas, { willReadFrequently: true }),
      ui: noUI,
      WebSocketImpl: function () {
        return sock;
      } as unknown as typeof WebSocket,
    });
    this.session = session;
    session.connect();
    sock.onopen?.(new Event("open"));
    sock.deliver(encodeMessages({ type: "HELLO", version: 1, kind: KIND_DESKTOP, flags: 0, name: this.name }));

    this.abort = new AbortController();
    let res: Response;
    try {
      res = await fetch(`/api/recordings/data?id=${encodeURIComponent(this.id)}&at=${Math.floor(ms)}`, { signal: this.abort.signal, cache: "no-store" });
    } catch (e) {
      if (gen === this.gen) this.hooks.error(`The recording could not be read: ${String(e)}`);
      return;
    }
    if (gen !== this.gen) return;
    if (!res.ok || !res.body) {
      this.hooks.error(`The recording could not be read: ${res.status} ${await res.text()}`);
      return;
    }
    this.startDelta = res.headers.get("X-Racgate-Key-Delta") === "1";
    this.reader = res.body.getReader();
    this.streamDone = false;
    // Everything up to ms, drawn at once.
    while (!this.streamDone && (this.queue.length === this.head || this.queue[this.queue.length - 1].at <= ms)) {
      await this.readMore();
      if (gen !== this.gen) return;
    }
    this.deliverUntil(ms);
    this.base = ms;
    this.startedAt = performance.now();
    this.hooks.position(ms);
    await this.whenDrawn(gen, ms);
    if (gen === this.gen && this.playing) this.tick();
  }

  /** whenDrawn resolves once the last FRAME delivered is drawn, and tells the hooks. */
  private whenDrawn(gen: number, ms: number): Promise<void> {
    const sock = this.sock;
    return new Promise((resolve) => {
      const check = () => {
        if (gen !== this.gen || !sock) return resolve();
        if (sock.acked >= this.wanted) {
          sock.onAck = null;
          this.hooks.drawn(ms);
          resolve();
        }
      };
      if (sock) sock.onAck = check;
      check();
    });
  }

  private deliverUntil(ms: number): void {
    const sock = this.sock!;
    while (this.head < this.queue.length && this.queue[this.head].at <= ms) {
      const r = this.queue[this.head++];
      if (r.kind !== KIND_OUTPUT && r.kind !== KIND_KEY && r.kind !== KIND_DELTA) continue;
      // New deflate streams and PREDICT models begin at key and delta records, and after
      // a delta record. A delta key frame is drawn over its base's picture, which a seek
      // to it gets first; a player that played up to it already shows what it draws.
      if (r.kind !== KIND_OUTPUT) this.session!.restartStream();
      if (r.kind === KIND_DELTA) {
        if (!this.startDelta) continue;
        this.startDelta = false;
      }
      const id = lastFrame(r.payload);
      if (id !== null) this.wanted = id;
      sock.deliver(r.payload);
      if (r.kind === KIND_DELTA) this.session!.restartStream();
    }
    if (this.head > 4096) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
  }

  private readMore(): Promise<void> {
    if (this.reading) return this.reading;
    const reader = this.reader;
    if (!reader || this.streamDone) return Promise.resolve();
    const gen = this.gen;
    this.reading = (async () => {
      try {
        const { done, value } = await reader.read();
        if (gen !== this.gen) return;
        if (done) {
          this.streamDone = true;
          return;
        }
        for (const r of this.parser.push(value)) this.queue.push(r);
      } catch (e) {
        if (gen === this.gen) {
          this.streamDone = true;
          if (!(e instanceof DOMException && e.name === "AbortError")) this.hooks.error(`The recording could not be read: ${String(e)}`);
        }
      } finally {
        this.reading = null;
      }
    })();
    return this.reading;
  }
  private parser = new RecordParser();

  private stopStream(): void {
    this.abort?.abort();
    this.abort = null;
    void this.reader?.cancel().catch(() => {});
    this.reader = null;
    this.reading = null;
    this.parser = new RecordParser();
  }

  private tick(): void {
    if (!this.playing) return;
    const pos = this.position();
    this.deliverUntil(pos);
    this.hooks.position(pos);
    const last = this.queue.length > this.head ? this.queue[this.queue.length - 1].at : -1;
    if (!this.streamDone && last < pos + READ_AHEAD_MS) void this.readMore();
    if (pos >= this.duration || (this.streamDone && this.head >= this.queue.length && pos >= last)) {
      this.base = Math.min(pos, this.duration);
      this.playing = false;
      this.hooks.ended();
      this.whenDrawn(this.gen, this.base);
      return;
    }
    this.timer = setTimeout(() => this.tick(), 16);
  }

  /** close stops everything. */
  close(): void {
    this.gen++;
    this.playing = false;
    if (this.timer !== null) clearTimeout(this.timer);
    this.stopStream();
    this.session?.disconnect();
  }
}
