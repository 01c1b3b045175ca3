// Package rdp is a Remote Desktop Protocol client (MS-RDPBCGR with TLS or
// NLA: CredSSP (MS-CSSP) over NTLMv2 (MS-NLMP)). It decodes what the
// server sends into a render.Sink and sends keyboard and pointer input.
//
// One file per protocol layer: tpkt.go (TPKT, X.224 negotiation), tls.go,
// ntlm.go and credssp.go (NLA),
// mcs.go (T.125), gcc.go (T.124 and the data blocks), info.go (Client Info),
// licensing.go, capabilities.go, finalize.go, slowpath.go and fastpath.go
// (share PDUs and fast-path output/input), bitmap.go and planar.go (bitmap
// codecs), channel.go (static virtual channels), drdynvc.go and
// drdynvc_pdu.go (dynamic virtual channels, MS-RDPEDYC), rdpsnd.go and
// rdpsnd_pdu.go (audio output, MS-RDPEA), rdpdr.go and rdpdr_pdu.go (device
// redirection without devices, MS-RDPEFS, which Windows needs for sound),
// cliprdr.go, cliprdr_pdu.go and cliprdr_text.go (clipboard, MS-RDPECLIP),
// cfhtml.go (the clipboard's HTML, CF_HTML). session.go holds Session, one
// user session over several connections: it resizes by reconnecting where
// the server has no Display Control.
package rdp

import (
	"context"
	"crypto/x509"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"syscall"
	"time"

	"github.com/racgate/racgate/internal/deadline"
	"github.com/racgate/racgate/render"
)

// Config configures a Client. Setting names in comments are the
// Guacamole/authentik ones the gateway maps from.
type Config struct {
	Username, Password, Domain string // username, password, domain
	// Security is "any" (or empty: TLS or NLA, as the server prefers),
	// "nla" (CredSSP), "nla-ext" (CredSSP with the early authorization
	// result), "tls" or "rdp" (standard RDP security, not implemented).
	Security string
	// IgnoreCert accepts any server certificate (ignore-cert).
	IgnoreCert bool
	// CertFingerprints pins server certificates by SHA-256 of the DER
	// certificate: "sha256:<hex>" (cert-fingerprints).
	CertFingerprints []string
	// RootCAs verifies the server certificate; nil means the system roots.
	RootCAs *x509.CertPool
	// Width and Height of the desktop (width, height); 1024x768 when zero.
	Width, Height int
	// DPI (dpi) is sent as the desktop scale factor and physical size in
	// the Client Core Data; 0 sends neither (the server assumes 96).
	DPI int
	// ColorDepth is 15, 16, 24 or 32 (color-depth); 32 when zero.
	ColorDepth     int
	ClientName     string // client-name; "racgate" when empty
	KeyboardLayout uint32 // server-layout as a Windows keyboard layout ID; 0x409 (US) when zero
	Timezone       string // timezone, an IANA name ("Europe/Berlin")
	Performance    PerformanceFlags
	Logger         *slog.Logger
	// Audio receives the session's sound (audio output redirection,
	// MS-RDPEA, over the static channel "rdpsnd" or the dynamic channel
	// "AUDIO_PLAYBACK_DVC"); it also requests "rdpdr" (with no devices)
	// and "drdynvc". nil requests none of these channels, and the server
	// plays no sound to this client.
	Audio AudioHandler
	// AudioFormats are the formats the client offers, in order of
	// preference; empty (with Audio set) means PCM, 44.1 kHz, stereo,
	// 16 bits only. See AudioFormat and the WaveFormat constants.
	AudioFormats []AudioFormat
	// Clipboard shares the clipboard with the session (MS-RDPECLIP, over
	// the static channel "cliprdr"): it receives the remote clipboard, and
	// Client.SetClipboardText sets the local one. nil requests no
	// clipboard channel.
	Clipboard ClipboardHandler
	// DisplayControl asks for the Display Control channel (MS-RDPEDISP,
	// over drdynvc), through which Client.Resize asks the server for a new
	// desktop size while connected.
	DisplayControl bool
	// ClipboardText, when Clipboard is nil, shares the clipboard as text:
	// each time the remote clipboard changes the client fetches its text
	// (CF_UNICODETEXT, else CF_TEXT or CF_OEMTEXT) and calls ClipboardText
	// with it, or with an error (ErrClipboardTimeout, ErrClipboardTooLarge,
	// ErrClipboardFailed) when it cannot. It is called on Run's goroutine
	// or a timer's and must not block. Client.SetClipboardText sets the
	// local clipboard.
	ClipboardText func(text string, err error)
	// ClipboardContent, when Clipboard is nil, shares the clipboard as
	// text, HTML and images, and takes precedence over ClipboardText:
	// each time the remote clipboard changes the client fetches its text
	// as for ClipboardText, then, if it offers the registered format
	// "HTML Format", its HTML (CF_HTML), then, if it offers CF_DIB or
	// CF_DIBV5 (and images are not off), its image, and calls
	// ClipboardContent once with all of them. HTML or an image that
	// cannot be fetched or read is left out (logged at debug level); a
	// clipboard without text gives Text "". The call's error is
	// ClipboardText's when the text fails, or when nothing could be
	// fetched; besides, an image over ClipboardMaxImageBytes is left out
	// with an error wrapping ErrClipboardImageTooLarge, and content then
	// holds the text and HTML there were: the only error that comes with
	// content. It is called on Run's goroutine or a timer's and must not
	// block. Client.SetClipboardContent sets the local clipboard.
	ClipboardContent func(content ClipboardContent, err error)
	// ClipboardTimeout is how long the fetch of ClipboardText or
	// ClipboardContent waits for the server, for each format; 10 s when
	// zero.
	ClipboardTimeout time.Duration
	// ClipboardMaxBytes bounds the clipboard data of one format in either
	// direction (and a Format List); 1 MiB when zero. Data over it is
	// skipped (the request fails), not the connection.
	ClipboardMaxBytes int
	// ClipboardMaxImageBytes bounds an image on the clipboard in either
	// direction, as a DIB (CF_DIB, CF_DIBV5: about 4 bytes a pixel at 32
	// bits), and the pixels a remote DIB may decode to (one for each byte
	// of the limit, for DIBs of fewer than 8 bits a pixel); 16 MiB when
	// zero, at most 64 MiB. Negative turns images off: none is fetched,
	// and SetClipboardContent refuses one. A remote image over it is
	// skipped (ErrClipboardImageTooLarge), not the text or the connection.
	ClipboardMaxImageBytes int
	// Drive redirects a folder to the session as a drive (MS-RDPEFS, on
	// the static channel "rdpdr"), which the server reads and writes
	// through the client. nil redirects none.
	Drive *Drive
}

