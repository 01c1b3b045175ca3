package authz

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/racgate/racgate/config"
)

func forwardAuth(t *testing.T, h config.ForwardAuthHeaders, recheck string) *ForwardAuth {
	t.Helper()
	cfg := config.ForwardAuthConfig{Headers: h, RecheckInterval: time.Second,
		TrustedProxies: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("fd00::1/128")}}
	if recheck != "" {
		u, err := url.Parse(recheck)
		if err != nil {
			t.Fatal(err)
		}
		cfg.RecheckURL = u
	}
	return NewForwardAuth(cfg, nil)
}

func TestForwardTrusted(t *testing.T) {
	f := forwardAuth(t, config.AuthentikHeaders, "")
	for addr, want := range map[string]bool{
		"10.1.2.3": true, "::ffff:10.1.2.3": true, "fd00::1": true,
		"11.0.0.1": false, "127.0.0.1": false, "fd00::2": false, "::1": false,
	} {
		if got := f.Trusted(netip.MustParseAddr(addr)); got != want {
			t.Errorf("Trusted(%s) = %v", addr, got)
		}
	}
}

// TestForwardUser: authentik's headers and the generic Remote-* ones give the user, its
// groups (split, trimmed, without repeats) and attributes; broken headers are errors.
func TestForwardUser(t *testing.T) {
	f := forwardAuth(t, config.AuthentikHeaders, "")
	h := http.Header{}
	h.Set("X-authentik-username", "alice")
	h.Set("X-authentik-groups", "staff| admins ||staff")
	h.Set("X-authentik-email", "alice@example.com")
	h.Set("X-authentik-name", "Alice Liddell")
	h.Set("X-authentik-uid", "f00d")
	h.Set("X-authentik-meta-jwt", "e30")
	h.Set("X-Authentik-Meta-Outpost", "embedded")
	u, ok, err := f.User(h)
	if err != nil || !ok {
		t.Fatalf("User: %v, %v", ok, err)
	}
	if u.Username != "alice" || !slices.Equal(u.Groups, []string{"staff", "admins"}) || u.Email != "alice@example.com" ||
		u.Name != "Alice Liddell" || u.UID != "f00d" || u.Source != SourceForwardAuth ||
		len(u.Attributes) != 2 || u.Attributes["jwt"] != "e30" || u.Attributes["outpost"] != "embedded" {
		t.Fatalf("User = %+v", u)
	}
	if !u.Allowed([]string{"admins"}) || u.Allowed([]string{"ops"}) {
		t.Error("group checks")
	}

	r := forwardAuth(t, config.RemoteHeaders, "")
	h = http.Header{"Remote-User": {"bob"}, "Remote-Groups": {"dev,ops"}, "X-Authentik-Username": {"mallory"}}
	if u, ok, err := r.User(h); err != nil || !ok || u.Username != "bob" || !slices.Equal(u.Groups, []string{"dev", "ops"}) {
		t.Fatalf("Remote-*: %+v %v %v", u, ok, err)
	}
	if _, ok, err := r.User(http.Header{"X-Authentik-Username": {"mallory"}}); ok || err != nil {
		t.Errorf("headers of another preset: %v, %v", ok, err)
	}

	for name, h := range map[string]http.Header{
		"repeated":   {"X-Authentik-Username": {"alice", "bob"}},
		"too long":   {"X-Authentik-Username": {"alice"}, "X-Authentik-Name": {strings.Repeat("a", maxHeaderValue+1)}},
		"control":    {"X-Authentik-Username": {"ali\x01ce"}},
		"not UTF-8":  {"X-Authentik-Username": {"ali\xffce"}},
		"groups":     {"X-Authentik-Username": {"alice"}, "X-Authentik-Groups": {manyGroups(maxGroups + 1)}},
		"attributes": metaHeaders(maxAttributes + 1),
	} {
		if _, ok, err := f.User(h); !errors.Is(err, ErrBadHeader) || ok {
			t.Errorf("%s: %v, %v", name, ok, err)
		}
	}
	if _, ok, err := f.User(metaHeaders(maxAttributes)); !ok || err != nil {
		t.Errorf("%d attributes: %v, %v", maxAttributes, ok, err)
	}
	if u, ok, err := f.User(http.Header{"X-Authentik-Username": {"alice"}, "X-Authentik-Groups": {manyGroups(maxGroups)}}); !ok || err != nil || len(u.Groups) != maxGroups {
		t.Errorf("%d groups: %v, %v", maxGroups, ok, err)
	}
	if _, ok, err := f.User(http.Header{"X-Authentik-Groups": {"admins"}}); ok || err != nil {
		t.Errorf("no username: %v, %v", ok, err)
	}
}

