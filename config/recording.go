package config

import (
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Recording is where and how a provider's or endpoint's sessions are recorded
// (docs/recording.md).
type Recording struct {
	Path             string        // the folder, resolved against the config file's folder
	FileName         string        // pattern of a file's name under Path, without extension
	IncludeInput     bool          // keystrokes and other input are recorded too
	KeyFrameInterval time.Duration // a desktop recording's seek points
	FrameInterval    time.Duration // the least time between two frames of a desktop recording
	Required         bool          // a session that cannot be recorded ends
}

// DefaultRecordingFileName is Recording.FileName when the config names none.
const DefaultRecordingFileName = "${time}-${user}-${endpoint}"

// RecordingPlaceholders are what a Recording.FileName may hold.
var RecordingPlaceholders = []string{"${user}", "${endpoint}", "${provider}", "${protocol}", "${time}", "${date}", "${session}"}

const (
	defaultKeyFrameInterval = 10 * time.Second
	minKeyFrameInterval     = time.Second
	// DefaultRecordingFrameInterval: ten frames a second hold what an auditor needs to
	// see of a desktop; damage merges between them, which keeps recordings of busy
	// screens small (docs/recording.md § Size).
	DefaultRecordingFrameInterval = 100 * time.Millisecond
	maxRecordingFrameInterval     = time.Second
)

// RecordingFor is how sessions of ep are recorded: the endpoint's recording, else its
// provider's; nil when they are not recorded (or the endpoint says recording: none).
func (c *Config) RecordingFor(ep *Endpoint) *Recording {
	if ep.Recording != nil || ep.noRecording {
		return ep.Recording
	}
	if p := c.provider(ep.Provider); p != nil {
		return p.Recording
	}
	return nil
}

// recording reads a provider's or endpoint's recording: a mapping, or (endpoints only,
// allowNone) the word none, turning the provider's off.
func (d *decoder) recording(k string, v *yaml.Node, file string, allowNone bool) (r *Recording, none bool) {
	if v.Kind == yaml.ScalarNode && allowNone {
		if v.Value != "none" {
			d.errorf(v, k, "want a mapping (path, file-name, ...) or none, got %q", v.Value)
		}
		return nil, true
	}
	r = &Recording{FileName: DefaultRecordingFileName, KeyFrameInterval: defaultKeyFrameInterval, FrameInterval: DefaultRecordingFrameInterval}
	if !d.mapping(v, k, map[string]fieldFunc{
		"path": func(k string, v *yaml.Node) {
			if p, ok := d.scalar(v, k); ok {
				r.Path = relTo(file, p)
			}
		},
		"file-name": func(k string, v *yaml.Node) {
			d.str(v, k, &r.FileName)
			if err := checkRecordingFileName(r.FileName); err != nil {
				d.errorf(v, k, "%v", err)
			}
		},
		"include-input":      func(k string, v *yaml.Node) { d.boolean(v, k, &r.IncludeInput) },
		"key-frame-interval": func(k string, v *yaml.Node) { d.durationAtLeast(v, k, &r.KeyFrameInterval, minKeyFrameInterval) },
		"frame-interval": func(k string, v *yaml.Node) {
			d.duration(v, k, &r.FrameInterval)
			if r.FrameInterval < 0 || r.FrameInterval > maxRecordingFrameInterval {
				d.errorf(v, k, "want 0 to %v, got %v", maxRecordingFrameInterval, r.FrameInterval)
			}
		},
		"recording-required": func(k string, v *yaml.Node) { d.boolean(v, k, &r.Required) },
	}) {
		return nil, false
	}
	d.required(v, k, "path", r.Path)
	return r, false
}

// checkRecordingFileName reports what is wrong with a file-name pattern: an unknown
// ${...}, an absolute path or a ".." element, or nothing that tells sessions apart.
func checkRecordingFileName(p string) error {
	if p == "" {
		return errors.New("empty file name")
	}
	rest := p
	for _, ph := range RecordingPlaceholders {
		rest = strings.ReplaceAll(rest, ph, "")
	}
	if i := strings.Index(rest, "${"); i >= 0 {
		end := strings.IndexByte(rest[i:], '}')
		if end < 0 {
			end = len(rest) - i - 1
		}
		return fmt.Errorf("unknown placeholder %s (known: %s)", rest[i:i+end+1], strings.Join(RecordingPlaceholders, " "))
	}
	if filepath.IsAbs(p) || strings.HasPrefix(p, "/") {
		return errors.New("the file name must be relative to the recording path")
	}
	for _, el := range strings.Split(p, "/") {
		if el == ".." || el == "." || el == "" {
			return fmt.Errorf("the file name has a %q path element", el)
		}
	}
	if !strings.Contains(p, "${time}") && !strings.Contains(p, "${session}") {
		return errors.New("the file name needs ${time} or ${session}, so that sessions do not share a name")
	}
	return nil
}

// RecordingPaths are the folders recordings are written to, each once, sorted.
func (c *Config) RecordingPaths() []string {
	seen := map[string]bool{}
	var out []string
	add := func(r *Recording) {
		if r != nil && !seen[r.Path] {
			seen[r.Path] = true
			out = append(out, r.Path)
		}
	}
	for _, p := range c.Providers {
		add(p.Recording)
	}
	for _, e := range c.Endpoints {
		add(e.Recording)
	}
	slices.Sort(out)
	return out
}
