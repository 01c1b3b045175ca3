// The page's sound output: one AudioContext for the page's life (browsers want a user
// gesture for each, and reconnects must not pile them up), the volume (a GainNode), and
// per connection a player: an AudioWorkletNode of the sound worklet (soundworklet.ts),
// stopped and disconnected when its connection goes.

import type { Chunk, SoundSink } from "./sound.js";
import { PLAYER, TAP } from "./soundmsg.js";
import type { FromPlayer, FromTap, PlayerStats, ToPlayer } from "./soundmsg.js";

// The worklet is built beside client.js (build.mjs): found from this script's address,
// which is known only while the script first runs.
const SCRIPT_URL = typeof document !== "undefined" ? (document.currentScript as HTMLScriptElement | null)?.src : undefined;
const WORKLET_URL = new URL("sound-worklet.js", SCRIPT_URL || (typeof location !== "undefined" ? new URL("/static/", location.href) : "http://invalid/")).href;

// workletModule: the worklet's address. The test build fetches it itself, as a blob:
// the browser fetches worklet modules where the tests cannot swap in the test build's
// (session.mjs), but a page's fetch they can.
async function workletModule(): Promise<string> {
  if (!RACGATE_TEST_BUILD) return WORKLET_URL;
  const r = await fetch(WORKLET_URL);
  if (!r.ok) throw new Error(`${WORKLET_URL}: ${r.status}`);
  return URL.createObjectURL(new Blob([await r.text()], { type: "text/javascript" }));
}

const MAX_WAITING = 200; // chunks kept while the worklet loads (a few seconds)

export class SoundOutput {
  private ctx: AudioContext | null = null;
  private gain: GainNode | null = null;
  private loaded: Promise<boolean> = Promise.resolve(false); // the worklet module is in
  private player: Player | null = null;
  private level = 1; // the gain: the volume, 0 while muted
  private contexts = 0; // AudioContexts made (the test build reports it)
  private tap: AudioWorkletNode | null = null; // the test build's recorder

  /** stateChanged is called when the context starts, is suspended or resumes. */
  stateChanged: () => void = () => {};

  /**
   * open starts a connection's player, making the context on first use; the previous
   * player stops. Null where the browser cannot play sound.
   */
  open(): SoundSink | null {
    this.close();
    const ctx = this.context();
    if (!ctx) return null;
    this.player = new Player(ctx, this.loaded, this.gain!);
    return this.player;
  }

  /** close stops the current player (the connection is over). */
  close(): void {
    this.player?.close();
    this.player = null;
  }

  /** suspended: the context waits for a user gesture (the browser's autoplay policy). */
  get suspended(): boolean {
    return this.ctx?.state === "suspended";
  }

  /** resume: called from a user gesture, which is what lets the context start. */
  resume(): void {
    if (this.ctx?.state !== "suspended") return;
    this.ctx.resume().catch((e: unknown) => console.warn("racgate: sound cannot start:", e));
  }

  /** setLevel: the volume, 0-1, and muting. */
  setLevel(volume: number, muted: boolean): void {
    this.level = muted ? 0 : volume;
    const g = this.gain;
    if (!g || !this.ctx) return;
    if (this.ctx.state === "running") g.gain.setTargetAtTime(this.level, this.ctx.currentTime, 0.01); // no click
    else g.gain.value = this.level;
  }

