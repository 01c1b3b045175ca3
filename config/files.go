package config

import "go.yaml.in/yaml/v3"

// Files is how a provider's sessions may transfer files (docs/files.md). An endpoint
// turns transfer on with Guacamole's settings (enable-sftp and the sftp-* ones).
type Files struct {
	MaxUpload int64 // bytes in one upload; 0: no limit
	// DailyUserLimit bounds the bytes one user moves in a day (UTC), uploads and
	// downloads together, across every instance sharing the store; 0: no limit.
	DailyUserLimit int64
}

// DefaultFiles is a provider's file transfer when its config says nothing: uploads of up
// to 4 GiB each.
var DefaultFiles = Files{MaxUpload: 4 << 30}

// FilesFor is how sessions of ep may transfer files: its provider's limits.
func (c *Config) FilesFor(ep *Endpoint) Files {
	if p := c.provider(ep.Provider); p != nil && p.Files != nil {
		return *p.Files
	}
	return DefaultFiles
}

// files reads a provider's files mapping.
func (d *decoder) files(k string, v *yaml.Node) *Files {
	f := DefaultFiles
	if !d.mapping(v, k, map[string]fieldFunc{
		"max-upload":       func(k string, v *yaml.Node) { d.size(v, k, &f.MaxUpload) },
		"daily-user-limit": func(k string, v *yaml.Node) { d.size(v, k, &f.DailyUserLimit) },
	}) {
		return nil
	}
	return &f
}
