package rdp

import (
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"slices"
	"strings"
	"sync"
)

// Clipboard redirection: the client side of the Clipboard Virtual Channel
// Extension (MS-RDPECLIP 3.2) on the static virtual channel "cliprdr",
// requested when Config.Clipboard is set. The PDUs are in cliprdr_pdu.go.
//
// Both clipboards use delayed rendering (1.3.1.4): a side whose clipboard
// changes announces its formats with a Format List PDU, and the other asks
// for the data of one format with a Format Data Request when it needs it.
//
//   - Initialization (1.3.2.1): the server sends its Clipboard
//     Capabilities and Monitor Ready; the client answers with its
//     capabilities (version 2, CB_USE_LONG_FORMAT_NAMES when the server
//     has it; no file copy, no locking) and a Format List of what
//     SetClipboardContent stored (empty if nothing). No Temporary
//     Directory PDU is sent: there is no file copy.
//   - Remote to local: the server's Format List is acknowledged and passed
//     to ClipboardHandler.ClipboardFormats; RequestClipboard sends a
//     Format Data Request, and the Format Data Response goes to
//     ClipboardHandler.ClipboardData.
//   - Local to remote: SetClipboardContent announces CF_UNICODETEXT and
//     CF_TEXT, with HTML the registered format "HTML Format" under
//     clipHTMLFormatID, and with an image CF_DIB (and CF_DIBV5 for a
//     translucent one, dibencode.go); the server's Format Data Requests
//     are answered from the stored data (CB_RESPONSE_FAIL for any other
//     format).
//   - Limits: a Format Data Response for CF_DIB or CF_DIBV5 may hold
//     Config.ClipboardMaxImageBytes, every other message
//     Config.ClipboardMaxBytes; the channel reassembles up to the larger,
//     and refuses a message over its own limit at its first chunk.
//   - Lock and Unlock Clipboard Data PDUs (2.2.4.6, 2.2.4.7) are ignored:
//     the client does not announce CB_CAN_LOCK_CLIPDATA, and it keeps no
//     file streams that locking would preserve. File Contents Requests
//     cannot come, as no file list is offered; they are ignored too.
//
// Servers seen: xrdp 0.9 (chansrv) serves the X session's CLIPBOARD
// selection both ways, as text and images: it neither offers nor asks for
// "HTML Format" (0.9.21 clipboard.c maps UTF8_STRING and STRING, image/bmp
// and file lists). image/bmp is CF_DIB: chansrv strips the X side's
// 14-byte BITMAPFILEHEADER, and puts a constant one in front of the client's
// DIB (bfOffBits 54, so a 40-byte header and no colour table). It
// announces Windows' list (Native, CF_METAFILEPICT, CF_DIB, CF_DIBV5) but
// serves CF_DIB alone. xrdp 0.9.21 gives X a client DIB of up to 32 KiB
// without its last 14 bytes (fixed in its source in June 2024, after
// 0.10.1); a larger one, streamed, arrives whole.

// ClipboardHandler receives the remote clipboard. Its methods are called on
// Run's goroutine and must not block; they may call RequestClipboard,
// SetClipboardText and SetClipboardContent.
type ClipboardHandler interface {
	// ClipboardFormats: the remote clipboard changed; formats lists what it
	// now offers (standard formats by ID, registered ones such as
	// CFNameHTML by name and the ID the server gave them). The slice is the
	// handler's to keep.
	ClipboardFormats(formats []ClipboardFormat)
	// ClipboardData is the answer to RequestClipboard(format), in the order
	// the requests were made: the data as the server sent it (for text,
	// decode it with ClipboardText; for CF_DIB and CF_DIBV5, with
	// ClipboardImage), valid only during the call. ok false:
	// the server could not render the format (CB_RESPONSE_FAIL), and data
	// is nil.
	ClipboardData(format uint32, data []byte, ok bool)
}

// defaultClipboardMaxBytes is Config.ClipboardMaxBytes when zero.
const defaultClipboardMaxBytes = 1 << 20

// Config.ClipboardMaxImageBytes when zero, and its largest value. 16 MiB
// holds a 2560x1600 screen as a 32-bit DIB.
const (
	defaultClipboardMaxImageBytes = 16 << 20
	maxClipboardImageBytes        = 64 << 20
)

// maxClipboardTextBytes is the largest Config.ClipboardMaxBytes.
const maxClipboardTextBytes = 16<<20 - clipHeaderSize - clipMaxTrailingBytes

