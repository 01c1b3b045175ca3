package wire

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"hash/adler32"
	"os"
	"reflect"
	"strings"
	"testing"
)

// vectors.json is shared with the browser decoder (webclient/src/wire.ts). Its schema:
//
//	[ { "name":     unique name,
//	    "hex":      one websocket message, hex: one or more framed protocol messages,
//	    "message":  (single-message vectors) the decoded message, see describe below,
//	    "messages": (stream vectors) every decoded message in order,
//	    "canvas":   (stream vectors) {"width","height","rgb"}: the picture after drawing
//	                every message on a fresh canvas, rgb = hex of R,G,B per pixel, rows
//	                top to bottom,
//	    "error":    (malformed vectors) "malformed": decoding must fail; or "canvas":
//	                decoding succeeds, drawing every message on a fresh canvas fails } ]
//
// A decoded message is {"type": the spec's name (HELLO, ..., TERMINAL_RESIZE, or
// "UNKNOWN" with "typeByte"), then its fields in lowerCamelCase as in docs/protocol.md
// (x, y, width, height, srcX, srcY, r, g, b, encoding, id, hotX, hotY, version, kind,
// flags, name, text, code, reason, fontSize, colorScheme, down, keysym, buttons, dx, dy,
// cols, rows, instruction, prompts: [{text, echo}], answers: [strings], timestamp,
// codec, channels, sampleRate, enabled, level, html, scale) with byte fields (data, rgba, payload,
// config, png) as hex strings.
// Regenerate with: go test ./render/wire -run TestVectors -update
var update = flag.Bool("update", false, "rewrite testdata/vectors.json")

const vectorsPath = "testdata/vectors.json"

type vector struct {
	Name     string           `json:"name"`
	Hex      string           `json:"hex"`
	Message  map[string]any   `json:"message,omitempty"`
	Messages []map[string]any `json:"messages,omitempty"`
	Canvas   *canvasVector    `json:"canvas,omitempty"`
	Terminal *string          `json:"terminal,omitempty"`
	Error    string           `json:"error,omitempty"`
}

type canvasVector struct {
	Width  int    `json:"width"`
	Height int    `json:"height"`
	RGB    string `json:"rgb"`
}

