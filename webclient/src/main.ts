// The page: /connect/{endpoint} shows one remote desktop in a full-window canvas, with
// a status overlay, reconnect, and a clipboard panel. See client.html for the elements.

import { ClipboardSync } from "./clipboard.js";
import { Display } from "./display.js";
import { devicePixels, fitRect, toFramebuffer } from "./geometry.js";
import type { Rect } from "./geometry.js";
import { Input } from "./input.js";
import { PromptForm } from "./prompt.js";
import { Session } from "./session.js";
import type { State } from "./session.js";
import { DEFAULT_FONT_SIZE, estimateCells } from "./termconfig.js";
import { measureCell, TerminalView } from "./terminal.js";
import { closeAllowsReconnect, KIND_TERMINAL } from "./wire.js";

const RESIZE_DEBOUNCE_MS = 300;
const PASTE_WAIT_MS = 200;

function el<T extends HTMLElement>(id: string): T {
  const e = document.getElementById(id);
  if (!e) throw new Error(`client.html lacks #${id}`);
  return e as T;
}

/** endpointFromPath: the last non-empty path segment, URL-decoded. */
export function endpointFromPath(pathname: string): string {
  const parts = pathname.split("/").filter((p) => p !== "");
  const last = parts.length ? parts[parts.length - 1] : "";
  try {
    return decodeURIComponent(last);
  } catch {
    return last;
  }
}