// maxClipboardPending bounds the Format Data Requests awaiting a response.
const maxClipboardPending = 16

// clipHTMLFormatID is the ID the client gives "HTML Format" in its Format
// Lists, in the range of registered formats (0xC000-0xFFFF, as Windows'
// RegisterClipboardFormat assigns them). Each side chooses its own; the
// receiver knows the format by its name (MS-RDPECLIP 1.3.1.2).
const clipHTMLFormatID = 0xC0F0

// ErrClipboardNotReady reports a clipboard request before the server's
// clipboard was ready (before its Monitor Ready PDU), or on a client
// without Config.Clipboard.
var ErrClipboardNotReady = errors.New("rdp: clipboard not ready")

// cliprdr is the client's clipboard state. handle runs on Run's goroutine;
// the API methods on any goroutine. mu guards the state and is held while
// a PDU that depends on it is sent, so that PDUs go out in the order the
// state changed (the capabilities before the first Format List, and a
// Format List before the data requests it allows). Handler methods are
// called without it.
type cliprdr struct {
	c        *Client
	h        ClipboardHandler
	ch       int // index in c.channels
	max      int // Config.ClipboardMaxBytes
	imageMax int // Config.ClipboardMaxImageBytes; 0: images are off

	mu        sync.Mutex
	ready     bool // Monitor Ready received and answered
	longNames bool // both sides use Long Format Names
	local     []clipItem
	remote    []ClipboardFormat // the server's last Format List
	pending   []uint32          // formats requested, oldest first
	out       []byte            // scratch for PDUs sent
}

// clipItem is one format of the local clipboard and its data.
type clipItem struct {
	format ClipboardFormat
	data   []byte
}

// initClipboard requests the static channel "cliprdr" when the
// configuration has a ClipboardHandler. It runs before the connection
// sequence. The channel options are those MS-RDPECLIP 2.1 names.
func (c *Client) initClipboard() {
	h := c.cfg.Clipboard
	if h == nil && (c.cfg.ClipboardText != nil || c.cfg.ClipboardContent != nil) {
		h = c.newTextClipboard()
	}
	if h == nil {
		return
	}
	cl := &cliprdr{c: c, h: h, ch: len(c.channels), max: c.cfg.ClipboardMaxBytes, imageMax: c.cfg.clipboardImageMax()}
	if cl.max == 0 {
		cl.max = defaultClipboardMaxBytes
	}
	// The longest message: a header, the larger limit's bytes of data and
	// the padding some servers add. A longer one, or one over its own
	// limit (msgLimit), is refused at its first chunk.
	c.addChannelLimit("cliprdr", channelOptionEncryptRDP|channelOptionCompressRDP|channelOptionShowProtocol,
		clipHeaderSize+max(cl.max, cl.imageMax)+clipMaxTrailingBytes, cl.handle)
	c.channels[cl.ch].oversize = cl.oversize
	c.channels[cl.ch].msgLimit = cl.msgLimit
	c.clip = cl
}

// clipboardImageMax is Config.ClipboardMaxImageBytes with its default, 0
// when images are off.
func (cfg *Config) clipboardImageMax() int {
	switch n := cfg.ClipboardMaxImageBytes; {
	case n < 0:
		return 0
	case n == 0:
		return defaultClipboardMaxImageBytes
	default:
		return n
	}
}

// isImageFormat reports whether format is one of the DIB formats, whose
// data Config.ClipboardMaxImageBytes bounds.
func isImageFormat(format uint32) bool { return format == CFDIB || format == CFDIBV5 }

// msgLimit is the longest cliprdr message first can start: a Format Data
// Response to a request for an image may hold an image, any other message
// text.
func (cl *cliprdr) msgLimit(first []byte) int {
	n := cl.max
	if len(first) >= 2 && binary.LittleEndian.Uint16(first) == cbFormatDataResponse {
		cl.mu.Lock()
		if len(cl.pending) > 0 && isImageFormat(cl.pending[0]) {
			n = cl.imageMax
		}
		cl.mu.Unlock()
	}
	return clipHeaderSize + n + clipMaxTrailingBytes
}

