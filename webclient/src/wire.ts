// The racgate.v1 wire protocol (docs/protocol.md): message types, a decoder for
// websocket messages and an encoder for every message type. The encoder covers the
// server's messages too, so tests and the fake server speak the same code that the
// vectors check.

export const SUBPROTOCOL = "racgate.v1";
export const VERSION = 1;

// Message types (§ Server to client, § Client to server).
export const T = {
  HELLO: 0x01,
  RESIZE: 0x02,
  FILL: 0x03,
  COPY: 0x04,
  IMAGE: 0x05,
  FRAME: 0x06,
  CURSOR: 0x07,
  CLIPBOARD: 0x08,
  BELL: 0x09,
  NAME: 0x0a,
  CLOSE: 0x0b,
  TERMINAL: 0x0c,
  AUDIO: 0x0d,
  TERMINAL_CONFIG: 0x0e,
  PROMPT: 0x0f,
  TERMINAL_DEFLATE: 0x10,
  TERMINAL_SCROLLBACK: 0x11,
  AUDIO_FORMAT: 0x12,
  NOTICE: 0x13,
  CLIPBOARD_CONTENT: 0x14,
  PONG: 0x15,
  SHARES: 0x16,
  TERMINAL_SIZE: 0x17,
  FILES: 0x18,
  FILE_READY: 0x19,
  ACK: 0x80,
  KEY: 0x81,
  POINTER: 0x82,
  CLIENT_CLIPBOARD: 0x83,
  RESIZE_REQUEST: 0x84,
  TERMINAL_INPUT: 0x85,
  WHEEL: 0x86,
  TERMINAL_RESIZE: 0x87,
  PROMPT_RESPONSE: 0x88,
  AUDIO_ENABLE: 0x89,
  CLIENT_CLIPBOARD_CONTENT: 0x8a,
  PING: 0x8b,
  SHARE: 0x8c,
} as const;

// HELLO kind and flags (§ HELLO).
export const KIND_DESKTOP = 0;
export const KIND_TERMINAL = 1;
export const FLAG_RESIZE = 1;
export const FLAG_PASTE = 2; // browser → remote clipboard allowed
export const FLAG_COPY = 4; // remote → browser clipboard allowed
export const FLAG_AUDIO = 8; // the connection has sound
export const FLAG_SHARE = 16; // the session may be shared (SHARE works)
export const FLAG_VIEW_ONLY = 32; // the server ignores this client's input
export const MAX_TERMINAL_SIDE = 4096; // TERMINAL_SIZE's cols and rows

// FILES flags and token (§ FILES).
export const FILES_UPLOAD = 1;
export const FILES_DOWNLOAD = 2;
export const MAX_FILES_TOKEN = 64;
export const MAX_FILE_PATH = 4096; // FILE_READY's path, in UTF-8 bytes

// SHARE ops and share modes (§ SHARE), and the bounds of SHARES (§ SHARES).
export const SHARE_CREATE = 0;
export const SHARE_REVOKE = 1;
export const SHARE_VIEW = 0;
export const SHARE_CONTROL = 1;
export const MAX_SHARE_LINKS = 16;
export const MAX_WATCHERS = 64;
export const MAX_SHARE_TEXT = 512;

// IMAGE encodings (§ IMAGE). ZRGB and ZPALETTE are pieces of the websocket's deflate
// stream; ZRGB1 and ZPALETTE1 have the same layouts, each a complete zlib stream of its own.
export const ENC_ZRGB = 0;
export const ENC_ZPALETTE = 1;
export const ENC_JPEG = 2;
export const ENC_PNG = 3;
export const ENC_ZRGB1 = 4;
export const ENC_ZPALETTE1 = 5;
/** Recordings only (docs/recording.md § PREDICT): decoded by predict.ts. */
export const ENC_PREDICT = 6;

// AUDIO_FORMAT codecs and their names in the connect request's audio parameter (§ AUDIO_FORMAT).
export const CODEC_NONE = 0;
export const CODEC_PCM = 1;
export const CODEC_ADPCM = 2;
export const CODEC_OPUS = 3;
export const CODEC_MP3 = 4;
export const CODEC_NAMES: Record<number, string> = { [CODEC_PCM]: "pcm", [CODEC_ADPCM]: "adpcm", [CODEC_OPUS]: "opus", [CODEC_MP3]: "mp3" };
export const MIN_SAMPLE_RATE = 8000;
export const MAX_SAMPLE_RATE = 192000;

// NOTICE levels and its text's limit in bytes (§ NOTICE).
export const NOTICE_INFO = 0;
export const NOTICE_WARNING = 1;
export const MAX_NOTICE_TEXT = 1024;

// POINTER button bits (§ POINTER).
export const BUTTON_LEFT = 1;
export const BUTTON_MIDDLE = 2;
export const BUTTON_RIGHT = 4;
export const BUTTON_BACK = 8;
export const BUTTON_FORWARD = 16;

// Size limits (§ Framing).
export const MAX_SERVER_MESSAGE = 4 << 20;
export const MAX_CLIENT_MESSAGE = 4 << 20;
export const MAX_CLIPBOARD = 1 << 20;

