// One racgate.v1 websocket session: connects, draws server messages strictly in order
// (JPEG/PNG decode asynchronously, so messages wait in a queue), acknowledges frames,
// and sends input (docs/protocol.md).

import { Display, cursorCSS } from "./display.js";
import { Inflater } from "./zstream.js";
import { PredictDecoder } from "./predict.js";
import { TerminalInflater } from "./termstream.js";
import {
  CloseCode,
  decodeMessages,
  encodeMessages,
  ENC_JPEG,
  ENC_PNG,
  ENC_PREDICT,
  FLAG_AUDIO,
  FLAG_COPY,
  FLAG_PASTE,
  FLAG_RESIZE,
  KIND_TERMINAL,
  MAX_SERVER_MESSAGE,
  ProtocolError,
  SUBPROTOCOL,
  WS_CLOSE_NORMAL,
  WS_CLOSE_PROTOCOL_ERROR,
} from "./wire.js";
import type { Audio, AudioFormat, ClientMessage, ClipboardFormats, Files, Hello, Image, Message, Prompt, Shares } from "./wire.js";

export type State = "connecting" | "connected" | "closed";

// The most PINGs awaiting their PONG; the client sends one a second, so older ones are lost.
const MAX_PINGS = 8;

/** How the session reports to the page. */
export interface SessionUI {
  state(s: State, detail: string): void;
  hello(h: Hello): void;
  title(name: string): void;
  resized(width: number, height: number): void;
  cursor(css: string): void;
  /** The remote clipboard: CLIPBOARD's text, or CLIPBOARD_CONTENT's formats. */
  clipboard(c: ClipboardFormats): void;
  bell(): void;
  terminal(data: Uint8Array): void;
  terminalConfig?(fontSize: number, colorScheme: string): void;
  /** terminalScrollback: the most lines the terminal may keep above its screen. */
  terminalScrollback?(lines: number): void;
  /** terminalSize: someone else sets the terminal's size (§ TERMINAL_SIZE: a watcher's). */
  terminalSize?(cols: number, rows: number): void;
  /** terminalFlush calls done once the terminal has processed all output so far. */
  terminalFlush?(done: () => void): void;
  /**
   * prompt shows a login question (§ PROMPT) while connecting; the page answers with
   * Session.answerPrompt. Without it every PROMPT is cancelled.
   */
  prompt?(p: Prompt): void;
  /**
   * sound: AUDIO_FORMAT and AUDIO of a connection with sound (HELLO's FLAG_AUDIO), as they
   * arrive: they keep their order among themselves but wait for no drawing, so they may
   * come before hello. A throw stops nothing but the sound.
   */
  sound?(m: Audio | AudioFormat): void;
  /** notice shows text to the user for a few seconds (§ NOTICE): level 0 info, 1 warning. */
  notice?(level: number, text: string): void;
  /** shares: the owner's share links and watchers (§ SHARES), whole each time. */
  shares?(m: Shares): void;
  /** files: the session has file transfer (§ FILES). */
  files?(m: Files): void;
  /** fileReady: a file the session left for the browser is ready to download (§ FILE_READY). */
  fileReady?(path: string): void;
}

// A queued item: a message, or an IMAGE whose JPEG/PNG decode started on arrival so
// that decodes overlap while drawing stays in order.
type Decoded = { bitmap: ImageBitmap | null; error: unknown };
type Item = Message | { type: "BITMAP"; image: Image; decoded: Promise<Decoded> } | { type: "WS_CLOSED" } | { type: "RESTART_STREAM" };

export interface SessionOptions {
  url: string; // the websocket URL
  display: Display;
  ui: SessionUI;
  WebSocketImpl?: typeof WebSocket;
}

export class Session {
  private ws: WebSocket | null = null;
  private z: Inflater | null = null;
  private pd: PredictDecoder | null = null; // a recording's PREDICT images, made on first use
  private tz: TerminalInflater | null = null;
  private queue: Item[] = [];
  private head = 0;
  private runner = -1; // the gen whose run loop is active
  private closeMsg: { code: number; reason: string } | null = null;
  private failure: string | null = null;
  private opened = false;
  private wsClose = { code: 0, reason: "" };
  private gen = 0; // incremented per websocket, so late async work of an old one is dropped
  private current: State = "closed";
  private flags = 0; // HELLO's flags
  private helloKind = 0; // HELLO's kind
  private sound = false; // the HELLO decoded so far had FLAG_AUDIO
  private counts = { bytes: 0, frames: 0 }; // received over the page's life (menu details)
  private pingToken = 0;
  private pings = new Map<number, { gen: number; at: number }>(); // PINGs sent, by token
  private rtt: { gen: number; ms: number } | null = null;
  private lost = false; // the last connection ended without a CLOSE, an error or disconnect()