func describe(m Message) map[string]any {
	h := hex.EncodeToString
	switch m := m.(type) {
	case Hello:
		return map[string]any{"type": "HELLO", "version": m.Version, "kind": m.Kind, "flags": m.Flags, "name": m.Name}
	case Resize:
		return map[string]any{"type": "RESIZE", "width": m.Width, "height": m.Height}
	case Fill:
		return map[string]any{"type": "FILL", "x": m.X, "y": m.Y, "width": m.W, "height": m.H, "r": m.R, "g": m.G, "b": m.B}
	case Copy:
		return map[string]any{"type": "COPY", "x": m.X, "y": m.Y, "width": m.W, "height": m.H, "srcX": m.SrcX, "srcY": m.SrcY}
	case Image:
		return map[string]any{"type": "IMAGE", "x": m.X, "y": m.Y, "width": m.W, "height": m.H, "encoding": m.Encoding, "data": h(m.Data)}
	case Frame:
		return map[string]any{"type": "FRAME", "id": m.ID}
	case Cursor:
		return map[string]any{"type": "CURSOR", "hotX": m.HotX, "hotY": m.HotY, "width": m.W, "height": m.H, "rgba": h(m.RGBA)}
	case Clipboard:
		return map[string]any{"type": "CLIPBOARD", "text": m.Text}
	case Bell:
		return map[string]any{"type": "BELL"}
	case Name:
		return map[string]any{"type": "NAME", "name": m.Name}
	case Close:
		return map[string]any{"type": "CLOSE", "code": uint16(m.Code), "reason": m.Reason}
	case Terminal:
		return map[string]any{"type": "TERMINAL", "data": h(m.Data)}
	case TerminalConfig:
		return map[string]any{"type": "TERMINAL_CONFIG", "fontSize": m.FontSize, "colorScheme": m.ColorScheme}
	case TerminalDeflate:
		return map[string]any{"type": "TERMINAL_DEFLATE", "size": m.Size, "data": h(m.Data)}
	case TerminalScrollback:
		return map[string]any{"type": "TERMINAL_SCROLLBACK", "lines": m.Lines}
	case Prompt:
		ps := make([]map[string]any, len(m.Prompts))
		for i, p := range m.Prompts {
			ps[i] = map[string]any{"text": p.Text, "echo": p.Echo}
		}
		return map[string]any{"type": "PROMPT", "id": m.ID, "name": m.Name, "instruction": m.Instruction, "prompts": ps}
	case PromptResponse:
		return map[string]any{"type": "PROMPT_RESPONSE", "id": m.ID, "answers": append([]string{}, m.Answers...)}
	case Ack:
		return map[string]any{"type": "ACK", "id": m.ID}
	case Key:
		return map[string]any{"type": "KEY", "down": m.Down, "keysym": m.Keysym, "code": m.Code}
	case Pointer:
		return map[string]any{"type": "POINTER", "x": m.X, "y": m.Y, "buttons": m.Buttons}
	case ClientClipboard:
		return map[string]any{"type": "CLIENT_CLIPBOARD", "text": m.Text}
	case ResizeRequest:
		return map[string]any{"type": "RESIZE_REQUEST", "width": m.Width, "height": m.Height, "scale": m.Scale}
	case TerminalInput:
		return map[string]any{"type": "TERMINAL_INPUT", "data": h(m.Data)}
	case Wheel:
		return map[string]any{"type": "WHEEL", "x": m.X, "y": m.Y, "dx": m.DX, "dy": m.DY}
	case TerminalResize:
		return map[string]any{"type": "TERMINAL_RESIZE", "cols": m.Cols, "rows": m.Rows}
	case Audio:
		return map[string]any{"type": "AUDIO", "timestamp": m.Timestamp, "data": h(m.Data)}
	case AudioFormat:
		return map[string]any{"type": "AUDIO_FORMAT", "codec": uint8(m.Codec), "channels": m.Channels, "sampleRate": m.SampleRate, "config": h(m.Config)}
	case AudioEnable:
		return map[string]any{"type": "AUDIO_ENABLE", "enabled": m.Enabled}
	case Notice:
		return map[string]any{"type": "NOTICE", "level": m.Level, "text": m.Text}
	case Ping:
		return map[string]any{"type": "PING", "token": m.Token}
	case Pong:
		return map[string]any{"type": "PONG", "token": m.Token}
	case TerminalSize:
		return map[string]any{"type": "TERMINAL_SIZE", "cols": m.Cols, "rows": m.Rows}
	case Files:
		return map[string]any{"type": "FILES", "flags": m.Flags, "maxUpload": m.MaxUpload, "token": m.Token}
	case FileReady:
		return map[string]any{"type": "FILE_READY", "path": m.Path}
	case Share:
		return map[string]any{"type": "SHARE", "op": m.Op, "mode": m.Mode, "value": m.Value}
	case Shares:
		links, watchers := []map[string]any{}, []map[string]any{}
		for _, l := range m.Links {
			links = append(links, map[string]any{"id": l.ID, "mode": l.Mode, "expiresIn": l.ExpiresIn, "url": l.URL})
		}
		for _, w := range m.Watchers {
			watchers = append(watchers, map[string]any{"link": w.Link, "mode": w.Mode, "name": w.Name})
		}
		return map[string]any{"type": "SHARES", "links": links, "watchers": watchers}
	case ClipboardContent:
		return map[string]any{"type": "CLIPBOARD_CONTENT", "text": m.Text, "html": m.HTML, "png": h(m.PNG)}
	case ClientClipboardContent:
		return map[string]any{"type": "CLIENT_CLIPBOARD_CONTENT", "text": m.Text, "html": m.HTML, "png": h(m.PNG)}
	case Unknown:
		return map[string]any{"type": "UNKNOWN", "typeByte": uint8(m.T), "payload": h(m.Payload)}
	}
	panic(fmt.Sprintf("describe: %T", m))
}