// CLIPBOARD_CONTENT's formats (§ CLIPBOARD_CONTENT); a receiver skips the others.
export const MIME_TEXT = "text/plain";
export const MIME_HTML = "text/html";
export const MIME_PNG = "image/png";
export const MAX_CLIPBOARD_ITEMS = 8;
const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
export const MAX_PROMPTS = 16; // prompts in a PROMPT, answers in a PROMPT_RESPONSE
export const MAX_PROMPT_TEXT = 4 << 10; // bytes of one name, instruction, prompt or answer
export const MAX_TERMINAL_DATA = 64 << 10; // output in one TERMINAL or TERMINAL_DEFLATE (inflated)
const PROMPT_ECHO = 1;
const HEADER = 5;

/** CLOSE codes (§ CLOSE table; render/wire's CloseCode in Go). */
export const CloseCode = {
  REMOTE_ENDED: 1, // the remote machine ended the session (logout, server stopped)
  UNREACHABLE: 2, // the remote machine could not be reached
  AUTH_FAILED: 3, // the remote machine refused the credentials
  PROTOCOL_ERROR: 4, // the remote machine sent something racgate could not understand
  LIMIT: 5, // a connection limit was reached
  TIMEOUT: 6, // the connection timed out (absolute or idle)
  KILLED: 7, // an administrator ended the connection
  SHUTDOWN: 8, // racgate is shutting down
  SESSION_ENDED: 9, // your racgate session ended (logout, expiry)
  FORBIDDEN: 10, // not allowed (policy, endpoint unknown)
  INTERNAL: 11, // internal error
  CLIENT_ERROR: 12, // the client broke the protocol
} as const;

/**
 * Websocket close codes this client closes with (RFC 6455 § 7.4): a normal close (page
 * unload, reconnect), and the application code for a protocol error it found.
 */
export const WS_CLOSE_NORMAL = 1000;
export const WS_CLOSE_PROTOCOL_ERROR = 4000;

// CLOSE codes after which reconnecting makes no sense (§ CLOSE table).
const NO_RECONNECT: ReadonlySet<number> = new Set([
  CloseCode.AUTH_FAILED,
  CloseCode.KILLED,
  CloseCode.SESSION_ENDED,
  CloseCode.FORBIDDEN,
  CloseCode.CLIENT_ERROR,
]);
export function closeAllowsReconnect(code: number): boolean {
  return !NO_RECONNECT.has(code);
}

export type Hello = { type: "HELLO"; version: number; kind: number; flags: number; name: string };
export type Resize = { type: "RESIZE"; width: number; height: number };
export type Fill = { type: "FILL"; x: number; y: number; width: number; height: number; r: number; g: number; b: number };
export type Copy = { type: "COPY"; x: number; y: number; width: number; height: number; srcX: number; srcY: number };
export type Image = { type: "IMAGE"; x: number; y: number; width: number; height: number; encoding: number; data: Uint8Array };
export type Frame = { type: "FRAME"; id: number };
export type Cursor = { type: "CURSOR"; hotX: number; hotY: number; width: number; height: number; rgba: Uint8Array };
export type Clipboard = { type: "CLIPBOARD"; text: string };
export type Bell = { type: "BELL" };
export type Name = { type: "NAME"; name: string };
export type Close = { type: "CLOSE"; code: number; reason: string };
export type Terminal = { type: "TERMINAL"; data: Uint8Array };
export type TerminalConfig = { type: "TERMINAL_CONFIG"; fontSize: number; colorScheme: string };
export type TerminalDeflate = { type: "TERMINAL_DEFLATE"; size: number; data: Uint8Array };
export type TerminalScrollback = { type: "TERMINAL_SCROLLBACK"; lines: number };
export type TerminalSize = { type: "TERMINAL_SIZE"; cols: number; rows: number };
/** FILES: the session's file transfer, under /files/{token}/ (§ FILES); maxUpload 0: no limit. */
export type Files = { type: "FILES"; flags: number; maxUpload: number; token: string };
/** FILE_READY: a file the session left for the browser, to download through FILES's API (§ FILE_READY). */
export type FileReady = { type: "FILE_READY"; path: string };
export type Audio = { type: "AUDIO"; timestamp: number; data: Uint8Array };
export type AudioFormat = { type: "AUDIO_FORMAT"; codec: number; channels: number; sampleRate: number; config: Uint8Array };
export type AudioEnable = { type: "AUDIO_ENABLE"; enabled: boolean };
export type Notice = { type: "NOTICE"; level: number; text: string };
export type Ping = { type: "PING"; token: number };
export type Pong = { type: "PONG"; token: number };
/** SHARE: create (mode, value = lifetime in seconds, 0 the default) or revoke (value = link id). */
export type Share = { type: "SHARE"; op: number; mode: number; value: number };
export type ShareLink = { id: number; mode: number; expiresIn: number; url: string };
/** link: the id of the share link the watcher came by; 0 for an administrator. */
export type Watcher = { link: number; mode: number; name: string };
export type Shares = { type: "SHARES"; links: ShareLink[]; watchers: Watcher[] };
/** A clipboard in several formats; an empty field is not sent. */
export type ClipboardFormats = { text: string; html: string; png: Uint8Array };
export type ClipboardContent = { type: "CLIPBOARD_CONTENT" } & ClipboardFormats;
export type ClientClipboardContent = { type: "CLIENT_CLIPBOARD_CONTENT" } & ClipboardFormats;
export type PromptField = { text: string; echo: boolean };
export type Prompt = { type: "PROMPT"; id: number; name: string; instruction: string; prompts: PromptField[] };
export type PromptResponse = { type: "PROMPT_RESPONSE"; id: number; answers: string[] };
export type Ack = { type: "ACK"; id: number };
export type Key = { type: "KEY"; down: boolean; keysym: number; code: string };
export type Pointer = { type: "POINTER"; x: number; y: number; buttons: number };
export type ClientClipboard = { type: "CLIENT_CLIPBOARD"; text: string };
/** scale: devicePixelRatio in percent; 0 (unknown) is left out of the message. */
export type ResizeRequest = { type: "RESIZE_REQUEST"; width: number; height: number; scale: number };
export type TerminalInput = { type: "TERMINAL_INPUT"; data: Uint8Array };
export type Wheel = { type: "WHEEL"; x: number; y: number; dx: number; dy: number };
export type TerminalResize = { type: "TERMINAL_RESIZE"; cols: number; rows: number };
// A type this version does not know: skipped.
export type Unknown = { type: "UNKNOWN"; typeByte: number; payload: Uint8Array };

