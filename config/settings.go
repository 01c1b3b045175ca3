package config

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
)

// Settings is a flat map of connection parameters named as in Guacamole and authentik RAC
// (hostname, port, username, password, ignore-cert, ...). Values are strings; YAML
// booleans and numbers are kept as written ("true", "24").
type Settings map[string]string

// Bool reports a boolean setting; absent or unparsable is false.
func (s Settings) Bool(key string) bool {
	b, _ := strconv.ParseBool(s[key])
	return b
}

// ErrSettingNotAllowed is returned when a connect request sets a key the endpoint does not
// list in connection-settings.
var ErrSettingNotAllowed = errors.New("setting not allowed for this endpoint")

type settingKind uint8

const (
	kindString settingKind = iota
	kindBool
	kindPort
	kindInt
)

// knownSettings are the parameter names racgate understands (a subset of Guacamole's for
// VNC, RDP and SSH). A misspelt name in the config is an error rather than silently
// ignored.
var knownSettings = map[string]settingKind{
	// network and credentials
	"hostname": kindString, "port": kindPort, "username": kindString, "password": kindString,
	"domain": kindString, "ignore-cert": kindBool, "security": kindString,
	"cert-fingerprints": kindString,
	// clipboard and input
	"disable-copy": kindBool, "disable-paste": kindBool, "read-only": kindBool,
	"clipboard-encoding": kindString, "server-layout": kindString,
	"normalize-clipboard": kindString, "clipboard-max-bytes": kindInt,
	// display
	"color-depth": kindInt, "encodings": kindString, "quality": kindString,
	"compress-level": kindInt, "swap-red-blue": kindBool, "cursor": kindString,
	"resize-method": kindString, "dpi": kindInt, "width": kindInt, "height": kindInt,
	// the largest desktop a browser may ask for (DesktopCap)
	"max-width": kindInt, "max-height": kindInt,
	"render-min-frame-interval": kindInt, // ms between a viewer's frames; 0 = no limit
	// RDP performance flags
	"enable-wallpaper": kindBool, "enable-theming": kindBool, "enable-font-smoothing": kindBool,
	"enable-full-window-drag": kindBool, "enable-desktop-composition": kindBool,
	"enable-menu-animations": kindBool, "disable-bitmap-caching": kindBool,
	"disable-offscreen-caching": kindBool, "disable-glyph-caching": kindBool,
	"console": kindBool, "initial-program": kindString, "client-name": kindString,
	"timezone": kindString, "disable-audio": kindBool, "enable-audio-input": kindBool,
	"enable-printing": kindBool, "enable-drive": kindBool, "enable-touch": kindBool,
	// SSH
	"host-key": kindString, "private-key": kindString, "passphrase": kindString,
	"command": kindString, "color-scheme": kindString, "font-name": kindString,
	"font-size": kindInt, "scrollback": kindInt, "terminal-type": kindString,
	"locale": kindString, "server-alive-interval": kindInt, "enable-sftp": kindBool,
	"sftp-root-directory": kindString, "sftp-disable-upload": kindBool, "sftp-disable-download": kindBool,
	// SFTP beside a VNC or RDP desktop (an SSH endpoint's goes over its own connection)
	"sftp-hostname": kindString, "sftp-port": kindPort, "sftp-username": kindString, "sftp-password": kindString,
	"sftp-private-key": kindString, "sftp-passphrase": kindString, "sftp-host-key": kindString,
	// RDP drive redirection, and what its file panel allows
	"drive-name": kindString, "drive-path": kindString, "create-drive-path": kindBool,
	"disable-download": kindBool, "disable-upload": kindBool, "backspace": kindInt,
	"known-hosts-file": kindString, "ignore-host-key": kindBool,
	"terminal-frame-interval": kindInt, // ms between TERMINAL messages while output flows
	// VNC
	"dest-host": kindString, "dest-port": kindPort, "autoretry": kindInt,
	"enable-audio": kindBool, "audio-servername": kindString, // sound through PulseAudio
	"share-connection": kindBool, // racgate's: sessions with equal settings share one connection
}

// checkSetting validates one key/value pair on its own (not against a protocol).
// maxMappedSetting bounds a value a property mapping's expression gives.
const maxMappedSetting = 4096

// checkMappedSetting checks a setting an expression gave: as in the file, and bounded.
func checkMappedSetting(key, value string) error {
	if len(value) > maxMappedSetting {
		return fmt.Errorf("setting %s: %d bytes (at most %d)", key, len(value), maxMappedSetting)
	}
	return checkSetting(key, value)
}

