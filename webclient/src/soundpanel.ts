// The page's sound: what the connect request offers (§ Connecting, audio=), one
// connection's SoundStream at a time, and the controls in the status bar, shown for
// connections with sound (HELLO's FLAG_AUDIO): "Click to enable sound" while the
// browser's autoplay policy holds the AudioContext, mute (AUDIO_ENABLE) and volume, both
// kept in localStorage. After use the controls give the keyboard back to the display.

import { loadPref, storePref } from "./prefs.js";
import { SoundStream, soundCodecs, soundSupported } from "./sound.js";
import { SoundOutput } from "./soundoutput.js";
import type { Audio, AudioFormat } from "./wire.js";

export const MUTED_KEY = "racgate.sound.muted";
export const VOLUME_KEY = "racgate.sound.volume";
const PROBE_TIMEOUT_MS = 1000; // isConfigSupported should answer at once; never wait long

export interface SoundElements {
  status: HTMLElement; // #status, which holds the controls
  enable: HTMLButtonElement; // #sound-enable
  controls: HTMLElement; // #sound-controls
  mute: HTMLButtonElement; // #sound-mute
  volume: HTMLInputElement; // input#sound-volume, 0-100
}

export interface SoundHooks {
  /** Send AUDIO_ENABLE (if connected). */
  enable(enabled: boolean): void;
  /** Give the keyboard back to the remote screen (canvas or terminal). */
  focusDisplay(): void;
}

export class SoundPanel {
  private readonly out = new SoundOutput();
  private stream: SoundStream | null = null;
  private codecs: string[] = [];
  private on = false; // this connection has sound
  private muted = loadPref(MUTED_KEY) === "1";
  private volume = clampVolume(Number(loadPref(VOLUME_KEY) ?? "1"));
  private volumeByPointer = false;

  constructor(
    private readonly e: SoundElements,
    private readonly hooks: SoundHooks,
  ) {
    this.out.stateChanged = () => this.showEnable();
    this.out.setLevel(this.volume, this.muted);
  }

  /** probe finds the codecs this browser decodes, for the connect request. */
  async probe(): Promise<void> {
    let t: ReturnType<typeof setTimeout> | undefined;
    const fallback = new Promise<string[]>((r) => (t = setTimeout(() => r(soundSupported() ? ["adpcm", "pcm"] : []), PROBE_TIMEOUT_MS)));
    this.codecs = await Promise.race([soundCodecs(), fallback]).catch(() => []);
    clearTimeout(t);
  }

  /** audioParam: the connect request's audio value; empty: ask for no sound. */
  get audioParam(): string {
    return this.codecs.join(",");
  }

  /** listen wires the controls, and resumes the context on the page's first gesture. */
  listen(): void {
    const { e } = this;
    const gesture = () => this.out.resume();
    window.addEventListener("pointerdown", gesture, true);
    window.addEventListener("keydown", gesture, true);
    e.enable.addEventListener("click", () => {
      this.out.resume();
      this.hooks.focusDisplay();
    });
    e.mute.addEventListener("click", () => {
      this.setMuted(!this.muted);
      this.hooks.focusDisplay();
    });
    e.volume.addEventListener("pointerdown", () => (this.volumeByPointer = true));
    e.volume.addEventListener("input", () => {
      this.volume = clampVolume(Number(e.volume.value) / 100);
      this.out.setLevel(this.volume, this.muted);
    });
    e.volume.addEventListener("change", () => {
      storePref(VOLUME_KEY, String(this.volume));
      // A drag is over: the keyboard goes back. Arrow keys keep it for more steps.
      if (this.volumeByPointer) this.hooks.focusDisplay();
      this.volumeByPointer = false;
    });
    e.volume.addEventListener("keydown", (ev) => {
      if (ev.key === "Escape" || ev.key === "Enter") this.hooks.focusDisplay();
    });
    this.showLevel();
  }

  /** connecting: a new websocket; the last one's sound is over. */
  connecting(): void {
    this.stop();
  }

  /** closed: the session ended. */
  closed(): void {
    this.stop();
  }

  /** hello: HELLO came; with sound (FLAG_AUDIO) the controls show and the context starts. */
  hello(sound: boolean): void {
    this.on = sound;
    this.e.controls.hidden = !sound;
    if (sound) {
      this.startStream();
      if (this.muted) this.hooks.enable(false); // the server need not send what is not heard
    }
    this.showEnable();
  }

  /** message: AUDIO_FORMAT or AUDIO, as it arrives (it may come before hello runs). */
  message(m: Audio | AudioFormat): void {
    this.startStream()?.message(m);
  }

  private startStream(): SoundStream | null {
    if (this.stream) return this.stream;
    const sink = this.out.open();
    if (!sink) return null;
    this.stream = new SoundStream(sink);
    return this.stream;
  }

  private stop(): void {
    this.on = false;
    this.stream?.close();
    this.stream = null;
    this.out.close();
    this.e.controls.hidden = true;
    this.showEnable();
  }

  private setMuted(muted: boolean): void {
    this.muted = muted;
    storePref(MUTED_KEY, muted ? "1" : "0");
    this.out.setLevel(this.volume, muted);
    this.showLevel();
    if (this.on) this.hooks.enable(!muted); // § AUDIO_ENABLE: the server stops or starts sending
  }

  private showLevel(): void {
    const { mute, volume } = this.e;
    mute.setAttribute("aria-pressed", String(this.muted)); // pressed: muted (client.css shows it)
    mute.title = this.muted ? "The remote's sound is off: click to turn it on" : "Mute the remote's sound";
    volume.value = String(Math.round(this.volume * 100));
  }

  // The enable button shows while a connection with sound waits for a gesture.
  private showEnable(): void {
    const blocked = this.on && this.out.suspended;
    // The press on the button itself may start the sound and hide it before its click:
    // the keyboard goes back to the display all the same.
    if (!blocked && !this.e.enable.hidden && document.activeElement === this.e.enable) this.hooks.focusDisplay();
    this.e.enable.hidden = !blocked;
    if (blocked) this.e.status.dataset.sound = "blocked";
    else delete this.e.status.dataset.sound;
  }
}

function clampVolume(v: number): number {
  return Number.isFinite(v) ? Math.min(1, Math.max(0, v)) : 1;
}
