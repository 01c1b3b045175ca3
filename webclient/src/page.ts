// The page: /connect/{endpoint} shows one remote desktop in a full-window canvas (or a
// terminal), with a status overlay, reconnect, a login form and a clipboard panel. See
// static/client.html for the elements. ConnectPage wires the parts to one Session:
//
//   start        listeners (clipboard, reconnect, window size), then connect
//   connect      the websocket URL (the size asked for), Session.connect
//   showState    the session's state on the page (connecting, connected, closed)
//   hello        HELLO: the clipboard's flags, then the desktop or the terminal
//   askLogin     PROMPT: the login form while connecting
//   notice       NOTICE: a line for a few seconds (notice.ts)
//   windowResized  the desktop or terminal follows the window
//   sound        the connect URL's audio codecs, the controls for HELLO's FLAG_AUDIO,
//                AUDIO_FORMAT / AUDIO to the player (soundpanel.ts)
//   view mode    fit or actual size (1:1), the toggle shown for a connected desktop that
//                cannot be resized (viewmode.ts)
//   menu         the in-session menu (menu.ts): #status while connected, hidden until asked

import { Bell } from "./bell.js";
import { ClipboardPanel } from "./clipboardpanel.js";
import { DesktopView } from "./desktop.js";
import { Menu } from "./menu.js";
import { ZOOM_STEPS } from "./geometry.js";
import { loadPref, storePref } from "./prefs.js";
import { Reconnector } from "./reconnect.js";
import { NoticeLine } from "./notice.js";
import { PromptForm } from "./prompt.js";
import { SharePanel } from "./sharepanel.js";
import { FilePanel } from "./filepanel.js";
import { SoundPanel } from "./soundpanel.js";
import { Session } from "./session.js";
import type { SessionUI, State } from "./session.js";
import { StatusOverlay } from "./status.js";
import { TerminalView } from "./terminal.js";
import { ViewModeToggle } from "./viewmode.js";
import { closeAllowsReconnect, FLAG_AUDIO, FLAG_SHARE, FLAG_VIEW_ONLY, KIND_TERMINAL, NOTICE_INFO } from "./wire.js";
import type { Hello, Prompt } from "./wire.js";

/** SCREEN_READER_KEY keeps the terminal's screen reader mode ("1" on). */
export const SCREEN_READER_KEY = "racgate.screenReader";

export interface PageElements {
  view: HTMLDivElement; // #view: holds the canvas and the terminal
  canvas: HTMLCanvasElement; // canvas#screen
  terminal: HTMLDivElement; // #terminal
  terminalSearch: HTMLDivElement; // #terminal-search
  status: HTMLDivElement; // #status
  statusText: HTMLSpanElement; // #status-text
  reconnect: HTMLButtonElement; // #reconnect
  notice: HTMLDivElement; // #notice: NOTICE's line
  clipboardToggle: HTMLButtonElement; // #clipboard-toggle
  clipboardPanel: HTMLDivElement; // #clipboard-panel
  clipboardText: HTMLTextAreaElement; // textarea#clipboard
  clipboardSend: HTMLButtonElement; // #clipboard-send
  prompt: HTMLFormElement; // form#prompt
  soundEnable: HTMLButtonElement; // #sound-enable
  soundControls: HTMLElement; // #sound-controls
  soundMute: HTMLButtonElement; // #sound-mute
  soundVolume: HTMLInputElement; // input#sound-volume
  viewMode: HTMLButtonElement; // #view-mode: "Actual size" (1:1) or fit
  viewFill: HTMLButtonElement; // #view-fill: "Fill" (stretched) or fit
  menuHandle: HTMLButtonElement; // #menu-handle
  menuClose: HTMLButtonElement; // #menu-close
  keysFn: HTMLSelectElement; // #keys-fn
  typeText: HTMLTextAreaElement; // #type-text
  typeSend: HTMLButtonElement; // #type-send
  fullscreen: HTMLButtonElement; // #fullscreen
  details: HTMLElement; // #details
  disconnect: HTMLButtonElement; // #disconnect
  screenReader: HTMLButtonElement; // #screen-reader: a terminal's screen reader mode
  keyboard: HTMLButtonElement; // #keyboard
  osk: HTMLTextAreaElement; // #osk
  zoomIn: HTMLButtonElement; // #zoom-in
  zoomOut: HTMLButtonElement; // #zoom-out
  zoomLevel: HTMLElement; // #zoom-level
  share: HTMLElement; // #share: the share section (sharepanel.ts)
  shareMode: HTMLSelectElement; // #share-mode
  shareExpiry: HTMLSelectElement; // #share-expiry
  shareCreate: HTMLButtonElement; // #share-create
  shareLinks: HTMLUListElement; // #share-links
  shareWatchers: HTMLElement; // #share-watchers
  files: HTMLElement; // #files: the file section (filepanel.ts)
}

