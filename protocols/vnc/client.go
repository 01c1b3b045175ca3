package vnc

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/racgate/racgate/internal/deadline"
	"github.com/racgate/racgate/protocols/keys"
	"github.com/racgate/racgate/render"
)

// Config configures a Client. The zero value connects with no credentials, all
// supported security types and the default encodings, at JPEG quality 0 and
// compression level 0; set QualityLevel and CompressLevel to -1 for server
// defaults. The callbacks run on Run's goroutine (OnName also during the
// handshake) and must not block it for long.
type Config struct {
	Username, Password string // Password for VNC auth / VeNCrypt; Username for *Plain
	// AskPassword, if set, gets the password for VNC authentication (also inside
	// VeNCrypt) when Password is empty: the user is asked, say. It runs during the
	// handshake with its context; its error ends the handshake.
	AskPassword func(ctx context.Context) (string, error)
	// SecurityTypes lists allowed RFB security types in preference order; nil
	// means all supported (VeNCrypt first when TLSConfig is set, then VNC
	// authentication, then None).
	SecurityTypes []uint8
	TLSConfig     *tls.Config // VeNCrypt X509*: the caller sets RootCAs/ServerName/InsecureSkipVerify
	// NoAnonymousTLS refuses VeNCrypt's TLSNone, TLSVnc and TLSPlain, whose
	// anonymous TLS encrypts but does not authenticate the server. When
	// allowed, they rank after the X509 subtypes and before Plain.
	NoAnonymousTLS bool
	// VeNCryptSubtypes lists allowed VeNCrypt subtypes (VeNCrypt*) in
	// preference order; nil means X509Plain, X509Vnc, X509None, TLSPlain,
	// TLSVnc, TLSNone, Plain. Those the rest of the config rules out (X509*
	// without TLSConfig, *Plain without Username, TLS* with NoAnonymousTLS)
	// are skipped.
	VeNCryptSubtypes []uint32
	// Encodings lists preferred encodings in order; nil means Tight, ZRLE,
	// Hextile, Zlib, RRE, CopyRect, Raw. Every supported pseudo-encoding is
	// announced after them either way.
	Encodings     []int32
	QualityLevel  int // 0..9 (Tight JPEG quality pseudo-encoding), -1 = none (lossless)
	CompressLevel int // 0..9, -1 = server default
	Shared        bool
	// FixedSize keeps the server's desktop size: CanResize reports false and
	// SetDesktopSize refuses, though ExtendedDesktopSize is still announced so that
	// the server's own size changes arrive with their screen layout.
	FixedSize bool
	// WhenWanted, if set, is asked before each incremental update request: it calls its
	// argument once an update is wanted (render.Display.WhenWanted: when a browser can
	// be sent a frame). Meanwhile the server merges what changes, so nothing is decoded
	// that no one can be shown yet. It keeps continuous updates off: with them the
	// server would push at its own rate.
	WhenWanted  func(request func())
	OnClipboard func(text string)
	OnBell      func()
	OnName      func(name string)
	Logger      *slog.Logger
}

// Client is one RFB session. Run reads and decodes server messages; the input
// methods may be called from other goroutines meanwhile.
type Client struct {
	cfg  Config
	conn net.Conn // the TLS connection after VeNCrypt X509*
	r    *reader
	sink render.Sink
	log  *slog.Logger

	wmu  sync.Mutex // owns writes to conn
	wbuf []byte

	mu         sync.Mutex // guards the fields below, read by other goroutines
	name       string
	width      int
	height     int
	canResize  bool
	screens    []screen
	qemuKeys   bool
	extClip    bool   // server announced extended clipboard caps
	clipServer uint32 // server's extended clipboard flags (formats and actions)
	clipText   string // our clipboard, provided when the server asks

	// Decoder state, used by Run's goroutine only.
	zlib          zstream
	zrle          zstream
	tight         [4]zstream
	text          tightText               // the two-colour Tight rectangle being drawn in place
	textWrite     func(dst []byte, s int) // text.write, bound once: passed on, a closure would escape per rectangle
	pix           []byte                  // decoded pixels for one rectangle or tile
	cuSeen        bool                    // the server announced ContinuousUpdates
	continuous    bool                    // continuous updates are enabled
	pendingResize bool
	stats         decodeStats
	closeOnce     sync.Once
}

// Dial connects to addr over TCP and performs the RFB handshake.
func Dial(ctx context.Context, addr string, cfg Config, sink render.Sink) (*Client, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("vnc: dial %s: %w", addr, err)
	}
	c, err := NewClient(ctx, conn, cfg, sink)
	if err != nil {
		conn.Close()
		return nil, err
	}
	return c, nil
}

// NewClient performs the RFB handshake on conn (ProtocolVersion, security,
// ClientInit/ServerInit), sets the pixel format and encodings, resizes sink to
// the server's framebuffer and requests the first update. ctx bounds the
// handshake only. On error the caller still owns (and closes) conn.
func NewClient(ctx context.Context, conn net.Conn, cfg Config, sink render.Sink) (*Client, error) {
	c := &Client{cfg: cfg, conn: conn, r: newReader(conn), sink: sink, log: cfg.Logger}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	// Cancelling ctx interrupts blocked reads and writes of the handshake.
	// The deadline is set on the TCP connection, which a TLS layer shares.
	if err := deadline.Bound(ctx, conn, "vnc: handshake", func() error { return c.handshake(ctx) }); err != nil {
		return nil, err
	}
	return c, nil
}

