package gateway

import (
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/racgate/racgate/internal/peers"
	"github.com/racgate/racgate/render/wire"
)

// policyConfig: a provider policy on the client's address (through the proxy's
// X-Forwarded-For), an endpoint policy on groups and users, and a property mapping whose
// expression gives the VNC password from the user's attributes.
const policyConfig = `listen: 127.0.0.1:0
public-url: https://gw.example
auth:
  forward-auth:
    trusted-proxies: [127.0.0.1/32]
policies:
  - name: admins-or-carol
    groups: [admins]
    users: [carol]
  - name: not-from-the-lab-net
    expression: '!request.ip.startsWith("10.66.")'
providers:
  - name: lab
    policies: [not-from-the-lab-net]
endpoints:
  - name: desk
    provider: lab
    protocol: vnc
    host: XVNC
    policies: [admins-or-carol]
    property-mappings: [vnc-password]
  - name: open
    provider: lab
    protocol: vnc
    host: 127.0.0.1:1
property-mappings:
  - name: vnc-password
    expression: '{"password": user.attributes["vnc-password"]}'
`

// TestPolicyMatrix: users × endpoints × policies decide as written, on the endpoint list,
// the connect page and the websocket; a refusal names the policy; the mapping's
// expression really feeds the VNC password to a real Xvnc; a reload that changes a
// policy ends a session it no longer allows.
func TestPolicyMatrix(t *testing.T) {
	peers.Require(t, "Xvnc")
	x := peers.StartXvnc(t, peers.XvncOptions{Geometry: "320x240", Password: "s3cret-pw"})
	y := strings.Replace(policyConfig, "host: XVNC", "host: "+x.Addr, 1)
	ts := newTestServer(t, y)
	as := func(user, groups, pw, from string) http.Header {
		h := http.Header{"X-Authentik-Username": {user}, "X-Authentik-Groups": {groups}}
		if pw != "" {
			h.Set("X-Authentik-Meta-Vnc-Password", pw)
		}
		if from != "" {
			h.Set("X-Forwarded-For", "198.51.100.1, "+from)
		}
		return h
	}
	alice := as("alice", "admins", "s3cret-pw", "192.0.2.7")
	for _, c := range []struct {
		name string
		h    http.Header
		list []string // endpoints on the index page
		page int      // the connect page of desk
	}{
		{"alice, an admin", alice, []string{"desk", "open"}, http.StatusOK},
		{"carol, named", as("carol", "", "wrong", ""), []string{"desk", "open"}, http.StatusOK},
		{"bob", as("bob", "staff", "s3cret-pw", ""), []string{"open"}, http.StatusForbidden},
		{"alice in the lab net", as("alice", "admins", "s3cret-pw", "10.66.0.5"), nil, http.StatusForbidden},
	} {
		body := readBody(t, ts, "/", c.h)
		for _, ep := range []string{"desk", "open"} {
			if listed := strings.Contains(body, "/connect/"+ep); listed != slices.Contains(c.list, ep) {
				t.Errorf("%s: %s listed %v", c.name, ep, listed)
			}
		}
		if resp := proxied(t, ts, "GET", "/connect/desk", "", "", c.h); resp.StatusCode != c.page {
			t.Errorf("%s: connect page of desk: %s, want %d", c.name, resp.Status, c.page)
		}
	}
	dial := func(h http.Header) *websocket.Conn {
		t.Helper()
		conn, _, err := ts.wsDial(t, &http.Client{}, "/ws/desk?width=320&height=240",
			&websocket.DialOptions{Subprotocols: []string{wire.Subprotocol}, HTTPHeader: h})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.CloseNow() })
		conn.SetReadLimit(wire.MaxServerMessage)
		return conn
	}
	refused := func(name string, h http.Header, want string) {
		t.Helper()
		c := lastClose(t, readUntil(t, dial(h), wire.TypeClose, 15*time.Second))
		if !strings.Contains(c.Reason, want) {
			t.Errorf("%s: CLOSE %d %q, want %q in it", name, c.Code, c.Reason, want)
		}
	}
	refused("bob", as("bob", "staff", "s3cret-pw", ""), `policy "admins-or-carol"`)
	refused("alice in the lab net", as("alice", "admins", "s3cret-pw", "10.66.0.5"), `policy "not-from-the-lab-net"`)
	refused("carol, whose attribute holds a wrong password", as("carol", "", "wrong", ""), "refused the credentials")
	refused("alice without the attribute", as("alice", "admins", "", ""), "could not be worked out")
	// The mapping gave the right password: a picture.
	conn := dial(alice)
	readUntil(t, conn, wire.TypeHello, 15*time.Second)

	// A reload whose policy shuts alice out ends her session, naming the policy.
	cfg, err := ParseConfig("test.yaml", []byte(strings.Replace(y, "groups: [admins]", "groups: [nobody]", 1)))
	if err != nil {
		t.Fatal(err)
	}
	if err := ts.Reload(cfg); err != nil {
		t.Fatal(err)
	}
	if c := lastClose(t, readUntil(t, conn, wire.TypeClose, 10*time.Second)); !strings.Contains(c.Reason, `policy "admins-or-carol"`) {
		t.Errorf("after the reload: CLOSE %d %q", c.Code, c.Reason)
	}
}

// readBody GETs path with headers h and returns the body.
func readBody(t *testing.T, ts *testServer, path string, h http.Header) string {
	t.Helper()
	req, _ := http.NewRequest("GET", ts.hs.URL+path, nil)
	for k, vs := range h {
		req.Header[k] = vs
	}
	resp, err := ts.client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b strings.Builder
	buf := make([]byte, 32<<10)
	for {
		n, err := resp.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			return b.String()
		}
	}
}