export type ServerMessage = Hello | Resize | Fill | Copy | Image | Frame | Cursor | Clipboard | Bell | Name | Close | Terminal | TerminalConfig | Prompt | TerminalDeflate | TerminalScrollback | Audio | AudioFormat | Notice | ClipboardContent | Pong | Shares | TerminalSize | Files | FileReady;
export type ClientMessage = Ack | Key | Pointer | ClientClipboard | ResizeRequest | TerminalInput | Wheel | TerminalResize | PromptResponse | AudioEnable | ClientClipboardContent | Ping | Share;
export type Message = ServerMessage | ClientMessage | Unknown;

/** ProtocolError: the peer sent bytes that break docs/protocol.md. The session ends. */
export class ProtocolError extends Error {
  override name = "ProtocolError";
}

const utf8 = new TextDecoder("utf-8");
const utf8strict = new TextDecoder("utf-8", { fatal: true });
const utf8enc = new TextEncoder();

function short(name: string, have: number, need: number): ProtocolError {
  return new ProtocolError(`${name}: payload of ${have} bytes, need at least ${need}`);
}

/**
 * Decode every protocol message in one websocket message, in order, calling
 * onMessage for each. Byte arrays in the messages alias buf (no copy).
 * Throws ProtocolError on a truncated header or payload or a too-short payload.
 */
export function decodeMessages(buf: ArrayBuffer | Uint8Array, onMessage: (m: Message) => void): void {
  const bytes = buf instanceof Uint8Array ? buf : new Uint8Array(buf);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let off = 0;
  while (off < bytes.length) {
    if (bytes.length - off < HEADER) {
      throw new ProtocolError(`truncated message header at offset ${off}`);
    }
    const type = bytes[off];
    const length = dv.getUint32(off + 1, true);
    const start = off + HEADER;
    // The length is checked against what is there before anything is sliced.
    if (length > bytes.length - start) {
      throw new ProtocolError(`message type 0x${type.toString(16)} at offset ${off}: length ${length} exceeds the ${bytes.length - start} bytes left`);
    }
    onMessage(decodePayload(type, bytes.subarray(start, start + length), new DataView(bytes.buffer, bytes.byteOffset + start, length)));
    off = start + length;
  }
}

// Reads the u16-length-prefixed UTF-8 strings of PROMPT and PROMPT_RESPONSE, each bounded
// by MAX_PROMPT_TEXT before anything is sliced.
class FieldReader {
  off: number;
  constructor(private name: string, private p: Uint8Array, private dv: DataView, off: number) {
    this.off = off;
  }
  u8(what: string): number {
    if (this.off + 1 > this.p.length) throw new ProtocolError(`${this.name}: ${what} missing`);
    return this.p[this.off++];
  }
  str(what: string): string {
    if (this.off + 2 > this.p.length) throw new ProtocolError(`${this.name}: ${what} length missing`);
    const n = this.dv.getUint16(this.off, true);
    if (n > MAX_PROMPT_TEXT) throw new ProtocolError(`${this.name}: ${what} of ${n} bytes over the ${MAX_PROMPT_TEXT} limit`);
    const start = this.off + 2;
    if (n > this.p.length - start) throw new ProtocolError(`${this.name}: ${what} of ${n} bytes beyond the end`);
    this.off = start + n;
    try {
      return utf8strict.decode(this.p.subarray(start, start + n));
    } catch {
      throw new ProtocolError(`${this.name}: ${what} is not UTF-8`);
    }
  }
}

function decodePrompt(p: Uint8Array, dv: DataView): Prompt {
  if (p.length < 9) throw short("PROMPT", p.length, 9);
  const r = new FieldReader("PROMPT", p, dv, 4);
  const name = r.str("name");
  const instruction = r.str("instruction");
  const count = r.u8("count");
  if (count < 1 || count > MAX_PROMPTS) throw new ProtocolError(`PROMPT: ${count} prompts, want 1-${MAX_PROMPTS}`);
  const prompts: PromptField[] = [];
  for (let i = 0; i < count; i++) {
    const flags = r.u8("flags");
    if (flags & ~PROMPT_ECHO) throw new ProtocolError(`PROMPT: prompt ${i} flags 0x${flags.toString(16)}`);
    prompts.push({ text: r.str("prompt"), echo: (flags & PROMPT_ECHO) !== 0 });
  }
  return { type: "PROMPT", id: dv.getUint32(0, true), name, instruction, prompts };
}

