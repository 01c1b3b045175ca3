// Clipboard both ways (docs/protocol.md § CLIPBOARD, § CLIPBOARD_CONTENT): the async
// clipboard API where the browser allows it, else a visible text panel. Text alone goes
// as CLIPBOARD; HTML or an image beside it as CLIPBOARD_CONTENT.

import { MAX_CLIENT_MESSAGE, MAX_CLIPBOARD, MIME_HTML, MIME_PNG, MIME_TEXT, type ClientClipboard, type ClientClipboardContent, type ClipboardFormats } from "./wire.js";

export interface ClipboardUI {
  /** Show the fallback panel with text (remote → browser when writing was not allowed). */
  showFallback(text: string): void;
  /** Tell the user something brief (e.g. text too long). */
  note(text: string): void;
}

const enc = new TextEncoder();
const NO_IMAGE = new Uint8Array(0);

/** textFormats is clipboard content of plain text alone. */
export function textFormats(text: string): ClipboardFormats {
  return { text, html: "", png: NO_IMAGE };
}

// A short fingerprint of content, to tell whether the browser's clipboard changed.
function fingerprint(c: ClipboardFormats): string {
  let h = 0x811c9dc5; // FNV-1a over the image, whose bytes differ whenever it does
  for (const b of c.png) h = Math.imul(h ^ b, 0x01000193);
  return `${c.text.length}:${c.text}\0${c.html.length}:${c.html}\0${c.png.length}:${h >>> 0}`;
}

/** ClipboardSync keeps the browser's and the remote's clipboard in step. */
export class ClipboardSync {
  // The fingerprint of what both sides are known to hold; nothing is sent when the
  // browser's clipboard still reads the same.
  private last: string | null = null;
  // The remote's clipboard being put on the browser's, in order.
  private writing: Promise<void> = Promise.resolve();
  pasteAllowed = false; // HELLO flag bit 1
  copyAllowed = false; // HELLO flag bit 2

  constructor(
    private send: (m: ClientClipboard | ClientClipboardContent) => void,
    private ui: ClipboardUI,
    private nav: Navigator = navigator,
    private doc: Document = document,
  ) {}

  reset(): void {
    this.last = null;
  }

  /** The remote clipboard changed: text, HTML, an image. */
  fromRemote(c: ClipboardFormats): Promise<void> {
    // A read of the browser's clipboard (focus regained) waits for this write and its
    // read-back, so it never compares against a baseline not yet taken.
    this.writing = this.writing.then(() => this.putRemote(c));
    return this.writing;
  }

  private async putRemote(c: ClipboardFormats): Promise<void> {
    if (!this.copyAllowed) return;
    this.last = fingerprint(c);
    if (this.doc.hasFocus() && (await this.write(c))) {
      // The browser may rewrite what it was given (it sanitises HTML, re-encodes
      // images): what it reads back now is what must not be sent back as new.
      const back = await this.read();
      if (back) this.last = fingerprint(back);
      return;
    }
    if (c.text !== "") this.ui.showFallback(c.text);
    else this.ui.note("the remote machine copied an image; the browser did not allow it on your clipboard");
  }

  // write puts c on the browser's clipboard: every format at once where the browser has
  // ClipboardItem, else the text. False: not permitted.
  private async write(c: ClipboardFormats): Promise<boolean> {
    const clip = this.nav.clipboard;
    const Item = (globalThis as { ClipboardItem?: typeof ClipboardItem }).ClipboardItem;
    if ((c.html !== "" || c.png.length > 0) && clip?.write && Item) {
      const parts: Record<string, Blob> = {};
      if (c.text !== "") parts[MIME_TEXT] = new Blob([c.text], { type: MIME_TEXT });
      if (c.html !== "") parts[MIME_HTML] = new Blob([c.html], { type: MIME_HTML });
      if (c.png.length > 0) parts[MIME_PNG] = new Blob([c.png as Uint8Array<ArrayBuffer>], { type: MIME_PNG });
      try {
        await clip.write([new Item(parts)]);
        return true;
      } catch {
        /* the image or HTML refused: the text may still go */
      }
    }
    if (c.text === "" || !clip?.writeText) return false;
    try {
      await clip.writeText(c.text);
      return true;
    } catch {
      return false;
    }
  }

  // read is the browser's clipboard in the formats the remote may take, or null where
  // the browser does not allow reading it.
  private async read(): Promise<ClipboardFormats | null> {
    const clip = this.nav.clipboard;
    if (clip?.read) {
      try {
        const items = await clip.read();
        const out = textFormats("");
        for (const item of items.slice(0, 1)) {
          const get = async (type: string) => (item.types.includes(type) ? item.getType(type) : null);
          out.text = (await (await get(MIME_TEXT))?.text()) ?? "";
          out.html = (await (await get(MIME_HTML))?.text()) ?? "";
          const png = await get(MIME_PNG);
          if (png) out.png = new Uint8Array(await png.arrayBuffer());
        }
        return out;
      } catch {
        /* fall back to the text alone */
      }
    }
    if (!clip?.readText) return null;
    try {
      return textFormats(await clip.readText());
    } catch {
      return null; // not permitted or not focused: the paste event or the panel still work
    }
  }

  /** Read the browser's clipboard (focus regained) and send it when it changed. */
  async syncFromBrowser(): Promise<void> {
    if (!this.pasteAllowed) return;
    await this.writing;
    const c = await this.read();
    // An empty browser clipboard does not clear the remote's.
    if (c && (c.text !== "" || c.html !== "" || c.png.length > 0)) this.offer(c);
  }

  /**
   * Content from a paste event or the panel (text); force sends even if unchanged.
   * What is over the limits is left out with a note: HTML over 1 MiB (the text goes),
   * an image that would not fit in one message (the text and HTML go).
   */
  offer(content: ClipboardFormats | string, force = false): boolean {
    let c = typeof content === "string" ? textFormats(content) : content;
    if (!this.pasteAllowed) {
      if (force) this.ui.note("pasting to the remote machine is not allowed");
      return false;
    }
    const fp = fingerprint(c);
    if (!force && fp === this.last) return false;
    const text = enc.encode(c.text).length;
    if (text > MAX_CLIPBOARD) {
      this.ui.note("clipboard text is larger than 1 MiB: not sent");
      return false;
    }
    let html = enc.encode(c.html).length;
    if (html > MAX_CLIPBOARD) {
      c = { ...c, html: "" };
      html = 0;
    }
    // The message: its header, the count, and per format its MIME type and length.
    if (c.png.length > 0 && 6 + 3 * 25 + text + html + c.png.length > MAX_CLIENT_MESSAGE) {
      this.ui.note("the copied image is larger than 4 MiB: only its text was sent");
      c = { ...c, png: NO_IMAGE };
    }
    if (c.text === "" && c.html === "" && c.png.length === 0) return false;
    this.last = fp;
    if (c.html === "" && c.png.length === 0) this.send({ type: "CLIENT_CLIPBOARD", text: c.text });
    else this.send({ type: "CLIENT_CLIPBOARD_CONTENT", ...c });
    return true;
  }
}
