// The sound player's jitter buffer (src/jitter.ts), driven in simulated time: chunks
// arrive when the simulated clock reaches them, render quanta of 128 frames take the
// output, which is then analysed (pitch, silences, clicks).
import { test } from "node:test";
import assert from "node:assert/strict";
import { DROP_MS, JitterBuffer, MAX_NUDGE, MAX_TARGET_MS, MIN_TARGET_MS, START_TARGET_MS } from "../../src/jitter.js";

const OUT_RATE = 44100;
const QUANTUM = 128;

type Chunk = { at: number; ts: number; rate: number; planes: Float32Array[] }; // at: arrival, output seconds

// tone cuts a sine (and a second one for the right channel) into packets of packetMs,
// timestamps from ts0, arriving in real time (arrival = timestamp / 1000 × clock) unless
// arrive says otherwise.
function tone(o: { rate: number; seconds: number; packetMs?: number; freq?: number; freqR?: number; amp?: number; ts0?: number; clock?: number; arrive?: (ts: number) => number }): Chunk[] {
  const { rate, seconds, packetMs = 20, freq = 440, amp = 0.5, ts0 = 0, clock = 1 } = o;
  const per = Math.round((rate * packetMs) / 1000);
  const out: Chunk[] = [];
  for (let start = 0; start + per <= rate * seconds; start += per) {
    const L = new Float32Array(per), R = new Float32Array(per);
    for (let i = 0; i < per; i++) {
      L[i] = amp * Math.sin((2 * Math.PI * freq * (start + i)) / rate);
      R[i] = (amp / 2) * Math.sin((2 * Math.PI * (o.freqR ?? freq) * (start + i)) / rate);
    }
    const ts = ts0 + Math.round((start * 1000) / rate);
    out.push({ at: o.arrive ? o.arrive(ts) : (ts / 1000) * clock, ts, rate, planes: [L, R] });
  }
  return out;
}

// play runs the buffer for seconds of output, pushing each chunk once the output clock
// reaches its arrival time; it returns both channels.
function play(jb: JitterBuffer, chunks: Chunk[], seconds: number) {
  const n = Math.ceil((seconds * OUT_RATE) / QUANTUM) * QUANTUM;
  const L = new Float32Array(n), R = new Float32Array(n);
  const todo = [...chunks].sort((a, b) => a.at - b.at);
  let c = 0;
  for (let f = 0; f < n; f += QUANTUM) {
    while (c < todo.length && todo[c].at <= f / OUT_RATE) {
      const k = todo[c++];
      jb.push(k.ts, k.rate, k.planes);
    }
    jb.render(L.subarray(f, f + QUANTUM), R.subarray(f, f + QUANTUM));
  }
  return { L, R };
}

const SILENT = 1e-4;
function firstSound(x: Float32Array): number {
  return x.findIndex((v) => Math.abs(v) > SILENT);
}
function lastSound(x: Float32Array): number {
  for (let i = x.length - 1; i >= 0; i--) if (Math.abs(x[i]) > SILENT) return i;
  return -1;
}
// silences lists the silent runs longer than minMs between the first and the last sound.
function silences(x: Float32Array, minMs: number): { at: number; ms: number }[] {
  const out = [];
  const a = firstSound(x), b = lastSound(x);
  let run = 0;
  for (let i = a; i <= b + 1; i++) {
    if (i <= b && Math.abs(x[i]) <= SILENT) run++;
    else {
      if ((run * 1000) / OUT_RATE > minMs) out.push({ at: ((i - run) * 1000) / OUT_RATE, ms: (run * 1000) / OUT_RATE });
      run = 0;
    }
  }
  return out;
}
// frequency by upward zero crossings over [a, b).
function frequency(x: Float32Array, a: number, b: number): number {
  let first = -1, last = -1, count = 0;
  for (let i = a + 1; i < b; i++) {
    if (x[i - 1] < 0 && x[i] >= 0) {
      if (first < 0) first = i;
      else count++;
      last = i;
    }
  }
  return (count * OUT_RATE) / (last - first);
}
// maxStep: the largest jump between neighbouring samples: a click is a jump a sine of
// this amplitude and frequency never makes.
function maxStep(x: Float32Array): number {
  let m = 0;
  for (let i = 1; i < x.length; i++) m = Math.max(m, Math.abs(x[i] - x[i - 1]));
  return m;
}
const sineStep = (amp: number, freq: number) => amp * Math.sin((Math.PI * freq) / OUT_RATE) * 2;