function start(): void {
  const view = el<HTMLDivElement>("view");
  const canvas = el<HTMLCanvasElement>("screen");
  const status = el<HTMLDivElement>("status");
  const statusText = el<HTMLSpanElement>("status-text");
  const reconnect = el<HTMLButtonElement>("reconnect");
  const clipToggle = el<HTMLButtonElement>("clipboard-toggle");
  const clipPanel = el<HTMLDivElement>("clipboard-panel");
  const clipText = el<HTMLTextAreaElement>("clipboard");
  const clipSend = el<HTMLButtonElement>("clipboard-send");
  const terminalBox = el<HTMLDivElement>("terminal");
  terminalBox.dataset.state = "connecting";
  // Login questions from the remote (SSH keyboard-interactive), asked while connecting.
  const promptForm = new PromptForm(el<HTMLFormElement>("prompt"), {
    answer: (id, answers) => {
      session.answerPrompt(id, answers);
      if (session.state === "connecting") statusText.textContent = "connecting…";
    },
  });

  const endpoint = endpointFromPath(location.pathname);
  document.title = endpoint || "racgate";

  const display = new Display(canvas);
  let rect: Rect = { left: 0, top: 0, width: 0, height: 0 };
  let pasteWaiter: (() => void) | null = null;

  const area = () => ({ w: view.clientWidth || window.innerWidth, h: view.clientHeight || window.innerHeight });
  const deviceSize = () => {
    const a = area();
    return devicePixels(a.w, a.h, window.devicePixelRatio || 1);
  };

  const layout = () => {
    const a = area();
    rect = fitRect(a.w, a.h, display.width, display.height, window.devicePixelRatio || 1);
    canvas.style.left = `${rect.left}px`;
    canvas.style.top = `${rect.top}px`;
    canvas.style.width = `${rect.width}px`;
    canvas.style.height = `${rect.height}px`;
  };

  const note = (text: string) => {
    statusText.dataset.note = text;
    status.dataset.note = "1";
    setTimeout(() => delete status.dataset.note, 4000);
    console.info("racgate:", text);
  };

  const showClipboard = (show: boolean) => {
    clipPanel.hidden = !show;
    clipToggle.setAttribute("aria-expanded", String(show));
  };

  const clip = new ClipboardSync(
    (text) => session.send({ type: "CLIENT_CLIPBOARD", text }),
    {
      showFallback(text) {
        clipText.value = text;
        showClipboard(true);
      },
      note,
    },
  );

  let audio: AudioContext | null = null;
  const bell = () => {
    view.classList.remove("bell");
    void view.offsetWidth; // restart the flash animation
    view.classList.add("bell");
    try {
      audio ??= new AudioContext();
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
  };

  const termView = new TerminalView(terminalBox, {
    input: (data) => session.send({ type: "TERMINAL_INPUT", data }),
    resize: (cols, rows) => session.send({ type: "TERMINAL_RESIZE", cols, rows }),
    copyAllowed: () => session.copyAllowed,
    pasteAllowed: () => session.pasteAllowed,
    note,
  }, el<HTMLDivElement>("terminal-search"));
  const isTerminal = () => session.kind === KIND_TERMINAL && !terminalBox.hidden;
  // The terminal's size in cells for the connect URL: the live terminal's after a
  // reconnect, else an estimate for the default font (TERMINAL_RESIZE corrects it).
  const termCells = () => {
    const t = termView.term;
    if (t) return { cols: t.cols, rows: t.rows };
    const cell = measureCell(DEFAULT_FONT_SIZE);
    const a = area();
    return estimateCells(a.w - 8, a.h - 8, cell.width, cell.height); // #terminal's padding
  };
  let urlCells = { cols: 80, rows: 24 };

  const session: Session = new Session({
    url: "",
    display,
    ui: {
      state(s: State, detail: string) {
        canvas.dataset.state = s;
        terminalBox.dataset.state = s;
        status.dataset.state = s;
        statusText.textContent = s === "closed" ? `closed: ${detail}` : detail;
        promptForm.hide(); // a prompt belongs to one connection attempt
        reconnect.hidden = s !== "closed";
        // Still offered after a CLOSE whose code says retrying will not help (bad
        // credentials, not allowed): the user may have fixed the cause elsewhere.
        const code = session.closeCode;
        reconnect.dataset.useful = String(code === null || closeAllowsReconnect(code));
        if (s === "connected" && session.kind !== KIND_TERMINAL) canvas.focus({ preventScroll: true });
      },
      hello(h) {
        clip.reset();
        clip.pasteAllowed = session.pasteAllowed;
        clip.copyAllowed = session.copyAllowed;
        clipSend.disabled = !clip.pasteAllowed;
        terminalBox.hidden = h.kind !== KIND_TERMINAL;
        canvas.hidden = h.kind === KIND_TERMINAL;
        if (h.kind === KIND_TERMINAL) {
          // On a terminal the resize flag is clear only for read-only connections.
          const term = termView.open(urlCells, !session.canResize);
          (window as unknown as { racgateTerminal: unknown }).racgateTerminal = term;
          termView.fitNow();
          termView.focus();
          return; // the terminal pastes through xterm.js, not the remote clipboard
        }
        void clip.syncFromBrowser();
      },
      title(name) {
        document.title = name;
      },
      resized() {
        layout();
      },
      cursor(css) {
        canvas.style.cursor = css;
      },
      clipboard(text) {
        void clip.fromRemote(text);
      },
      bell,
      terminal(data) {
        termView.write(data);
      },
      terminalConfig(fontSize, colorScheme) {
        termView.configure(fontSize, colorScheme);
      },
      terminalScrollback(lines) {
        termView.setScrollback(lines);
      },
      terminalFlush(done) {
        termView.flush(done);
      },
      prompt(p) {
        statusText.textContent = "connecting: the remote machine asks for a login…";
        promptForm.show(p);
      },
    },
  });

  // The size last asked of the server (in the websocket URL or a RESIZE_REQUEST): a
  // request goes out only when the window's size moves away from it.
  let asked = { width: 0, height: 0 };
  const wsURL = () => {
    const { width, height } = deviceSize();
    asked = { width, height };
    urlCells = termCells();
    const proto = location.protocol === "https:" ? "wss:" : "ws:";
    return `${proto}//${location.host}/ws/${encodeURIComponent(endpoint)}?width=${width}&height=${height}&cols=${urlCells.cols}&rows=${urlCells.rows}`;
  };

  const input = new Input(canvas, {
    send: (m) => session.send(m),
    active: () => session.state === "connected",
    toFramebuffer: (cx, cy) => toFramebuffer(cx, cy, rect, display.width, display.height),
    beforePaste: () =>
      new Promise<void>((resolve) => {
        const t = setTimeout(done, PASTE_WAIT_MS);
        function done() {
          clearTimeout(t);
          if (pasteWaiter === done) pasteWaiter = null;
          resolve();
        }
        pasteWaiter = done;
      }),
  });
  void input;

  // Browser → remote clipboard: the paste event (keyboard shortcut), and focus regained.
  document.addEventListener("paste", (e) => {
    if (e.target === clipText) return; // typing into the panel
    if (isTerminal()) return; // xterm.js pastes into the terminal itself
    const text = e.clipboardData?.getData("text/plain");
    if (text !== undefined && session.state === "connected") {
      e.preventDefault();
      clip.offer(text);
    }
    pasteWaiter?.();
  });
  window.addEventListener("focus", () => {
    if (session.state === "connected" && !isTerminal()) void clip.syncFromBrowser();
  });
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible" && session.state === "connected" && !isTerminal()) void clip.syncFromBrowser();
  });
  clipSend.addEventListener("click", () => {
    if (session.state === "connected" && isTerminal()) {
      if (session.pasteAllowed && clipText.value) termView.term?.paste(clipText.value);
      return;
    }
    if (session.state === "connected" && clip.offer(clipText.value, true)) note("clipboard sent");
  });
  clipToggle.addEventListener("click", () => showClipboard(Boolean(clipPanel.hidden)));
  reconnect.addEventListener("click", () => {
    session.connect(wsURL());
  });

  // Window size changes: relayout now, ask the remote for the new size once it settles.
  let resizeTimer: ReturnType<typeof setTimeout> | undefined;
  const onResize = () => {
    if (isTerminal()) {
      termView.fitNow(); // TERMINAL_RESIZE, debounced, when the cell count changes
      return;
    }
    layout();
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(() => {
      if (session.state !== "connected" || !session.canResize) return;
      const { width, height } = deviceSize();
      if (width === asked.width && height === asked.height) return;
      asked = { width, height };
      session.send({ type: "RESIZE_REQUEST", width, height });
    }, RESIZE_DEBOUNCE_MS);
  };
  new ResizeObserver(onResize).observe(view);
  window.addEventListener("resize", onResize);
  window.addEventListener("pagehide", () => session.disconnect());

  session.connect(wsURL());
}

if (typeof document !== "undefined") {
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
}
