// The terminal view for HELLO kind 1: xterm.js fed with TERMINAL bytes, its input sent as
// TERMINAL_INPUT and its size as TERMINAL_RESIZE (docs/protocol.md). WebGL draws when the
// browser allows it, else xterm.js's own DOM renderer.

import { Terminal } from "@xterm/xterm";
import { FitAddon } from "@xterm/addon-fit";
import { SearchAddon } from "@xterm/addon-search";
import { Unicode11Addon } from "@xterm/addon-unicode11";
import { WebLinksAddon } from "@xterm/addon-web-links";
import { WebglAddon } from "@xterm/addon-webgl";
import { fastWebGL2 } from "./webgl.js";
import { openLink } from "./links.js";
import { DEFAULT_FONT_SIZE, estimateCells, FONT_FAMILY, SCHEMES, schemeName } from "./termconfig.js";
import { SearchBar } from "./termsearch.js";

const RESIZE_DEBOUNCE_MS = 100;
// Lines kept above the screen until the server says (TERMINAL_SCROLLBACK). The server
// drops output only a terminal keeping more could show, so it must not be more than the
// server's number.
export const DEFAULT_SCROLLBACK = 5000;
const COPY_DEBOUNCE_MS = 150;

/** measureCell measures one monospace cell at fontSize with a canvas (no layout needed). */
export function measureCell(fontSize: number): { width: number; height: number } {
  try {
    const ctx = document.createElement("canvas").getContext("2d");
    if (ctx) {
      ctx.font = `${fontSize}px ${FONT_FAMILY}`;
      return { width: ctx.measureText("W").width, height: Math.ceil(fontSize * 1.2) };
    }
  } catch {
    /* fall through */
  }
  return { width: fontSize * 0.6, height: Math.ceil(fontSize * 1.2) };
}

export interface TerminalHooks {
  input(data: Uint8Array): void; // → TERMINAL_INPUT
  resize(cols: number, rows: number): void; // → TERMINAL_RESIZE
  copyAllowed(): boolean;
  pasteAllowed(): boolean;
  note(text: string): void;
}

const utf8 = new TextEncoder();

function isMac(): boolean {
  const p = (navigator as Navigator & { userAgentData?: { platform?: string } }).userAgentData?.platform ?? navigator.platform;
  return /^mac/i.test(p);
}

export class TerminalView {
  private xterm: Terminal | null = null;
  private fit = new FitAddon();
  private search = new SearchAddon();
  private sent = { cols: 0, rows: 0 };
  // The size someone else sets (TERMINAL_SIZE: a watcher's terminal follows its owner's);
  // null while the terminal fits its box.
  private fixed: { cols: number; rows: number } | null = null;
  private screenReader = false; // xterm.js screenReaderMode (setScreenReader)
  private resizeTimer: ReturnType<typeof setTimeout> | undefined;
  private searchBar: SearchBar | null = null;
  private renderer = "none";
  // Input behind a paste whose clipboard text is still being read, and the paste itself
  // (pasteFromClipboard); pasting: the pasted text itself is going out.
  private held: (Uint8Array | Promise<string>)[] = [];
  private pasting = false;

  /** searchBar is the page's #terminal-search; without it Ctrl+Shift+F does nothing. */
  constructor(private box: HTMLElement, private hooks: TerminalHooks, searchBar?: HTMLElement) {
    if (searchBar) {
      this.searchBar = new SearchBar(searchBar, this.search, {
        focusTerminal: () => this.focus(),
        clearSelection: () => this.term?.clearSelection(),
      });
    }
  }

  /** The xterm.js terminal, once open. */
  get term(): Terminal | null {
    return this.xterm;
  }

  /**
   * connectCells: the terminal's size in cells for the connect URL, for a page area of
   * width × height CSS pixels: the live terminal's after a reconnect, else an estimate
   * for the default font (TERMINAL_RESIZE corrects it).
   */
  connectCells(width: number, height: number): { cols: number; rows: number } {
    const t = this.xterm;
    if (t) return { cols: t.cols, rows: t.rows };
    const cell = measureCell(DEFAULT_FONT_SIZE);
    return estimateCells(width - 8, height - 8, cell.width, cell.height); // #terminal's padding
  }

