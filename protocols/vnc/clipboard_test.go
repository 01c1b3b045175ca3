package vnc

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"io"
	"testing"
)

func cutText(b []byte) []byte {
	m := append([]byte{msgServerCutText, 0, 0, 0}, be32(nil, uint32(len(b)))...)
	return append(m, b...)
}

func extClip(flags uint32, payload []byte) []byte {
	m := append([]byte{msgServerCutText, 0, 0, 0}, be32(nil, negLen(4+len(payload)))...)
	m = be32(m, flags)
	return append(m, payload...)
}

func provide(text string) []byte {
	var z bytes.Buffer
	zw := zlib.NewWriter(&z)
	zw.Write(be32(nil, uint32(len(text))))
	zw.Write([]byte(text))
	zw.Close()
	return z.Bytes()
}

func TestLegacyClipboard(t *testing.T) {
	var got []string
	c, _, conn := mustRun(t, append(serverHello(4, 4), cutText([]byte("caf\xe9"))...), Config{OnClipboard: func(s string) { got = append(got, s) }})
	if len(got) != 1 || got[0] != "café" {
		t.Fatalf("clipboard %q", got)
	}
	if err := c.SetClipboard("né ✓"); err != nil {
		t.Fatal(err)
	}
	want := append([]byte{msgClientCutText, 0, 0, 0, 0, 0, 0, 4}, "n\xe9 ?"...)
	if !bytes.HasSuffix(conn.written.Bytes(), want) {
		t.Fatalf("wrote %q", conn.written.Bytes())
	}
}

func TestExtendedClipboard(t *testing.T) {
	var got []string
	stream := serverHello(4, 4)
	stream = append(stream, extClip(clipCaps|clipText|clipRTF|clipRequest|clipNotify|clipProvide, append(be32(nil, 1<<20), be32(nil, 1<<20)...))...)
	stream = append(stream, extClip(clipNotify|clipText, nil)...)
	stream = append(stream, extClip(clipProvide|clipText, provide("h\u00e9llo \u2713\r\n\u4e16\u754c\x00"))...)
	stream = append(stream, extClip(clipRequest|clipText, nil)...)
	c, _, conn := mustRun(t, stream, Config{OnClipboard: func(s string) { got = append(got, s) }})
	if len(got) != 1 || got[0] != "héllo ✓\n世界" {
		t.Fatalf("clipboard %q", got)
	}
	w := conn.written.Bytes()
	caps := append([]byte{msgClientCutText, 0, 0, 0}, be32(nil, negLen(8))...)
	caps = be32(caps, clipCaps|clipRequest|clipPeek|clipNotify|clipProvide|clipText)
	caps = be32(caps, maxTextLen)
	if !bytes.Contains(w, caps) {
		t.Fatal("no caps reply")
	}
	req := append([]byte{msgClientCutText, 0, 0, 0}, be32(nil, negLen(4))...)
	if !bytes.Contains(w, be32(req, clipRequest|clipText)) {
		t.Fatal("no request after notify")
	}
	// The server's request was answered with a Provide of our (empty) text.
	if !bytes.Contains(w, be32(nil, clipProvide|clipText)) {
		t.Fatal("no provide after request")
	}
	// SetClipboard now announces with Notify, and a Request gets the text.
	if err := c.SetClipboard("a\nb ✓"); err != nil {
		t.Fatal(err)
	}
	if !bytes.HasSuffix(conn.written.Bytes(), be32(append(bytes.Clone(req[:4]), be32(nil, negLen(4))...), clipNotify|clipText)) {
		t.Fatalf("no notify: %x", conn.written.Bytes())
	}
	conn.written.Reset()
	c.r = newReader(bytes.NewReader(extClip(clipRequest|clipText, nil)))
	if err := c.readMessage(); err != nil {
		t.Fatal(err)
	}
	m := conn.written.Bytes()
	if len(m) < 12 || m[0] != msgClientCutText || binary.BigEndian.Uint32(m[8:]) != clipProvide|clipText {
		t.Fatalf("provide %x", m)
	}
	zr, err := zlib.NewReader(bytes.NewReader(m[12:]))
	if err != nil {
		t.Fatal(err)
	}
	data, _ := io.ReadAll(zr)
	if want := append(be32(nil, 9), "a\r\nb \u2713\x00"...); !bytes.Equal(data, want) {
		t.Fatalf("provided %q, want %q", data, want)
	}
	if err := c.SetClipboard(string(make([]byte, maxTextLen+1))); err == nil {
		t.Fatal("oversized clipboard accepted")
	}
}