  constructor(private readonly o: SessionOptions) {}

  get state(): State {
    return this.current;
  }
  /** HELLO's kind: KIND_DESKTOP or KIND_TERMINAL. */
  get kind(): number {
    return this.helloKind;
  }

  connect(url = this.o.url): void {
    this.teardown();
    const gen = ++this.gen;
    this.closeMsg = null;
    this.failure = null;
    this.opened = false;
    this.flags = 0;
    this.sound = false;
    this.z = new Inflater(); // a new websocket starts new deflate streams
    this.pd = null; // and a recording's PREDICT model
    this.tz = new TerminalInflater();
    this.setState("connecting", "connecting…");
    const WS = this.o.WebSocketImpl ?? WebSocket;
    let ws: WebSocket;
    try {
      ws = new WS(url, [SUBPROTOCOL]);
    } catch (e) {
      this.failure = `cannot open websocket: ${errText(e)}`;
      this.setState("closed", this.failure);
      return;
    }
    ws.binaryType = "arraybuffer";
    this.ws = ws;
    ws.onmessage = (ev) => {
      if (gen === this.gen) this.receive(ev.data);
    };
    ws.onopen = () => {
      this.opened = true;
    };
    ws.onclose = (ev) => {
      if (gen !== this.gen) return;
      this.wsClose = { code: ev.code, reason: ev.reason };
      this.closed();
    };
    ws.onerror = () => {
      /* onclose follows with the outcome */
    };
  }

  /** Close the websocket from this side (page unload, reconnect). */
  disconnect(): void {
    this.lost = false;
    this.teardown();
    if (this.state !== "closed") this.setState("closed", "disconnected");
  }

  private teardown(code = WS_CLOSE_NORMAL, reason = ""): void {
    const ws = this.ws;
    this.ws = null;
    this.gen++;
    if (ws) {
      ws.onopen = ws.onmessage = ws.onclose = ws.onerror = null;
      try {
        ws.close(code, reason);
      } catch {
        /* already closed */
      }
    }
    this.dropQueue();
  }

  private dropQueue(): void {
    for (let i = this.head; i < this.queue.length; i++) {
      const it = this.queue[i];
      if (it.type === "BITMAP") void it.decoded.then((d) => d.bitmap?.close());
    }
    this.queue = [];
    this.head = 0;
  }

  /**
   * restartStream makes the next ZRGB or ZPALETTE, after the messages received so far,
   * the first piece of a new deflate stream: what a recording's key record means
   * (docs/recording.md). A live connection's stream never restarts.
   */
  restartStream(): void {
    this.queue.push({ type: "RESTART_STREAM" });
  }

  send(m: ClientMessage): void {
    if (this.state !== "connected" || !this.ws || this.ws.readyState !== WebSocket.OPEN) return;
    this.ws.send(encodeMessages(m));
  }

  /**
   * answerPrompt sends the answers to PROMPT id (§ PROMPT_RESPONSE), in the prompts'
   * order; no answers cancel the login.
   */
  answerPrompt(id: number, answers: string[]): void {
    if (this.state !== "connecting" || !this.ws || this.ws.readyState !== WebSocket.OPEN) return;
    this.ws.send(encodeMessages({ type: "PROMPT_RESPONSE", id, answers }));
  }

  private receive(data: unknown): void {
    try {
      if (!(data instanceof ArrayBuffer)) throw new ProtocolError("text websocket message (the protocol is binary)");
      if (data.byteLength > MAX_SERVER_MESSAGE) throw new ProtocolError(`websocket message of ${data.byteLength} bytes exceeds 4 MiB`);
      this.counts.bytes += data.byteLength;
      decodeMessages(data, (m) => {
        if (m.type === "AUDIO" || m.type === "AUDIO_FORMAT") {
          this.playSound(m);
          return;
        }
        if (m.type === "PONG") {
          this.pong(m.token); // timed as it arrives, not after the drawing queued before it
          return;
        }
        if (m.type === "HELLO") this.sound = (m.flags & FLAG_AUDIO) !== 0;
        if (m.type === "IMAGE" && (m.encoding === ENC_JPEG || m.encoding === ENC_PNG)) {
          this.queue.push({ type: "BITMAP", image: m, decoded: decodeBitmap(m) });
        } else {
          this.queue.push(m);
        }
      });
    } catch (e) {
      this.fail(e);
      return;
    }
    if (this.runner !== this.gen) void this.run(this.gen);
  }

