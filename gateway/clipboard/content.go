// Package clipboard carries a clipboard between the browsers and a remote machine:
// what goes to the browsers is made to fit the wire (ForBrowser), normalize-clipboard
// sets line ends (Lines), images become PNG and back (png.go), and RDP adapts an RDP
// connection's clipboard to the session (rdp.go).
package clipboard

import (
	"strings"

	"github.com/racgate/racgate/render/wire"
)

// ForBrowser is the message that gives the browsers c: CLIPBOARD for text alone, else
// CLIPBOARD_CONTENT. Text and HTML are made valid UTF-8 of at most wire.MaxClipboard
// bytes; an image the message cannot hold is left out, and dropped says so. ok is false
// when nothing is left to send.
func ForBrowser(c wire.ClipboardContent) (m wire.Message, dropped, ok bool) {
	c.Text = wire.ValidText(c.Text, wire.MaxClipboard)
	c.HTML = wire.ValidText(c.HTML, wire.MaxClipboard)
	if len(c.PNG) > 0 && c.Size() > wire.MaxServerMessage {
		c.PNG, dropped = nil, true
	}
	switch {
	case c.HTML == "" && len(c.PNG) == 0 && c.Text == "":
		return nil, dropped, false
	case c.HTML == "" && len(c.PNG) == 0:
		return wire.Clipboard{Text: c.Text}, dropped, true
	}
	return c, dropped, true
}

// Lines applies normalize-clipboard (Guacamole's): "unix" ends lines in LF, "windows"
// in CR LF; anything else (preserve, the default) leaves text as it is.
func Lines(text, mode string) string {
	if mode != "unix" && mode != "windows" {
		return text
	}
	text = strings.ReplaceAll(text, "\r\n", "\n")
	text = strings.ReplaceAll(text, "\r", "\n")
	if mode == "windows" {
		text = strings.ReplaceAll(text, "\n", "\r\n")
	}
	return text
}
