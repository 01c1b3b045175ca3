package e2e

import (
	"fmt"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"
)

// TestBrowserLauncher: in Chromium, the endpoint list of 300 endpoints in three providers
// filters as the user types (every word, any provider), goes from the filter to the list
// and through it with the arrow keys, opens with Enter, shows the last opened endpoint
// first under Recent, and says when nothing matches.
func TestBrowserLauncher(t *testing.T) {
	hash, err := bcrypt.GenerateFromPassword([]byte(testPassword), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	providers := []string{"lab-a", "lab-b", "lab-c"}
	var cfg strings.Builder
	fmt.Fprintf(&cfg, "store: memory\nusers:\n  - username: %s\n    password-hash: %q\nproviders:\n", testUser, hash)
	for _, p := range providers {
		fmt.Fprintf(&cfg, "  - name: %s\n", p)
	}
	cfg.WriteString("endpoints:\n")
	type ep struct{ name, provider string }
	var eps []ep
	for i := range 300 {
		e := ep{fmt.Sprintf("host-%03d", i), providers[i%3]}
		eps = append(eps, e)
		proto := []string{"vnc", "rdp", "ssh"}[i%3]
		fmt.Fprintf(&cfg, "  - name: %s\n    provider: %s\n    protocol: %s\n    host: 127.0.0.1:1\n", e.name, e.provider, proto)
	}
	b := startBrowser(t, serveConfig(t, cfg.String()))
	b.do(map[string]any{"login": map[string]any{"username": testUser, "password": testPassword}})
	b.do(map[string]any{"goto": "/"})
	visible := func(sel string) int {
		n, _ := b.do(map[string]any{"visible": sel})["count"].(float64)
		return int(n)
	}
	if n := visible("#endpoints section[data-provider] li"); n != 300 {
		t.Fatalf("%d endpoints shown, want 300", n)
	}

	// "/" goes to the filter; every word must match, the provider's name included.
	b.do(map[string]any{"key": "/"})
	if a := b.do(map[string]any{"active": true}); a["id"] != "filter" {
		t.Fatalf("after /, the focus is on %v", a)
	}
	b.do(map[string]any{"fill": map[string]any{"selector": "#filter", "value": "lab-b 7"}})
	var want []string
	for _, e := range eps {
		if e.provider == "lab-b" && strings.Contains(e.name, "7") {
			want = append(want, e.name)
		}
	}
	if n := visible("#endpoints section[data-provider] li"); n != len(want) {
		t.Fatalf("filter %q shows %d endpoints, want %d", "lab-b 7", n, len(want))
	}
	if n := visible("section[data-provider]"); n != 1 {
		t.Fatalf("%d provider sections shown for a lab-b filter", n)
	}
	if txt := b.do(map[string]any{"text": "#count"})["text"]; txt != fmt.Sprintf("%d of 300 endpoints", len(want)) {
		t.Errorf("count line %q", txt)
	}

	// Arrows: from the filter into the list, down, and up again.
	b.do(map[string]any{"key": "ArrowDown"})
	b.do(map[string]any{"key": "ArrowDown"})
	b.do(map[string]any{"key": "ArrowUp"})
	if a := b.do(map[string]any{"active": true}); a["endpoint"] != want[0] {
		t.Fatalf("after ArrowDown, Down, Up the focus is on %v, want %s", a, want[0])
	}
	b.do(map[string]any{"key": "ArrowDown"})
	res := b.do(map[string]any{"keyAndWait": "Enter"})
	if u, _ := res["url"].(string); !strings.HasSuffix(u, "/connect/"+want[1]) {
		t.Fatalf("Enter on the second match went to %s, want /connect/%s", u, want[1])
	}

	// Back to the list: the last opened comes first, under Recent.
	b.do(map[string]any{"goto": "/"})
	if n := visible("#recent li"); n != 1 {
		t.Fatalf("%d recent endpoints shown, want 1", n)
	}
	if txt := b.do(map[string]any{"text": "#recent li .name"})["text"]; txt != want[1] {
		t.Fatalf("recent: %q, want %s", txt, want[1])
	}
	// Nothing matches: said so; Escape clears the filter.
	b.do(map[string]any{"fill": map[string]any{"selector": "#filter", "value": "no-such-endpoint"}})
	if visible("#no-match") != 1 || visible("#endpoints li") != 0 {
		t.Fatal("an empty filter result does not say so")
	}
	b.do(map[string]any{"key": "Escape"})
	if n := visible("#endpoints section[data-provider] li"); n != 300 {
		t.Fatalf("after Escape %d endpoints shown, want 300", n)
	}
}