// streamWriter builds a deflate stream the way the server does: one zlib stream, a sync
// flush after every piece.
type streamWriter struct {
	buf bytes.Buffer
	zw  *zlib.Writer
}

func newStreamWriter() *streamWriter {
	s := &streamWriter{}
	s.zw, _ = zlib.NewWriterLevel(&s.buf, zlib.BestCompression)
	return s
}

func (s *streamWriter) piece(raw []byte) []byte {
	s.zw.Write(raw)
	s.zw.Flush()
	out := bytes.Clone(s.buf.Bytes())
	s.buf.Reset()
	return out
}

// oneShot is a complete zlib stream of raw, as ZRGB1 and ZPALETTE1 carry (§ IMAGE).
func oneShot(raw []byte) []byte {
	var b bytes.Buffer
	zw, _ := zlib.NewWriterLevel(&b, zlib.BestCompression)
	zw.Write(raw)
	zw.Close()
	return b.Bytes()
}

// storedZlib is a complete zlib stream of raw (at most 65535 bytes) in one stored block,
// written by hand so that vectors compared byte for byte do not depend on a compressor.
func storedZlib(raw []byte) []byte {
	b := []byte{0x78, 0x01, 1} // header (no dictionary, check bits), then BFINAL=1 BTYPE=00
	b = binary.LittleEndian.AppendUint16(b, uint16(len(raw)))
	b = binary.LittleEndian.AppendUint16(b, ^uint16(len(raw)))
	b = append(b, raw...)
	return binary.BigEndian.AppendUint32(b, adler32.Checksum(raw))
}

// packPalette is ZPALETTE's inflated layout for indices idx of a w-wide image.
func packPalette(pal [][3]byte, idx []int, w int) []byte {
	bits := PaletteBits(len(pal))
	out := []byte{byte(len(pal) - 1)}
	for _, c := range pal {
		out = append(out, c[:]...)
	}
	for y := 0; y < len(idx)/w; y++ {
		row := make([]byte, (w*bits+7)/8)
		for x := 0; x < w; x++ {
			bit := x * bits
			row[bit/8] |= byte(idx[y*w+x] << (8 - bits - bit%8))
		}
		out = append(out, row...)
	}
	return out
}

