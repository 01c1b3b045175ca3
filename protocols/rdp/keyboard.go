package rdp

// KeyboardLayoutID maps a Guacamole/authentik server-layout name
// ("de-de-qwertz") to the Windows keyboard layout identifier that
// Config.KeyboardLayout takes (MS-RDPBCGR 2.2.1.3.2 keyboardLayout). The
// server then interprets scancodes with that layout. "failsafe" is US
// English: with it, characters should be sent with KeyUnicode.
func KeyboardLayoutID(name string) (uint32, bool) {
	id, ok := keyboardLayouts[name]
	return id, ok
}

// keyboardLayouts is read-only after initialisation.
var keyboardLayouts = map[string]uint32{
	"failsafe":        0x00000409,
	"en-us-qwerty":    0x00000409,
	"en-gb-qwerty":    0x00000809,
	"de-de-qwertz":    0x00000407,
	"de-ch-qwertz":    0x00000807,
	"fr-fr-azerty":    0x0000040C,
	"fr-be-azerty":    0x0000080C,
	"fr-ch-qwertz":    0x0000100C,
	"it-it-qwerty":    0x00000410,
	"es-es-qwerty":    0x0000040A,
	"es-latam-qwerty": 0x0000080A,
	"pt-br-qwerty":    0x00000416,
	"pt-pt-qwerty":    0x00000816,
	"ja-jp-qwerty":    0x00000411,
	"sv-se-qwerty":    0x0000041D,
	"da-dk-qwerty":    0x00000406,
	"no-no-qwerty":    0x00000414,
	"fi-fi-qwerty":    0x0000040B,
	"tr-tr-qwerty":    0x0000041F,
	"hu-hu-qwertz":    0x0000040E,
}