// initChannels requests the virtual channels the configuration needs, before
// the connection sequence: sound's, drdynvc with the DVC listeners of sound and
// display control, and the clipboard's.
func (c *Client) initChannels() {
	dvcs := c.initAudio()
	if c.cfg.DisplayControl {
		dvcs = append(dvcs, c.displayControlListener())
	}
	if len(dvcs) > 0 {
		c.initDrdynvc(dvcs...)
	}
	c.initClipboard()
	if c.cfg.Drive != nil && c.rdpdr == nil {
		c.initRdpdr()
	}
}

// Client is one RDP session. Run reads and decodes server PDUs; the input
// methods may be called from other goroutines meanwhile.
type Client struct {
	cfg  Config
	tcp  net.Conn
	conn net.Conn // TLS over tcp
	fr   *frameReader
	sink render.Sink
	log  *slog.Logger

	wmu  sync.Mutex // owns writes to conn
	wbuf []byte

	mu              sync.Mutex // guards the fields below, read by other goroutines
	width           int
	height          int
	shareID         uint32
	buttons         uint16 // last pointer button state sent
	fastInputShared bool   // copy of fastInput for input methods

	// Set during the connection sequence, then read-only.
	userID   uint16
	server   *serverData
	channels []staticChannel

	// Decoder state, used by Run's goroutine only.
	active    bool // finalization done (Font Map received)
	errorInfo uint32
	frag      []byte // fast-path fragment reassembly
	fragCode  uint8
	fragging  bool
	pix       []byte   // decoded pixels of one bitmap
	planes    []byte   // planar codec scratch
	native    []uint32 // interleaved RLE scratch: pixel values
	palette   [256][3]byte
	drawn     bool // something was drawn since the last EndFrame
	// logonPending: Client Info was sent and no picture has arrived yet.
	logonPending bool
	pointers     pointerCache
	license      *licenseState // during a licence exchange
	stats        decodeStats
	audio        *audioOut // audio output, when Config.Audio is set
	snd          *rdpsnd   // audio output on the static channel rdpsnd
	dvc          *drdynvc  // dynamic virtual channels, when a feature needs them
	rdpdr        *rdpdr    // device redirection (no devices), with Config.Audio
	clip         *cliprdr  // clipboard, when Config.Clipboard is set
	disp         *dispctl  // display control, when Config.DisplayControl is set

	closeOnce sync.Once
}