func manyGroups(n int) string {
	var gs []string
	for i := range n {
		gs = append(gs, "g"+strconv.Itoa(i))
	}
	return strings.Join(gs, "|")
}

func metaHeaders(n int) http.Header {
	h := http.Header{"X-Authentik-Username": {"alice"}}
	for i := range n {
		h.Set("X-Authentik-Meta-A"+strings.Repeat("x", i), "v")
	}
	return h
}

func TestForwardLoginID(t *testing.T) {
	a := []*http.Cookie{{Name: "authentik_proxy_1", Value: "abc"}}
	b := []*http.Cookie{{Name: "authentik_proxy_1", Value: "abd"}}
	same := []*http.Cookie{{Name: "authentik_proxy_1", Value: "abc"}}
	if ForwardLoginID("alice", a) != ForwardLoginID("alice", same) {
		t.Error("not stable")
	}
	if ForwardLoginID("alice", a) == ForwardLoginID("alice", b) || ForwardLoginID("alice", a) == ForwardLoginID("bob", a) {
		t.Error("two sessions share an ID")
	}
}

// TestForwardRecheck: the proxy's answers as Recheck reads them, asked with the user's
// cookies and the URL they opened, redirects not followed.
func TestForwardRecheck(t *testing.T) {
	var status int
	var user string
	var gotCookie, gotURL string
	ps := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotCookie, gotURL = r.Header.Get("Cookie"), r.Header.Get("X-Original-URL")
		if user != "" {
			w.Header().Set("X-authentik-username", user)
		}
		if status == http.StatusFound {
			w.Header().Set("Location", "/signin")
		}
		w.WriteHeader(status)
	}))
	defer ps.Close()
	f := forwardAuth(t, config.AuthentikHeaders, ps.URL+"/outpost.goauthentik.io/auth/nginx")
	ck := []*http.Cookie{{Name: "authentik_proxy_1", Value: "s3cret"}}
	for _, c := range []struct {
		status  int
		user    string
		want    bool
		wantErr bool
	}{
		{200, "alice", true, false},
		{200, "", true, false},
		{204, "alice", true, false},
		{200, "bob", false, false}, // the cookie now signs in someone else
		{401, "", false, false},
		{403, "", false, false},
		{302, "", false, false},
		{500, "", false, true},
		{404, "", false, true},
	} {
		status, user = c.status, c.user
		ok, err := f.Recheck(context.Background(), "alice", ck, "https://gw.example/ws/desk")
		if ok != c.want || (err != nil) != c.wantErr {
			t.Errorf("answer %d (%q): %v, %v", c.status, c.user, ok, err)
		}
		if gotCookie != "authentik_proxy_1=s3cret" || gotURL != "https://gw.example/ws/desk" {
			t.Errorf("asked with Cookie %q, X-Original-URL %q", gotCookie, gotURL)
		}
	}
	ps.Close()
	if ok, err := f.Recheck(context.Background(), "alice", ck, ""); ok || err == nil {
		t.Errorf("proxy down: %v, %v", ok, err)
	}
	if ok, err := forwardAuth(t, config.AuthentikHeaders, "").Recheck(context.Background(), "alice", ck, ""); !ok || err != nil {
		t.Errorf("no recheck-url: %v, %v", ok, err)
	}
}

