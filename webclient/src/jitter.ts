// The sound player's jitter buffer, run by the AudioWorklet (soundworklet.ts): decoded
// chunks, stamped with their § AUDIO timestamp, go in at their stream's rate; the audio
// thread takes stereo samples out at the AudioContext's rate. It lives here, apart from
// the worklet's globals, so that node tests can drive it.
//
// Writing: each chunk is resampled (linear interpolation) to the output rate on arrival,
// with the ratio nudged by up to ±0.2% (3.5 cents: no audible pitch change) so that the
// queue follows the target delay as the remote's clock and ours drift apart. What is
// steered is the queue's low point over each second, just before a packet comes: the
// margin that decides underruns. Its average would also count half a packet, which for
// xrdp's 65 ms Opus packets kept a proportional controller pinned at its limit (pitch
// off by the full nudge) and running the queue dry. Within a deadband nothing is
// nudged, so a steady stream plays at exact pitch. A timestamp past where the previous chunk ended
// was silence at the remote: that much silence goes in first (§ AUDIO). More than
// DROP_MS queued (a burst after a stall) is cut back to the target. An underrun grows
// the target delay, and so does a near miss (a window whose low point came within
// NEAR_MISS_MS of running dry), so that a sender that is late now and then is met with
// margin before it is heard; ten steady seconds shrink it again.
//
// Reading: nothing plays until the target delay is queued; the output fades in and out
// over FADE_MS wherever the sound starts, runs dry, or is cut, so there are no clicks.

/** The jitter buffer's numbers, for the test build's hook and the console. */
export interface JitterStats {
  underruns: number; // chunks that came after their time: the output had run dry
  nearMisses: number; // windows whose low point came within NEAR_MISS_MS of running dry
  droppedMs: number; // cut to catch up
  gapMs: number; // silence put in for timestamp gaps
  delayMs: number; // the queue's length, averaged
  lowMs: number; // the queue's low point over the last second (what the target steers)
  queuedMs: number; // the queue's length now
  targetMs: number;
  nudge: number; // the resampling ratio's current correction, ±MAX_NUDGE at most
  state: "idle" | "buffering" | "playing";
}

// A loaded sender (PulseAudio on a busy machine) is late by 50-70 ms now and then;
// 100 ms queued leaves that much margin from the start, and the target shrinks back
// to it (never below) after trouble.
export const START_TARGET_MS = 100;
export const MIN_TARGET_MS = START_TARGET_MS;
export const MAX_TARGET_MS = 200;
const GROW_MS = 20; // the target after an underrun (or a near miss) grows by this much
// A window whose low point came this near to running dry is a near miss: the target
// grows before an underrun is heard, not after.
export const NEAR_MISS_MS = 15;
const SHRINK_MS = 10; // …and shrinks by this much after SHRINK_AFTER_S without one
const SHRINK_AFTER_S = 10;
export const DROP_MS = 400; // more queued than this: cut back to the target
const FADE_MS = 4;
const GAP_TOLERANCE_MS = 10; // timestamps are whole ms and the remote's clock wobbles
export const MAX_NUDGE = 0.002;
// The low point is steered to LOW_BELOW_MS and half a packet under the target: playing
// starts with the target queued (and on average half a packet more, the packet that
// crossed it), and the queue then runs down by up to a packet before the next comes.
const LOW_BELOW_MS = 15;
const DEADBAND_MS = 10; // a low point this near its goal is left alone
const NUDGE_PER_MS = 0.0001; // ratio correction per ms beyond the deadband: full at 30 ms
const WINDOW_S = 1; // the low point's window, and how often the nudge changes
const DELAY_AVERAGE_S = 0.5; // the (reported) delay's averaging time constant
const CAPACITY_S = 2;

type ReadState = JitterStats["state"];

export class JitterBuffer {
  private readonly cap: number;
  private readonly left: Float32Array;
  private readonly right: Float32Array;
  private rd = 0; // frames read, ever (ring index: % cap)
  private wr = 0; // frames written, ever
  private readonly fade: number; // FADE_MS in frames

  private state: ReadState = "idle";
  private env = 0; // the output's gain envelope, 0-1
  private skip = 0; // frames to cut once the envelope is down
  private anchored = false; // nextTs means something: the stream has started
  private ended = false; // the stream stopped (codec 0, format change): running dry is no underrun
  private nextTs = 0; // stream ms where the last chunk ended
  private idle = 0; // frames output silent since the queue ran dry
  private now = 0; // frames output, ever: the clock for the target's shrinking
  private lastTrouble = 0; // when the target last changed or an underrun came

  // The resampler's state: the position in the current chunk (−1 < pos: between the
  // previous chunk's last sample and this one's first) and the previous last samples.
  private pos = 0;
  private lastL = 0;
  private lastR = 0;