function decodePromptResponse(p: Uint8Array, dv: DataView): PromptResponse {
  if (p.length < 5) throw short("PROMPT_RESPONSE", p.length, 5);
  const count = p[4];
  if (count > MAX_PROMPTS) throw new ProtocolError(`PROMPT_RESPONSE: ${count} answers over the ${MAX_PROMPTS} limit`);
  const r = new FieldReader("PROMPT_RESPONSE", p, dv, 5);
  const answers: string[] = [];
  for (let i = 0; i < count; i++) answers.push(r.str("answer"));
  return { type: "PROMPT_RESPONSE", id: dv.getUint32(0, true), answers };
}

// AUDIO_FORMAT's channels and rate are checked here for every codec but 0, so a player
// never sees a rate its AudioContext would refuse; an unknown codec number decodes and
// the player skips its AUDIO.
function decodeAudioFormat(p: Uint8Array, dv: DataView): AudioFormat {
  if (p.length < 6) throw short("AUDIO_FORMAT", p.length, 6);
  const m: AudioFormat = { type: "AUDIO_FORMAT", codec: p[0], channels: p[1], sampleRate: dv.getUint32(2, true), config: p.subarray(6) };
  if (m.codec === CODEC_NONE) {
    if (m.channels !== 0 || m.sampleRate !== 0) throw new ProtocolError(`AUDIO_FORMAT: codec 0 with ${m.channels} channels at ${m.sampleRate} Hz`);
    return m;
  }
  if (m.channels < 1 || m.channels > 2) throw new ProtocolError(`AUDIO_FORMAT: ${m.channels} channels, want 1 or 2`);
  if (m.sampleRate < MIN_SAMPLE_RATE || m.sampleRate > MAX_SAMPLE_RATE) {
    throw new ProtocolError(`AUDIO_FORMAT: sample rate ${m.sampleRate}, want ${MIN_SAMPLE_RATE}-${MAX_SAMPLE_RATE}`);
  }
  return m;
}

function decodeNotice(p: Uint8Array): Notice {
  if (p.length < 1) throw short("NOTICE", p.length, 1);
  const level = p[0];
  const n = p.length - 1;
  if (level > NOTICE_WARNING) throw new ProtocolError(`NOTICE: level ${level}`);
  if (n === 0) throw new ProtocolError("NOTICE: empty text");
  if (n > MAX_NOTICE_TEXT) throw new ProtocolError(`NOTICE: text of ${n} bytes over the ${MAX_NOTICE_TEXT} limit`);
  try {
    return { type: "NOTICE", level, text: utf8strict.decode(p.subarray(1)) };
  } catch {
    throw new ProtocolError("NOTICE: text is not UTF-8");
  }
}

// § SHARES: count, then count entries of kind, id, mode, expiresIn, textLength, text;
// links and watchers each within their limits. Bytes after the entries are ignored.
function decodeShares(p: Uint8Array, dv: DataView): Shares {
  if (p.length < 1) throw short("SHARES", p.length, 1);
  const count = p[0];
  if (count > MAX_SHARE_LINKS + MAX_WATCHERS) throw new ProtocolError(`SHARES: ${count} entries over the ${MAX_SHARE_LINKS + MAX_WATCHERS} limit`);
  const m: Shares = { type: "SHARES", links: [], watchers: [] };
  let at = 1;
  for (let i = 0; i < count; i++) {
    if (p.length - at < 12) throw new ProtocolError(`SHARES: entry ${i} beyond the ${p.length - at} bytes left`);
    const kind = p[at], id = dv.getUint32(at + 1, true), mode = p[at + 5];
    const expiresIn = dv.getUint32(at + 6, true), tl = dv.getUint16(at + 10, true);
    at += 12;
    if (kind > 1) throw new ProtocolError(`SHARES: entry ${i} kind ${kind}`);
    if (mode > SHARE_CONTROL) throw new ProtocolError(`SHARES: entry ${i} mode ${mode}`);
    if (tl > MAX_SHARE_TEXT) throw new ProtocolError(`SHARES: entry ${i} text of ${tl} bytes over the ${MAX_SHARE_TEXT} limit`);
    if (tl > p.length - at) throw new ProtocolError(`SHARES: entry ${i} text of ${tl} bytes beyond the ${p.length - at} left`);
    if (kind === 0 && m.watchers.length > 0) throw new ProtocolError(`SHARES: entry ${i}: a link after a watcher`);
    if (kind === 1 && expiresIn !== 0) throw new ProtocolError(`SHARES: entry ${i}: a watcher with expiresIn ${expiresIn}`);
    let text: string;
    try {
      text = utf8strict.decode(p.subarray(at, at + tl));
    } catch {
      throw new ProtocolError(`SHARES: entry ${i} text is not UTF-8`);
    }
    at += tl;
    if (kind === 0) {
      if (m.links.length === MAX_SHARE_LINKS) throw new ProtocolError(`SHARES: over ${MAX_SHARE_LINKS} links`);
      m.links.push({ id, mode, expiresIn, url: text });
    } else {
      if (m.watchers.length === MAX_WATCHERS) throw new ProtocolError(`SHARES: over ${MAX_WATCHERS} watchers`);
      m.watchers.push({ link: id, mode, name: text });
    }
  }
  return m;
}

