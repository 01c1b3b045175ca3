package config

import (
	"time"

	"go.yaml.in/yaml/v3"
)

// Sharing is how a provider's sessions may be shared while they run (docs/sharing.md):
// their owners give share links, administrators watch from /admin.
type Sharing struct {
	Enabled       bool          // owners may create share links
	AllowControl  bool          // links may give control, not only a view
	DefaultExpiry time.Duration // a link's lifetime when its owner picks none
	MaxExpiry     time.Duration // the longest lifetime an owner may pick
	// Announce tells owners when an administrator watches; watchers who came by the
	// owner's own links are always shown.
	Announce bool
}

// Bounds and defaults of sharing.
const (
	defaultShareExpiry = time.Hour
	defaultShareMax    = 8 * time.Hour
	minShareExpiry     = time.Minute
	maxShareExpiry     = 7 * 24 * time.Hour
)

// DefaultSharing is a provider's sharing when its config says nothing: links of either
// mode for an hour by default, up to 8 hours, administrators' watching announced.
var DefaultSharing = Sharing{Enabled: true, AllowControl: true, DefaultExpiry: defaultShareExpiry, MaxExpiry: defaultShareMax, Announce: true}

// SharingFor is how sessions of ep may be shared: its provider's sharing.
func (c *Config) SharingFor(ep *Endpoint) Sharing {
	if p := c.provider(ep.Provider); p != nil && p.Sharing != nil {
		return *p.Sharing
	}
	return DefaultSharing
}

// sharing reads a provider's sharing mapping.
func (d *decoder) sharing(k string, v *yaml.Node) *Sharing {
	s := DefaultSharing
	if !d.mapping(v, k, map[string]fieldFunc{
		"enabled":        func(k string, v *yaml.Node) { d.boolean(v, k, &s.Enabled) },
		"allow-control":  func(k string, v *yaml.Node) { d.boolean(v, k, &s.AllowControl) },
		"default-expiry": func(k string, v *yaml.Node) { d.shareExpiry(v, k, &s.DefaultExpiry) },
		"max-expiry":     func(k string, v *yaml.Node) { d.shareExpiry(v, k, &s.MaxExpiry) },
		"announce":       func(k string, v *yaml.Node) { d.boolean(v, k, &s.Announce) },
	}) {
		return nil
	}
	if s.DefaultExpiry > s.MaxExpiry {
		d.errorf(v, k, "default-expiry %v is over max-expiry %v", s.DefaultExpiry, s.MaxExpiry)
	}
	return &s
}

// shareExpiry reads a share link's lifetime: a minute to a week.
func (d *decoder) shareExpiry(v *yaml.Node, k string, dst *time.Duration) {
	d.durationAtLeast(v, k, dst, minShareExpiry)
	if *dst > maxShareExpiry {
		d.errorf(v, k, "must be at most %v", maxShareExpiry)
	}
}