// Dial connects to addr ("host:port") over TCP and runs the RDP connection
// sequence (MS-RDPBCGR 1.3.1.1) up to an active session. ctx bounds the
// connection sequence only.
func Dial(ctx context.Context, addr string, cfg Config, sink render.Sink) (*Client, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("rdp: address %q: %w", addr, err)
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("rdp: dial %s: %w", addr, err)
	}
	c, err := newClient(ctx, conn, host, cfg, sink)
	if err != nil {
		conn.Close()
		return nil, err
	}
	return c, nil
}

// handshakeTimeout bounds the connection sequence when ctx has no deadline.
const handshakeTimeout = 60 * time.Second

func newClient(ctx context.Context, conn net.Conn, host string, cfg Config, sink render.Sink) (*Client, error) {
	if err := cfg.normalize(); err != nil {
		return nil, err
	}
	c := &Client{cfg: cfg, tcp: conn, conn: conn, sink: sink, log: cfg.Logger}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	c.initChannels()
	conn.SetDeadline(time.Now().Add(handshakeTimeout))
	// Cancelling ctx interrupts blocked reads and writes of the handshake;
	// the deadline is on the TCP connection, which TLS shares.
	if err := deadline.Bound(ctx, conn, "rdp: connect", func() error { return c.connect(ctx, host) }); err != nil {
		return nil, err
	}
	return c, nil
}

func (cfg *Config) normalize() error {
	if cfg.Width == 0 {
		cfg.Width = 1024
	}
	if cfg.Height == 0 {
		cfg.Height = 768
	}
	if cfg.Width < 200 || cfg.Height < 200 || cfg.Width > maxDesktopSize || cfg.Height > maxDesktopSize {
		return fmt.Errorf("rdp: desktop size %dx%d out of range", cfg.Width, cfg.Height)
	}
	switch cfg.ColorDepth {
	case 0:
		cfg.ColorDepth = 32
	case 15, 16, 24, 32:
	default:
		return fmt.Errorf("rdp: color depth %d (want 15, 16, 24 or 32)", cfg.ColorDepth)
	}
	if cfg.DPI < 0 || cfg.DPI > 1000 {
		return fmt.Errorf("rdp: dpi %d out of range", cfg.DPI)
	}
	if cfg.ClipboardMaxBytes < 0 || cfg.ClipboardMaxBytes > maxClipboardTextBytes {
		return fmt.Errorf("rdp: clipboard limit %d out of range", cfg.ClipboardMaxBytes)
	}
	if cfg.ClipboardMaxImageBytes > maxClipboardImageBytes {
		return fmt.Errorf("rdp: clipboard image limit %d out of range (at most %d)", cfg.ClipboardMaxImageBytes, maxClipboardImageBytes)
	}
	if cfg.ClipboardTimeout < 0 {
		return fmt.Errorf("rdp: clipboard timeout %v out of range", cfg.ClipboardTimeout)
	}
	if cfg.ClientName == "" {
		cfg.ClientName = "racgate"
	}
	if cfg.KeyboardLayout == 0 {
		cfg.KeyboardLayout = 0x409
	}
	return nil
}

// requestedProtocols maps Config.Security to the X.224 negotiation offer
// (MS-RDPBCGR 2.2.1.1.1).
func (cfg *Config) requestedProtocols() (uint32, error) {
	switch cfg.Security {
	case "", "any":
		return protocolSSL | protocolHybrid | protocolHybridEx, nil
	case "tls":
		return protocolSSL, nil
	case "nla":
		return protocolHybrid, nil
	case "nla-ext":
		return protocolHybrid | protocolHybridEx, nil
	case "rdp":
		return 0, fmt.Errorf("%w: security \"rdp\" (standard RDP security is not implemented)", ErrUnsupported)
	}
	return 0, fmt.Errorf("rdp: unknown security mode %q", cfg.Security)
}