test("jitter: a steady 44.1 kHz stream plays at pitch, without gaps or clicks, after the target delay", () => {
  const jb = new JitterBuffer(OUT_RATE);
  const { L, R } = play(jb, tone({ rate: 44100, seconds: 3, freqR: 660 }), 3.5);
  const a = firstSound(L), b = lastSound(L);
  // Playing starts once START_TARGET_MS is queued: when the packet that ends there came.
  const startMs = (a / OUT_RATE) * 1000;
  assert.ok(startMs >= START_TARGET_MS - 20 && startMs < START_TARGET_MS - 20 + 3, `starts at ${startMs} ms`);
  assert.ok(Math.abs((b - a) / OUT_RATE - 3) < 0.03, `plays ${(b - a) / OUT_RATE} s`);
  assert.deepEqual(silences(L, 2), []);
  assert.ok(Math.abs(frequency(L, a, b) / 440 - 1) < 0.002, `left ${frequency(L, a, b)} Hz`);
  assert.ok(Math.abs(frequency(R, a, b) / 660 - 1) < 0.002, `right ${frequency(R, a, b)} Hz`);
  assert.ok(maxStep(L) < sineStep(0.5, 440) * 1.2 + 0.005, `a click: step ${maxStep(L)}`);
  const s = jb.stats();
  assert.equal(s.underruns, 0);
  assert.equal(s.droppedMs, 0);
  assert.equal(s.gapMs, 0);
});

test("jitter: 22050 Hz mono resampled to 44.1 kHz keeps its pitch and length", () => {
  const jb = new JitterBuffer(OUT_RATE);
  const chunks = tone({ rate: 22050, seconds: 2, freq: 440 }).map((c) => ({ ...c, planes: [c.planes[0]] }));
  const { L, R } = play(jb, chunks, 2.5);
  const a = firstSound(L), b = lastSound(L);
  assert.ok(Math.abs((b - a) / OUT_RATE - 2) < 0.03, `plays ${(b - a) / OUT_RATE} s`);
  assert.ok(Math.abs(frequency(L, a, b) / 440 - 1) < 0.002, `${frequency(L, a, b)} Hz`);
  assert.deepEqual(Array.from(R.subarray(a, a + 1000)), Array.from(L.subarray(a, a + 1000)), "mono on both channels");
  assert.deepEqual(silences(L, 2), []);
});

test("jitter: a 300 ms timestamp gap is 300 ms of silence, faded, not an underrun", () => {
  const jb = new JitterBuffer(OUT_RATE);
  const chunks = [...tone({ rate: 44100, seconds: 1 }), ...tone({ rate: 44100, seconds: 1, ts0: 1300 })];
  const { L } = play(jb, chunks, 2.8);
  const gaps = silences(L, 20);
  assert.equal(gaps.length, 1, JSON.stringify(gaps));
  assert.ok(Math.abs(gaps[0].ms - 300) < 8, `silence of ${gaps[0].ms} ms`);
  const a = firstSound(L), b = lastSound(L);
  assert.ok(Math.abs((b - a) / OUT_RATE - 2.3) < 0.03, `plays ${(b - a) / OUT_RATE} s`);
  assert.ok(maxStep(L) < sineStep(0.5, 440) * 1.2 + 0.005, `a click: step ${maxStep(L)}`);
  assert.equal(jb.stats().underruns, 0);
});

test("jitter: a gap that arrives early (no hole in the arrivals) is silence too", () => {
  const jb = new JitterBuffer(OUT_RATE);
  const chunks = [...tone({ rate: 44100, seconds: 1 }), ...tone({ rate: 44100, seconds: 1, ts0: 1100, arrive: (ts) => (ts - 100) / 1000 })];
  const { L } = play(jb, chunks, 2.5);
  const gaps = silences(L, 20);
  assert.equal(gaps.length, 1, JSON.stringify(gaps));
  assert.ok(Math.abs(gaps[0].ms - 100) < 8, `silence of ${gaps[0].ms} ms`);
  assert.ok(maxStep(L) < sineStep(0.5, 440) * 1.2 + 0.005, `a click: step ${maxStep(L)}`);
});

test("jitter: a late packet is an underrun: faded, and the target delay grows", () => {
  const jb = new JitterBuffer(OUT_RATE);
  // Everything from 1.02 s on (where the sine is far from 0) arrives 200 ms late.
  const chunks = tone({ rate: 44100, seconds: 2, arrive: (ts) => (ts < 1020 ? ts : ts + 200) / 1000 });
  const { L } = play(jb, chunks, 3);
  const s = jb.stats();
  assert.equal(s.underruns, 1);
  assert.equal(s.targetMs, START_TARGET_MS + 20);
  assert.ok(maxStep(L) < sineStep(0.5, 440) * 1.2 + 0.005, `a click: step ${maxStep(L)}`);
  // Nothing is lost: the late part plays whole, after the silence.
  const a = firstSound(L), b = lastSound(L);
  const gap = silences(L, 20).reduce((t, g) => t + g.ms, 0);
  assert.ok(Math.abs((b - a) / OUT_RATE - 2 - gap / 1000) < 0.03, `plays ${(b - a) / OUT_RATE} s with ${gap} ms silence`);
});