func streamVectors() []struct {
	name string
	msgs []Message
} {
	// ZRGB: a 4x3 canvas drawn by three ZRGB pieces of one stream, then a FILL and COPY.
	s := newStreamWriter()
	zrgb := []Message{
		Resize{Width: 4, Height: 3},
		Image{X: 0, Y: 0, W: 4, H: 1, Encoding: ZRGB, Data: s.piece([]byte{
			255, 0, 0, 0, 255, 0, 0, 0, 255, 255, 255, 255})},
		Image{X: 0, Y: 1, W: 2, H: 2, Encoding: ZRGB, Data: s.piece([]byte{
			10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110, 120})},
		Image{X: 2, Y: 1, W: 2, H: 2, Encoding: ZRGB, Data: s.piece([]byte{
			255, 0, 0, 0, 255, 0, 0, 0, 255, 255, 255, 255})}, // repeats row 0: a back reference across pieces
		Fill{X: 3, Y: 2, W: 1, H: 1, R: 1, G: 2, B: 3},
		Copy{X: 1, Y: 0, W: 3, H: 2, SrcX: 0, SrcY: 0}, // overlapping copy
		Frame{ID: 1},
	}
	// ZPALETTE with 2, 3, 16 and 17 colours (1, 2, 4 and 8 bits per index), one stream,
	// with a ZRGB piece between them.
	p := newStreamWriter()
	colours := func(n int) [][3]byte {
		out := make([][3]byte, n)
		for i := range out {
			out[i] = [3]byte{byte(i * 15), byte(255 - i*15), byte(i * 7)}
		}
		return out
	}
	indices := func(n, count int) []int {
		out := make([]int, count)
		for i := range out {
			out[i] = (i*7 + i/5) % n
		}
		return out
	}
	zpal := []Message{
		Resize{Width: 10, Height: 4},
		Image{X: 0, Y: 0, W: 10, H: 1, Encoding: ZPalette, Data: p.piece(packPalette(colours(2), indices(2, 10), 10))},
		Image{X: 0, Y: 1, W: 5, H: 1, Encoding: ZPalette, Data: p.piece(packPalette(colours(3), indices(3, 5), 5))},
		Image{X: 5, Y: 1, W: 5, H: 1, Encoding: ZRGB, Data: p.piece(bytes.Repeat([]byte{9, 8, 7}, 5))},
		Image{X: 0, Y: 2, W: 3, H: 2, Encoding: ZPalette, Data: p.piece(packPalette(colours(16), indices(16, 6), 3))},
		Image{X: 3, Y: 2, W: 7, H: 2, Encoding: ZPalette, Data: p.piece(packPalette(colours(17), indices(17, 14), 7))},
		Frame{ID: 1},
	}
	// One-shot streams (ZRGB1, ZPALETTE1) between pieces of the connection's stream: the
	// last piece refers back to the first, so a decoder that fed the one-shot data to
	// its stream, or reset it, draws the wrong row.
	o := newStreamWriter()
	row := []byte{200, 10, 10, 10, 200, 10, 10, 10, 200, 250, 250, 250}
	oneshot := []Message{
		Resize{Width: 4, Height: 4},
		Image{X: 0, Y: 0, W: 4, H: 1, Encoding: ZRGB, Data: o.piece(row)},
		Image{X: 0, Y: 1, W: 2, H: 2, Encoding: ZRGB1, Data: oneShot([]byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12})},
		Image{X: 2, Y: 1, W: 2, H: 2, Encoding: ZPalette1, Data: oneShot(packPalette(colours(3), indices(3, 4), 2))},
		Image{X: 0, Y: 3, W: 4, H: 1, Encoding: ZRGB, Data: o.piece(row)},
		Image{X: 0, Y: 0, W: 0, H: 0, Encoding: ZRGB1, Data: storedZlib(nil)}, // empty, still a whole stream
		Frame{ID: 1},
	}
	return []struct {
		name string
		msgs []Message
	}{{"stream-zrgb", zrgb}, {"stream-zpalette", zpal}, {"stream-oneshot", oneshot}}
}

// terminalStreamVector is terminal output in TERMINAL and TERMINAL_DEFLATE messages, the
// pieces of one stream referring back to earlier ones; Terminal is all of it, inflated.
func terminalStreamVector() vector {
	s := newStreamWriter()
	out := [][]byte{
		[]byte("$ "),
		[]byte("ls -l\r\ntotal 0\r\n-rw-r--r-- 1 user user 0 Jan  1 00:00 grüße.txt\r\n"),
		[]byte("\x1b[1;32m-rw-r--r-- 1 user user 0 Jan  1 00:00 grüße.txt\x1b[0m\r\n"),
		[]byte("-rw-r--r-- 1 user user 0 Jan  1 00:00 \xe6\xbc"), // a character split between messages
		[]byte("\xa2字.txt\r\n$ "),
	}
	msgs := []Message{TerminalScrollback{Lines: 1000}, Terminal{Data: out[0]}}
	for _, o := range out[1:] {
		msgs = append(msgs, TerminalDeflate{Size: len(o), Data: s.piece(o)})
	}
	msgs = append(msgs, Frame{ID: 1})
	var b []byte
	var ds []map[string]any
	for _, m := range msgs {
		b = m.Append(b)
		ds = append(ds, describe(m))
	}
	all := hex.EncodeToString(bytes.Join(out, nil))
	return vector{Name: "stream-terminal", Hex: hex.EncodeToString(b), Messages: ds, Terminal: &all}
}

