package rdp

import (
	"errors"
	"fmt"
)

// Input (MS-RDPBCGR 2.2.8.1.2 fast-path input events). Slow-path input
// (2.2.8.1.1.3) is used when the server does not accept fast-path input.

// Pointer flags (2.2.8.1.1.3.1.1.3 pointerFlags).
const (
	ptrFlagsHWheel        = 0x0400
	ptrFlagsWheel         = 0x0200
	ptrFlagsWheelNegative = 0x0100
	ptrFlagsMove          = 0x0800
	ptrFlagsDown          = 0x8000
	ptrFlagsButton1       = 0x1000 // left
	ptrFlagsButton2       = 0x2000 // right
	ptrFlagsButton3       = 0x4000 // middle
	ptrXFlagsDown         = 0x8000
	ptrXFlagsButton1      = 0x0001 // back
	ptrXFlagsButton2      = 0x0002 // forward
)

// Slow-path input message types (2.2.8.1.1.3.1.1).
const (
	inputEventSync     = 0x0000
	inputEventScancode = 0x0004
	inputEventUnicode  = 0x0005
	inputEventMouse    = 0x8001
	inputEventMouseX   = 0x8002
)

// ErrNotActive is returned by input methods before the session is active.
var ErrNotActive = errors.New("rdp: session not active")

// inputEvent is one event in the slow-path form; fast-path is derived.
type inputEvent struct {
	msgType uint16
	flags   uint16
	a, b, c uint16 // key code / unicode; x, y
}

// sendInput sends events as one fast-path input PDU when the server accepts
// them, else as a slow-path Input Event PDU (2.2.8.1.1.3).
func (c *Client) sendInput(evs ...inputEvent) error {
	if c.server == nil {
		return ErrNotActive
	}
	c.mu.Lock()
	shareID := c.shareID
	c.mu.Unlock()
	if c.fastInputSafe() {
		c.wmu.Lock()
		defer c.wmu.Unlock()
		b := appendFastPathInput(c.wbuf[:0], len(evs), func(b []byte) []byte {
			for _, e := range evs {
				b = appendFastPathEvent(b, e)
			}
			return b
		})
		c.wbuf = b
		return c.writeLocked(b)
	}
	var body []byte
	body = putU16(body, uint16(len(evs)))
	body = putU16(body, 0)
	for _, e := range evs {
		body = putU32(body, 0) // eventTime
		body = putU16(body, e.msgType)
		switch e.msgType {
		case inputEventSync:
			body = putU16(body, 0)
			body = putU32(body, uint32(e.flags))
		case inputEventScancode, inputEventUnicode:
			body = putU16(body, e.flags)
			body = putU16(body, e.a)
			body = putU16(body, 0)
		default:
			body = putU16(body, e.flags)
			body = putU16(body, e.b)
			body = putU16(body, e.c)
		}
	}
	return c.sendIO(func(b []byte) []byte {
		return appendShareDataPDU(b, c.userID, shareID, pduType2Input, body)
	})
}

// fastInputSafe reads fastInput, which Run's goroutine sets on activation.
func (c *Client) fastInputSafe() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.fastInputShared
}

func appendFastPathEvent(b []byte, e inputEvent) []byte {
	switch e.msgType {
	case inputEventScancode: // 2.2.8.1.2.2.1
		var f byte
		if e.flags&0x8000 != 0 { // KBDFLAGS_RELEASE
			f |= kbdFlagsRelease
		}
		if e.flags&0x0100 != 0 { // KBDFLAGS_EXTENDED
			f |= kbdFlagsExtended
		}
		return append(b, fpInputScancode<<5|f, byte(e.a))
	case inputEventUnicode: // 2.2.8.1.2.2.2
		var f byte
		if e.flags&0x8000 != 0 {
			f = kbdFlagsRelease
		}
		return putU16(append(b, fpInputUnicode<<5|f), e.a)
	case inputEventMouse: // 2.2.8.1.2.2.3
		return putU16(putU16(putU16(append(b, fpInputMouse<<5), e.flags), e.b), e.c)
	case inputEventMouseX: // 2.2.8.1.2.2.4
		return putU16(putU16(putU16(append(b, fpInputMouseX<<5), e.flags), e.b), e.c)
	case inputEventSync: // 2.2.8.1.2.2.5
		return append(b, fpInputSync<<5|byte(e.flags&0x1F))
	}
	return b
}