test("jitter: a packet late by nearly the whole margin is a near miss: the target grows, nothing is heard", () => {
  const jb = new JitterBuffer(OUT_RATE);
  // Steady, then from 3 s on everything arrives 70 ms late: the queue's low point (about
  // START_TARGET_MS - 20) falls to about 10 ms, under NEAR_MISS_MS, but never to 0.
  const chunks = tone({ rate: 44100, seconds: 5, arrive: (ts) => (ts < 3000 ? ts : ts + 70) / 1000 });
  const { L } = play(jb, chunks, 5.5);
  const s = jb.stats();
  assert.equal(s.underruns, 0);
  assert.ok(s.nearMisses >= 1, `${s.nearMisses} near misses`);
  assert.equal(s.targetMs, START_TARGET_MS + 20 * s.nearMisses);
  const a = firstSound(L);
  assert.deepEqual(silences(L.subarray(a, Math.floor(OUT_RATE * 4.9)), 2), []);
});

test("jitter: underruns grow the target up to its maximum; steady play shrinks it slowly", () => {
  const jb = new JitterBuffer(OUT_RATE);
  // The network stalls for 300 ms every 1.5 s: what was sent meanwhile comes in a burst.
  const stall = (ts: number) => {
    const into = ts % 1500;
    return (into >= 500 && into < 800 ? ts - into + 800 : ts) / 1000;
  };
  play(jb, tone({ rate: 44100, seconds: 10, arrive: stall }), 10.5);
  assert.ok(jb.stats().underruns >= 4, `${jb.stats().underruns} underruns`);
  assert.equal(jb.stats().targetMs, MAX_TARGET_MS);
  const before = jb.stats().targetMs;
  play(jb, tone({ rate: 44100, seconds: 25, ts0: 100000, arrive: (ts) => (ts - 100000) / 1000 }), 25);
  const after = jb.stats().targetMs;
  assert.ok(after < before && after >= MIN_TARGET_MS, `target ${before} → ${after}`);
});

test("jitter: a burst after a stall is cut back to the target, not played late", () => {
  const jb = new JitterBuffer(OUT_RATE);
  // 1 s of packets arrive at once at 0.5 s, then the rest in real time.
  const chunks = tone({ rate: 44100, seconds: 3, arrive: (ts) => Math.max(ts / 1000, ts < 1500 ? 1.5 : 0) });
  const { L } = play(jb, chunks, 3.5);
  const s = jb.stats();
  assert.ok(s.droppedMs > 500, `dropped ${s.droppedMs} ms`);
  assert.ok(s.queuedMs <= DROP_MS, `queued ${s.queuedMs} ms`);
  assert.ok(maxStep(L) < sineStep(0.5, 440) * 1.2 + 0.005, `a click: step ${maxStep(L)}`);
});

test("jitter: clock drift of ±0.1% is followed: no drops, no underruns, the low point near its goal", () => {
  // Sound cards and the remote's clock disagree by well under 0.01%; 0.1% is ten times that.
  for (const clock of [1.001, 0.999]) {
    const jb = new JitterBuffer(OUT_RATE);
    const { L } = play(jb, tone({ rate: 44100, seconds: 60, clock }), 60);
    const s = jb.stats();
    assert.equal(s.underruns, 0, `clock ${clock}`);
    assert.equal(s.droppedMs, 0, `clock ${clock}`);
    assert.ok(Math.abs(s.lowMs - (s.targetMs - 20)) < 25, `clock ${clock}: low point ${s.lowMs} ms, target ${s.targetMs}`);
    assert.ok(Math.abs(s.nudge) <= MAX_NUDGE && s.nudge !== 0, `clock ${clock}: nudge ${s.nudge}`);
    const a = firstSound(L);
    assert.deepEqual(silences(L.subarray(a, Math.floor(OUT_RATE * 59.5)), 2), [], `clock ${clock}`);
  }
});