function el<T extends HTMLElement>(id: string): T {
  const e = document.getElementById(id);
  if (!e) throw new Error(`client.html lacks #${id}`);
  return e as T;
}

/** pageElements finds the page's elements (client.html); it throws if one is missing. */
export function pageElements(): PageElements {
  return {
    view: el("view"),
    canvas: el("screen"),
    status: el("status"),
    statusText: el("status-text"),
    reconnect: el("reconnect"),
    notice: el("notice"),
    clipboardToggle: el("clipboard-toggle"),
    clipboardPanel: el("clipboard-panel"),
    clipboardText: el("clipboard"),
    clipboardSend: el("clipboard-send"),
    terminal: el("terminal"),
    prompt: el("prompt"),
    terminalSearch: el("terminal-search"),
    soundEnable: el("sound-enable"),
    soundControls: el("sound-controls"),
    soundMute: el("sound-mute"),
    soundVolume: el("sound-volume"),
    viewMode: el("view-mode"),
    viewFill: el("view-fill"),
    menuHandle: el("menu-handle"),
    menuClose: el("menu-close"),
    keysFn: el("keys-fn"),
    typeText: el("type-text"),
    typeSend: el("type-send"),
    fullscreen: el("fullscreen"),
    details: el("details"),
    disconnect: el("disconnect"),
    screenReader: el("screen-reader"),
    keyboard: el("keyboard"),
    osk: el("osk"),
    zoomIn: el("zoom-in"),
    zoomOut: el("zoom-out"),
    zoomLevel: el("zoom-level"),
    share: el("share"),
    shareMode: el("share-mode"),
    shareExpiry: el("share-expiry"),
    shareCreate: el("share-create"),
    shareLinks: el("share-links"),
    shareWatchers: el("share-watchers"),
    files: el("files"),
  };
}

/** Target is what a page connects to: its websocket path, and the page's first title. */
export type Target = { wsPath: string; title: string };

export class ConnectPage {
  private readonly status: StatusOverlay;
  private readonly prompt: PromptForm;
  private readonly bell: Bell;
  private readonly notice: NoticeLine;
  private readonly desktop: DesktopView;
  private readonly clipboard: ClipboardPanel;
  private readonly terminal: TerminalView;
  private readonly sound: SoundPanel;
  private readonly viewMode: ViewModeToggle;
  private readonly menu: Menu;
  private readonly share: SharePanel;
  private readonly files: FilePanel;
  private readonly reconnector: Reconnector;
  private everConnected = false; // only a connection that once worked is retried by itself
  private readonly session: Session;
  // The terminal size in the last connect URL: a terminal opened on HELLO starts at it.
  private urlCells = { cols: 80, rows: 24 };