  // Sound plays on its own clock (§ AUDIO): it goes to the page as it comes, not through
  // the draw queue, where it would wait behind image decodes.
  private playSound(m: Audio | AudioFormat): void {
    if (!this.sound) return; // no FLAG_AUDIO in HELLO (or no HELLO yet): not this connection's
    try {
      this.o.ui.sound?.(m);
    } catch (e) {
      console.warn("racgate: sound:", e);
    }
  }

  // run draws queued items in order; it waits only for bitmap decodes.
  private async run(gen: number): Promise<void> {
    this.runner = gen;
    try {
      while (gen === this.gen && this.head < this.queue.length) {
        const it = this.queue[this.head++];
        if (it.type === "BITMAP") {
          const d = await it.decoded;
          if (gen !== this.gen) {
            d.bitmap?.close();
            return;
          }
          if (!d.bitmap) throw new ProtocolError(`IMAGE ${it.image.encoding === ENC_JPEG ? "JPEG" : "PNG"} does not decode: ${errText(d.error)}`);
          try {
            this.o.display.drawBitmap(it.image, d.bitmap);
          } finally {
            d.bitmap.close();
          }
        } else if (it.type === "WS_CLOSED") {
          this.finishClose();
          return;
        } else if (it.type === "RESTART_STREAM") {
          this.z?.restart();
          this.pd?.reset();
        } else {
          this.handle(it);
        }
        if (this.head > 1024 && this.head * 2 > this.queue.length) {
          this.queue = this.queue.slice(this.head);
          this.head = 0;
        }
      }
    } catch (e) {
      if (gen === this.gen) this.fail(e);
    } finally {
      if (this.runner === gen) this.runner = -1;
    }
  }

  private handle(m: Message): void {
    const ui = this.o.ui;
    const d = this.o.display;
    switch (m.type) {
      case "HELLO": // § HELLO
        this.flags = m.flags;
        this.helloKind = m.kind;
        this.setState("connected", "connected");
        ui.hello(m);
        if (m.name) ui.title(m.name);
        return;
      case "RESIZE":
        d.resize(m);
        ui.resized(m.width, m.height);
        return;
      case "FILL":
        d.fill(m);
        return;
      case "COPY":
        d.copy(m);
        return;
      case "IMAGE":
        if (m.encoding === ENC_PREDICT) d.imagePredict(m, (this.pd ??= new PredictDecoder()));
        else d.imageDeflate(m, this.z!);
        return;
      case "FRAME": { // § FRAME: everything before is drawn
        const id = m.id;
        this.counts.frames++;
        if (this.helloKind === KIND_TERMINAL && ui.terminalFlush) {
          // xterm.js parses asynchronously: ACK once it has, which paces the server.
          const gen = this.gen;
          ui.terminalFlush(() => {
            if (gen === this.gen) this.send({ type: "ACK", id });
          });
        } else this.send({ type: "ACK", id });
        return;
      }
      case "CURSOR":
        ui.cursor(cursorCSS(m));
        return;
      case "CLIPBOARD":
        if (this.flags & FLAG_COPY) ui.clipboard({ text: m.text, html: "", png: new Uint8Array(0) });
        return;
      case "CLIPBOARD_CONTENT":
        if (this.flags & FLAG_COPY) ui.clipboard(m);
        return;
      case "BELL":
        ui.bell();
        return;
      case "NAME":
        ui.title(m.name);
        return;
      case "NOTICE": // § NOTICE
        ui.notice?.(m.level, m.text);
        return;
      case "SHARES": // § SHARES
        ui.shares?.(m);
        return;
      case "FILES": // § FILES
        ui.files?.(m);
        return;
      case "FILE_READY": // § FILE_READY
        ui.fileReady?.(m.path);
        return;
      case "CLOSE": // § CLOSE: the websocket closes next
        this.closeMsg = { code: m.code, reason: m.reason };
        return;
      case "TERMINAL":
        if (this.helloKind === KIND_TERMINAL) ui.terminal(m.data);
        return;
      case "TERMINAL_DEFLATE": { // § TERMINAL_DEFLATE: inflated even if unused, the stream goes on
        const data = this.tz!.inflate(m);
        if (this.helloKind === KIND_TERMINAL) ui.terminal(data);
        return;
      }
      case "TERMINAL_SIZE": // § TERMINAL_SIZE
        if (this.helloKind === KIND_TERMINAL) ui.terminalSize?.(m.cols, m.rows);
        return;
      case "TERMINAL_SCROLLBACK": // § TERMINAL_SCROLLBACK
        if (this.helloKind === KIND_TERMINAL) ui.terminalScrollback?.(m.lines);
        return;
      case "PROMPT": // § PROMPT: only before HELLO
        if (this.state !== "connecting") return;
        if (ui.prompt) ui.prompt(m);
        else this.answerPrompt(m.id, []);
        return;
      case "TERMINAL_CONFIG": // § TERMINAL_CONFIG
        if (this.helloKind === KIND_TERMINAL) ui.terminalConfig?.(m.fontSize, m.colorScheme);
        return;
      default:
        return; // unknown or client types: skipped (§ Versioning)
    }
  }

