// The clipboard sync (src/clipboard.ts) against a fake async clipboard: text alone as
// CLIPBOARD, HTML and images as CLIPBOARD_CONTENT, echo suppression, limits, fallbacks.
import { test } from "node:test";
import assert from "node:assert/strict";
import { ClipboardSync, textFormats } from "../../src/clipboard.js";
import type { ClientClipboard, ClientClipboardContent, ClipboardFormats } from "../../src/wire.js";

// A ClipboardItem as the browser has it: a blob per MIME type.
class FakeItem {
  readonly types: string[];
  constructor(readonly parts: Record<string, Blob>) {
    this.types = Object.keys(parts);
  }
  async getType(t: string): Promise<Blob> {
    return this.parts[t];
  }
}

interface Options {
  focused?: boolean;
  permitted?: boolean;
  rich?: boolean; // the browser has clipboard.read/write and ClipboardItem
  refuseRich?: boolean; // write() of an item refused (writeText still works)
  rewriteHTML?: (html: string) => string; // what the browser reads back after a write
}

const PNG = (...rest: number[]) => new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, ...rest]);
// bigPNG is a PNG signature followed by n bytes of fill.
function bigPNG(n: number, fill = 0): Uint8Array<ArrayBuffer> {
  const b = new Uint8Array(8 + n).fill(fill);
  b.set(PNG());
  return b;
}

function fakeClipboard(o: Options = {}) {
  const { focused = true, permitted = true, rich = false } = o;
  const sent: (ClientClipboard | ClientClipboardContent)[] = [];
  const shown: string[] = [];
  const notes: string[] = [];
  // What the browser's clipboard holds, per MIME type.
  const state = { parts: {} as Record<string, Blob>, writes: [] as string[][] };
  const clipboard: Record<string, unknown> = {
    async readText() {
      if (!permitted) throw new Error("denied");
      return (await state.parts["text/plain"]?.text()) ?? "";
    },
    async writeText(t: string) {
      if (!permitted) throw new Error("denied");
      state.writes.push(["text/plain"]);
      state.parts = { "text/plain": new Blob([t]) };
    },
  };
  if (rich) {
    clipboard.read = async () => {
      if (!permitted) throw new Error("denied");
      return Object.keys(state.parts).length ? [new FakeItem(state.parts)] : [];
    };
    clipboard.write = async (items: FakeItem[]) => {
      if (!permitted || o.refuseRich) throw new Error("denied");
      const parts = { ...items[0].parts };
      if (parts["text/html"] && o.rewriteHTML) parts["text/html"] = new Blob([o.rewriteHTML(await parts["text/html"].text())]);
      state.writes.push(Object.keys(parts));
      state.parts = parts;
    };
  }
  const nav = { clipboard } as unknown as Navigator;
  const doc = { hasFocus: () => focused } as unknown as Document;
  const c = new ClipboardSync((m) => sent.push(m), { showFallback: (t) => shown.push(t), note: (t) => notes.push(t) }, nav, doc);
  c.copyAllowed = c.pasteAllowed = true;
  const copy = async (parts: Record<string, string | Uint8Array>) => {
    state.parts = Object.fromEntries(Object.entries(parts).map(([k, v]) => [k, new Blob([v as BlobPart])]));
  };
  return { c, sent, shown, notes, state, copy };
}

(globalThis as Record<string, unknown>).ClipboardItem = FakeItem;

const content = (text: string, html = "", png: Uint8Array = new Uint8Array(0)): ClipboardFormats => ({ text, html, png });

test("clipboard: remote text goes to the browser, or the panel when not permitted", async () => {
  const a = fakeClipboard();
  await a.c.fromRemote(textFormats("héllo ✓"));
  assert.equal(await a.state.parts["text/plain"].text(), "héllo ✓");
  assert.deepEqual(a.shown, []);
  const b = fakeClipboard({ focused: false }); // page not focused: writing is not allowed
  await b.c.fromRemote(textFormats("x"));
  assert.deepEqual([b.state.writes, b.shown], [[], ["x"]]);
  const c = fakeClipboard({ permitted: false });
  await c.c.fromRemote(textFormats("y"));
  assert.deepEqual(c.shown, ["y"]);
  const d = fakeClipboard(); // disable-copy: nothing
  d.c.copyAllowed = false;
  await d.c.fromRemote(textFormats("z"));
  assert.deepEqual([d.state.writes, d.shown], [[], []]);
});

