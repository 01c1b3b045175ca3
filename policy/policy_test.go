package policy

import (
	"context"
	"errors"
	"maps"
	"strings"
	"testing"
	"time"
)

var alice = Input{
	User: User{Username: "alice", Email: "alice@corp.example", Groups: []string{"staff", "admins"},
		Attributes: map[string]string{"site": "berlin"}},
	Request:  Request{IP: "10.1.2.3", UserAgent: "Mozilla/5.0", Time: time.Date(2026, 12, 7, 9, 30, 0, 0, time.UTC)}, // a Monday
	Endpoint: Endpoint{Name: "desk", Protocol: "rdp", Host: "desk.corp.example"},
}

// TestPolicies: policies over each variable decide as written.
func TestPolicies(t *testing.T) {
	bob := alice
	bob.User = User{Username: "bob", Groups: []string{"contractors"}}
	bob.Request.Time = time.Date(2026, 12, 6, 22, 0, 0, 0, time.UTC) // a Sunday night
	bob.Request.IP = "203.0.113.7"
	for _, c := range []struct {
		src        string
		alice, bob bool
	}{
		{`"admins" in user.groups`, true, false},
		{`user.username == "bob"`, false, true},
		{`user.email.endsWith("@corp.example")`, true, false},
		{`"site" in user.attributes && user.attributes.site == "berlin"`, true, false},
		{`request.ip.startsWith("10.")`, true, false},
		{`request.time.getDayOfWeek("Europe/Berlin") in [1, 2, 3, 4, 5] && request.time.getHours("Europe/Berlin") >= 7 && request.time.getHours("Europe/Berlin") < 19`, true, false},
		{`endpoint.protocol == "rdp" && endpoint.host.endsWith(".corp.example")`, true, true},
		{`user.groups.exists(g, g.startsWith("contract"))`, false, true},
		{`request.user_agent.contains("Mozilla")`, true, true},
	} {
		p, err := CompilePolicy(c.src)
		if err != nil {
			t.Fatalf("%s: %v", c.src, err)
		}
		for _, who := range []struct {
			in   Input
			want bool
		}{{alice, c.alice}, {bob, c.bob}} {
			got, err := p.Allow(context.Background(), who.in)
			if err != nil || got != who.want {
				t.Errorf("%s for %s: %v, %v; want %v", c.src, who.in.User.Username, got, err, who.want)
			}
		}
	}
}

// TestCompileErrors: what check-config must refuse.
func TestCompileErrors(t *testing.T) {
	for _, c := range []struct{ src, want string }{
		{`user.nmae == "x"`, "undefined field 'nmae'"},
		{`user.username`, "want a bool"},
		{`"admins" in user.groups &&`, "Syntax error"},
		{`unknown.field`, "undeclared reference"},
		{strings.Repeat("true && ", MaxSource/8) + "true", "bytes (at most"},
	} {
		if _, err := CompilePolicy(c.src); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%.60s: %v, want %q", c.src, err, c.want)
		}
	}
	for _, c := range []struct{ src, want string }{
		{`user.username`, "want a map of settings"},
		{`[user.username]`, "want a map of settings"},
		{`{"username": user.nme}`, "undefined field 'nme'"},
	} {
		if _, err := CompileMapping(c.src); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("mapping %s: %v, want %q", c.src, err, c.want)
		}
	}
}

// TestMappings: a mapping's map becomes settings text; values of other kinds are
// evaluation errors, not panics.
func TestMappings(t *testing.T) {
	p, err := CompileMapping(`{"username": user.username, "domain": "CORP", "port": 3390, "ignore-cert": endpoint.protocol == "rdp", "client-name": user.attributes.site.upperAscii()}`)
	if err != nil {
		t.Fatal(err)
	}
	got, err := p.Settings(context.Background(), alice)
	want := map[string]string{"username": "alice", "domain": "CORP", "port": "3390", "ignore-cert": "true", "client-name": "BERLIN"}
	if err != nil || !maps.Equal(got, want) {
		t.Fatalf("Settings = %v, %v; want %v", got, err, want)
	}
	for _, src := range []string{
		`{"groups": user.groups}`,              // a list
		`{"site": user.attributes.missing}`,    // no such key
		`{"x": 1 / (size(user.username) - 5)}`, // division by zero for alice
		`{"x": dyn(1.5)}`,                      // a double
	} {
		p, err := CompileMapping(src)
		if err != nil {
			t.Fatalf("%s: %v", src, err)
		}
		if _, err := p.Settings(context.Background(), alice); !errors.Is(err, ErrEval) {
			t.Errorf("%s: %v, want ErrEval", src, err)
		}
	}
}

// TestCostBound: an expression that would take long is stopped by the cost limit.
func TestCostBound(t *testing.T) {
	p, err := CompilePolicy(`[1,2,3,4,5,6,7,8,9,10].all(a, [1,2,3,4,5,6,7,8,9,10].all(b, [1,2,3,4,5,6,7,8,9,10].all(c, [1,2,3,4,5,6,7,8,9,10].all(d, [1,2,3,4,5,6,7,8,9,10].all(e, a+b+c+d+e > 0)))))`)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Allow(context.Background(), alice); !errors.Is(err, ErrEval) || !strings.Contains(err.Error(), "cost") {
		t.Fatalf("Allow: %v, want a cost-limit error", err)
	}
}