// connect runs the connection sequence (MS-RDPBCGR 1.3.1.1), phase by phase.
func (c *Client) connect(ctx context.Context, host string) error {
	selected, err := c.connectionInitiation()
	if err != nil {
		return err
	}
	if err := c.securityUpgrade(ctx, host, selected); err != nil {
		return err
	}
	if err := c.basicSettingsExchange(selected); err != nil {
		return err
	}
	if err := c.channelConnection(); err != nil {
		return err
	}
	// RDP Security Commencement (2.2.1.10) has no Security Exchange PDU
	// with TLS or NLA: that is for standard RDP security only.
	if err := c.secureSettingsExchange(); err != nil {
		return err
	}
	return c.licensingToFinalization()
}

// connectionInitiation sends the X.224 Connection Request and reads the
// Connection Confirm (2.2.1.1, 2.2.1.2); it returns the security protocol
// that the server selected from those we offered.
func (c *Client) connectionInitiation() (selected uint32, err error) {
	requested, err := c.cfg.requestedProtocols()
	if err != nil {
		return 0, err
	}
	if _, err := c.tcp.Write(x224ConnectionRequest(c.cfg.Username, requested)); err != nil {
		return 0, fmt.Errorf("rdp: X.224 Connection Request: %w", err)
	}
	c.fr = newFrameReader(c.tcp)
	fast, p, err := c.fr.next()
	if err != nil {
		return 0, fmt.Errorf("rdp: X.224 Connection Confirm: %w", err)
	}
	if fast {
		return 0, protoErr("X.224 Connection Confirm", "MS-RDPBCGR 2.2.1.2", "got a fast-path PDU")
	}
	selected, _, err = parseX224ConnectionConfirm(p)
	if err != nil {
		return 0, err
	}
	if selected&requested == 0 || selected&^requested != 0 {
		return 0, fmt.Errorf("%w: server selected security protocol %#x, we offered %#x", ErrUnsupported, selected, requested)
	}
	return selected, nil
}

// securityUpgrade starts TLS (5.4.5.1) and, for NLA, runs CredSSP (5.4.5.2)
// and reads the Early User Authorization Result (2.2.10.2). The X.224
// exchange is complete, so nothing is buffered in the frame reader.
func (c *Client) securityUpgrade(ctx context.Context, host string, selected uint32) error {
	t, err := upgradeTLS(ctx, c.tcp, host, &c.cfg)
	if err != nil {
		return err
	}
	c.conn = t
	if selected&(protocolHybrid|protocolHybridEx) != 0 {
		pub, err := subjectPublicKey(t.ConnectionState().PeerCertificates[0].RawSubjectPublicKeyInfo)
		if err != nil {
			return err
		}
		if err := credSSP(t, pub, &c.cfg); err != nil {
			return err
		}
		if selected&protocolHybridEx != 0 {
			var res [4]byte
			if _, err := io.ReadFull(t, res[:]); err != nil {
				return fmt.Errorf("rdp: Early User Authorization Result: %w", err)
			}
			if v := binary.LittleEndian.Uint32(res[:]); v != authzSuccess {
				return fmt.Errorf("%w: Early User Authorization Result %s (MS-RDPBCGR 2.2.10.2)", ErrAuthFailed, authzResultName(v))
			}
		}
	}
	c.fr = newFrameReader(t)
	return nil
}

// basicSettingsExchange sends the MCS Connect Initial with the client data
// blocks and reads the server's in the MCS Connect Response (2.2.1.3,
// 2.2.1.4); it learns the channel IDs.
func (c *Client) basicSettingsExchange(selected uint32) error {
	ci := mcsConnectInitial(gccConferenceCreateRequest(clientDataBlocks(&c.cfg, selected, c.channels)))
	b := appendX224Data(nil)
	b = append(b, ci...)
	if err := finishTPKT(b, 0); err != nil {
		return err
	}
	if err := c.write(b); err != nil {
		return err
	}
	p, err := c.readX224("MCS Connect-Response")
	if err != nil {
		return err
	}
	ud, err := parseMCSConnectResponse(p)
	if err != nil {
		return err
	}
	if c.server, err = parseGCCConferenceCreateResponse(ud); err != nil {
		return err
	}
	if c.server.encryptionMethod != 0 {
		return fmt.Errorf("%w: server asks for standard RDP encryption (method %#x) inside TLS", ErrUnsupported, c.server.encryptionMethod)
	}
	for i := range c.channels {
		if i < len(c.server.channelIDs) {
			c.channels[i].ID = c.server.channelIDs[i]
		}
	}
	return nil
}