// § CLIPBOARD_CONTENT: count, then count formats of mimeLength, mime, dataLength, data.
// Every length is checked against what is left before anything is sliced.
function decodeClipboardContent<K extends "CLIPBOARD_CONTENT" | "CLIENT_CLIPBOARD_CONTENT">(type: K, p: Uint8Array, dv: DataView): { type: K } & ClipboardFormats {
  if (p.length < 1) throw short(type, p.length, 1);
  const count = p[0];
  if (count < 1 || count > MAX_CLIPBOARD_ITEMS) throw new ProtocolError(`${type}: ${count} formats, want 1-${MAX_CLIPBOARD_ITEMS}`);
  const m: { type: K } & ClipboardFormats = { type, text: "", html: "", png: new Uint8Array(0) };
  const seen = new Set<string>();
  let off = 1;
  for (let i = 0; i < count; i++) {
    if (off + 1 > p.length || off + 1 + p[off] + 4 > p.length) throw new ProtocolError(`${type}: format ${i} beyond the payload`);
    const mime = String.fromCharCode(...p.subarray(off + 1, off + 1 + p[off]));
    off += 1 + mime.length;
    const size = dv.getUint32(off, true);
    if (size > p.length - off - 4) throw new ProtocolError(`${type}: ${mime} of ${size} bytes beyond the end`);
    const data = p.subarray(off + 4, off + 4 + size);
    off += 4 + size;
    if (mime === "" || seen.has(mime)) throw new ProtocolError(`${type}: format ${i}: empty or repeated MIME type "${mime}"`);
    seen.add(mime);
    if (mime === MIME_TEXT || mime === MIME_HTML) {
      let text: string;
      try {
        if (size > MAX_CLIPBOARD) throw new Error();
        text = utf8strict.decode(data);
      } catch {
        throw new ProtocolError(`${type}: ${mime}: ${size} bytes, not UTF-8 or over the ${MAX_CLIPBOARD} limit`);
      }
      if (mime === MIME_TEXT) m.text = text;
      else m.html = text;
    } else if (mime === MIME_PNG) {
      if (!PNG_SIGNATURE.every((b, j) => data[j] === b)) throw new ProtocolError(`${type}: image/png data is not a PNG file`);
      m.png = data;
    }
  }
  return m;
}

function writeClipboardContent(w: Writer, type: number, m: ClipboardFormats): Writer {
  const items: [string, Uint8Array][] = [];
  if (m.text !== "") items.push([MIME_TEXT, utf8enc.encode(m.text)]);
  if (m.html !== "") items.push([MIME_HTML, utf8enc.encode(m.html)]);
  if (m.png.length > 0) items.push([MIME_PNG, m.png]);
  w.begin(type).u8(items.length);
  for (const [mime, data] of items) w.u8(mime.length).text(mime).u32(data.length).bytes(data);
  return w.end();
}