func checkSetting(key, value string) error {
	kind, ok := knownSettings[key]
	if !ok {
		return fmt.Errorf("unknown setting %q", key)
	}
	switch kind {
	case kindBool:
		if _, err := strconv.ParseBool(value); err != nil {
			return fmt.Errorf("setting %s: want true or false, got %q", key, value)
		}
	case kindPort:
		if p, err := strconv.Atoi(value); err != nil || p < 1 || p > 65535 {
			return fmt.Errorf("setting %s: want a port 1-65535, got %q", key, value)
		}
	case kindInt:
		if _, err := strconv.Atoi(value); err != nil {
			return fmt.Errorf("setting %s: want a whole number, got %q", key, value)
		}
	}
	if key == "quality" && value != "lossless" {
		if q, err := strconv.Atoi(value); err != nil || q < 0 || q > 9 {
			return fmt.Errorf("setting quality: want 0-9 or lossless, got %q", value)
		}
	}
	if key == "render-min-frame-interval" {
		if ms, _ := strconv.Atoi(value); ms < 0 || ms > 1000 {
			return fmt.Errorf("setting render-min-frame-interval: want 0-1000 (ms), got %q", value)
		}
	}
	if key == "terminal-frame-interval" {
		if ms, _ := strconv.Atoi(value); ms < 0 || ms > 1000 {
			return fmt.Errorf("setting terminal-frame-interval: want 0-1000 (ms), got %q", value)
		}
	}
	if key == "max-width" || key == "max-height" {
		if n, _ := strconv.Atoi(value); n < minDesktopCap || n > MaxDesktopSide {
			return fmt.Errorf("setting %s: want %d-%d (pixels), got %q", key, minDesktopCap, MaxDesktopSide, value)
		}
	}
	if key == "compress-level" {
		if c, _ := strconv.Atoi(value); c < 0 || c > 9 {
			return fmt.Errorf("setting compress-level: want 0-9, got %q", value)
		}
	}
	return nil
}

// The desktop size a browser may ask for (connect request, RESIZE) is capped by the
// settings max-width and max-height: each pixel costs racgate 4 bytes of framebuffer and
// as much again of a viewer's scratch, and the remote server as much again, so a browser
// asking for 8192x8192 would cost hundreds of MB. The default fits a 4K-wide screen.
const (
	// MaxDesktopSide bounds either side of any desktop: the connect request, a RESIZE,
	// max-width and max-height.
	MaxDesktopSide = 8192

	defaultMaxWidth  = 4096
	defaultMaxHeight = 2304
	minDesktopCap    = 64
)

// DesktopCap is the largest desktop a browser may ask for under these settings.
// Values were checked by checkSetting; an unparsable one (impossible after Merge) means
// the default.
func (s Settings) DesktopCap() (w, h int) {
	w, h = defaultMaxWidth, defaultMaxHeight
	if n, err := strconv.Atoi(s["max-width"]); err == nil && n >= minDesktopCap && n <= MaxDesktopSide {
		w = n
	}
	if n, err := strconv.Atoi(s["max-height"]); err == nil && n >= minDesktopCap && n <= MaxDesktopSide {
		h = n
	}
	return w, h
}

// ClampDesktop brings a browser's requested size within the cap, each side on its own:
// a request is clamped rather than refused, so a browser on a big screen still connects.
func (s Settings) ClampDesktop(w, h int) (int, int) {
	mw, mh := s.DesktopCap()
	return min(w, mw), min(h, mh)
}

// Merge returns the settings for one connection to ep, merged lowest to highest
// precedence: provider settings, endpoint settings (with host as hostname and port),
// connection settings, provider property mappings, endpoint property mappings. conn holds
// what the connect request asked for; a key the endpoint does not allow is an error
// wrapping ErrSettingNotAllowed, as is an invalid value.
//
// A property mapping with an expression adds nothing here (there is no user to evaluate
// it for): MergeFor applies it.
func (c *Config) Merge(ep *Endpoint, conn Settings) (Settings, error) {
	return c.merge(ep, conn, func(pm *PropertyMapping) (Settings, error) { return pm.Settings, nil })
}

func (c *Config) merge(ep *Endpoint, conn Settings, mapped func(*PropertyMapping) (Settings, error)) (Settings, error) {
	prov := c.provider(ep.Provider)
	if prov == nil {
		return nil, fmt.Errorf("endpoint %q: unknown provider %q", ep.Name, ep.Provider)
	}
	for _, k := range slices.Sorted(maps.Keys(conn)) {
		if !slices.Contains(ep.ConnectionSettings, k) {
			return nil, fmt.Errorf("%q: %w", k, ErrSettingNotAllowed)
		}
		if err := checkSetting(k, conn[k]); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrSettingNotAllowed, err)
		}
	}
	out := make(Settings, 16)
	maps.Copy(out, prov.Settings)
	maps.Copy(out, ep.Settings)
	out["hostname"], out["port"] = ep.hostname, ep.port
	maps.Copy(out, conn)
	for _, names := range [][]string{prov.PropertyMappings, ep.PropertyMappings} {
		for _, name := range names {
			pm := c.mapping(name)
			if pm == nil {
				return nil, fmt.Errorf("endpoint %q: unknown property mapping %q", ep.Name, name)
			}
			set, err := mapped(pm)
			if err != nil {
				return nil, err
			}
			maps.Copy(out, set)
		}
	}
	return out, nil
}

// String lists the keys (never the values: they may be passwords) for logs.
func (s Settings) String() string {
	return "[" + strings.Join(slices.Sorted(maps.Keys(s)), " ") + "]"
}