// terminalOutput inflates the terminal output of msgs, in order.
func terminalOutput(msgs []Message) ([]byte, error) {
	var z TerminalInflater
	var out []byte
	for _, m := range msgs {
		switch m := m.(type) {
		case Terminal:
			out = append(out, m.Data...)
		case TerminalDeflate:
			b, err := z.Inflate(m)
			if err != nil {
				return nil, err
			}
			out = append(out, b...)
		}
	}
	return out, nil
}

// canvasErrorVectors decode, but drawing them on a fresh canvas must fail: one-shot
// IMAGE data that is not exactly one complete zlib stream of the rectangle's size.
func canvasErrorVectors() []vector {
	img := func(enc uint8, data []byte) string {
		b := Resize{Width: 2, Height: 2}.Append(nil)
		return hex.EncodeToString(Image{W: 2, H: 2, Encoding: enc, Data: data}.Append(b))
	}
	px := []byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}
	badSum := storedZlib(px)
	badSum[len(badSum)-1] ^= 1
	flushed := newStreamWriter().piece(px) // a sync-flushed piece: no final block, no checksum
	// Palette: a count byte of 3 colours with the bytes of a 2-colour layout.
	pal := append([]byte{2, 0, 0, 0, 9, 9, 9}, 0, 0x40)
	return []vector{
		{Name: "canvas-zrgb1-short", Hex: img(ZRGB1, storedZlib(px[:9]))},
		{Name: "canvas-zrgb1-long", Hex: img(ZRGB1, storedZlib(append(px, 13)))},
		{Name: "canvas-zrgb1-bad-checksum", Hex: img(ZRGB1, badSum)},
		{Name: "canvas-zrgb1-not-final", Hex: img(ZRGB1, flushed)},
		{Name: "canvas-zrgb1-bytes-after", Hex: img(ZRGB1, append(storedZlib(px), 0))},
		{Name: "canvas-zpalette1-count", Hex: img(ZPalette1, storedZlib(pal))},
	}
}