// channelConnection erects the MCS domain, attaches the user and joins the
// user, I/O, message and static virtual channels (2.2.1.5-2.2.1.9).
func (c *Client) channelConnection() error {
	if err := c.write(mcsErectDomainRequestPDU()); err != nil {
		return err
	}
	if err := c.write(mcsAttachUserRequestPDU()); err != nil {
		return err
	}
	p, err := c.readX224("MCS Attach User Confirm")
	if err != nil {
		return err
	}
	if c.userID, err = parseMCSAttachUserConfirm(p); err != nil {
		return err
	}
	join := []uint16{c.userID, c.server.ioChannel}
	if c.server.msgChannel != 0 {
		join = append(join, c.server.msgChannel)
	}
	for _, ch := range c.channels {
		if ch.ID != 0 {
			join = append(join, ch.ID)
		}
	}
	for _, id := range join {
		if err := c.write(mcsChannelJoinRequestPDU(c.userID, id)); err != nil {
			return err
		}
		if p, err = c.readX224("MCS Channel Join Confirm"); err != nil {
			return err
		}
		if err := parseMCSChannelJoinConfirm(p, id); err != nil {
			return err
		}
	}
	return nil
}

// secureSettingsExchange sends the Client Info PDU with the logon
// credentials (2.2.1.11).
func (c *Client) secureSettingsExchange() error {
	if err := c.sendIO(func(b []byte) []byte { return clientInfoPDU(b, &c.cfg) }); err != nil {
		return err
	}
	c.logonPending = true
	return nil
}

// licensingToFinalization runs Licensing (2.2.1.12), Capabilities Exchange
// (2.2.1.13) and Connection Finalization (2.2.1.14-2.2.1.22) through the PDU
// handlers, until the Font Map has arrived.
func (c *Client) licensingToFinalization() error {
	licensed := false
	for !c.active {
		fast, p, err := c.fr.next()
		if err != nil {
			return c.readError(err)
		}
		if fast {
			if err := c.handleFastPath(p); err != nil {
				return err
			}
			continue
		}
		if !licensed {
			done, handled, err := c.handleLicensing(p)
			if err != nil {
				return err
			}
			licensed = done
			if handled {
				continue
			}
			licensed = true
		}
		if err := c.handleSlowPath(p); err != nil {
			return err
		}
	}
	if c.drawn {
		c.drawn = false
		c.sink.EndFrame()
	}
	return nil
}

// Early User Authorization Result values (MS-RDPBCGR 2.2.10.2).
const (
	authzSuccess      = 0x00000000
	authzAccessDenied = 0x00000005
)

// authzResultName names an Early User Authorization Result so that an
// administrator sees that the account may not log on remotely (the
// credentials themselves were accepted by CredSSP).
func authzResultName(v uint32) string {
	if v == authzAccessDenied {
		return "AUTHZ_ACCESS_DENIED (0x5): the account is not allowed to log on remotely"
	}
	return fmt.Sprintf("%#x", v)
}

// readX224 reads one TPKT frame and returns its X.224 Data payload.
func (c *Client) readX224(what string) ([]byte, error) {
	fast, p, err := c.fr.next()
	if err != nil {
		return nil, fmt.Errorf("rdp: reading %s: %w", what, c.readError(err))
	}
	if fast {
		return nil, protoErr(what, "MS-RDPBCGR 1.3.1.1", "got a fast-path PDU during the connection sequence")
	}
	return x224Data(p)
}

// readError explains a read error: a server that closes the connection after
// telling us why (Set Error Info PDU) gets that reason reported.
func (c *Client) readError(err error) error {
	if c.errorInfo != 0 && !errors.Is(err, net.ErrClosed) {
		return errorInfoError(c.errorInfo, err)
	}
	if c.logonPending && (errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET)) {
		// Servers that check the Client Info credentials themselves
		// (freerdp-shadow +auth) just close the connection on failure.
		return fmt.Errorf("%w: the server closed the connection after the logon information (Client Info PDU, MS-RDPBCGR 2.2.1.11) before showing the desktop; it probably refused the credentials: %w", ErrAuthFailed, err)
	}
	return err
}