// oversize takes a message longer than the limit, which the channel skips
// unread: a remote clipboard too big to take is a failed request, not a
// broken connection. first is its first chunk.
func (cl *cliprdr) oversize(first []byte, total int) error {
	h, _, _ := parseClipHeader(first) // a header cut short reads as msgType 0
	cl.c.log.Warn("rdp: cliprdr message over the clipboard limit skipped", "msgType", h.msgType, "bytes", total,
		"limit", cl.msgLimit(first)-clipHeaderSize-clipMaxTrailingBytes)
	switch h.msgType {
	case cbFormatDataResponse:
		format, err := cl.takePending()
		if err != nil {
			return err
		}
		if tl, ok := cl.h.(clipboardTooLarge); ok {
			tl.clipboardTooLarge(format, total)
		} else {
			cl.h.ClipboardData(format, nil, false)
		}
	case cbFormatList:
		// Thousands of formats: the list cannot be taken, and says so
		// (3.1.5.2.3), so the server does not wait for an answer.
		cl.mu.Lock()
		defer cl.mu.Unlock()
		cl.remote = nil
		return cl.sendLocked(appendFormatListResponse(cl.out[:0], false))
	}
	return nil
}

// clipboardTooLarge is a ClipboardHandler told apart that a response was
// over the limit (the client's own text handler).
type clipboardTooLarge interface {
	clipboardTooLarge(format uint32, size int)
}

// handle receives one complete cliprdr message (MS-RDPECLIP 3.2.5).
func (cl *cliprdr) handle(msg []byte) error {
	h, body, err := parseClipHeader(msg)
	if err != nil {
		return err
	}
	// The channel's limit has room for the padding parseClipHeader drops
	// (clipMaxTrailingBytes), which a longer dataLen can take instead.
	if len(body) > cl.msgLimit(msg)-clipHeaderSize-clipMaxTrailingBytes {
		return cl.oversize(msg, len(msg))
	}
	switch h.msgType {
	case cbClipCaps:
		caps, err := parseClipCaps(body)
		if err != nil {
			return err
		}
		cl.mu.Lock()
		cl.longNames = caps.general && caps.version >= cbCapsVersion2 && caps.generalFlags&cbUseLongFormatNames != 0
		cl.mu.Unlock()
		cl.c.log.Debug("rdp: cliprdr server capabilities", "version", caps.version, "flags", caps.generalFlags)
		return nil
	case cbMonitorReady:
		if len(body) != 0 {
			return protoErr("Monitor Ready PDU", "MS-RDPECLIP 2.2.2.2", "dataLen %d, want 0", len(body))
		}
		if tc, ok := cl.h.(*textClipboard); ok {
			tc.reset() // the requests pending are dropped below
		}
		return cl.monitorReady()
	case cbFormatList:
		return cl.formatList(h, body)
	case cbFormatListResponse:
		ok, err := checkResponseFlags("Format List Response PDU", "MS-RDPECLIP 2.2.3.2", h.msgFlags)
		if err != nil {
			return err
		}
		if !ok {
			cl.c.log.Debug("rdp: cliprdr server refused the client's Format List")
		}
		return nil
	case cbFormatDataRequest:
		format, err := parseFormatDataRequest(body)
		if err != nil {
			return err
		}
		return cl.dataRequest(format)
	case cbFormatDataResponse:
		return cl.dataResponse(h, body)
	}
	// Lock/Unlock Clipboard Data, File Contents Request (see above), a
	// Temporary Directory PDU (client to server only) and anything else.
	cl.c.log.Debug("rdp: cliprdr PDU ignored", "msgType", h.msgType, "bytes", len(msg))
	return nil
}

// monitorReady answers Monitor Ready with the Client Clipboard
// Capabilities PDU and a Format List PDU (3.2.5.1.2). A new Monitor Ready
// (the server restarted its clipboard) starts over.
func (cl *cliprdr) monitorReady() error {
	cl.mu.Lock()
	defer cl.mu.Unlock()
	var flags uint32
	if cl.longNames {
		flags = cbUseLongFormatNames
	}
	cl.pending, cl.remote = nil, nil
	if err := cl.sendLocked(appendClipCaps(cl.out[:0], cbCapsVersion2, flags)); err != nil {
		return err
	}
	if err := cl.sendFormatListLocked(); err != nil {
		return err
	}
	cl.ready = true
	return nil
}