  private targetMs = START_TARGET_MS;
  private avg = 0; // the queue's length averaged, frames
  private low = Infinity; // the queue's low point in this window, frames
  private lastLow = 0; // …and in the last whole window
  private windowEnd = 0; // when this window ends (now, frames)
  private nudge = 0;
  private packetMs = 0; // the last chunk's length
  private underruns = 0;
  private nearMisses = 0;
  private dropped = 0; // frames
  private gaps = 0; // frames

  constructor(readonly rate: number) {
    this.cap = Math.ceil(rate * CAPACITY_S);
    this.left = new Float32Array(this.cap);
    this.right = new Float32Array(this.cap);
    this.fade = Math.max(1, Math.round((rate * FADE_MS) / 1000));
  }

  private ms(frames: number): number {
    return (frames * 1000) / this.rate;
  }
  private frames(ms: number): number {
    return Math.round((ms * this.rate) / 1000);
  }
  private get queued(): number {
    return this.wr - this.rd;
  }

  /**
   * push queues one chunk: planes (1 or 2 channels, the same length) of samples at
   * rate, the first of which plays at stream time timestamp (ms).
   */
  push(timestamp: number, rate: number, planes: Float32Array[]): void {
    const n = planes[0]?.length ?? 0;
    if (n === 0 || !(rate > 0)) return;
    let fadeIn = false;
    if (this.state === "playing" && this.queued === 0) this.dry(); // it ran dry just now
    if (this.state !== "idle") {
      // Still playing (or buffering): a timestamp past the last chunk's end was silence.
      const gap = timestamp - this.nextTs;
      if (gap > GAP_TOLERANCE_MS) {
        // At most DROP_MS queued in all: a gap that long came early, and the catch-up cut
        // below would cut sound, not silence.
        const room = this.frames(DROP_MS) - this.queued - Math.ceil((n * this.rate) / rate);
        fadeIn = this.silence(Math.min(this.frames(gap), room));
        if (fadeIn) this.resetResampler();
      }
    } else if (this.anchored) {
      // The queue ran dry and silence has been playing: where would this chunk's first
      // sample be on that timeline? Ahead: the silence was a gap (§ AUDIO), play the rest
      // of it. Behind: the chunk is late, an underrun, unless the stream had stopped.
      const lead = timestamp - (this.nextTs + this.ms(this.idle));
      if (lead >= 0 && lead <= DROP_MS) {
        this.resetResampler();
        this.silence(this.frames(lead));
        fadeIn = true;
        this.state = "playing";
      } else {
        if (lead < 0 && !this.ended) this.underrun();
        this.restart();
      }
    } else {
      this.restart(); // the first chunk
    }
    const start = this.wr;
    this.resample(rate, planes);
    if (fadeIn) this.ramp(start, Math.min(this.fade, this.wr - start), true);
    this.packetMs = (n * 1000) / rate;
    this.nextTs = timestamp + this.packetMs;
    this.anchored = true;
    this.ended = false;
    if (this.queued > this.frames(DROP_MS) && this.skip === 0) this.skip = this.queued - this.frames(this.targetMs);
  }

  /** end: the stream stopped (codec 0, a new AUDIO_FORMAT): what is queued plays out. */
  end(): void {
    this.ended = true;
  }

  private restart(): void {
    this.state = "buffering";
    this.env = 0;
    this.nudge = 0;
    this.resetResampler();
  }

  // dry: the queue ran out while playing; silence plays (and is counted) from here.
  private dry(): void {
    this.state = "idle";
    this.idle = 0;
    this.env = 0;
    this.skip = 0;
  }

  private resetResampler(): void {
    this.pos = 0;
    this.lastL = this.lastR = 0;
  }

  private underrun(): void {
    this.underruns++;
    this.grow();
  }

  private grow(): void {
    this.targetMs = Math.min(MAX_TARGET_MS, this.targetMs + GROW_MS);
    this.lastTrouble = this.now;
  }

  // silence queues frames of silence, fading out what is queued and unread before it.
  // It says whether it queued any.
  private silence(frames: number): boolean {
    if (frames <= 0) return false;
    const tail = Math.min(this.fade, this.queued);
    this.ramp(this.wr - tail, tail, false);
    frames = Math.min(frames, this.cap - this.queued);
    for (let i = 0; i < frames; i++) {
      const j = (this.wr + i) % this.cap;
      this.left[j] = this.right[j] = 0;
    }
    this.wr += frames;
    this.gaps += frames;
    return true;
  }

  // ramp scales count frames from from: rising from near 0 (up), or falling to 0.
  private ramp(from: number, count: number, up: boolean): void {
    for (let i = 0; i < count; i++) {
      const g = up ? (i + 1) / (count + 1) : (count - 1 - i) / count;
      const j = (from + i) % this.cap;
      this.left[j] *= g;
      this.right[j] *= g;
    }
  }