  constructor(
    private readonly target: Target,
    private readonly el: PageElements,
  ) {
    el.terminal.dataset.state = "connecting";
    this.notice = new NoticeLine(el.notice);
    this.status = new StatusOverlay(el.status, el.statusText, el.reconnect, (text) => this.notice.show(NOTICE_INFO, text));
    // Login questions from the remote (SSH keyboard-interactive), asked while connecting.
    this.prompt = new PromptForm(el.prompt, { answer: (id, answers) => this.answerLogin(id, answers) });
    document.title = target.title || "racgate";
    this.bell = new Bell(el.view);
    this.desktop = new DesktopView(el.canvas, el.view, {
      send: (m) => this.session.send(m),
      connected: () => this.connected(),
      canResize: () => this.session.canResize,
      area: () => this.area(),
      beforePaste: () => this.clipboard.beforePaste(),
      zoomed: (z) => (el.zoomLevel.textContent = `${Math.round(z * 100)}%`),
    });
    const note = (text: string) => this.status.note(text);
    this.clipboard = new ClipboardPanel(
      { toggle: el.clipboardToggle, panel: el.clipboardPanel, text: el.clipboardText, send: el.clipboardSend },
      {
        send: (m) => this.session.send(m),
        connected: () => this.connected(),
        terminal: () => this.isTerminal(),
        pasteToTerminal: (text) => {
          if (this.session.pasteAllowed && text) this.terminal.paste(text);
        },
        note,
      },
    );
    this.terminal = new TerminalView(el.terminal, {
      input: (data) => this.session.send({ type: "TERMINAL_INPUT", data }),
      resize: (cols, rows) => this.session.send({ type: "TERMINAL_RESIZE", cols, rows }),
      copyAllowed: () => this.session.copyAllowed,
      pasteAllowed: () => this.session.pasteAllowed,
      note,
    }, el.terminalSearch);
    this.sound = new SoundPanel(
      { status: el.status, enable: el.soundEnable, controls: el.soundControls, mute: el.soundMute, volume: el.soundVolume },
      {
        enable: (enabled) => this.session.send({ type: "AUDIO_ENABLE", enabled }),
        focusDisplay: () => this.focusDisplay(),
      },
    );
    this.viewMode = new ViewModeToggle(el.viewMode, {
      changed: (mode) => this.desktop.setMode(mode),
      focusDisplay: () => this.focusDisplay(),
    }, el.viewFill);
    this.menu = new Menu(
      {
        handle: el.menuHandle, menu: el.status, close: el.menuClose, keysFn: el.keysFn, typeText: el.typeText,
        typeSend: el.typeSend, fullscreen: el.fullscreen, details: el.details, disconnect: el.disconnect,
        keyboard: el.keyboard, osk: el.osk,
      },
      {
        keys: (ks) => {
          for (const k of ks) this.session.send(k);
        },
        connected: () => this.connected(),
        received: () => this.session.received,
        ping: () => this.session.ping(),
        roundTrip: () => this.session.roundTrip,
        disconnect: () => {
          this.reconnector.cancel();
          this.session.disconnect();
        },
        focusDisplay: () => this.focusDisplay(),
      },
    );
    this.share = new SharePanel(
      { section: el.share, mode: el.shareMode, expiry: el.shareExpiry, create: el.shareCreate, links: el.shareLinks, watchers: el.shareWatchers },
      { send: (m) => this.session.send(m), note },
    );
    const f = <T extends HTMLElement>(id: string): T => el.files.querySelector<T>(`#${id}`) ?? (() => {
      throw new Error(`client.html lacks #${id}`);
    })();
    this.files = new FilePanel({
      section: el.files, path: f("files-path"), up: f("files-up"), refresh: f("files-refresh"), mkdir: f("files-mkdir"),
      upload: f("files-upload"), input: f("files-input"), form: f("files-form"), formLabel: f("files-form-label"),
      name: f("files-name"), cancelName: f("files-name-cancel"), list: f("files-list"), transfers: f("files-transfers"),
      note: f("files-note"), drop: [el.files, el.view],
    });
    this.reconnector = new Reconnector({ reconnect: () => this.connect(), say: (text) => this.status.say(text) });
    this.session = new Session({ url: "", display: this.desktop.display, ui: this.sessionUI() });
  }

  /** start wires the page's listeners and connects. */
  start(): void {
    this.clipboard.listen();
    this.status.onReconnect(() => {
      this.reconnector.cancel();
      this.connect();
    });
    const resized = () => this.windowResized();
    new ResizeObserver(resized).observe(this.el.view);
    window.addEventListener("resize", resized);
    window.addEventListener("pagehide", () => this.session.disconnect());
    this.sound.listen();
    this.viewMode.listen();
    this.menu.listen();
    this.share.listen();
    this.files.listen();
    // Zoom on top of the view mode, a step at a time (pinching zooms freely).
    const step = (dir: 1 | -1) => {
      const z = this.desktop.zoom;
      const next = dir > 0 ? ZOOM_STEPS.find((s) => s > z + 0.001) : [...ZOOM_STEPS].reverse().find((s) => s < z - 0.001);
      this.desktop.setZoom(next ?? z);
    };
    this.el.zoomIn.addEventListener("click", () => step(1));
    this.el.zoomOut.addEventListener("click", () => step(-1));
    // A terminal's screen reader mode, kept for later sessions.
    const sr = this.el.screenReader;
    const showSR = (on: boolean) => {
      sr.setAttribute("aria-pressed", String(on));
      this.terminal.setScreenReader(on);
    };
    showSR(loadPref(SCREEN_READER_KEY) === "1");
    sr.addEventListener("click", () => {
      const on = sr.getAttribute("aria-pressed") !== "true";
      storePref(SCREEN_READER_KEY, on ? "1" : "0");
      showSR(on);
    });
    // The connect request lists the sound codecs this browser decodes: ask first.
    void this.sound.probe().then(() => this.connect());
  }

  /** connect opens a new websocket (the first, or a reconnect). */
  private connect(): void {
    this.sound.connecting();
    this.session.connect(this.connectURL());
  }

  // The websocket URL asks for the page's size: device pixels for a desktop, cells for a
  // terminal (whichever HELLO says it is).
  private connectURL(): string {
    const { width, height, scale } = this.desktop.connectSize();
    const a = this.area();
    this.urlCells = this.terminal.connectCells(a.w, a.h);
    const proto = location.protocol === "https:" ? "wss:" : "ws:";
    const audio = this.sound.audioParam;
    return `${proto}//${location.host}${this.target.wsPath}?width=${width}&height=${height}&scale=${scale}&cols=${this.urlCells.cols}&rows=${this.urlCells.rows}` + (audio ? `&audio=${audio}` : "");
  }