// formatList takes the server's Format List PDU (3.1.5.2.2): the client
// acknowledges it and tells the handler.
func (cl *cliprdr) formatList(h clipHeader, body []byte) error {
	cl.mu.Lock()
	formats, err := parseFormatList(body, cl.longNames, h.msgFlags)
	if err == nil {
		cl.remote = formats
		err = cl.sendLocked(appendFormatListResponse(cl.out[:0], true))
	}
	cl.mu.Unlock()
	if err != nil {
		return err
	}
	cl.c.log.Debug("rdp: cliprdr remote formats", "formats", formats)
	cl.h.ClipboardFormats(slices.Clone(formats))
	return nil
}

// dataRequest answers the server's Format Data Request (3.1.5.2.5) from
// the local clipboard.
func (cl *cliprdr) dataRequest(format uint32) error {
	cl.mu.Lock()
	defer cl.mu.Unlock()
	for _, it := range cl.local {
		if it.format.ID == format {
			return cl.sendLocked(appendFormatDataResponse(cl.out[:0], true, it.data))
		}
	}
	cl.c.log.Debug("rdp: cliprdr request for a format not offered", "format", format)
	return cl.sendLocked(appendFormatDataResponse(cl.out[:0], false, nil))
}

// dataResponse passes the server's Format Data Response (3.1.5.2.6) to the
// handler with the format of the oldest request.
func (cl *cliprdr) dataResponse(h clipHeader, body []byte) error {
	const pdu, sec = "Format Data Response PDU", "MS-RDPECLIP 2.2.5.2"
	ok, err := checkResponseFlags(pdu, sec, h.msgFlags)
	if err != nil {
		return err
	}
	format, err := cl.takePending()
	if err != nil {
		return err
	}
	if !ok {
		body = nil
	}
	cl.h.ClipboardData(format, body, ok)
	return nil
}

// takePending takes the oldest pending Format Data Request, which a response answers.
func (cl *cliprdr) takePending() (format uint32, err error) {
	cl.mu.Lock()
	defer cl.mu.Unlock()
	if len(cl.pending) == 0 {
		return 0, protoErr("Format Data Response PDU", "MS-RDPECLIP 2.2.5.2", "no Format Data Request is pending")
	}
	format = cl.pending[0]
	cl.pending = cl.pending[1:]
	return format, nil
}

// sendFormatListLocked announces the local clipboard's formats.
func (cl *cliprdr) sendFormatListLocked() error {
	formats := make([]ClipboardFormat, len(cl.local))
	for i, it := range cl.local {
		formats[i] = it.format
	}
	return cl.sendLocked(appendFormatList(cl.out[:0], formats, cl.longNames))
}

// sendLocked sends msg on cliprdr and keeps its buffer as scratch.
func (cl *cliprdr) sendLocked(msg []byte) error {
	cl.out = msg
	return cl.c.sendChannel(cl.c.channels[cl.ch].ID, msg)
}

// SetClipboardText puts text on the client's clipboard; it is
// SetClipboardContent(ClipboardContent{Text: text}).
func (c *Client) SetClipboardText(text string) error {
	return c.SetClipboardContent(ClipboardContent{Text: text})
}

// SetClipboardContent puts text, HTML if content.HTML is not "" and an
// image if content.Image is not nil on the client's clipboard. The text is
// announced to the server as CF_UNICODETEXT and CF_TEXT (Windows-1252,
// characters it lacks as '?'), even when it is "", except beside an
// image: there "" is no text, lest a program paste it instead of the
// image. The HTML, a fragment, is announced as the registered
// format "HTML Format" and served as CF_HTML: the fragment in a minimal
// html/body document (invalid UTF-8 becomes U+FFFD). The image is
// announced as CF_DIB (24 bits, translucent pixels on white) and, if it
// has translucent pixels and fits the limit that way too, as CF_DIBV5
// (32 bits with alpha) before it; dibencode.go says why. Each is served
// when the server asks for it. Before the server's clipboard is ready the
// content is kept and announced then. Line ends are sent as they are
// (Windows programs expect CR LF). Text or HTML over
// Config.ClipboardMaxBytes in its format, an image whose CF_DIB is over
// Config.ClipboardMaxImageBytes or that is over 16384 pixels on a side,
// and any image when images are off, is ErrClipboardTooLarge, and the
// clipboard is left as it was. It may be called from any goroutine.
func (c *Client) SetClipboardContent(content ClipboardContent) error {
	cl := c.clip
	if cl == nil {
		return fmt.Errorf("%w: no Config.Clipboard", ErrClipboardNotReady)
	}
	var images []clipItem
	if content.Image != nil {
		var err error
		if images, err = cl.imageItems(content.Image); err != nil {
			return err
		}
	}
	var local []clipItem
	if content.Text != "" || images == nil {
		unicode := encodeUnicodeText(content.Text)
		if len(unicode) > cl.max {
			return fmt.Errorf("%w: text of %d bytes in UTF-16, over %d", ErrClipboardTooLarge, len(unicode), cl.max)
		}
		local = []clipItem{
			{ClipboardFormat{ID: CFUnicodeText}, unicode},
			{ClipboardFormat{ID: CFText}, encodeANSIText(content.Text)},
		}
	}
	if content.HTML != "" {
		html := strings.ToValidUTF8(content.HTML, "\uFFFD")
		// Its size is known before it is encoded.
		if n := cfhtmlSize(len(html)); n > cl.max {
			return fmt.Errorf("%w: HTML of %d bytes as CF_HTML, over %d", ErrClipboardTooLarge, n, cl.max)
		}
		local = append(local, clipItem{ClipboardFormat{ID: clipHTMLFormatID, Name: CFNameHTML}, encodeCFHTML(html)})
	}
	local = append(local, images...)
	cl.mu.Lock()
	defer cl.mu.Unlock()
	cl.local = local
	if !cl.ready {
		return nil
	}
	return cl.sendFormatListLocked()
}

