package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"image"
	"image/png"
	"io"
	"log/slog"
	"net"
	"os"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/racgate/racgate/bench/guac"
	"github.com/racgate/racgate/bench/report"
	"github.com/racgate/racgate/internal/peers"
)

// fakeGuacd speaks the server side of the Guacamole handshake and then sends a small PNG
// and a sync every 20 ms, counting the sync answers. guacd is not packaged in Debian:
// this checks the harness's guacd path end to end, not guacd's figures.
type fakeGuacd struct {
	ln      net.Listener
	answers atomic.Int64
	params  chan map[string]string
}

func startFakeGuacd(t *testing.T) *fakeGuacd {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeGuacd{ln: ln, params: make(chan map[string]string, 16)}
	t.Cleanup(func() { ln.Close() })
	var img bytes.Buffer
	png.Encode(&img, image.NewRGBA(image.Rect(0, 0, 32, 32)))
	blob := base64.StdEncoding.EncodeToString(img.Bytes())
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go f.serve(c, blob)
		}
	}()
	return f
}

func (f *fakeGuacd) serve(c net.Conn, blob string) {
	defer c.Close()
	r := guac.NewReader(c)
	send := func(ins ...guac.Instruction) error {
		var b []byte
		for _, i := range ins {
			b = i.Append(b)
		}
		_, err := c.Write(b)
		return err
	}
	if ins, err := r.Read(); err != nil || ins.Opcode != "select" {
		return
	}
	names := []string{"VERSION_1_5_0", "hostname", "port", "password"}
	send(guac.Instruction{Opcode: "args", Args: names})
	for {
		ins, err := r.Read()
		if err != nil {
			return
		}
		if ins.Opcode == "connect" {
			p := map[string]string{}
			for i, v := range ins.Args {
				if i < len(names) {
					p[names[i]] = v
				}
			}
			f.params <- p
			break
		}
	}
	send(guac.Instruction{Opcode: "ready", Args: []string{"$fake"}})
	go func() { // count sync answers
		for {
			ins, err := r.Read()
			if err != nil {
				return
			}
			if ins.Opcode == "sync" {
				f.answers.Add(1)
			}
		}
	}()
	for i := 0; ; i++ {
		s := strconv.Itoa(i)
		err := send(
			guac.Instruction{Opcode: "img", Args: []string{"1", "14", "0", "image/png", "0", "0"}},
			guac.Instruction{Opcode: "blob", Args: []string{"1", blob}},
			guac.Instruction{Opcode: "end", Args: []string{"1"}},
			guac.Instruction{Opcode: "sync", Args: []string{s}})
		if err != nil {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestGuacdPath(t *testing.T) {
	peers.Require(t, "Xvnc", "xterm", "xdotool", "xsetroot")
	f := startFakeGuacd(t)
	dir := t.TempDir()
	o, err := parseFlags([]string{"-duration", "1s", "-warmup", "200ms", "-guacd", f.ln.Addr().String(),
		"-guacd-pid", strconv.Itoa(os.Getpid())}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{o: o, dir: dir, log: slog.New(slog.DiscardHandler), prog: &report.Progress{}}
	sc := scenario{Name: "busy", Sessions: 2, Workload: workloadBusy}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	res := h.guacd(ctx, sc, "test")
	if res.Skipped != "" || len(res.Errors) > 0 {
		t.Fatalf("skipped %q errors %v", res.Skipped, res.Errors)
	}
	p := <-f.params
	if p["hostname"] != "127.0.0.1" || p["port"] == "" || p["password"] != "" {
		t.Errorf("connect parameters %v", p)
	}
	if res.Gateway != "guacd" || res.Bytes == 0 || res.Frames < 10 || res.FramesPerSec < 10 || res.Encodings["image/png"] == 0 {
		t.Errorf("result %+v", res)
	}
	// -guacd-pid is this process here: its CPU is counted.
	if res.CPUPerSession10s <= 0 || res.RSSBytes <= 0 {
		t.Errorf("CPU %.3f RSS %d", res.CPUPerSession10s, res.RSSBytes)
	}
	if f.answers.Load() < int64(res.Frames) {
		t.Errorf("%d sync answers for %d frames", f.answers.Load(), res.Frames)
	}
	// Ratios pair it with a racgate result of the same scenario.
	rs := report.Ratios([]report.Result{{Scenario: "busy", Gateway: "racgate", BytesPerSec: res.BytesPerSec / 2, CPUPerSession10s: res.CPUPerSession10s / 4}, res})
	if len(rs) != 1 || rs[0].Bytes != 0.5 || rs[0].CPU != 0.25 {
		t.Errorf("ratios %+v", rs)
	}
}