func malformedVectors() []vector {
	return []vector{
		{Name: "malformed-truncated-header", Hex: "0604000000"[:8]},
		{Name: "malformed-length-beyond-end", Hex: "060400000001"},
		{Name: "malformed-short-fill", Hex: hex.EncodeToString(Unknown{T: TypeFill, Payload: make([]byte, 10)}.Append(nil))},
		{Name: "malformed-prompt-no-prompts", Hex: hex.EncodeToString(Prompt{ID: 1}.Append(nil))},
		{Name: "malformed-prompt-text-beyond-end", Hex: hex.EncodeToString(Unknown{T: TypePrompt, Payload: []byte{1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 5, 0, 'a'}}.Append(nil))},
		{Name: "malformed-prompt-response-17-answers", Hex: hex.EncodeToString(PromptResponse{ID: 1, Answers: make([]string, MaxPrompts+1)}.Append(nil))},
		{Name: "malformed-clipboard-content-repeated", Hex: hex.EncodeToString(Unknown{T: TypeClipboardContent, Payload: clipItems(2, MIMEHTML, "x")}.Append(nil))},
		{Name: "malformed-clipboard-content-not-png", Hex: hex.EncodeToString(ClientClipboardContent{PNG: []byte("PNG")}.Append(nil))},
		{Name: "malformed-clipboard-content-data-beyond-end", Hex: hex.EncodeToString(Unknown{T: TypeClipboardContent, Payload: clipItems(1, MIMEText, "ab")[:17]}.Append(nil))},
		{Name: "malformed-prompt-response-answer-too-long", Hex: hex.EncodeToString(PromptResponse{ID: 1, Answers: []string{strings.Repeat("a", MaxPromptText+1)}}.Append(nil))},
		{Name: "malformed-terminal-deflate-size-0", Hex: hex.EncodeToString(TerminalDeflate{Size: 0, Data: []byte{0x78, 0x01}}.Append(nil))},
		{Name: "malformed-terminal-deflate-too-big", Hex: hex.EncodeToString(TerminalDeflate{Size: MaxTerminalData + 1, Data: []byte{0x78, 0x01}}.Append(nil))},
		{Name: "malformed-terminal-deflate-short", Hex: hex.EncodeToString(Unknown{T: TypeTerminalDeflate, Payload: []byte{1, 0, 0}}.Append(nil))},
		{Name: "malformed-terminal-scrollback-short", Hex: hex.EncodeToString(Unknown{T: TypeTerminalScrollback, Payload: []byte{1, 0}}.Append(nil))},
		{Name: "malformed-audio-short", Hex: hex.EncodeToString(Unknown{T: TypeAudio, Payload: []byte{1, 0, 0}}.Append(nil))},
		{Name: "malformed-audio-format-3-channels", Hex: hex.EncodeToString(AudioFormat{Codec: CodecPCM, Channels: 3, SampleRate: 48000}.Append(nil))},
		{Name: "malformed-audio-format-rate-low", Hex: hex.EncodeToString(AudioFormat{Codec: CodecOpus, Channels: 2, SampleRate: MinSampleRate - 1}.Append(nil))},
		{Name: "malformed-audio-format-rate-high", Hex: hex.EncodeToString(AudioFormat{Codec: CodecMP3, Channels: 1, SampleRate: MaxSampleRate + 1}.Append(nil))},
		{Name: "malformed-audio-format-none-with-rate", Hex: hex.EncodeToString(AudioFormat{Codec: CodecNone, Channels: 0, SampleRate: 44100}.Append(nil))},
		{Name: "malformed-audio-format-short", Hex: hex.EncodeToString(Unknown{T: TypeAudioFormat, Payload: []byte{1, 2, 0x44, 0xac, 0}}.Append(nil))},
		{Name: "malformed-audio-enable-2", Hex: hex.EncodeToString(Unknown{T: TypeAudioEnable, Payload: []byte{2}}.Append(nil))},
		{Name: "malformed-notice-level-2", Hex: hex.EncodeToString(Notice{Level: 2, Text: "x"}.Append(nil))},
		{Name: "malformed-notice-empty", Hex: hex.EncodeToString(Notice{Level: NoticeInfo}.Append(nil))},
		{Name: "malformed-notice-too-long", Hex: hex.EncodeToString(Notice{Level: NoticeWarning, Text: strings.Repeat("a", MaxNoticeText+1)}.Append(nil))},
		{Name: "malformed-notice-not-utf8", Hex: hex.EncodeToString(Unknown{T: TypeNotice, Payload: []byte{0, 'o', 'k', 0xc3}}.Append(nil))},
		{Name: "malformed-ping-short", Hex: hex.EncodeToString(Unknown{T: TypePing, Payload: []byte{1, 2, 3}}.Append(nil))},
		{Name: "malformed-pong-short", Hex: hex.EncodeToString(Unknown{T: TypePong}.Append(nil))},
		{Name: "malformed-terminal-size-0", Hex: hex.EncodeToString(TerminalSize{Cols: 0, Rows: 24}.Append(nil))},
		{Name: "malformed-terminal-size-short", Hex: hex.EncodeToString(Unknown{T: TypeTerminalSize, Payload: []byte{80, 0, 24}}.Append(nil))},
		{Name: "malformed-files-flags-4", Hex: hex.EncodeToString(Files{Flags: 4, Token: "t"}.Append(nil))},
		{Name: "malformed-files-no-token", Hex: hex.EncodeToString(Files{Flags: FilesUpload}.Append(nil))},
		{Name: "malformed-files-token-65", Hex: hex.EncodeToString(Files{Token: strings.Repeat("a", MaxFilesToken+1)}.Append(nil))},
		{Name: "malformed-files-token-slash", Hex: hex.EncodeToString(Files{Token: "a/b"}.Append(nil))},
		{Name: "malformed-file-ready-relative", Hex: hex.EncodeToString(FileReady{Path: "Download/a"}.Append(nil))},
		{Name: "malformed-file-ready-root", Hex: hex.EncodeToString(FileReady{Path: "/"}.Append(nil))},
		{Name: "malformed-file-ready-not-utf8", Hex: hex.EncodeToString(FileReady{Path: "/a\xff"}.Append(nil))},
		{Name: "malformed-file-ready-too-long", Hex: hex.EncodeToString(FileReady{Path: "/" + strings.Repeat("a", MaxFilePath)}.Append(nil))},
		{Name: "malformed-files-short", Hex: hex.EncodeToString(Unknown{T: TypeFiles, Payload: []byte{1, 0, 0, 0, 0, 0, 0, 0}}.Append(nil))},
		{Name: "malformed-share-short", Hex: hex.EncodeToString(Unknown{T: TypeShare, Payload: []byte{0, 0, 1, 0, 0}}.Append(nil))},
		{Name: "malformed-share-op-2", Hex: hex.EncodeToString(Share{Op: 2}.Append(nil))},
		{Name: "malformed-shares-17-links", Hex: hex.EncodeToString(Shares{Links: make([]ShareLink, MaxShareLinks+1)}.Append(nil))},
		{Name: "malformed-shares-kind-2", Hex: hex.EncodeToString(Unknown{T: TypeShares, Payload: []byte{1, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}}.Append(nil))},
		{Name: "malformed-shares-text-beyond-end", Hex: hex.EncodeToString(Unknown{T: TypeShares, Payload: []byte{1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3, 0, 'a'}}.Append(nil))},
		{Name: "malformed-shares-link-after-watcher", Hex: hex.EncodeToString(Unknown{T: TypeShares, Payload: []byte{2, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}}.Append(nil))},
		{Name: "malformed-shares-watcher-expires", Hex: hex.EncodeToString(Unknown{T: TypeShares, Payload: []byte{1, 1, 0, 0, 0, 0, 0, 5, 0, 0, 0, 0, 0}}.Append(nil))},
		{Name: "malformed-shares-text-not-utf8", Hex: hex.EncodeToString(Shares{Watchers: []Watcher{{Name: "a\xff"}}}.Append(nil))},
		{Name: "malformed-notice-short", Hex: hex.EncodeToString(Unknown{T: TypeNotice}.Append(nil))},
		{Name: "malformed-cursor-short-pixels", Hex: hex.EncodeToString(Unknown{T: TypeCursor, Payload: []byte{0, 0, 0, 0, 1, 0, 1, 0, 1, 2, 3}}.Append(nil))},
	}
}

