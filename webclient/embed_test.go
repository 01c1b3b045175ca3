package webclient

import (
	"errors"
	"io/fs"
	"strings"
	"testing"
)

func TestFSRoot(t *testing.T) {
	f := FS()
	if _, err := fs.Stat(f, ".gitkeep"); err != nil {
		t.Fatalf("FS root is not dist/: %v", err)
	}
	if _, err := fs.Stat(f, "dist"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("FS holds a dist/ folder: it should be dist's contents (err %v)", err)
	}
}

// TestFSBuilt checks the built client when `npm run build` has run.
func TestFSBuilt(t *testing.T) {
	f := FS()
	if _, err := fs.Stat(f, "client.js"); errors.Is(err, fs.ErrNotExist) {
		t.Skip("webclient not built (run make web)")
	}
	html, err := fs.ReadFile(f, "client.html")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`src="/static/client.js"`, `href="/static/client.css"`, `id="screen"`, `id="status"`, `id="reconnect"`, `id="clipboard"`, `id="clipboard-send"`} {
		if !strings.Contains(string(html), want) {
			t.Errorf("client.html lacks %s", want)
		}
	}
	for _, name := range []string{"client.js", "client.css"} {
		b, err := fs.ReadFile(f, name)
		if err != nil {
			t.Fatal(err)
		}
		if len(b) == 0 {
			t.Errorf("%s is empty", name)
		}
	}
}