// imageItems encodes img as the local clipboard's CF_DIBV5 (if it has
// translucent pixels and fits) and CF_DIB, each size checked before the
// DIB is made.
func (cl *cliprdr) imageItems(img image.Image) ([]clipItem, error) {
	if cl.imageMax == 0 {
		return nil, fmt.Errorf("%w: images are off (Config.ClipboardMaxImageBytes < 0)", ErrClipboardTooLarge)
	}
	r := img.Bounds()
	w, h := r.Dx(), r.Dy()
	switch {
	case w <= 0 || h <= 0:
		return nil, fmt.Errorf("rdp: clipboard image of %dx%d pixels", w, h)
	case w > dibMaxSide || h > dibMaxSide:
		return nil, fmt.Errorf("%w: image of %dx%d pixels, over %d on a side", ErrClipboardTooLarge, w, h, dibMaxSide)
	}
	if n := dibSize(dibInfoHeaderSize, w, h, 24); n > uint64(cl.imageMax) {
		return nil, fmt.Errorf("%w: image of %dx%d pixels, %d bytes as CF_DIB, over %d", ErrClipboardTooLarge, w, h, n, cl.imageMax)
	}
	var items []clipItem
	if dibSize(dibV5HeaderSize, w, h, 32) <= uint64(cl.imageMax) && !opaque(img) {
		items = append(items, clipItem{ClipboardFormat{ID: CFDIBV5}, encodeDIBV5(img)})
	}
	return append(items, clipItem{ClipboardFormat{ID: CFDIB}, encodeDIB(img)}), nil
}

// ClipboardJoined reports whether the server joined the client to the
// clipboard channel (a server without clipboard redirection declines it;
// freerdp-shadow does). False without Config.Clipboard, ClipboardText or
// ClipboardContent.
func (c *Client) ClipboardJoined() bool {
	return c.clip != nil && c.channels[c.clip.ch].ID != 0
}

// RequestClipboard asks the server for the data of a format its clipboard
// offers (one that the last ClipboardFormats call listed); the answer
// comes to ClipboardHandler.ClipboardData. At most 16 requests may await
// their answer. It may be called from any goroutine, including the
// handler's.
func (c *Client) RequestClipboard(format uint32) error {
	cl := c.clip
	if cl == nil {
		return fmt.Errorf("%w: no Config.Clipboard", ErrClipboardNotReady)
	}
	cl.mu.Lock()
	defer cl.mu.Unlock()
	if !cl.ready {
		return ErrClipboardNotReady
	}
	// 2.2.5.1: the format MUST be one listed in the Format List PDU.
	if !slices.ContainsFunc(cl.remote, func(f ClipboardFormat) bool { return f.ID == format }) {
		return fmt.Errorf("rdp: clipboard format %d not offered by the server", format)
	}
	if len(cl.pending) >= maxClipboardPending {
		return fmt.Errorf("rdp: %d clipboard requests already pending", len(cl.pending))
	}
	if err := cl.sendLocked(appendFormatDataRequest(cl.out[:0], format)); err != nil {
		return err
	}
	cl.pending = append(cl.pending, format)
	return nil
}