func buildVectors(t *testing.T) []vector {
	var vs []vector
	for _, tc := range allMessages() {
		vs = append(vs, vector{Name: tc.name, Hex: hex.EncodeToString(tc.m.Append(nil)), Message: describe(tc.m)})
	}
	for _, sv := range streamVectors() {
		var b []byte
		var ds []map[string]any
		c := NewCanvas()
		for _, m := range sv.msgs {
			b = m.Append(b)
			ds = append(ds, describe(m))
			if err := c.Apply(m); err != nil {
				t.Fatalf("%s: %v", sv.name, err)
			}
		}
		vs = append(vs, vector{Name: sv.name, Hex: hex.EncodeToString(b), Messages: ds, Canvas: canvasOf(c)})
	}
	vs = append(vs, terminalStreamVector())
	for _, mv := range malformedVectors() {
		mv.Error = "malformed"
		vs = append(vs, mv)
	}
	for _, cv := range canvasErrorVectors() {
		cv.Error = "canvas"
		vs = append(vs, cv)
	}
	return vs
}

func canvasOf(c *Canvas) *canvasVector {
	img := c.Image()
	rgb := make([]byte, 0, len(img.Pix)/4*3)
	for i := 0; i < len(img.Pix); i += 4 {
		rgb = append(rgb, img.Pix[i:i+3]...)
	}
	return &canvasVector{Width: img.Rect.Dx(), Height: img.Rect.Dy(), RGB: hex.EncodeToString(rgb)}
}