// TestForwardLogin: a request from a trusted proxy gives the user and the proxy's session
// cookies (only those with the configured prefixes, never racgate's own); from anywhere
// else nothing. ClientIP takes the proxy's X-Forwarded-For only from the proxy.
func TestForwardLogin(t *testing.T) {
	f := forwardAuth(t, config.AuthentikHeaders, "")
	f.cfg.SessionCookies = []string{"authentik_proxy_"}
	r := httptest.NewRequest("GET", "/", nil)
	r.RemoteAddr = "10.0.0.9:5000"
	r.Header.Set("X-authentik-username", "alice")
	r.Header.Set("Cookie", "racgate_session=x; authentik_proxy_7=s; _pk_id=1")
	r.Header.Set("X-Forwarded-For", "192.0.2.1, 198.51.100.4")
	l, err := f.Login(r, "racgate_session", &url.URL{Scheme: "https", Host: "gw.example"})
	if err != nil || l == nil || l.User.Username != "alice" || len(l.Cookies) != 1 || l.Cookies[0].Name != "authentik_proxy_7" ||
		l.ID != ForwardLoginID("alice", l.Cookies) || l.URL != "https://gw.example/" {
		t.Fatalf("Login: %+v, %v", l, err)
	}
	if ip := ClientIP(f, r); ip != "198.51.100.4" {
		t.Errorf("ClientIP behind the proxy: %s", ip)
	}
	r.RemoteAddr = "192.0.2.50:5000"
	if l, err := f.Login(r, "racgate_session", nil); l != nil || err != nil {
		t.Errorf("from an untrusted address: %+v, %v", l, err)
	}
	if ip := ClientIP(f, r); ip != "192.0.2.50" {
		t.Errorf("ClientIP from elsewhere: %s", ip)
	}
	if ip := ClientIP(nil, r); ip != "192.0.2.50" {
		t.Errorf("ClientIP without forward-auth: %s", ip)
	}
}

// FuzzForwardUser: any header values give a user within the bounds, or ErrBadHeader;
// never a panic, never a user without a name, never more groups or attributes than
// allowed, never a control character in what comes out.
func FuzzForwardUser(f *testing.F) {
	f.Add("alice", "staff|admins", "a@b", "Alice", "u1", "meta-x", "v")
	f.Add("", "", "", "", "", "", "")
	f.Add("bob\x01", "|||", "\xff", strings.Repeat("n", 300), "", "", "")
	fa := NewForwardAuth(config.ForwardAuthConfig{Headers: config.AuthentikHeaders}, nil)
	f.Fuzz(func(t *testing.T, user, groups, email, name, uid, metaKey, metaVal string) {
		// Long values are the unit tests' (TestForwardUser); here they would only slow
		// the fuzzer's minimizer down to a crawl.
		if len(user+groups+email+name+uid+metaKey+metaVal) > 1024 {
			return
		}
		h := http.Header{}
		for k, v := range map[string]string{"X-Authentik-Username": user, "X-Authentik-Groups": groups,
			"X-Authentik-Email": email, "X-Authentik-Name": name, "X-Authentik-Uid": uid,
			"X-Authentik-Meta-" + metaKey: metaVal} {
			if v != "" {
				h[http.CanonicalHeaderKey(k)] = []string{v}
			}
		}
		u, ok, err := fa.User(h)
		switch {
		case err != nil:
			if !errors.Is(err, ErrBadHeader) || ok || u != nil {
				t.Fatalf("error %v with %v, %v", err, ok, u)
			}
			return
		case !ok:
			return
		}
		if u.Username == "" || len(u.Groups) > maxGroups || len(u.Attributes) > maxAttributes {
			t.Fatalf("user %+v", u)
		}
		for _, s := range append([]string{u.Username, u.Email, u.Name, u.UID}, u.Groups...) {
			if len(s) > maxHeaderValue || strings.ContainsFunc(s, func(r rune) bool { return r < ' ' || r == 0x7f }) {
				t.Fatalf("value %q passed", s)
			}
		}
	})
}