test("clipboard: browser text is sent when it changed and paste is allowed", async () => {
  for (const rich of [false, true]) {
    const a = fakeClipboard({ rich });
    await a.c.syncFromBrowser(); // an empty browser clipboard is not sent
    assert.deepEqual(a.sent, []);
    a.c.pasteAllowed = false;
    await a.copy({ "text/plain": "one" });
    await a.c.syncFromBrowser();
    assert.deepEqual(a.sent, []); // paste not allowed yet
    a.c.pasteAllowed = true;
    await a.c.syncFromBrowser();
    await a.c.syncFromBrowser();
    assert.deepEqual(a.sent, [{ type: "CLIENT_CLIPBOARD", text: "one" }], `rich ${rich}`);
    // Text that came from the remote is not echoed back.
    await a.c.fromRemote(textFormats("two"));
    await a.c.syncFromBrowser();
    assert.equal(a.sent.length, 1);
    await a.copy({ "text/plain": "three" });
    await a.c.syncFromBrowser();
    assert.deepEqual(a.sent.at(-1), { type: "CLIENT_CLIPBOARD", text: "three" });
    // The panel sends even unchanged text; oversized text is refused with a note.
    assert.equal(a.c.offer("three", true), true);
    assert.equal(a.c.offer("x".repeat((1 << 20) + 1)), false);
    assert.equal(a.sent.length, 3);
    assert.equal(a.notes.length, 1);
  }
});

test("clipboard: remote HTML and image reach the browser as one item, and are not echoed", async () => {
  // Chromium reads back sanitised HTML: what it gives after the write is the baseline.
  const a = fakeClipboard({ rich: true, rewriteHTML: (h) => `<meta charset="utf-8">${h}` });
  await a.c.fromRemote(content("Grüße", "<b>Grüße</b>", PNG(1, 2, 3)));
  assert.deepEqual(a.state.writes, [["text/plain", "text/html", "image/png"]]);
  assert.equal(await a.state.parts["text/html"].text(), `<meta charset="utf-8"><b>Grüße</b>`);
  assert.deepEqual(new Uint8Array(await a.state.parts["image/png"].arrayBuffer()), PNG(1, 2, 3));
  await a.c.syncFromBrowser();
  assert.deepEqual(a.sent, [], "what racgate itself put on the clipboard was sent back");
  // Focus regained while the write is still going: the read waits for its baseline.
  const writing = a.c.fromRemote(content("again", "<i>again</i>"));
  await a.c.syncFromBrowser();
  await writing;
  assert.deepEqual(a.sent, [], "a read during the write sent the browser's rewritten HTML back");
  // Another image with the same (empty) text is a change.
  await a.copy({ "image/png": PNG(9, 9, 9) });
  await a.c.syncFromBrowser();
  assert.deepEqual(a.sent, [{ type: "CLIENT_CLIPBOARD_CONTENT", text: "", html: "", png: PNG(9, 9, 9) }]);
  await a.copy({ "image/png": PNG(8, 8, 8) }); // the same size, other pixels
  await a.c.syncFromBrowser();
  assert.deepEqual(a.sent.at(-1), { type: "CLIENT_CLIPBOARD_CONTENT", text: "", html: "", png: PNG(8, 8, 8) });
  // HTML beside text goes as CLIPBOARD_CONTENT, with both.
  await a.copy({ "text/plain": "a b", "text/html": "<p>a <i>b</i></p>" });
  await a.c.syncFromBrowser();
  assert.deepEqual(a.sent.at(-1), { type: "CLIENT_CLIPBOARD_CONTENT", text: "a b", html: "<p>a <i>b</i></p>", png: new Uint8Array(0) });
  assert.equal(a.sent.length, 3);
});

test("clipboard: where the browser refuses rich content, text or a note", async () => {
  const a = fakeClipboard({ rich: true, refuseRich: true });
  await a.c.fromRemote(content("text", "<b>text</b>"));
  assert.deepEqual(a.state.writes, [["text/plain"]], "the text goes alone when the item is refused");
  const b = fakeClipboard({ rich: true, refuseRich: true });
  await b.c.fromRemote(content("", "", PNG()));
  assert.deepEqual([b.state.writes, b.shown, b.notes.length], [[], [], 1], "an image alone: a note, no empty panel");
  const c = fakeClipboard({ permitted: false });
  await c.c.fromRemote(content("shown", "<b>shown</b>", PNG()));
  assert.deepEqual(c.shown, ["shown"]);
});

test("clipboard: limits leave out the HTML or the image, not the text", () => {
  const a = fakeClipboard();
  assert.equal(a.c.offer(content("t", "h".repeat((1 << 20) + 1))), true);
  assert.deepEqual(a.sent.at(-1), { type: "CLIENT_CLIPBOARD", text: "t" }, "HTML over 1 MiB dropped");
  assert.equal(a.c.offer(content("u", "<b>u</b>", bigPNG(4 << 20))), true);
  assert.deepEqual(a.sent.at(-1), { type: "CLIENT_CLIPBOARD_CONTENT", text: "u", html: "<b>u</b>", png: new Uint8Array(0) }, "image over 4 MiB dropped");
  assert.equal(a.notes.length, 1);
  // An image that fits, with the text and HTML, goes whole.
  const big = bigPNG((4 << 20) - 200, 7);
  assert.equal(a.c.offer(content("v", "<b>v</b>", big)), true);
  assert.equal((a.sent.at(-1) as ClientClipboardContent).png.length, big.length);
});