function decodePayload(type: number, p: Uint8Array, dv: DataView): Message {
  const n = p.length;
  const u16 = (o: number) => dv.getUint16(o, true);
  switch (type) {
    case T.HELLO: // § HELLO
      if (n < 4) throw short("HELLO", n, 4);
      return { type: "HELLO", version: u16(0), kind: p[2], flags: p[3], name: utf8.decode(p.subarray(4)) };
    case T.RESIZE: // § RESIZE
      if (n < 4) throw short("RESIZE", n, 4);
      return { type: "RESIZE", width: u16(0), height: u16(2) };
    case T.FILL: // § FILL
      if (n < 11) throw short("FILL", n, 11);
      return { type: "FILL", x: u16(0), y: u16(2), width: u16(4), height: u16(6), r: p[8], g: p[9], b: p[10] };
    case T.COPY: // § COPY
      if (n < 12) throw short("COPY", n, 12);
      return { type: "COPY", x: u16(0), y: u16(2), width: u16(4), height: u16(6), srcX: u16(8), srcY: u16(10) };
    case T.IMAGE: // § IMAGE
      if (n < 9) throw short("IMAGE", n, 9);
      return { type: "IMAGE", x: u16(0), y: u16(2), width: u16(4), height: u16(6), encoding: p[8], data: p.subarray(9) };
    case T.FRAME: // § FRAME
      if (n < 4) throw short("FRAME", n, 4);
      return { type: "FRAME", id: dv.getUint32(0, true) };
    case T.CURSOR: { // § CURSOR
      if (n < 8) throw short("CURSOR", n, 8);
      const width = u16(4), height = u16(6);
      const need = 8 + width * height * 4;
      if (n < need) throw short("CURSOR", n, need);
      return { type: "CURSOR", hotX: u16(0), hotY: u16(2), width, height, rgba: p.subarray(8, need) };
    }
    case T.CLIPBOARD: // § CLIPBOARD
      return { type: "CLIPBOARD", text: utf8.decode(p) };
    case T.BELL: // § BELL
      return { type: "BELL" };
    case T.NAME: // § NAME
      return { type: "NAME", name: utf8.decode(p) };
    case T.CLOSE: // § CLOSE
      if (n < 2) throw short("CLOSE", n, 2);
      return { type: "CLOSE", code: u16(0), reason: utf8.decode(p.subarray(2)) };
    case T.TERMINAL: // § TERMINAL
      return { type: "TERMINAL", data: p };
    case T.TERMINAL_CONFIG: // § TERMINAL_CONFIG
      if (n < 2) throw short("TERMINAL_CONFIG", n, 2);
      return { type: "TERMINAL_CONFIG", fontSize: u16(0), colorScheme: utf8.decode(p.subarray(2)) };
    case T.PROMPT: // § PROMPT
      return decodePrompt(p, dv);
    case T.TERMINAL_DEFLATE: { // § TERMINAL_DEFLATE
      if (n < 4) throw short("TERMINAL_DEFLATE", n, 4);
      const size = dv.getUint32(0, true);
      if (size < 1 || size > MAX_TERMINAL_DATA) throw new ProtocolError(`TERMINAL_DEFLATE: size ${size}, want 1-${MAX_TERMINAL_DATA}`);
      return { type: "TERMINAL_DEFLATE", size, data: p.subarray(4) };
    }
    case T.TERMINAL_SIZE: { // § TERMINAL_SIZE
      if (n < 4) throw short("TERMINAL_SIZE", n, 4);
      const cols = u16(0), rows = u16(2);
      if (cols < 1 || rows < 1 || cols > MAX_TERMINAL_SIDE || rows > MAX_TERMINAL_SIDE) {
        throw new ProtocolError(`TERMINAL_SIZE: ${cols}x${rows}, want 1-${MAX_TERMINAL_SIDE} each`);
      }
      return { type: "TERMINAL_SIZE", cols, rows };
    }
    case T.FILES: { // § FILES
      if (n < 9) throw short("FILES", n, 9);
      const flags = p[0];
      if (flags & ~(FILES_UPLOAD | FILES_DOWNLOAD)) throw new ProtocolError(`FILES: flags 0x${flags.toString(16)}`);
      // Up to 2^53 exactly; a larger limit is as good as none to a browser.
      const maxUpload = dv.getUint32(5, true) * 2 ** 32 + dv.getUint32(1, true);
      const tok = p.subarray(9);
      if (tok.length < 1 || tok.length > MAX_FILES_TOKEN) throw new ProtocolError(`FILES: token of ${tok.length} bytes, want 1-${MAX_FILES_TOKEN}`);
      for (const c of tok) {
        const ok = (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39) || c === 0x2d || c === 0x5f || c === 0x2e;
        if (!ok) throw new ProtocolError(`FILES: token byte 0x${c.toString(16)}`);
      }
      return { type: "FILES", flags, maxUpload, token: String.fromCharCode(...tok) };
    }
    case T.FILE_READY: { // § FILE_READY
      if (n < 2 || n > MAX_FILE_PATH || p[0] !== 0x2f) throw new ProtocolError(`FILE_READY: path of ${n} bytes, want "/..." of 2-${MAX_FILE_PATH}`);
      let path: string;
      try {
        path = utf8strict.decode(p);
      } catch {
        throw new ProtocolError("FILE_READY: path is not UTF-8");
      }
      return { type: "FILE_READY", path };
    }
    case T.TERMINAL_SCROLLBACK: // § TERMINAL_SCROLLBACK
      if (n < 4) throw short("TERMINAL_SCROLLBACK", n, 4);
      return { type: "TERMINAL_SCROLLBACK", lines: dv.getUint32(0, true) };
    case T.AUDIO: // § AUDIO
      if (n < 4) throw short("AUDIO", n, 4);
      return { type: "AUDIO", timestamp: dv.getUint32(0, true), data: p.subarray(4) };
    case T.AUDIO_FORMAT: // § AUDIO_FORMAT
      return decodeAudioFormat(p, dv);
    case T.NOTICE: // § NOTICE
      return decodeNotice(p);
    case T.PONG: // § PONG
      if (n < 4) throw short("PONG", n, 4);
      return { type: "PONG", token: dv.getUint32(0, true) };
    case T.PING: // § PING
      if (n < 4) throw short("PING", n, 4);
      return { type: "PING", token: dv.getUint32(0, true) };
    case T.SHARE: { // § SHARE
      if (n < 6) throw short("SHARE", n, 6);
      const op = p[0], mode = p[1];
      if (op > SHARE_REVOKE) throw new ProtocolError(`SHARE: op ${op}`);
      if (mode > SHARE_CONTROL) throw new ProtocolError(`SHARE: mode ${mode}`);
      return { type: "SHARE", op, mode, value: dv.getUint32(2, true) };
    }
    case T.SHARES: // § SHARES
      return decodeShares(p, dv);
    case T.CLIPBOARD_CONTENT: // § 0x14 CLIPBOARD_CONTENT
      return decodeClipboardContent("CLIPBOARD_CONTENT", p, dv);
    case T.CLIENT_CLIPBOARD_CONTENT: // § 0x8A CLIPBOARD_CONTENT
      return decodeClipboardContent("CLIENT_CLIPBOARD_CONTENT", p, dv);
    case T.PROMPT_RESPONSE: // § PROMPT_RESPONSE
      return decodePromptResponse(p, dv);
    case T.ACK: // § ACK
      if (n < 4) throw short("ACK", n, 4);
      return { type: "ACK", id: dv.getUint32(0, true) };
    case T.KEY: // § KEY
      if (n < 5) throw short("KEY", n, 5);
      return { type: "KEY", down: p[0] !== 0, keysym: dv.getUint32(1, true), code: utf8.decode(p.subarray(5)) };
    case T.POINTER: // § POINTER
      if (n < 6) throw short("POINTER", n, 6);
      return { type: "POINTER", x: u16(0), y: u16(2), buttons: u16(4) };
    case T.CLIENT_CLIPBOARD: // § 0x83 CLIPBOARD
      return { type: "CLIENT_CLIPBOARD", text: utf8.decode(p) };
    case T.RESIZE_REQUEST: // § RESIZE_REQUEST
      if (n < 4) throw short("RESIZE_REQUEST", n, 4);
      return { type: "RESIZE_REQUEST", width: u16(0), height: u16(2), scale: n >= 6 ? u16(4) : 0 };
    case T.TERMINAL_INPUT: // § TERMINAL_INPUT
      return { type: "TERMINAL_INPUT", data: p };
    case T.WHEEL: // § WHEEL
      if (n < 8) throw short("WHEEL", n, 8);
      return { type: "WHEEL", x: u16(0), y: u16(2), dx: dv.getInt16(4, true), dy: dv.getInt16(6, true) };
    case T.TERMINAL_RESIZE: // § TERMINAL_RESIZE
      if (n < 4) throw short("TERMINAL_RESIZE", n, 4);
      return { type: "TERMINAL_RESIZE", cols: u16(0), rows: u16(2) };
    case T.AUDIO_ENABLE: // § AUDIO_ENABLE
      if (n < 1) throw short("AUDIO_ENABLE", n, 1);
      if (p[0] > 1) throw new ProtocolError(`AUDIO_ENABLE: enabled is ${p[0]}`);
      return { type: "AUDIO_ENABLE", enabled: p[0] === 1 };
    default:
      return { type: "UNKNOWN", typeByte: type, payload: p };
  }
}

