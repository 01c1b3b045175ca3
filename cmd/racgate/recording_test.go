package main

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/racgate/racgate/internal/peers"
	"github.com/racgate/racgate/recording"
)

// TestKill9LeavesPlayableRecording: racgate killed with SIGKILL while it records a VNC
// session leaves a file that reads (torn or not, without its end record) and plays from
// its last key frame to the picture Xvnc shows.
func TestKill9LeavesPlayableRecording(t *testing.T) {
	peers.Require(t, "Xvnc", "xwd", "xsetroot")
	x := peers.StartXvnc(t, peers.XvncOptions{Geometry: "320x240"})
	x.Run(t, "xsetroot", "-solid", "#336699")
	dir := t.TempDir()
	cfgText := strings.Replace(exampleWithXvnc(t, x), "  - name: lab\n", "  - name: lab\n    recording: {path: "+dir+", key-frame-interval: 1s}\n", 1)
	p, addr, _ := startRacgate(t, cfgText)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	openDesktop(t, ctx, "http://"+addr, &http.Client{Transport: &http.Transport{}}) // a browser that draws at once
	p.waitLine(`msg=recording`)
	// The screen changes whole every half second: key frames at 0, 1 and 2 s (a still
	// screen would keep its first only).
	for _, c := range []string{"#993366", "#669933", "#336699", "#999933", "#339999"} {
		time.Sleep(500 * time.Millisecond)
		x.Run(t, "xsetroot", "-solid", c)
	}
	time.Sleep(300 * time.Millisecond)
	screen := x.Screenshot(t)
	if err := p.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	p.cmd.Wait()

	var path string
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			path = p
		}
		return nil
	})
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("no recording: %v", err)
	}
	rec, err := recording.Read(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	if rec.Ended || len(rec.Keys) < 2 || rec.Duration < 2*time.Second {
		t.Fatalf("ended %v, %d key frames, %v long", rec.Ended, len(rec.Keys), rec.Duration)
	}
	canvas, err := rec.Replay(bytes.NewReader(data), rec.Keys[len(rec.Keys)-1], nil)
	if err != nil {
		t.Fatal(err)
	}
	if n, first := peers.DiffRGB(canvas.Image(), screen); n != 0 {
		t.Fatalf("played from the last key frame: %d pixels differ from xwd (%s)", n, first)
	}
}