// handleLicensing handles a PDU that arrives before licensing is complete.
// handled is false when p is not a licensing PDU (the server skipped
// licensing); done reports that licensing is finished.
func (c *Client) handleLicensing(p []byte) (done, handled bool, err error) {
	p, err = x224Data(p)
	if err != nil {
		return false, false, err
	}
	ch, data, err := parseMCSDomainPDU(p)
	if err != nil {
		return false, false, c.readError(err)
	}
	if ch != c.server.ioChannel || len(data) < 4 {
		return false, true, nil
	}
	flags := uint16(data[0]) | uint16(data[1])<<8
	switch {
	case flags&secLicensePkt != 0:
		done, err := parseServerLicensePDU(data[4:])
		if errors.Is(err, errLicenseExchange) {
			var reply []byte
			if data[4] == licenseRequest {
				reply, err = c.clientNewLicenseRequest(data[4:])
			} else {
				reply, err = c.clientPlatformChallengeResponse(data[4:])
			}
			if err != nil {
				return false, true, err
			}
			err = c.sendIO(func(b []byte) []byte {
				b = putU16(b, secLicensePkt)
				b = putU16(b, 0)
				return append(b, reply...)
			})
		}
		return done, true, err
	case flags&secAutodetectReq != 0:
		// Auto-detect requests (MS-RDPBCGR 2.2.14) are optional to answer.
		return false, true, nil
	case flags&secEncrypt != 0:
		return false, true, fmt.Errorf("%w: encrypted PDU (standard RDP security)", ErrUnsupported)
	}
	// Not a security header: the server went straight to capabilities.
	return true, false, nil
}

// write sends one complete PDU under the write lock. A failed write may have
// sent part of a PDU, so it closes the connection (and Run returns).
func (c *Client) write(b []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return c.writeLocked(b)
}

func (c *Client) writeLocked(b []byte) error {
	c.tcp.SetWriteDeadline(time.Now().Add(writeTimeout))
	if _, err := c.conn.Write(b); err != nil {
		c.Close()
		return fmt.Errorf("rdp: write: %w", err)
	}
	return nil
}

// writeTimeout bounds one write, so that a server that stops reading cannot
// block the callers of the input methods for ever.
const writeTimeout = 20 * time.Second

// sendIO sends an MCS Send Data Request on the I/O channel with the body
// that build appends.
func (c *Client) sendIO(build func(b []byte) []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	b := appendMCSSendDataRequest(c.wbuf[:0], c.userID, c.server.ioChannel)
	b = build(b)
	c.wbuf = b
	if err := finishMCSSendData(b, 0); err != nil {
		return err
	}
	return c.writeLocked(b)
}

// Run reads server PDUs and draws into the sink until ctx ends, the
// connection closes or the server misbehaves (a *ProtocolError). Call it once.
func (c *Client) Run(ctx context.Context) error {
	defer deadline.OnDone(ctx, c.tcp)()
	for {
		err := c.readPDU()
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return err
		}
	}
}

// readPDU reads and handles one frame; it ends a frame for the sink when no
// more input is waiting.
func (c *Client) readPDU() error {
	fast, p, err := c.fr.next()
	if err != nil {
		return c.readError(err)
	}
	if fast {
		err = c.handleFastPath(p)
	} else {
		err = c.handleSlowPath(p)
	}
	if err != nil {
		return err
	}
	if c.drawn && c.fr.r.Buffered() == 0 {
		c.drawn = false
		c.sink.EndFrame()
	}
	return nil
}

// Close closes the connection; Run then returns.
func (c *Client) Close() error {
	var err error
	c.closeOnce.Do(func() {
		err = c.conn.Close()
		if c.clip != nil {
			if tc, ok := c.clip.h.(*textClipboard); ok {
				tc.stop() // no ClipboardText from its timer after Close
			}
		}
	})
	return err
}

// Size is the desktop size the server chose.
func (c *Client) Size() (w, h int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.width, c.height
}