  private sessionUI(): SessionUI {
    const t = this.terminal;
    return {
      state: (s, detail) => this.showState(s, detail),
      hello: (h) => this.hello(h),
      title: (name) => {
        document.title = name;
      },
      resized: () => this.desktop.layout(),
      cursor: (css) => this.desktop.cursor(css),
      clipboard: (c) => this.clipboard.fromRemote(c),
      bell: () => this.bell.ring(),
      notice: (level, text) => this.notice.show(level, text),
      shares: (m) => this.share.show(m),
      files: (m) => this.files.show(m),
      fileReady: (path) => this.files.fileReady(path),
      terminal: (data) => t.write(data),
      terminalConfig: (fontSize, colorScheme) => t.configure(fontSize, colorScheme),
      terminalScrollback: (lines) => t.setScrollback(lines),
      terminalSize: (cols, rows) => t.fixSize(cols, rows),
      terminalFlush: (done) => t.flush(done),
      prompt: (p) => this.askLogin(p),
      sound: (m) => this.sound.message(m),
    };
  }

  private showState(s: State, detail: string): void {
    this.desktop.state(s);
    this.el.terminal.dataset.state = s;
    const code = this.session.closeCode;
    this.status.show(s, detail, code === null || closeAllowsReconnect(code));
    if (s !== "connected") this.menu.close(false);
    if (s === "connected") {
      this.everConnected = true;
      this.reconnector.connected();
    }
    // Lost, or a CLOSE whose racgate is going away: then its reason leads the countdown.
    if (s === "closed" && this.everConnected && this.session.connectionLost) this.reconnector.lost(code === null ? undefined : detail);
    this.prompt.hide(); // a prompt belongs to one connection attempt
    if (s === "connecting") this.notice.clear(); // and a notice to one connection
    if (s === "closed") {
      this.sound.closed();
      this.share.closed();
      this.files.closed();
    }
    if (s !== "connected") this.viewMode.setAvailable(false); // back to fit until the next HELLO
    if (s === "connected" && this.session.kind !== KIND_TERMINAL) this.desktop.focus();
  }

  private hello(h: Hello): void {
    this.clipboard.hello(this.session.pasteAllowed, this.session.copyAllowed);
    this.sound.hello((h.flags & FLAG_AUDIO) !== 0);
    this.share.hello((h.flags & FLAG_SHARE) !== 0);
    const terminal = h.kind === KIND_TERMINAL;
    this.el.status.dataset.kind = terminal ? "terminal" : "desktop"; // the menu's keys are a desktop's
    this.el.terminal.hidden = !terminal;
    this.desktop.hidden = terminal;
    // A remote that cannot follow the window: the user chooses fit or actual size.
    this.viewMode.setAvailable(!terminal && !this.session.canResize);
    if (terminal) {
      this.openTerminal((h.flags & FLAG_VIEW_ONLY) !== 0);
      return; // the terminal pastes through xterm.js, not the remote clipboard
    }
    this.clipboard.syncFromBrowser();
  }

  private openTerminal(viewOnly: boolean): void {
    const term = this.terminal.open(this.urlCells, viewOnly);
    // The browser tests read the terminal through this (only in the test build).
    if (RACGATE_TEST_BUILD) (window as unknown as { racgateTerminal: unknown }).racgateTerminal = term;
    this.terminal.fitNow();
    this.terminal.focus();
  }

  private askLogin(p: Prompt): void {
    this.status.say("connecting: the remote machine asks for a login…");
    this.prompt.show(p);
  }

  private answerLogin(id: number, answers: string[]): void {
    this.session.answerPrompt(id, answers);
    if (this.session.state === "connecting") this.status.say("connecting…");
  }

  // Window size changes: a terminal fits itself (TERMINAL_RESIZE, debounced, when the cell
  // count changes); a desktop relayouts now and asks the remote for the new size.
  private windowResized(): void {
    if (this.isTerminal()) {
      this.terminal.fitNow();
      return;
    }
    this.desktop.windowResized();
  }

  // focusDisplay gives the keyboard back to the remote screen after a control's use.
  private focusDisplay(): void {
    if (this.isTerminal()) this.terminal.focus();
    else if (this.session.kind !== KIND_TERMINAL) this.desktop.focus();
  }

  private connected(): boolean {
    return this.session.state === "connected";
  }

  private isTerminal(): boolean {
    return this.session.kind === KIND_TERMINAL && !this.el.terminal.hidden;
  }

  private area(): { w: number; h: number } {
    const v = this.el.view;
    return { w: v.clientWidth || window.innerWidth, h: v.clientHeight || window.innerHeight };
  }
}