/** Writer builds one or more framed messages into a growing buffer. */
export class Writer {
  private buf: Uint8Array<ArrayBuffer>;
  private dv: DataView;
  private len = 0;
  private start = 0;

  constructor(capacity = 64) {
    this.buf = new Uint8Array(capacity);
    this.dv = new DataView(this.buf.buffer);
  }

  private grow(extra: number): void {
    if (this.len + extra <= this.buf.length) return;
    let c = this.buf.length * 2;
    while (c < this.len + extra) c *= 2;
    const nb = new Uint8Array(c);
    nb.set(this.buf.subarray(0, this.len));
    this.buf = nb;
    this.dv = new DataView(nb.buffer);
  }

  begin(type: number): this {
    this.grow(HEADER);
    this.start = this.len;
    this.buf[this.len] = type;
    this.len += HEADER;
    return this;
  }
  end(): this {
    this.dv.setUint32(this.start + 1, this.len - this.start - HEADER, true);
    return this;
  }
  u8(v: number): this {
    this.grow(1);
    this.buf[this.len++] = v;
    return this;
  }
  u16(v: number): this {
    this.grow(2);
    this.dv.setUint16(this.len, v, true);
    this.len += 2;
    return this;
  }
  i16(v: number): this {
    this.grow(2);
    this.dv.setInt16(this.len, v, true);
    this.len += 2;
    return this;
  }
  u32(v: number): this {
    this.grow(4);
    this.dv.setUint32(this.len, v >>> 0, true);
    this.len += 4;
    return this;
  }
  bytes(b: Uint8Array): this {
    this.grow(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
    return this;
  }
  text(s: string): this {
    return this.bytes(utf8enc.encode(s));
  }
  /** A string with its u16 byte length first (PROMPT, PROMPT_RESPONSE). */
  text16(s: string): this {
    const b = utf8enc.encode(s);
    return this.u16(b.length).bytes(b);
  }
  /** The bytes written so far (a copy, so the writer can be reused). */
  finish(): Uint8Array<ArrayBuffer> {
    const out = this.buf.slice(0, this.len);
    this.len = 0;
    return out;
  }
}

/** Append one message, framed, to w. */
export function writeMessage(w: Writer, m: Message): Writer {
  switch (m.type) {
    case "HELLO":
      return w.begin(T.HELLO).u16(m.version).u8(m.kind).u8(m.flags).text(m.name).end();
    case "RESIZE":
      return w.begin(T.RESIZE).u16(m.width).u16(m.height).end();
    case "FILL":
      return w.begin(T.FILL).u16(m.x).u16(m.y).u16(m.width).u16(m.height).u8(m.r).u8(m.g).u8(m.b).end();
    case "COPY":
      return w.begin(T.COPY).u16(m.x).u16(m.y).u16(m.width).u16(m.height).u16(m.srcX).u16(m.srcY).end();
    case "IMAGE":
      return w.begin(T.IMAGE).u16(m.x).u16(m.y).u16(m.width).u16(m.height).u8(m.encoding).bytes(m.data).end();
    case "FRAME":
      return w.begin(T.FRAME).u32(m.id).end();
    case "CURSOR":
      return w.begin(T.CURSOR).u16(m.hotX).u16(m.hotY).u16(m.width).u16(m.height).bytes(m.rgba).end();
    case "CLIPBOARD":
      return w.begin(T.CLIPBOARD).text(m.text).end();
    case "BELL":
      return w.begin(T.BELL).end();
    case "NAME":
      return w.begin(T.NAME).text(m.name).end();
    case "CLOSE":
      return w.begin(T.CLOSE).u16(m.code).text(m.reason).end();
    case "TERMINAL":
      return w.begin(T.TERMINAL).bytes(m.data).end();
    case "TERMINAL_CONFIG":
      return w.begin(T.TERMINAL_CONFIG).u16(m.fontSize).text(m.colorScheme).end();
    case "TERMINAL_DEFLATE":
      return w.begin(T.TERMINAL_DEFLATE).u32(m.size).bytes(m.data).end();
    case "TERMINAL_SCROLLBACK":
      return w.begin(T.TERMINAL_SCROLLBACK).u32(m.lines).end();
    case "TERMINAL_SIZE":
      return w.begin(T.TERMINAL_SIZE).u16(m.cols).u16(m.rows).end();
    case "FILE_READY":
      return w.begin(T.FILE_READY).text(m.path).end();
    case "FILES":
      return w.begin(T.FILES).u8(m.flags).u32(m.maxUpload % 2 ** 32).u32(Math.floor(m.maxUpload / 2 ** 32)).text(m.token).end();
    case "AUDIO":
      return w.begin(T.AUDIO).u32(m.timestamp).bytes(m.data).end();
    case "AUDIO_FORMAT":
      return w.begin(T.AUDIO_FORMAT).u8(m.codec).u8(m.channels).u32(m.sampleRate).bytes(m.config).end();
    case "AUDIO_ENABLE":
      return w.begin(T.AUDIO_ENABLE).u8(m.enabled ? 1 : 0).end();
    case "NOTICE":
      return w.begin(T.NOTICE).u8(m.level).text(m.text).end();
    case "PING":
      return w.begin(T.PING).u32(m.token).end();
    case "PONG":
      return w.begin(T.PONG).u32(m.token).end();
    case "SHARE":
      return w.begin(T.SHARE).u8(m.op).u8(m.mode).u32(m.value).end();
    case "SHARES": {
      w.begin(T.SHARES).u8(m.links.length + m.watchers.length);
      for (const l of m.links) w.u8(0).u32(l.id).u8(l.mode).u32(l.expiresIn).text16(l.url);
      for (const v of m.watchers) w.u8(1).u32(v.link).u8(v.mode).u32(0).text16(v.name);
      return w.end();
    }
    case "CLIPBOARD_CONTENT":
      return writeClipboardContent(w, T.CLIPBOARD_CONTENT, m);
    case "CLIENT_CLIPBOARD_CONTENT":
      return writeClipboardContent(w, T.CLIENT_CLIPBOARD_CONTENT, m);
    case "PROMPT": {
      w.begin(T.PROMPT).u32(m.id).text16(m.name).text16(m.instruction).u8(m.prompts.length);
      for (const q of m.prompts) w.u8(q.echo ? PROMPT_ECHO : 0).text16(q.text);
      return w.end();
    }
    case "PROMPT_RESPONSE": {
      w.begin(T.PROMPT_RESPONSE).u32(m.id).u8(m.answers.length);
      for (const a of m.answers) w.text16(a);
      return w.end();
    }
    case "ACK":
      return w.begin(T.ACK).u32(m.id).end();
    case "KEY":
      return w.begin(T.KEY).u8(m.down ? 1 : 0).u32(m.keysym).text(m.code).end();
    case "POINTER":
      return w.begin(T.POINTER).u16(m.x).u16(m.y).u16(m.buttons).end();
    case "CLIENT_CLIPBOARD":
      return w.begin(T.CLIENT_CLIPBOARD).text(m.text).end();
    case "RESIZE_REQUEST":
      w.begin(T.RESIZE_REQUEST).u16(m.width).u16(m.height);
      if (m.scale) w.u16(m.scale);
      return w.end();
    case "TERMINAL_INPUT":
      return w.begin(T.TERMINAL_INPUT).bytes(m.data).end();
    case "WHEEL":
      return w.begin(T.WHEEL).u16(m.x).u16(m.y).i16(m.dx).i16(m.dy).end();
    case "TERMINAL_RESIZE":
      return w.begin(T.TERMINAL_RESIZE).u16(m.cols).u16(m.rows).end();
    case "UNKNOWN":
      return w.begin(m.typeByte).bytes(m.payload).end();
  }
}

/** Encode messages back to back into one websocket message. */
export function encodeMessages(...ms: Message[]): Uint8Array<ArrayBuffer> {
  const w = new Writer();
  for (const m of ms) writeMessage(w, m);
  return w.finish();
}
