// The connection's terminal deflate stream (docs/protocol.md § TERMINAL_DEFLATE): one
// zlib stream per websocket, separate from the IMAGE stream, a sync-flushed piece per
// message.

import { Inflater } from "./zstream.js";
import { ProtocolError } from "./wire.js";
import type { TerminalDeflate } from "./wire.js";

export class TerminalInflater {
  private z = new Inflater();

  /**
   * The output m carries: exactly m.size bytes (the decoder bounded it), in a buffer of
   * its own, since xterm.js keeps what it is given until it has parsed it.
   */
  inflate(m: TerminalDeflate): Uint8Array {
    try {
      return this.z.inflate(m.data, m.size).slice();
    } catch (e) {
      const why = e instanceof Error ? e.message.replace(/^IMAGE: /, "") : String(e);
      throw new ProtocolError(`TERMINAL_DEFLATE: ${why}`);
    }
  }
}