  // resample appends the chunk at the output rate: linear interpolation, the ratio
  // nudged toward the target delay.
  private resample(rate: number, planes: Float32Array[]): void {
    const L = planes[0];
    const R = planes[1] ?? L;
    const n = L.length;
    const step = (rate / this.rate) * (1 + (this.state === "playing" ? this.nudge : 0));
    let p = this.pos;
    // Make room: a queue this long is a stall; the oldest goes.
    const need = Math.ceil((n - p) / step) + 1;
    if (this.queued + need > this.cap) {
      const cut = this.queued + need - this.cap;
      this.rd += cut;
      this.dropped += cut;
    }
    let w = this.wr;
    while (p <= n - 1) {
      const i = Math.floor(p);
      const f = p - i;
      const j = w % this.cap;
      if (i < 0) {
        this.left[j] = this.lastL + (L[0] - this.lastL) * (f + 1 + i);
        this.right[j] = this.lastR + (R[0] - this.lastR) * (f + 1 + i);
      } else if (f === 0) {
        this.left[j] = L[i];
        this.right[j] = R[i];
      } else {
        this.left[j] = L[i] + (L[i + 1] - L[i]) * f;
        this.right[j] = R[i] + (R[i + 1] - R[i]) * f;
      }
      w++;
      p += step;
    }
    this.wr = w;
    this.pos = p - n;
    this.lastL = L[n - 1];
    this.lastR = R[n - 1];
  }

  /** render fills the outputs (one render quantum) from the queue. */
  render(outL: Float32Array, outR: Float32Array | null): void {
    const n = outL.length;
    const step = 1 / this.fade;
    for (let k = 0; k < n; k++) {
      let s = 0;
      let t = 0;
      if (this.state === "buffering" && this.queued >= this.frames(this.targetMs)) {
        this.state = "playing";
        this.avg = this.queued;
        this.lastTrouble = this.now;
        this.low = Infinity;
        this.windowEnd = this.now + this.rate * WINDOW_S;
      }
      if (this.state === "playing") {
        let avail = this.queued;
        if (avail === 0) this.dry();
        else {
          const want = this.skip > 0 ? 0 : 1;
          this.env = want > this.env ? Math.min(1, this.env + step) : Math.max(0, this.env - step);
          if (this.skip > 0 && this.env === 0) {
            // Faded out: cut, keeping at least a sample to fade back in on.
            const cut = Math.min(this.skip, avail - 1);
            this.rd += cut;
            this.dropped += cut;
            this.skip = 0;
            avail -= cut;
          }
          this.env = Math.min(this.env, avail / this.fade); // fade into running dry
          const j = this.rd % this.cap;
          s = this.left[j] * this.env;
          t = this.right[j] * this.env;
          this.rd++;
        }
      }
      if (this.state === "idle") this.idle++;
      outL[k] = s;
      if (outR) outR[k] = t;
    }
    this.now += n;
    if (this.state === "playing") {
      this.avg += (this.queued - this.avg) * Math.min(1, n / (this.rate * DELAY_AVERAGE_S));
      this.low = Math.min(this.low, this.queued);
      if (this.now >= this.windowEnd) this.steer();
      // Steady for a while: a shorter delay will do.
      if (this.now - this.lastTrouble > this.rate * SHRINK_AFTER_S) {
        this.targetMs = Math.max(MIN_TARGET_MS, this.targetMs - SHRINK_MS);
        this.lastTrouble = this.now;
      }
    }
  }

  // steer sets the nudge from the window's low point, once a window.
  private steer(): void {
    this.lastLow = this.low;
    if (this.ms(this.low) < NEAR_MISS_MS) {
      this.nearMisses++;
      this.grow();
    }
    const off = this.ms(this.low) - (this.targetMs - LOW_BELOW_MS - this.packetMs / 2);
    const beyond = Math.abs(off) <= DEADBAND_MS ? 0 : off - Math.sign(off) * DEADBAND_MS;
    this.nudge = clamp(beyond * NUDGE_PER_MS, -MAX_NUDGE, MAX_NUDGE);
    this.low = Infinity;
    this.windowEnd = this.now + this.rate * WINDOW_S;
  }

  stats(): JitterStats {
    return {
      underruns: this.underruns,
      nearMisses: this.nearMisses,
      droppedMs: this.ms(this.dropped),
      gapMs: this.ms(this.gaps),
      delayMs: this.ms(this.avg),
      lowMs: this.ms(this.lastLow),
      queuedMs: this.ms(this.queued),
      targetMs: this.targetMs,
      nudge: this.nudge,
      state: this.state,
    };
  }
}

function clamp(x: number, lo: number, hi: number): number {
  return x < lo ? lo : x > hi ? hi : x;
}
