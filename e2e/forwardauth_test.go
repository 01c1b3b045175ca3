package e2e

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"testing"

	"github.com/racgate/racgate/internal/peers"
)

// forwardProxy is a stand-in for authentik's proxy outpost: it passes every request on to
// racgate (websockets included) with the user it signed in named in authentik's headers,
// and drops whatever X-authentik-* headers the browser sent.
func forwardProxy(t *testing.T, target, user, groups string) string {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	rp := &httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) {
		r.SetURL(u)
		r.Out.Host = r.In.Host // as a proxy in front does: racgate sees the browser's host
		for k := range r.Out.Header {
			if strings.HasPrefix(strings.ToLower(k), "x-authentik-") {
				r.Out.Header.Del(k)
			}
		}
		r.Out.Header.Set("X-authentik-username", user)
		r.Out.Header.Set("X-authentik-groups", groups)
	}}
	hs := httptest.NewServer(rp)
	t.Cleanup(hs.Close)
	return hs.URL
}

// TestBrowserForwardAuth: behind a forward-auth proxy, the browser signs in without a
// racgate password, sees only the endpoints its groups and policies open to it, and opens
// one: the desktop reaches the canvas through the proxy, websocket and all.
func TestBrowserForwardAuth(t *testing.T) {
	peers.Require(t, "Xvnc", "xwd", "xsetroot")
	x := peers.StartXvnc(t, peers.XvncOptions{Geometry: "640x480"})
	x.Run(t, "xsetroot", "-solid", "#2a6f3b")
	cfg := fmt.Sprintf(`
store: memory
auth:
  builtin: false
  forward-auth:
    trusted-proxies: [127.0.0.1/32]
policies:
  - name: admins-only
    groups: [admins]
providers:
  - name: test
endpoints:
  - name: desk
    provider: test
    protocol: vnc
    host: %s
    groups: [staff]
  - name: secret
    provider: test
    protocol: vnc
    host: 127.0.0.1:1
    policies: [admins-only]
  - name: ops-only
    provider: test
    protocol: vnc
    host: 127.0.0.1:1
    groups: [ops]
  - name: lobby
    provider: test
    protocol: vnc
    host: 127.0.0.1:1
`, x.Addr)
	base := serveConfig(t, cfg)
	// Straight to racgate, without the proxy: nobody is signed in.
	resp, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Get(base + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("racgate without the proxy: %s, want a redirect to sign in", resp.Status)
	}

	b := startBrowser(t, forwardProxy(t, base, "alice", "staff|everyone"))
	b.do(map[string]any{"setViewport": map[string]any{"width": 640, "height": 480}})
	b.do(map[string]any{"goto": "/"})
	var listed []string
	for _, name := range []string{"desk", "secret", "ops-only", "lobby"} {
		res := b.do(map[string]any{"text": fmt.Sprintf(`a[data-endpoint=%q]`, name)})
		if s, _ := res["text"].(string); s != "" {
			listed = append(listed, name)
		}
	}
	if strings.Join(listed, ",") != "desk,lobby" {
		t.Fatalf("endpoints listed for alice (staff): %v, want desk and lobby", listed)
	}
	if res := b.do(map[string]any{"text": "body"}); !strings.Contains(res["text"].(string), "alice") {
		t.Errorf("the page does not name alice: %q", res["text"])
	}
	b.do(map[string]any{"open": "desk"})
	b.do(map[string]any{"waitState": "connected", "timeoutMs": 20000})
	waitCanvasEquals(t, b, x, "the desktop through the proxy")
}
