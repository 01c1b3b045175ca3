package clipboard

import (
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"

	"github.com/racgate/racgate/config"
	"github.com/racgate/racgate/protocols/rdp"
	"github.com/racgate/racgate/render/wire"
)

// defaultImageBytes is rdp.Config.ClipboardMaxImageBytes when zero (protocols/rdp's
// default): an image of at most this many bytes as a 32-bit bitmap passes either way.
const defaultImageBytes = 16 << 20

// Configure reads an RDP endpoint's clipboard settings into cfg: normalize-clipboard
// (checked here, applied by RDP) and clipboard-max-bytes, a limit on UTF-8 text that
// the channel carries as UTF-16 ending in NUL.
func Configure(cfg *rdp.Config, set config.Settings) error {
	switch n := set["normalize-clipboard"]; n {
	case "", "preserve", "unix", "windows":
	default:
		return fmt.Errorf("setting normalize-clipboard: want preserve, unix or windows, got %q", n)
	}
	n := wire.MaxClipboard
	if s := set["clipboard-max-bytes"]; s != "" {
		var err error
		n, err = strconv.Atoi(s)
		if err != nil || n < 1 || n > wire.MaxClipboard {
			return fmt.Errorf("setting clipboard-max-bytes: want 1-%d, got %q", wire.MaxClipboard, s)
		}
	}
	cfg.ClipboardMaxBytes = 2*n + 2 // UTF-16 takes at most twice UTF-8's bytes
	return nil
}

// RDP is an RDP connection's clipboard as the session sees it: which ways it may go
// (disable-copy, disable-paste, read-only), line ends, images as PNG, and what the user
// is told when a copy does not pass.
type RDP struct {
	paste     bool   // the browser's clipboard may go to the remote
	lines     string // normalize-clipboard
	maxText   int    // text bytes, for the notices
	maxPixels int    // of a browser's image
	notice    func(level uint8, text string)
	log       *slog.Logger

	// The remote's copies are numbered; one whose image was still being encoded
	// when a newer one came is not delivered after it.
	mu     sync.Mutex
	copies uint64
}

// Setter sets the remote clipboard: *rdp.Session.
type Setter interface {
	SetClipboardContent(rdp.ClipboardContent) error
}

// NewRDP sets cfg up for the endpoint's clipboard: the remote's content to the
// browsers through toBrowser (nil: disable-copy), the browser's to the remote through
// Paste unless disable-paste or read-only. Neither way: nil, and no clipboard channel is
// asked for. notice tells the user why a copy did not pass; it may be nil.
func NewRDP(cfg *rdp.Config, set config.Settings, toBrowser func(wire.ClipboardContent), notice func(uint8, string), log *slog.Logger) *RDP {
	c := &RDP{paste: !set.Bool("disable-paste") && !set.Bool("read-only"), lines: set["normalize-clipboard"],
		maxText: (cfg.ClipboardMaxBytes - 2) / 2, notice: notice, log: log}
	imageBytes := cfg.ClipboardMaxImageBytes
	if imageBytes == 0 {
		imageBytes = defaultImageBytes
	}
	c.maxPixels = max(imageBytes, 0) / 4
	if c.notice == nil {
		c.notice = func(uint8, string) {}
	}
	copyOK := !set.Bool("disable-copy") && toBrowser != nil
	switch {
	case !copyOK && !c.paste:
		return nil
	case !copyOK:
		// The channel for the browser's clipboard only: the remote's is never fetched.
		cfg.Clipboard = pasteOnly{}
		return c
	}
	cfg.ClipboardContent = func(content rdp.ClipboardContent, err error) {
		switch {
		case errors.Is(err, rdp.ErrClipboardImageTooLarge):
			log.Warn("remote clipboard image not passed on", "err", err)
			c.notice(wire.NoticeWarning, fmt.Sprintf("The remote clipboard's image is over the %d-byte limit; only its text was copied.", imageBytes))
		case err != nil:
			log.Warn("remote clipboard not passed on", "err", err)
			c.notice(wire.NoticeWarning, c.trouble(err))
			return
		}
		out := wire.ClipboardContent{Text: Lines(content.Text, c.lines), HTML: content.HTML}
		c.mu.Lock()
		c.copies++
		n := c.copies
		c.mu.Unlock()
		if content.Image == nil {
			c.deliver(n, out, toBrowser)
			return
		}
		// Encoding a large image takes a while: not on the connection's goroutine.
		go func() {
			png, err := EncodePNG(content.Image)
			if err != nil {
				log.Warn("remote clipboard image not passed on", "err", err)
			}
			out.PNG = png
			c.deliver(n, out, toBrowser)
		}()
	}
	return c
}

// deliver passes copy n on unless a newer one was passed already. An empty remote
// clipboard is not passed: it would only wipe the browser's.
func (c *RDP) deliver(n uint64, out wire.ClipboardContent, toBrowser func(wire.ClipboardContent)) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if n == c.copies && (out.Text != "" || out.HTML != "" || len(out.PNG) > 0) {
		toBrowser(out)
	}
}

// trouble tells the user why a copy on the remote did not arrive.
func (c *RDP) trouble(err error) string {
	switch {
	case errors.Is(err, rdp.ErrClipboardTooLarge):
		return fmt.Sprintf("The remote clipboard is over the %d-byte limit and was not copied.", c.maxText)
	case errors.Is(err, rdp.ErrClipboardTimeout):
		return "The remote clipboard did not answer; copy again on the remote machine."
	}
	return "The remote clipboard could not be read as text."
}

// Paste offers the browser's clipboard to the remote through s. What is over a limit,
// or an image that cannot be decoded, is left out with a notice; the session goes on.
func (c *RDP) Paste(s Setter, in wire.ClipboardContent) error {
	if c == nil || !c.paste {
		return nil
	}
	out := rdp.ClipboardContent{Text: Lines(in.Text, c.lines), HTML: in.HTML}
	if len(in.PNG) > 0 {
		img, err := DecodePNG(in.PNG, c.maxPixels)
		if err != nil {
			c.log.Warn("clipboard image from the browser not passed on", "err", err)
			c.notice(wire.NoticeWarning, "The image on your clipboard was not sent: "+imageTrouble(err))
		}
		out.Image = img
	}
	if out.Text == "" && out.HTML == "" && out.Image == nil {
		return nil
	}
	err := s.SetClipboardContent(out)
	if errors.Is(err, rdp.ErrClipboardTooLarge) {
		c.log.Warn("clipboard from the browser not passed on", "err", err)
		c.notice(wire.NoticeWarning, "Your clipboard is over the remote clipboard's size limit and was not sent.")
		return nil
	}
	return err
}

func imageTrouble(err error) string {
	if errors.Is(err, ErrImageTooLarge) {
		return "it is larger than the remote clipboard takes."
	}
	return "it is not a PNG image racgate can read."
}

// pasteOnly is the clipboard handler of a connection whose remote clipboard must not
// reach the browser (disable-copy): the remote's changes are acknowledged, never read.
type pasteOnly struct{}

func (pasteOnly) ClipboardFormats([]rdp.ClipboardFormat) {}
func (pasteOnly) ClipboardData(uint32, []byte, bool)     {}
