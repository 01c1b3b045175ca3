package config

import (
	"strings"
	"testing"
	"time"
)

func TestRecording(t *testing.T) {
	y := strings.Replace(goodConfig, "    connection-timeout: 1h\n",
		"    connection-timeout: 1h\n    recording:\n      path: rec\n      include-input: true\n      key-frame-interval: 5s\n      frame-interval: 0s\n", 1) +
		`  - name: quiet
    provider: lab
    protocol: vnc
    host: 127.0.0.1:5902
    recording: none
  - name: own
    provider: lab
    protocol: ssh
    host: 127.0.0.1
    recording: {path: /var/rec, file-name: "${date}/${user}-${session}", recording-required: true}
`
	c, err := Parse("/etc/racgate/racgate.yaml", []byte(y), nil)
	if err != nil {
		t.Fatal(err)
	}
	r := c.RecordingFor(c.Endpoint("desk"))
	if r == nil || r.Path != "/etc/racgate/rec" || r.FileName != DefaultRecordingFileName || !r.IncludeInput || r.KeyFrameInterval != 5*time.Second || r.FrameInterval != 0 || r.Required {
		t.Fatalf("desk (the provider's): %+v", r)
	}
	if r := c.RecordingFor(c.Endpoint("quiet")); r != nil {
		t.Fatalf("quiet (none): %+v", r)
	}
	r = c.RecordingFor(c.Endpoint("own"))
	if r == nil || r.Path != "/var/rec" || r.FileName != "${date}/${user}-${session}" || r.IncludeInput || r.KeyFrameInterval != 10*time.Second || r.FrameInterval != DefaultRecordingFrameInterval || !r.Required {
		t.Fatalf("own: %+v", r)
	}

	if got := c.RecordingPaths(); len(got) != 2 || got[0] != "/etc/racgate/rec" || got[1] != "/var/rec" {
		t.Fatalf("RecordingPaths %v", got)
	}

	for bad, want := range map[string]string{
		"    recording: {include-input: true}\n":                     `t.yaml:8: providers[0].recording.path: missing`,
		"    recording: {path: r, file-name: \"${user}\"}\n":         `providers[0].recording.file-name: the file name needs ${time} or ${session}`,
		"    recording: {path: r, file-name: \"${time}-${host}\"}\n": `unknown placeholder ${host}`,
		"    recording: {path: r, file-name: \"../${time}\"}\n":      `a ".." path element`,
		"    recording: {path: r, file-name: \"/x/${time}\"}\n":      `relative to the recording path`,
		"    recording: {path: r, key-frame-interval: 100ms}\n":      `key-frame-interval: must be at least 1s`,
		"    recording: {path: r, recording-required: maybe}\n":      `recording-required`,
		"    recording: {path: r, frame-interval: 2s}\n":             `frame-interval: want 0 to 1s, got 2s`,
		"    recording: {path: r, frame-interval: -1s}\n":            `frame-interval: want a duration`,
		"    recording: {path: r, colour: red}\n":                    `colour`,
		"    recording: none\n":                                      `providers[0].recording`,
	} {
		y := strings.Replace(goodConfig, "    connection-timeout: 1h\n", "    connection-timeout: 1h\n"+bad, 1)
		if _, err := Parse("t.yaml", []byte(y), nil); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want %q", bad, err, want)
		}
	}
	if _, err := Parse("t.yaml", []byte(goodConfig+"    recording: off\n"), nil); err == nil || !strings.Contains(err.Error(), `or none, got "off"`) {
		t.Errorf("recording: off: %v", err)
	}
}
