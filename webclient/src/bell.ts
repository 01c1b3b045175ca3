// BELL (§ BELL): the view flashes, and a short beep sounds where the browser allows it.

export class Bell {
  private audio: AudioContext | null = null;

  constructor(private readonly view: HTMLElement) {}

  ring(): void {
    const view = this.view;
    view.classList.remove("bell");
    void view.offsetWidth; // restart the flash animation
    view.classList.add("bell");
    try {
      this.audio ??= new AudioContext();
      const audio = this.audio;
      if (audio.state !== "running") return; // browsers allow sound only after a gesture
      const osc = audio.createOscillator();
      const gain = audio.createGain();
      gain.gain.value = 0.05;
      osc.frequency.value = 880;
      osc.connect(gain).connect(audio.destination);
      osc.start();
      osc.stop(audio.currentTime + 0.08);
    } catch {
      /* no audio: the flash is enough */
    }
  }
}
