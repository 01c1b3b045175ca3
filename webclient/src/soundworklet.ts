// The sound worklet (bundled alone to sound-worklet.js, loaded with
// audioWorklet.addModule): the player processor, one per connection, runs the jitter
// buffer on the audio thread. The test build also registers a recorder that keeps what
// was played, after the volume, for the browser tests to analyse.

import { JitterBuffer } from "./jitter.js";
import { PLAYER, TAP } from "./soundmsg.js";
import type { FromPlayer, FromTap, ToPlayer, ToTap } from "./soundmsg.js";

// The AudioWorkletGlobalScope's names (not in TypeScript's DOM library).
declare const sampleRate: number;
declare class AudioWorkletProcessor {
  readonly port: MessagePort;
}
declare function registerProcessor(name: string, ctor: new () => AudioWorkletProcessor): void;

let live = 0; // players not stopped: the reconnect test checks that none leak

class Player extends AudioWorkletProcessor {
  private readonly jb = new JitterBuffer(sampleRate);
  private stopped = false;

  constructor() {
    super();
    live++;
    this.port.onmessage = (ev: MessageEvent<ToPlayer>) => this.receive(ev.data);
  }

  private receive(m: ToPlayer): void {
    switch (m.type) {
      case "chunk":
        if (!this.stopped) this.jb.push(m.timestamp, m.rate, m.planes);
        return;
      case "end":
        this.jb.end();
        return;
      case "stop":
        if (!this.stopped) live--;
        this.stopped = true;
        this.port.onmessage = null;
        this.port.close();
        return;
      case "stats": {
        const r: FromPlayer = { type: "stats", id: m.id, stats: { ...this.jb.stats(), live } };
        this.port.postMessage(r);
        return;
      }
    }
  }

  process(_inputs: Float32Array[][], outputs: Float32Array[][]): boolean {
    if (this.stopped) return false; // the node can go
    const out = outputs[0];
    if (out?.length) this.jb.render(out[0], out[1] ?? null);
    return true;
  }
}

registerProcessor(PLAYER, Player);

const TAP_SECONDS = 12; // the end-to-end tests analyse 10 s

// Tap passes its input through and keeps the last TAP_SECONDS of it (test build only).
class Tap extends AudioWorkletProcessor {
  private readonly cap = Math.ceil(sampleRate * TAP_SECONDS);
  private readonly left = new Float32Array(this.cap);
  private readonly right = new Float32Array(this.cap);
  private frames = 0; // recorded, ever

  constructor() {
    super();
    this.port.onmessage = (ev: MessageEvent<ToTap>) => {
      const n = Math.min(this.frames, this.cap, Math.round(ev.data.seconds * sampleRate));
      const r: FromTap = { type: "output", id: ev.data.id, rate: sampleRate, frames: this.frames, left: this.last(this.left, n), right: this.last(this.right, n) };
      this.port.postMessage(r, [r.left.buffer, r.right.buffer]);
    };
  }

  private last(ring: Float32Array, n: number): Float32Array {
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) out[i] = ring[(this.frames - n + i) % this.cap];
    return out;
  }

  process(inputs: Float32Array[][], outputs: Float32Array[][]): boolean {
    const inp = inputs[0] ?? [];
    const out = outputs[0];
    const n = out[0].length;
    for (let c = 0; c < out.length; c++) out[c].set(inp[c] ?? inp[0] ?? new Float32Array(n));
    for (let i = 0; i < n; i++) {
      const j = (this.frames + i) % this.cap;
      this.left[j] = out[0][i];
      this.right[j] = (out[1] ?? out[0])[i];
    }
    this.frames += n;
    return true;
  }
}

if (RACGATE_TEST_BUILD) registerProcessor(TAP, Tap);