// Run reads server messages and draws into the sink until ctx ends, the
// connection closes or the server misbehaves (a *ProtocolError). Call it once.
func (c *Client) Run(ctx context.Context) error {
	// Cancelling ctx interrupts a blocked read or write; the caller still Closes.
	defer deadline.OnDone(ctx, c.conn)()
	for {
		err := c.readMessage()
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return err
		}
	}
}

// Close closes the connection; Run then returns.
func (c *Client) Close() error {
	var err error
	c.closeOnce.Do(func() { err = c.conn.Close() })
	return err
}

// Name is the desktop name from ServerInit or DesktopName.
func (c *Client) Name() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.name
}

// Size is the framebuffer size.
func (c *Client) Size() (width, height int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.width, c.height
}

// CanResize reports whether the server supports SetDesktopSize (it sent an
// ExtendedDesktopSize rectangle) and Config.FixedSize allows it.
func (c *Client) CanResize() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.canResize && !c.cfg.FixedSize
}

// writeTimeout bounds one write, so that a server that stops reading cannot
// block the callers of the input methods for ever.
const writeTimeout = 20 * time.Second

// send writes one message under the write lock. A failed write may have sent
// part of a message, so it closes the connection (and Run returns).
func (c *Client) send(build func(b []byte) []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.wbuf = build(c.wbuf[:0])
	c.conn.SetWriteDeadline(time.Now().Add(writeTimeout))
	if _, err := c.conn.Write(c.wbuf); err != nil {
		c.Close()
		return fmt.Errorf("vnc: write: %w", err)
	}
	return nil
}

// KeyEvent presses or releases a key. keysym is the X keysym; code is the
// browser KeyboardEvent.code, used for a QEMU extended key event when the
// server supports them (so the server need not map keysyms back to keys).
func (c *Client) KeyEvent(keysym uint32, code string, down bool) error {
	c.mu.Lock()
	qemu := c.qemuKeys
	c.mu.Unlock()
	if qemu {
		if sc, ok := keys.XTScancode(code); ok {
			// rfbproto QEMU Extended Key Event: an 0xE0-prefixed scancode is
			// sent as its low byte with the top bit set.
			keycode := uint32(sc & 0x7f)
			if sc>>8 == 0xE0 {
				keycode |= 0x80
			}
			return c.send(func(b []byte) []byte {
				b = append(b, msgQEMUClientMessage, qemuExtendedKeyEvent)
				b = be16(b, uint16(boolByte(down)))
				b = be32(b, keysym)
				return be32(b, keycode)
			})
		}
	}
	// RFC 6143 §7.5.4 KeyEvent.
	return c.send(func(b []byte) []byte {
		b = append(b, msgKeyEvent, boolByte(down), 0, 0)
		return be32(b, keysym)
	})
}

// PointerEvent moves the pointer to (x, y) with the RFB button mask: bit 0
// left, 1 middle, 2 right, 3/4 wheel up/down, 5/6 wheel left/right, 7 back.
func (c *Client) PointerEvent(mask uint8, x, y int) error {
	x, y = max(0, min(x, 0xffff)), max(0, min(y, 0xffff))
	// RFC 6143 §7.5.5 PointerEvent.
	return c.send(func(b []byte) []byte {
		b = append(b, msgPointerEvent, mask)
		b = be16(b, uint16(x))
		return be16(b, uint16(y))
	})
}

// SetDesktopSize asks the server to resize its desktop to one screen of
// width x height (rfbproto SetDesktopSize). The outcome arrives as an
// ExtendedDesktopSize rectangle; Size reports the new size once it is applied.
func (c *Client) SetDesktopSize(width, height int) error {
	if width <= 0 || height <= 0 || width > maxFramebufferWH || height > maxFramebufferWH {
		return fmt.Errorf("vnc: SetDesktopSize %dx%d out of range", width, height)
	}
	if c.cfg.FixedSize {
		return fmt.Errorf("%w: SetDesktopSize with Config.FixedSize", ErrUnsupported)
	}
	c.mu.Lock()
	ok := c.canResize
	var scr screen
	if len(c.screens) > 0 {
		scr = c.screens[0]
	}
	c.mu.Unlock()
	if !ok {
		return fmt.Errorf("%w: server did not announce ExtendedDesktopSize", ErrUnsupported)
	}
	scr.X, scr.Y, scr.Width, scr.Height = 0, 0, uint16(width), uint16(height)
	return c.send(func(b []byte) []byte {
		b = append(b, msgSetDesktopSize, 0)
		b = be16(b, uint16(width))
		b = be16(b, uint16(height))
		b = append(b, 1, 0)
		return appendScreen(b, scr)
	})
}

func appendScreen(b []byte, s screen) []byte {
	b = be32(b, s.ID)
	b = be16(b, s.X)
	b = be16(b, s.Y)
	b = be16(b, s.Width)
	b = be16(b, s.Height)
	return be32(b, s.Flags)
}

// requestUpdate sends FramebufferUpdateRequest for the whole screen (RFC 6143 §7.5.3).
func (c *Client) requestUpdate(incremental bool) error {
	c.mu.Lock()
	w, h := c.width, c.height
	c.mu.Unlock()
	return c.send(func(b []byte) []byte {
		b = append(b, msgFramebufferUpdateRequest, boolByte(incremental), 0, 0, 0, 0)
		b = be16(b, uint16(w))
		return be16(b, uint16(h))
	})
}
