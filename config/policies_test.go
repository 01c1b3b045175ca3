package config

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/racgate/racgate/policy"
)

const policyConfig = `listen: 127.0.0.1:0
policies:
  - name: staff
    groups: [staff]
    users: [root]
  - name: office-hours
    expression: request.time.getHours("UTC") >= 7 && request.time.getHours("UTC") < 19
  - name: rdp-admins
    groups: [admins]
    expression: endpoint.protocol == "rdp"
providers:
  - name: lab
    policies: [staff]
    property-mappings: [who]
endpoints:
  - name: desk
    provider: lab
    protocol: rdp
    host: 127.0.0.1:3389
    policies: [office-hours, rdp-admins]
    property-mappings: [fixed]
    connection-settings: [domain]
property-mappings:
  - name: who
    expression: '{"username": user.username, "domain": "CORP"}'
  - name: fixed
    settings: {username: overridden-by-nothing}
`

// TestPolicyConfig: policies bind through providers and endpoints in that order and decide
// as written; an expression mapping gives its settings at its place in the merge.
func TestPolicyConfig(t *testing.T) {
	c, err := Parse("t.yaml", []byte(policyConfig), nil)
	if err != nil {
		t.Fatal(err)
	}
	ep := c.Endpoint("desk")
	ps := c.PoliciesFor(ep)
	if len(ps) != 3 || ps[0].Name != "staff" || ps[1].Name != "office-hours" || ps[2].Name != "rdp-admins" {
		t.Fatalf("PoliciesFor: %v", ps)
	}
	day := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	in := func(user string, groups []string, at time.Time) policy.Input {
		return policy.Input{User: policy.User{Username: user, Groups: groups}, Request: policy.Request{Time: at},
			Endpoint: policy.Endpoint{Name: "desk", Protocol: "rdp"}}
	}
	for _, c := range []struct {
		in   policy.Input
		want []bool
	}{
		{in("alice", []string{"staff", "admins"}, day), []bool{true, true, true}},
		{in("root", nil, day), []bool{true, true, false}},
		{in("bob", []string{"admins"}, day.Add(10*time.Hour)), []bool{false, false, true}},
	} {
		for i, p := range ps {
			if got, err := p.Allow(context.Background(), c.in); err != nil || got != c.want[i] {
				t.Errorf("%s, policy %s: %v, %v", c.in.User.Username, p.Name, got, err)
			}
		}
	}
	set, err := c.MergeFor(context.Background(), ep, Settings{"domain": "HOME"}, in("alice", nil, day))
	// The provider's mapping comes after the connection's settings and before the
	// endpoint's mapping.
	if err != nil || set["username"] != "overridden-by-nothing" || set["domain"] != "CORP" {
		t.Fatalf("MergeFor: %v, %v", set, err)
	}
	plain, err := c.Merge(ep, nil)
	if err != nil || plain["domain"] != "" {
		t.Fatalf("Merge applies no expression: %v, %v", plain, err)
	}
}

func TestMergeForErrors(t *testing.T) {
	for _, expr := range []string{`{"usernme": "x"}`, `{"port": "none"}`, `{"username": user.attributes.nope}`} {
		c, err := Parse("t.yaml", []byte(strings.Replace(policyConfig, `'{"username": user.username, "domain": "CORP"}'`, "'"+expr+"'", 1)), nil)
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.MergeFor(context.Background(), c.Endpoint("desk"), nil, policy.Input{})
		if err == nil || !strings.Contains(err.Error(), `property mapping "who"`) {
			t.Errorf("%s: %v", expr, err)
		}
		if strings.Contains(expr, "nope") && !errors.Is(err, policy.ErrEval) {
			t.Errorf("%s: %v, want ErrEval", expr, err)
		}
	}
}

func TestBadPolicyConfigs(t *testing.T) {
	for _, c := range []struct{ old, new, want string }{
		{"policies: [office-hours, rdp-admins]", "policies: [office-hours, nope]", `t.yaml:20: endpoints[0].policies[1]: unknown policy "nope"`},
		{"    policies: [staff]\n", "    policies: [staf]\n", `t.yaml:13: providers[0].policies[0]: unknown policy "staf"`},
		{`endpoint.protocol == "rdp"`, `endpoint.protocl == "rdp"`, `t.yaml:10: policies[2].expression: ERROR: <input>:1:9: undefined field 'protocl'`},
		{`request.time.getHours("UTC") >= 7 &&`, `request.time.getHours("UTC") >= 7 ||`, ``},
		{`request.time.getHours("UTC") >= 7 && request.time.getHours("UTC") < 19`, `user.username`, `t.yaml:7: policies[1].expression: the expression gives string; want a bool`},
		{`'{"username": user.username, "domain": "CORP"}'`, `user.username`, `t.yaml:25: property-mappings[0].expression: the expression gives string; want a map of settings`},
		{"    settings: {username: overridden-by-nothing}\n", "    settings: {username: x}\n    expression: '{}'\n", `t.yaml:26: property-mappings[1]: settings and expression: give one or the other`},
		{"  - name: staff\n", "  - name: rdp-admins\n", `t.yaml:8: policies[2].name: duplicate policy name "rdp-admins" (first at line 3)`},
	} {
		y := strings.Replace(policyConfig, c.old, c.new, 1)
		if y == policyConfig {
			t.Fatalf("%q not in the config", c.old)
		}
		_, err := Parse("t.yaml", []byte(y), nil)
		if c.want == "" {
			if err != nil {
				t.Errorf("%s: %v", c.new, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s:\n got %v\nwant %s", c.new, err, c.want)
		}
	}
}