  /**
   * open shows a fresh terminal (a reconnect starts from a clean screen). A read-only
   * connection (HELLO without the resize flag) takes no input.
   */
  open(initial: { cols: number; rows: number }, readOnly = false): Terminal {
    this.fixed = null;
    delete this.box.dataset.fixed;
    if (this.term) {
      this.searchBar?.close();
      this.term.reset();
      this.term.options.disableStdin = readOnly;
      this.term.options.scrollback = DEFAULT_SCROLLBACK;
      this.sent = initial;
      return this.term;
    }
    const term = new Terminal({
      allowProposedApi: true, // unicode11's activeVersion
      fontFamily: FONT_FAMILY,
      fontSize: DEFAULT_FONT_SIZE,
      theme: SCHEMES.default,
      cursorBlink: true,
      scrollback: DEFAULT_SCROLLBACK,
      cols: initial.cols,
      rows: initial.rows,
      disableStdin: readOnly,
      screenReaderMode: this.screenReader,
      // OSC 8 hyperlinks: their text need not be their target, so ask first; xterm.js
      // offers only http(s) ones, and openLink checks again.
      linkHandler: {
        activate: (_e, uri) => {
          if (window.confirm(`Open ${uri}?`)) openLink(uri);
        },
      },
    });
    this.xterm = term;
    this.sent = initial;
    this.box.textContent = "";
    term.loadAddon(this.fit);
    term.loadAddon(this.search);
    term.loadAddon(new Unicode11Addon());
    term.unicode.activeVersion = "11";
    term.loadAddon(new WebLinksAddon((_e, uri) => openLink(uri)));
    term.open(this.box);
    this.useWebGL(term);
    this.box.dataset.renderer = this.renderer;

    term.onData((s) => this.input(utf8.encode(s)));
    term.onBinary((s) => {
      const b = new Uint8Array(s.length);
      for (let i = 0; i < s.length; i++) b[i] = s.charCodeAt(i) & 0xff;
      this.input(b);
    });
    term.onResize(() => this.scheduleResize());
    // Copy on select, as terminals on X do; once the selection settles, not per mouse move.
    let copyTimer: ReturnType<typeof setTimeout> | undefined;
    term.onSelectionChange(() => {
      clearTimeout(copyTimer);
      // A match the search bar selected is not the user's selection: no copy (nor of a
      // mouse selection while the bar is open).
      if (this.searchBar?.isOpen) return;
      copyTimer = setTimeout(() => {
        const text = term.getSelection();
        if (!text || !this.hooks.copyAllowed()) return;
        navigator.clipboard?.writeText(text).catch(() => this.hooks.note("copy: the browser refused clipboard access"));
      }, COPY_DEBOUNCE_MS);
    });
    term.attachCustomKeyEventHandler((e) => this.key(e));
    // disable-copy / disable-paste also hold for the browser's own copy and paste events
    // on xterm.js's textarea; capture runs before xterm.js sees them.
    this.box.addEventListener("copy", (e) => {
      if (!this.hooks.copyAllowed()) {
        e.preventDefault();
        e.stopPropagation();
      }
    }, true);
    this.box.addEventListener("paste", (e) => {
      if (!this.hooks.pasteAllowed()) {
        e.preventDefault();
        e.stopPropagation();
        this.hooks.note("paste is disabled for this connection");
      }
    }, true);
    return term;
  }

  private useWebGL(term: Terminal): void {
    if (!fastWebGL2()) {
      this.renderer = "dom";
      return;
    }
    try {
      const gl = new WebglAddon();
      gl.onContextLoss(() => {
        gl.dispose(); // xterm.js falls back to its DOM renderer
        this.renderer = "dom";
        this.box.dataset.renderer = "dom";
      });
      term.loadAddon(gl);
      this.renderer = "webgl";
    } catch {
      this.renderer = "dom"; // no WebGL2 here
    }
  }

  // key handles the shortcuts the page keeps for itself; false means xterm.js skips it.
  // They all need Ctrl+Shift (Ctrl+F etc. belong to the remote shell), or on macOS Cmd+F,
  // which a terminal there never sends on.
  private key(e: KeyboardEvent): boolean {
    if (e.type === "keydown" && e.metaKey && e.code === "KeyF" && !e.ctrlKey && !e.altKey && !e.shiftKey && isMac()) {
      e.preventDefault(); // not the browser's find, which cannot see the terminal's canvas
      this.searchBar?.open();
      return false;
    }
    if (e.type !== "keydown" || !e.ctrlKey || !e.shiftKey || e.altKey || e.metaKey) return true;
    switch (e.code) {
      case "KeyV": // paste from the browser clipboard
        // Without the async clipboard API (Firefox), the browser's own paste event follows
        // and xterm.js pastes it.
        if (!navigator.clipboard?.readText) return false;
        e.preventDefault(); // no native paste event as well
        this.pasteFromClipboard();
        return false;
      case "KeyC": {
        e.preventDefault();
        const text = this.term?.getSelection();
        if (text && this.hooks.copyAllowed()) void navigator.clipboard?.writeText(text).catch(() => {});
        return false;
      }
      case "KeyF":
        e.preventDefault();
        this.searchBar?.open();
        return false;
    }
    return true;
  }

