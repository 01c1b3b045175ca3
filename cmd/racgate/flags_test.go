package main

import (
	"bytes"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"
)

// TestHelp: every command's -h prints its usage to stdout and exits 0; a bad flag or
// missing argument prints it to stderr and exits 2.
func TestHelp(t *testing.T) {
	for _, cmd := range []string{"serve", "check-config", "hash-password", "connections"} {
		for _, h := range []string{"-h", "-help", "--help"} {
			var out, errb bytes.Buffer
			if rc := run([]string{cmd, h}, strings.NewReader(""), &out, &errb); rc != 0 || !strings.HasPrefix(out.String(), "usage: racgate "+cmd) || errb.Len() != 0 {
				t.Errorf("%s %s: rc %d, stdout %q, stderr %q", cmd, h, rc, out.String(), errb.String())
			}
		}
		var out, errb bytes.Buffer
		if rc := run([]string{cmd, "-no-such-flag"}, strings.NewReader(""), &out, &errb); rc != 2 || out.Len() != 0 || !strings.Contains(errb.String(), "usage: racgate "+cmd) {
			t.Errorf("%s -no-such-flag: rc %d, stdout %q, stderr %q", cmd, rc, out.String(), errb.String())
		}
	}
	for _, args := range [][]string{{"-h"}, {"help"}, {"version", "-h"}} {
		var out, errb bytes.Buffer
		if rc := run(args, nil, &out, &errb); rc != 0 || out.Len() == 0 {
			t.Errorf("%v: rc %d, stdout %q", args, rc, out.String())
		}
	}
	var out, errb bytes.Buffer
	if run([]string{"check-config", "-h"}, nil, &out, &errb); !strings.Contains(out.String(), "FILE") || !strings.Contains(out.String(), "-config") {
		t.Errorf("check-config -h does not say it takes FILE or -config FILE: %q", out.String())
	}
}

// TestCheckConfigFlag: check-config takes the file as an argument or as -config, as serve
// does; not both, not none.
func TestCheckConfigFlag(t *testing.T) {
	for _, c := range []struct {
		args []string
		rc   int
	}{
		{[]string{"-config", "../../examples/racgate.yaml"}, 0},
		{[]string{"../../examples/racgate.yaml"}, 0},
		{[]string{"-config", "../../examples/racgate.yaml", "../../examples/racgate.yaml"}, 2},
		{nil, 2},
	} {
		var out, errb bytes.Buffer
		if rc := run(append([]string{"check-config"}, c.args...), nil, &out, &errb); rc != c.rc {
			t.Errorf("check-config %v: rc %d, want %d (%q %q)", c.args, rc, c.rc, out.String(), errb.String())
		}
	}
}

func TestVersionOf(t *testing.T) {
	vcs := &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"}, Settings: []debug.BuildSetting{
		{Key: "vcs.revision", Value: "0123456789abcdef0123"}, {Key: "vcs.time", Value: "2026-12-06T06:00:00Z"}, {Key: "vcs.modified", Value: "true"}}}
	for _, c := range []struct {
		bi    *debug.BuildInfo
		ok    bool
		stamp string
		want  string
	}{
		{vcs, true, "", "(devel) commit 0123456789ab (modified) of 2026-12-06T06:00:00Z, go1.26.8"},
		{vcs, true, "65d8e21-dirty", "(devel) commit 65d8e21-dirty, go1.26.8"},
		{&debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v1.2.0"}}, true, "", "v1.2.0, go1.26.8"},
		{nil, false, "", "(unknown)"},
	} {
		if got := versionOf(c.bi, c.ok, c.stamp); got != c.want {
			t.Errorf("versionOf(stamp %q) = %q, want %q", c.stamp, got, c.want)
		}
	}
}

// TestVersionStamp: make build's stamp reaches `racgate version`.
func TestVersionStamp(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "racgate")
	if out, err := exec.Command("go", "build", "-ldflags", "-X main.commit=abc123def456", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	out, err := exec.Command(bin, "version").Output()
	if err != nil || !strings.HasPrefix(string(out), "racgate ") || !strings.Contains(string(out), "commit abc123def456") {
		t.Fatalf("racgate version: %q %v", out, err)
	}

}