// KeyScancode presses or releases a key by its PC/XT set 1 scancode
// (protocols/keys.XTScancode): 0xE0xx for extended keys.
func (c *Client) KeyScancode(scancode uint16, down bool) error {
	var flags uint16
	if !down {
		flags |= 0x8000 // KBDFLAGS_RELEASE
	}
	switch scancode >> 8 {
	case 0:
	case 0xE0:
		flags |= 0x0100 // KBDFLAGS_EXTENDED
	default:
		return fmt.Errorf("rdp: scancode %#x not representable", scancode)
	}
	return c.sendInput(inputEvent{msgType: inputEventScancode, flags: flags, a: scancode & 0xFF})
}

// KeyUnicode types a character that has no scancode. Characters outside the
// BMP are sent as their two UTF-16 surrogates.
func (c *Client) KeyUnicode(r rune, down bool) error {
	var flags uint16
	if !down {
		flags = 0x8000
	}
	if r < 0 || r > 0x10FFFF {
		return fmt.Errorf("rdp: rune %#x", r)
	}
	if r < 0x10000 {
		return c.sendInput(inputEvent{msgType: inputEventUnicode, flags: flags, a: uint16(r)})
	}
	r -= 0x10000
	return c.sendInput(
		inputEvent{msgType: inputEventUnicode, flags: flags, a: uint16(0xD800 + r>>10)},
		inputEvent{msgType: inputEventUnicode, flags: flags, a: uint16(0xDC00 + r&0x3FF)},
	)
}

// Pointer moves the pointer to x, y with buttons held (wire bits: left 1,
// middle 2, right 4, back 8, forward 16). Changed buttons are sent as their
// own press/release events.
func (c *Client) Pointer(buttons uint16, x, y int) error {
	px, py := clampCoord(x), clampCoord(y)
	c.mu.Lock()
	prev := c.buttons
	c.buttons = buttons
	c.mu.Unlock()
	evs := []inputEvent{{msgType: inputEventMouse, flags: ptrFlagsMove, b: px, c: py}}
	type btn struct {
		bit   uint16
		mouse uint16 // 0 means an extended button
		ext   uint16
	}
	for _, b := range [...]btn{{1, ptrFlagsButton1, 0}, {2, ptrFlagsButton3, 0}, {4, ptrFlagsButton2, 0}, {8, 0, ptrXFlagsButton1}, {16, 0, ptrXFlagsButton2}} {
		if (prev^buttons)&b.bit == 0 {
			continue
		}
		if b.mouse != 0 {
			f := b.mouse
			if buttons&b.bit != 0 {
				f |= ptrFlagsDown
			}
			evs = append(evs, inputEvent{msgType: inputEventMouse, flags: f, b: px, c: py})
		} else {
			f := b.ext
			if buttons&b.bit != 0 {
				f |= ptrXFlagsDown
			}
			evs = append(evs, inputEvent{msgType: inputEventMouseX, flags: f, b: px, c: py})
		}
	}
	return c.sendInput(evs...)
}

// Wheel scrolls at x, y by dy notches vertically (positive scrolls down, as
// browser wheel events count) and dx notches horizontally (positive scrolls
// right).
func (c *Client) Wheel(dx, dy int, x, y int) error {
	px, py := clampCoord(x), clampCoord(y)
	var evs []inputEvent
	// One notch is 120 units (WHEEL_DELTA); rotation is a 9-bit two's
	// complement value, so send at most 2 notches (240) per event.
	add := func(n int, base uint16, positiveIsNegative bool) {
		for n != 0 {
			step := max(-2, min(2, n))
			n -= step
			units := step * 120
			if positiveIsNegative {
				units = -units
			}
			f := base | uint16(units)&0x1FF
			if units < 0 {
				f |= ptrFlagsWheelNegative
			}
			evs = append(evs, inputEvent{msgType: inputEventMouse, flags: f, b: px, c: py})
		}
	}
	// Browser dy > 0 scrolls down: a negative wheel rotation in Windows terms.
	add(dy, ptrFlagsWheel, true)
	add(dx, ptrFlagsHWheel, false)
	for len(evs) > 0 {
		n := min(len(evs), 15)
		if err := c.sendInput(evs[:n]...); err != nil {
			return err
		}
		evs = evs[n:]
	}
	return nil
}

// SyncLocks sets the server's lock key states (2.2.8.1.2.2.5).
func (c *Client) SyncLocks(scroll, num, caps, kana bool) error {
	var f uint16
	if scroll {
		f |= 1
	}
	if num {
		f |= 2
	}
	if caps {
		f |= 4
	}
	if kana {
		f |= 8
	}
	return c.sendInput(inputEvent{msgType: inputEventSync, flags: f})
}

func clampCoord(v int) uint16 { return uint16(max(0, min(v, 0xFFFF))) }
