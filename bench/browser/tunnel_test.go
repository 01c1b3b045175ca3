package browser

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/racgate/racgate/bench/guac"
)

// fakeGuacd answers the handshake, then sends script's instructions and reports every
// instruction the tunnel sends it on got.
func fakeGuacd(t *testing.T, script []guac.Instruction, got chan<- guac.Instruction) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		r := guac.NewReader(c)
		write := func(ins ...guac.Instruction) {
			var b []byte
			for _, i := range ins {
				b = i.Append(b)
			}
			c.Write(b)
		}
		if ins, err := r.Read(); err != nil || ins.Opcode != "select" {
			t.Errorf("want select, got %v %v", ins, err)
			return
		}
		write(guac.Instruction{Opcode: "args", Args: []string{"VERSION_1_5_0", "hostname", "port"}})
		for _, op := range []string{"size", "audio", "video", "image", "connect"} {
			if ins, err := r.Read(); err != nil || ins.Opcode != op {
				t.Errorf("want %s, got %v %v", op, ins, err)
				return
			}
		}
		write(guac.Instruction{Opcode: "ready", Args: []string{"$tunnel-test"}})
		write(script...)
		for {
			ins, err := r.Read()
			if err != nil {
				return
			}
			got <- ins
		}
	}()
	return ln.Addr().String()
}

// parseMessage splits a tunnel message into instructions; it fails on a message that
// does not end at an instruction's end.
func parseMessage(t *testing.T, msg []byte) []guac.Instruction {
	t.Helper()
	r := guac.NewReader(bytes.NewReader(msg))
	var out []guac.Instruction
	for {
		ins, err := r.Read()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatalf("message %.80q... does not hold whole instructions: %v", msg, err)
		}
		out = append(out, ins)
	}
}

// The tunnel speaks what guacamole-common-js's WebSocketTunnel expects: the tunnel's
// UUID first, in an internal instruction; then whole instructions only, small ones
// together in a message up to 8192 bytes, a larger one alone; the browser's internal
// pings answered by the tunnel and never sent to guacd; everything else relayed as it
// is.
func TestTunnel(t *testing.T) {
	big := strings.Repeat("A", 20000)
	script := []guac.Instruction{
		{Opcode: "size", Args: []string{"0", "1024", "768"}},
		{Opcode: "img", Args: []string{"1", "14", "0", "image/png", "0", "0"}},
		{Opcode: "blob", Args: []string{"1", big}},
		{Opcode: "end", Args: []string{"1"}},
		{Opcode: "sync", Args: []string{"12345", "0"}},
	}
	got := make(chan guac.Instruction, 16)
	addr := fakeGuacd(t, script, got)
	mux := http.NewServeMux()
	p := Peers{Guacd: addr, Guac: guac.Config{Protocol: "vnc", Width: 1024, Height: 768}}
	mux.HandleFunc("/ws/guac", func(w http.ResponseWriter, r *http.Request) { tunnelGuacd(w, r, p) })
	srv := &http.Server{Handler: mux}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	defer srv.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ws, resp, err := websocket.Dial(ctx, "ws://"+ln.Addr().String()+"/ws/guac", &websocket.DialOptions{Subprotocols: []string{"guacamole"}})
	if err != nil {
		t.Fatal(err)
	}
	defer ws.CloseNow()
	if resp.Header.Get("Sec-WebSocket-Protocol") != "guacamole" {
		t.Fatalf("subprotocol %q", resp.Header.Get("Sec-WebSocket-Protocol"))
	}
	ws.SetReadLimit(1 << 20)
	read := func() []guac.Instruction {
		typ, msg, err := ws.Read(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if typ != websocket.MessageText {
			t.Fatalf("message type %v", typ)
		}
		if len(msg) > maxTunnelMessage && len(parseMessage(t, msg)) > 1 {
			t.Fatalf("a message of %d bytes holds several instructions: cut it at %d", len(msg), maxTunnelMessage)
		}
		return parseMessage(t, msg)
	}
	first := read()
	if len(first) != 1 || first[0].Opcode != "" || len(first[0].Args) != 1 || first[0].Args[0] != "$tunnel-test" {
		t.Fatalf("first message %v, want the tunnel's UUID", first)
	}
	var all []guac.Instruction
	messages := 0
	for len(all) < len(script) {
		all = append(all, read()...)
		messages++
	}
	for i, ins := range script {
		if all[i].String() != ins.String() {
			t.Fatalf("instruction %d: %.60q, want %.60q", i, all[i].String(), ins.String())
		}
	}
	if messages >= len(script) {
		t.Errorf("%d instructions came in %d messages: small ones were not sent together", len(script), messages)
	}

	// The browser: a ping and a sync in one message, then a key.
	ping := guac.Instruction{Opcode: "", Args: []string{"ping", "1733500000000"}}
	var b []byte
	b = ping.Append(b)
	b = guac.Instruction{Opcode: "sync", Args: []string{"12345"}}.Append(b)
	if err := ws.Write(ctx, websocket.MessageText, b); err != nil {
		t.Fatal(err)
	}
	if err := ws.Write(ctx, websocket.MessageText, guac.Instruction{Opcode: "key", Args: []string{"97", "1"}}.Append(nil)); err != nil {
		t.Fatal(err)
	}
	if pong := read(); len(pong) != 1 || pong[0].String() != ping.String() {
		t.Fatalf("ping answered with %v", pong)
	}
	for _, want := range []string{"4.sync,5.12345;", "3.key,2.97,1.1;"} {
		select {
		case ins := <-got:
			if ins.String() != want {
				t.Fatalf("guacd got %q, want %q (an internal instruction must not reach it)", ins.String(), want)
			}
		case <-ctx.Done():
			t.Fatalf("guacd never got %q", want)
		}
	}
}