  /**
   * pasteFromClipboard pastes the browser clipboard's text. The browser reads it
   * asynchronously; what is typed meanwhile (Enter, most often) waits behind it, so that
   * the remote gets both in the order they were typed.
   */
  private pasteFromClipboard(): void {
    if (!this.hooks.pasteAllowed()) {
      this.hooks.note("paste is disabled for this connection");
      return;
    }
    this.held.push(navigator.clipboard.readText());
    if (this.held.length === 1) void this.release();
  }

  /** input sends the terminal's input, or holds it behind a paste still being read. */
  private input(b: Uint8Array): void {
    if (this.held.length > 0 && !this.pasting) this.held.push(b);
    else this.hooks.input(b);
  }

  /** release sends what is held, in order, each paste once its text is read. */
  private async release(): Promise<void> {
    while (this.held.length > 0) {
      const h = this.held[0];
      if (h instanceof Uint8Array) {
        this.hooks.input(h);
      } else {
        let text = "";
        try {
          text = await h;
        } catch {
          this.hooks.note("paste: the browser refused clipboard access (use the browser's paste)");
        }
        this.pasting = true;
        try {
          if (text) this.term?.paste(text); // bracketed paste if the remote asked for it
        } finally {
          this.pasting = false;
        }
      }
      this.held.shift();
    }
  }

  /** configure applies TERMINAL_CONFIG. */
  configure(fontSize: number, scheme: string): void {
    const t = this.term;
    if (!t) return;
    t.options.fontSize = fontSize > 0 ? fontSize : DEFAULT_FONT_SIZE;
    t.options.theme = SCHEMES[schemeName(scheme)];
    this.box.dataset.scheme = schemeName(scheme);
    this.box.style.background = SCHEMES[schemeName(scheme)].background ?? "";
    this.fitNow();
  }

  /**
   * setScreenReader turns xterm.js's screen reader mode on or off: an accessibility tree of
   * the rows that screen readers read and the browser's find searches.
   */
  setScreenReader(on: boolean): void {
    this.screenReader = on;
    if (this.term) this.term.options.screenReaderMode = on;
  }

  /** setScrollback applies TERMINAL_SCROLLBACK: sent before any output. */
  setScrollback(lines: number): void {
    if (this.term) this.term.options.scrollback = lines;
  }

  write(data: Uint8Array): void {
    this.term?.write(data);
  }

  /** flush calls done once xterm.js has processed everything written before. */
  flush(done: () => void): void {
    if (this.term) this.term.write(new Uint8Array(0), done);
    else done();
  }

  /**
   * fixSize makes the terminal cols x rows from now on (TERMINAL_SIZE): it no longer
   * fits its box (which scrolls where it is too small) nor tells the server its size.
   */
  fixSize(cols: number, rows: number): void {
    this.fixed = { cols, rows };
    this.box.dataset.fixed = "";
    clearTimeout(this.resizeTimer);
    this.term?.resize(cols, rows);
  }

  /** fitNow fits the terminal to its box; a size change goes to the server, debounced. */
  fitNow(): void {
    if (!this.term || this.box.hidden || this.fixed) return;
    try {
      this.fit.fit();
    } catch {
      /* not laid out yet */
    }
    this.scheduleResize();
  }

  private scheduleResize(): void {
    clearTimeout(this.resizeTimer);
    this.resizeTimer = setTimeout(() => {
      const t = this.term;
      if (!t || (t.cols === this.sent.cols && t.rows === this.sent.rows)) return;
      this.sent = { cols: t.cols, rows: t.rows };
      this.hooks.resize(t.cols, t.rows);
    }, RESIZE_DEBOUNCE_MS);
  }

  /** markSent records a size the server already has (the connect URL's cols/rows). */
  markSent(cols: number, rows: number): void {
    this.sent = { cols, rows };
  }

  focus(): void {
    this.term?.focus();
  }

  /** paste types text into the terminal as input (bracketed if the remote asked). */
  paste(text: string): void {
    this.term?.paste(text);
  }
}