  private context(): AudioContext | null {
    if (this.ctx) return this.ctx;
    let ctx: AudioContext;
    try {
      ctx = new AudioContext();
    } catch (e) {
      console.warn("racgate: no sound:", e);
      return null;
    }
    this.ctx = ctx;
    this.contexts++;
    const gain = ctx.createGain();
    gain.gain.value = this.level;
    this.gain = gain;
    ctx.addEventListener("statechange", () => this.stateChanged());
    this.loaded = workletModule().then((url) => ctx.audioWorklet.addModule(url)).then(
      () => {
        if (RACGATE_TEST_BUILD) {
          // The tests read what played, after the volume: gain → recorder → speakers.
          this.tap = new AudioWorkletNode(ctx, TAP, { numberOfInputs: 1, numberOfOutputs: 1, outputChannelCount: [2] });
          gain.connect(this.tap).connect(ctx.destination);
        }
        return true;
      },
      (e: unknown) => {
        console.warn(`racgate: no sound: the worklet ${WORKLET_URL} does not load:`, e);
        return false;
      },
    );
    if (!RACGATE_TEST_BUILD) gain.connect(ctx.destination);
    if (RACGATE_TEST_BUILD) this.testHook();
    return ctx;
  }

  // The test build's window.racgateSound: what the worklet played and its counters. (The
  // body is in the guard so that esbuild drops it from dist/.)
  private testHook(): void {
    if (RACGATE_TEST_BUILD) {
      let ids = 0;
      const ask = <T>(port: MessagePort, msg: { type: string; id: number; seconds?: number }, timeoutMs = 2000): Promise<T> =>
        new Promise<T>((resolve, reject) => {
          const t = setTimeout(() => reject(new Error(`the worklet did not answer ${msg.type}`)), timeoutMs);
          port.addEventListener("message", function got(ev: MessageEvent<{ id: number }>) {
            if (ev.data.id !== msg.id) return;
            clearTimeout(t);
            port.removeEventListener("message", got);
            resolve(ev.data as T);
          });
          port.start();
          port.postMessage(msg);
        });
      (window as unknown as { racgateSound: unknown }).racgateSound = {
        stats: async () => {
          const node = this.player ? await this.player.node : null;
          const s = node ? (await ask<FromPlayer>(node.port, { type: "stats", id: ++ids })).stats : null;
          // context: the AudioContext's state; level: the gain it is heading for.
          return { contexts: this.contexts, context: this.ctx?.state, rate: this.ctx?.sampleRate, level: this.level, ...s } as Partial<PlayerStats> & { contexts: number };
        },
        output: async (seconds: number) => {
          await this.loaded;
          if (!this.tap) throw new Error("no recorder");
          return ask<FromTap>(this.tap.port, { type: "output", id: ++ids, seconds });
        },
      };
    }
  }
}

// Player: one connection's AudioWorkletNode, made once the module is in; what comes
// before waits.
class Player implements SoundSink {
  readonly node: Promise<AudioWorkletNode | null>;
  private waiting: { m: ToPlayer; transfer: Transferable[] }[] = [];
  private n: AudioWorkletNode | null = null;
  private closed = false;

  constructor(
    private readonly ctx: AudioContext,
    loaded: Promise<boolean>,
    gain: GainNode,
  ) {
    this.node = loaded.then((ok) => {
      if (!ok || this.closed) return null;
      const n = new AudioWorkletNode(ctx, PLAYER, { numberOfInputs: 0, numberOfOutputs: 1, outputChannelCount: [2] });
      n.connect(gain);
      this.n = n;
      for (const w of this.waiting) n.port.postMessage(w.m, w.transfer);
      this.waiting = [];
      return n;
    });
  }

  chunk(c: Chunk): void {
    // A suspended context plays nothing: the player would only cut it on resuming.
    if (this.ctx.state !== "running") return;
    const planes = c.planes;
    this.post({ type: "chunk", timestamp: c.timestamp, rate: c.rate, planes }, planes.map((p) => p.buffer));
  }

  end(): void {
    this.post({ type: "end" }, []);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.waiting = [];
    const n = this.n;
    if (!n) return;
    n.port.postMessage({ type: "stop" } satisfies ToPlayer);
    n.disconnect();
    n.port.close();
  }

  private post(m: ToPlayer, transfer: Transferable[]): void {
    if (this.closed) return;
    if (this.n) this.n.port.postMessage(m, transfer);
    else if (this.waiting.length < MAX_WAITING) this.waiting.push({ m, transfer });
  }
}
