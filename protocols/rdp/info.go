package rdp

import (
	"encoding/binary"
	"time"
)

// PerformanceFlags selects desktop features the server may enable; the zero
// value disables them all for the least bandwidth (as Guacamole does). The
// names follow the Guacamole/authentik settings.
type PerformanceFlags uint32

const (
	EnableWallpaper          PerformanceFlags = 1 << iota // enable-wallpaper
	EnableFontSmoothing                                   // enable-font-smoothing
	EnableFullWindowDrag                                  // enable-full-window-drag
	EnableDesktopComposition                              // enable-desktop-composition
	EnableTheming                                         // enable-theming
	EnableMenuAnimations                                  // enable-menu-animations
)

// Wire performance flags (MS-RDPBCGR 2.2.1.11.1.1.1 performanceFlags).
const (
	perfDisableWallpaper         = 0x00000001
	perfDisableFullWindowDrag    = 0x00000002
	perfDisableMenuAnimations    = 0x00000004
	perfDisableTheming           = 0x00000008
	perfDisableCursorShadow      = 0x00000020
	perfEnableFontSmoothing      = 0x00000080
	perfEnableDesktopComposition = 0x00000100
)

// wire returns the TS_EXTENDED_INFO_PACKET performanceFlags value.
func (p PerformanceFlags) wire() uint32 {
	v := uint32(perfDisableCursorShadow)
	if p&EnableWallpaper == 0 {
		v |= perfDisableWallpaper
	}
	if p&EnableFullWindowDrag == 0 {
		v |= perfDisableFullWindowDrag
	}
	if p&EnableMenuAnimations == 0 {
		v |= perfDisableMenuAnimations
	}
	if p&EnableTheming == 0 {
		v |= perfDisableTheming
	}
	if p&EnableFontSmoothing != 0 {
		v |= perfEnableFontSmoothing
	}
	if p&EnableDesktopComposition != 0 {
		v |= perfEnableDesktopComposition
	}
	return v
}

// Security header flags (MS-RDPBCGR 2.2.8.1.1.2.1 TS_SECURITY_HEADER).
const (
	secExchangePkt    = 0x0001
	secEncrypt        = 0x0008
	secInfoPkt        = 0x0040
	secLicensePkt     = 0x0080
	secRedirectionPkt = 0x0400
	secAutodetectReq  = 0x1000
)

// Client Info flags (2.2.1.11.1.1 TS_INFO_PACKET flags).
const (
	infoMouse             = 0x00000001
	infoDisableCtrlAltDel = 0x00000002
	infoAutologon         = 0x00000008
	infoUnicode           = 0x00000010
	infoMaximizeShell     = 0x00000020
	infoLogonNotify       = 0x00000040
	infoEnableWindowsKey  = 0x00000100
	infoLogonErrors       = 0x00010000
	infoMouseHasWheel     = 0x00020000
	infoNoAudioPlayback   = 0x00080000
)

// clientInfoPDU builds the Client Info PDU (MS-RDPBCGR 2.2.1.11) body: the
// basic security header with SEC_INFO_PKT and TS_INFO_PACKET with its
// extended part. With NLA the credentials were already checked; we still
// send them so the server logs on without a prompt.
func clientInfoPDU(b []byte, cfg *Config) []byte {
	b = putU16(b, secInfoPkt)
	b = putU16(b, 0)
	flags := uint32(infoMouse | infoDisableCtrlAltDel | infoUnicode | infoMaximizeShell |
		infoLogonNotify | infoEnableWindowsKey | infoLogonErrors | infoMouseHasWheel | infoNoAudioPlayback)
	if cfg.Password != "" {
		flags |= infoAutologon
	}
	domain, user, pass := utf16le(cfg.Domain), utf16le(cfg.Username), utf16le(cfg.Password)
	b = putU32(b, 0) // CodePage
	b = putU32(b, flags)
	b = putU16(b, uint16(len(domain)))
	b = putU16(b, uint16(len(user)))
	b = putU16(b, uint16(len(pass)))
	b = putU16(b, 0) // cbAlternateShell
	b = putU16(b, 0) // cbWorkingDir
	for _, s := range [][]byte{domain, user, pass, nil, nil} {
		b = append(b, s...)
		b = append(b, 0, 0) // mandatory terminator, not counted
	}
	// TS_EXTENDED_INFO_PACKET (2.2.1.11.1.1.1).
	addr := utf16le("127.0.0.1")
	b = putU16(b, 2) // AF_INET
	b = putU16(b, uint16(len(addr)+2))
	b = append(b, addr...)
	b = append(b, 0, 0)
	dir := utf16le(`C:\racgate`)
	b = putU16(b, uint16(len(dir)+2))
	b = append(b, dir...)
	b = append(b, 0, 0)
	b = appendTimeZone(b, cfg.Timezone)
	b = putU32(b, 0) // clientSessionId
	b = putU32(b, cfg.Performance.wire())
	b = putU16(b, 0) // cbAutoReconnectCookie
	return b
}

// appendTimeZone appends TS_TIME_ZONE_INFORMATION (2.2.1.11.1.1.1.1) for an
// IANA zone name: the current offset as Bias, without transition rules.
func appendTimeZone(b []byte, zone string) []byte {
	loc := time.UTC
	if zone != "" {
		if l, err := time.LoadLocation(zone); err == nil {
			loc = l
		}
	}
	name, off := time.Now().In(loc).Zone()
	var tz [172]byte
	binary.LittleEndian.PutUint32(tz[0:], uint32(int32(-off/60))) // Bias: UTC = local + bias
	copy(tz[4:4+64], putFixedUTF16(nil, name, 64))                // StandardName
	copy(tz[88:88+64], putFixedUTF16(nil, name, 64))              // DaylightName
	return append(b, tz[:]...)
}