// roundJSON makes a value compare equal to what json.Unmarshal gives back.
func roundJSON(t *testing.T, v any) any {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestVectors(t *testing.T) {
	if *update {
		vs := buildVectors(t)
		b, err := json.MarshalIndent(vs, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(vectorsPath, append(b, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	raw, err := os.ReadFile(vectorsPath)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	var file []vector
	if err := json.Unmarshal(raw, &file); err != nil {
		t.Fatal(err)
	}
	// The file covers what the code has: same names, and single messages encode the same.
	built := buildVectors(t)
	if len(built) != len(file) {
		t.Fatalf("file has %d vectors, code %d: run with -update", len(file), len(built))
	}
	seen := map[Type]bool{}
	for i, v := range file {
		if v.Name != built[i].Name {
			t.Fatalf("vector %d is %q, code has %q: run with -update", i, v.Name, built[i].Name)
		}
		b, err := hex.DecodeString(v.Hex)
		if err != nil {
			t.Fatalf("%s: %v", v.Name, err)
		}
		var got []map[string]any
		c := NewCanvas()
		err = Decode(b, func(m Message) error {
			seen[m.Type()] = true
			got = append(got, describe(m))
			if v.Canvas == nil && v.Error != "canvas" {
				return nil
			}
			return c.Apply(m)
		})
		switch {
		case v.Error == "canvas":
			if !errors.Is(err, ErrCanvas) {
				t.Errorf("%s: drawing gave %v, want ErrCanvas", v.Name, err)
			}
			continue
		case v.Error != "":
			if err == nil || errors.Is(err, ErrCanvas) {
				t.Errorf("%s: decoding gave %v, want a decoding error", v.Name, err)
			}
			continue
		case err != nil:
			t.Errorf("%s: %v", v.Name, err)
			continue
		case v.Message != nil:
			if v.Hex != built[i].Hex {
				t.Errorf("%s: file hex %s, code encodes %s", v.Name, v.Hex, built[i].Hex)
			}
			if len(got) != 1 || !reflect.DeepEqual(roundJSON(t, got[0]), roundJSON(t, v.Message)) {
				t.Errorf("%s: decoded %v, file says %v", v.Name, got, v.Message)
			}
		case v.Terminal != nil:
			if !reflect.DeepEqual(roundJSON(t, got), roundJSON(t, v.Messages)) {
				t.Errorf("%s: decoded messages differ from the file", v.Name)
			}
			var ms []Message
			Decode(b, func(m Message) error { ms = append(ms, m); return nil })
			out, err := terminalOutput(ms)
			if err != nil || hex.EncodeToString(out) != *v.Terminal {
				t.Errorf("%s: terminal output %q (%v), file says %s", v.Name, out, err, *v.Terminal)
			}
		default:
			if !reflect.DeepEqual(roundJSON(t, got), roundJSON(t, v.Messages)) {
				t.Errorf("%s: decoded messages differ from the file", v.Name)
			}
			if v.Canvas == nil || !reflect.DeepEqual(*canvasOf(c), *v.Canvas) {
				t.Errorf("%s: canvas %+v, file says %+v", v.Name, canvasOf(c), v.Canvas)
			}
		}
	}
	for ty := range typeNames {
		if !seen[ty] {
			t.Errorf("no vector of type %v", ty)
		}
	}
}