test("jitter: xrdp's Opus (65.3 ms packets, arrival jitter) plays at pitch: nudges under 0.05%, no underrun", () => {
  // 2880 samples of 44.1 kHz sound a packet, arriving up to 15 ms late.
  let seed = 1;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
  const jb = new JitterBuffer(48000);
  const chunks = tone({ rate: 44100, seconds: 30, packetMs: (2880 / 44100) * 1000, arrive: (ts) => ts / 1000 + rnd() * 0.015 });
  const n = Math.ceil((30 * 48000) / QUANTUM) * QUANTUM;
  const L = new Float32Array(n);
  let c = 0;
  let nudged = 0;
  for (let f = 0; f < n; f += QUANTUM) {
    while (c < chunks.length && chunks[c].at <= f / 48000) {
      const k = chunks[c++];
      jb.push(k.ts, k.rate, k.planes);
    }
    jb.render(L.subarray(f, f + QUANTUM), null);
    // The target shrinking every 10 s of steady play moves the low point's goal, and
    // the queue drains to it gently; nothing more than that.
    if (f > 48000 * 5 && Math.abs(jb.stats().nudge) > 0.0005) nudged++;
  }
  const s = jb.stats();
  assert.equal(s.underruns, 0);
  assert.equal(nudged, 0, `nudged in ${nudged} quanta after the first 5 s (low point ${s.lowMs} ms, target ${s.targetMs})`);
  // Pitch over the last 20 s, at the output rate.
  let first = -1, last = -1, count = 0;
  for (let i = 48000 * 8; i < 48000 * 28; i++) {
    if (L[i - 1] < 0 && L[i] >= 0) {
      if (first < 0) first = i;
      else count++;
      last = i;
    }
  }
  const f = (count * 48000) / (last - first);
  assert.ok(Math.abs(f / 440 - 1) < 0.0005, `${f} Hz`);
});

test("jitter: after end() running dry is no underrun; a later start buffers afresh", () => {
  const jb = new JitterBuffer(OUT_RATE);
  play(jb, tone({ rate: 44100, seconds: 0.5 }), 1);
  jb.end();
  // The same clock, a new stream 5 s on (lead beyond DROP_MS) and one that starts "late".
  const { L } = play(jb, tone({ rate: 44100, seconds: 0.5, ts0: 6000, arrive: (ts) => (ts - 6000) / 1000 }), 1);
  assert.equal(jb.stats().underruns, 0);
  const a = firstSound(L);
  assert.ok(Math.abs((a * 1000) / OUT_RATE - (START_TARGET_MS - 20)) < 3, `starts at ${(a * 1000) / OUT_RATE} ms`);
  jb.end();
  play(jb, tone({ rate: 44100, seconds: 0.5, ts0: 100 }), 1);
  assert.equal(jb.stats().underruns, 0);
});

test("jitter: an hour with 50 ppm of drift and 20 ms of arrival jitter: no underrun, drop, gap or click", () => {
  // Streamed, not kept: an hour of output would be over a gigabyte.
  const OUT = 48000, RATE = 44100, PER = 882; // 20 ms packets of 44.1 kHz stereo
  const clock = 1.00005; // the remote's clock runs 50 ppm fast against ours
  const amp = 0.5, freq = 440;
  const jb = new JitterBuffer(OUT);
  let seed = 7;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
  const seconds = 3600;
  const L = new Float32Array(PER), R = new Float32Array(PER);
  const out = new Float32Array(QUANTUM);
  let next = 0; // the next packet's first sample
  let arrival = 0; // output frames at which it arrives
  let prev = 0, maxJump = 0, silentRun = 0, longestSilence = 0, started = false, maxNudge = 0;
  for (let f = 0; f < OUT * seconds; f += QUANTUM) {
    while (arrival <= f) {
      for (let i = 0; i < PER; i++) L[i] = R[i] = amp * Math.sin((2 * Math.PI * freq * (next + i)) / RATE);
      jb.push(Math.round((next * 1000) / RATE), RATE, [L, R]);
      next += PER;
      arrival = Math.round(((next / RATE) * OUT) / clock + rnd() * 0.02 * OUT);
    }
    jb.render(out, null);
    for (let i = 0; i < QUANTUM; i++) {
      const v = out[i];
      if (Math.abs(v) > SILENT) started = true;
      if (!started) continue;
      maxJump = Math.max(maxJump, Math.abs(v - prev));
      prev = v;
      silentRun = Math.abs(v) <= SILENT ? silentRun + 1 : 0;
      longestSilence = Math.max(longestSilence, silentRun);
    }
    maxNudge = Math.max(maxNudge, Math.abs(jb.stats().nudge));
  }
  const s = jb.stats();
  assert.equal(s.underruns, 0, "underruns");
  assert.equal(s.droppedMs, 0, "dropped");
  assert.equal(s.gapMs, 0, "gaps");
  // A sine crosses zero: a few samples near it are below SILENT, nothing longer.
  assert.ok(longestSilence < 5, `a silence of ${longestSilence} samples`);
  const sine = amp * Math.sin((Math.PI * freq) / OUT) * 2;
  assert.ok(maxJump < sine * 1.05, `a click: a jump of ${maxJump}, a sine's largest is ${sine}`);
  // The drift (180 ms over the hour) was followed, not left to pile up.
  assert.ok(Math.abs(s.lowMs - (s.targetMs - 20)) < 25, `low point ${s.lowMs} ms, target ${s.targetMs}`);
  assert.ok(maxNudge > 0 && maxNudge <= MAX_NUDGE, `nudge at most ${maxNudge}`);
});