  private fail(e: unknown): void {
    const text = e instanceof ProtocolError ? `protocol error: ${e.message}` : `client error: ${errText(e)}`;
    console.error("racgate:", e);
    this.failure = text;
    this.lost = false;
    this.teardown(WS_CLOSE_PROTOCOL_ERROR, "protocol error");
    this.setState("closed", text);
  }

  // The websocket closed: draw what arrived before it, in order, then report.
  private closed(): void {
    this.queue.push({ type: "WS_CLOSED" });
    if (this.runner !== this.gen) void this.run(this.gen);
  }

  private finishClose(): void {
    this.ws = null;
    let detail: string;
    if (this.failure) detail = this.failure;
    else if (this.closeMsg) detail = this.closeMsg.reason || `closed (code ${this.closeMsg.code})`;
    else {
      // No CLOSE: say what the websocket itself reported, if anything.
      const { code, reason } = this.wsClose;
      detail = this.opened ? "connection lost" : "connection lost (the websocket could not be opened)";
      if (reason) detail += ` (${code}: ${reason})`;
    }
    // An instance that is going away (SHUTDOWN: a restart, a rolling upgrade) counts as
    // lost: the page comes back by itself, through the load balancer to another instance.
    this.lost = !this.failure && (!this.closeMsg || this.closeMsg.code === CloseCode.SHUTDOWN);
    this.gen++;
    this.dropQueue();
    this.setState("closed", detail);
  }

  /**
   * Whether the last connection was lost: no CLOSE (or CLOSE SHUTDOWN, the instance going
   * away), no error, not disconnect().
   */
  get connectionLost(): boolean {
    return this.lost;
  }

  /**
   * ping sends a PING (§ PING) whose PONG sets roundTrip. Unanswered PINGs of an earlier
   * connection, or older than the last few, are forgotten.
   */
  ping(): void {
    if (this.state !== "connected") return;
    const token = (this.pingToken = (this.pingToken + 1) >>> 0);
    this.pings.set(token, { gen: this.gen, at: performance.now() });
    for (const t of this.pings.keys()) if (this.pings.size > MAX_PINGS) this.pings.delete(t);
    this.send({ type: "PING", token });
  }

  /** The last round trip a PONG measured, in ms; null before the first on this connection. */
  get roundTrip(): number | null {
    return this.rtt?.gen === this.gen ? this.rtt.ms : null;
  }

  private pong(token: number): void {
    const p = this.pings.get(token);
    if (!p) return; // not ours, or forgotten: nothing to measure
    this.pings.delete(token);
    if (p.gen === this.gen) this.rtt = { gen: p.gen, ms: performance.now() - p.at };
  }

  /** Bytes and frames received so far (all connections of the page), for rates. */
  get received(): { bytes: number; frames: number } {
    return { ...this.counts };
  }

  /** The CLOSE code received, if any. */
  get closeCode(): number | null {
    return this.closeMsg?.code ?? null;
  }

  get canResize(): boolean {
    return (this.flags & FLAG_RESIZE) !== 0;
  }
  get pasteAllowed(): boolean {
    return (this.flags & FLAG_PASTE) !== 0;
  }
  get copyAllowed(): boolean {
    return (this.flags & FLAG_COPY) !== 0;
  }

  private setState(s: State, detail: string): void {
    this.current = s;
    this.o.ui.state(s, detail);
  }
}

function decodeBitmap(m: Image): Promise<Decoded> {
  const blob = new Blob([m.data as Uint8Array<ArrayBuffer>], { type: m.encoding === ENC_JPEG ? "image/jpeg" : "image/png" });
  return createImageBitmap(blob).then(
    (bitmap) => ({ bitmap, error: null }),
    (error: unknown) => ({ bitmap: null, error }),
  );
}

function errText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
