package wire

import (
	"bytes"
	"encoding/binary"
	"errors"
	"reflect"
	"strings"
	"testing"
)

// allMessages has one message of every type, with values that use the whole field ranges.
func allMessages() []struct {
	name string
	m    Message
} {
	return []struct {
		name string
		m    Message
	}{
		{"hello", Hello{Version: Version, Kind: KindDesktop, Flags: FlagResize | FlagCopy, Name: "büro-pc"}},
		{"hello-terminal", Hello{Version: Version, Kind: KindTerminal, Flags: FlagPaste, Name: ""}},
		{"resize", Resize{Width: 1920, Height: 1080}},
		{"resize-max", Resize{Width: 65535, Height: 1}},
		{"fill", Fill{X: 1, Y: 2, W: 300, H: 40, R: 0x11, G: 0x80, B: 0xff}},
		{"copy", Copy{X: 0, Y: 16, W: 640, H: 464, SrcX: 0, SrcY: 0}},
		{"image-zrgb", Image{X: 64, Y: 128, W: 2, H: 1, Encoding: ZRGB, Data: []byte{0x78, 0x01, 0x00, 0x00, 0xff, 0xff}}},
		{"image-zrgb1", Image{X: 3, Y: 4, W: 2, H: 1, Encoding: ZRGB1, Data: storedZlib([]byte{1, 2, 3, 4, 5, 6})}},
		{"image-zpalette1", Image{X: 0, Y: 0, W: 8, H: 1, Encoding: ZPalette1, Data: storedZlib([]byte{1, 0, 0, 0, 255, 255, 255, 0b10100101})}},
		{"image-jpeg", Image{X: 0, Y: 0, W: 8, H: 8, Encoding: JPEG, Data: []byte{0xff, 0xd8, 0xff, 0xd9}}},
		{"frame", Frame{ID: 1}},
		{"frame-big", Frame{ID: 0xfffffffe}},
		{"cursor", Cursor{HotX: 1, HotY: 0, W: 2, H: 1, RGBA: []byte{255, 0, 0, 255, 0, 0, 0, 0}}},
		{"cursor-hidden", Cursor{}},
		{"clipboard", Clipboard{Text: "héllo\nwörld ✓"}},
		{"bell", Bell{}},
		{"name", Name{Name: "xterm — user@host"}},
		{"close", Close{Code: CloseAuthFailed, Reason: "wrong password"}},
		{"terminal", Terminal{Data: []byte("\x1b[1mbold\xe2\x9c")}},
		{"terminal-config", TerminalConfig{FontSize: 14, ColorScheme: "solarized-dark"}},
		{"terminal-config-defaults", TerminalConfig{}},
		{"terminal-deflate", TerminalDeflate{Size: 5, Data: []byte{0x78, 0x01, 0x00, 0x05, 0x00, 0xfa, 0xff, 'h', 'e', 'l', 'l', 'o', 0x00, 0x00, 0x00, 0xff, 0xff}}},
		{"terminal-deflate-max", TerminalDeflate{Size: MaxTerminalData, Data: []byte{}}},
		{"terminal-scrollback", TerminalScrollback{Lines: 5000}},
		{"terminal-scrollback-none", TerminalScrollback{Lines: 0}},
		{"ack", Ack{ID: 42}},
		{"key-down", Key{Down: true, Keysym: 0x61, Code: "KeyA"}},
		{"key-up-unicode", Key{Down: false, Keysym: 0x0100263a, Code: ""}},
		{"pointer", Pointer{X: 1023, Y: 767, Buttons: ButtonLeft | ButtonRight | ButtonForward}},
		{"client-clipboard", ClientClipboard{Text: "paste me"}},
		{"resize-request", ResizeRequest{Width: 1280, Height: 720}},
		{"resize-request-scale", ResizeRequest{Width: 2560, Height: 1600, Scale: 200}},
		{"terminal-input", TerminalInput{Data: []byte("ls -l\r")}},
		{"wheel", Wheel{X: 10, Y: 20, DX: -1, DY: 3}},
		{"wheel-min", Wheel{X: 0, Y: 0, DX: -32768, DY: 32767}},
		{"terminal-resize", TerminalResize{Cols: 80, Rows: 24}},
		{"prompt", Prompt{ID: 7, Name: "", Instruction: "", Prompts: []PromptField{{Text: "Password: ", Echo: false}}}},
		{"prompt-two", Prompt{ID: 0xfffffffe, Name: "Zwei-Faktor", Instruction: "Code aus der App ✓", Prompts: []PromptField{{Text: "Passwort: "}, {Text: "Code: ", Echo: true}}}},
		{"prompt-response", PromptResponse{ID: 7, Answers: []string{"sécret"}}},
		{"prompt-response-two", PromptResponse{ID: 0xfffffffe, Answers: []string{"", "123456"}}},
		{"prompt-response-cancel", PromptResponse{ID: 3}},
		{"unknown", Unknown{T: 0x40, Payload: []byte{1, 2, 3}}},
		{"audio", Audio{Timestamp: 60, Data: []byte{0xfc, 0xff, 0xfe}}},
		{"audio-empty", Audio{Timestamp: 0xffffffff, Data: []byte{}}},
		{"audio-format-opus", AudioFormat{Codec: CodecOpus, Channels: 2, SampleRate: 44100, Config: []byte{}}},
		{"audio-format-adpcm-mono", AudioFormat{Codec: CodecADPCM, Channels: 1, SampleRate: MinSampleRate, Config: []byte{}}},
		{"audio-format-unknown-codec", AudioFormat{Codec: 200, Channels: 2, SampleRate: MaxSampleRate, Config: []byte{9}}},
		{"audio-format-none", AudioFormat{Codec: CodecNone, Config: []byte{}}},
		{"audio-enable", AudioEnable{Enabled: true}},
		{"audio-disable", AudioEnable{Enabled: false}},
		{"notice-info", Notice{Level: NoticeInfo, Text: "Bildqualität reduziert: die Verbindung ist langsam ✓"}},
		{"notice-warning", Notice{Level: NoticeWarning, Text: "The remote session ends in 5 minutes."}},
		{"notice-max", Notice{Level: NoticeWarning, Text: strings.Repeat("é", MaxNoticeText/2)}},
		{"ping", Ping{Token: 0xfedcba98}},
		{"pong", Pong{Token: 1}},
		{"terminal-size", TerminalSize{Cols: 132, Rows: 43}},
		{"terminal-size-max", TerminalSize{Cols: MaxTerminalSide, Rows: 1}},
		{"files", Files{Flags: FilesUpload | FilesDownload, MaxUpload: 1 << 32, Token: "Ab-9_x.Q"}},
		{"files-max-token", Files{Flags: FilesDownload, Token: strings.Repeat("z", MaxFilesToken)}},
		{"file-ready", FileReady{Path: "/Download/report ü.pdf"}},
		{"file-ready-max", FileReady{Path: "/" + strings.Repeat("b", MaxFilePath-1)}},
		{"share-create", Share{Op: ShareCreate, Mode: ShareControl, Value: 3600}},
		{"share-revoke", Share{Op: ShareRevoke, Value: 0xfffffffe}},
		{"shares-empty", Shares{}},
		{"shares", Shares{Links: []ShareLink{{ID: 1, Mode: ShareView, ExpiresIn: 3599, URL: "/share/AAAA.bbbb"}, {ID: 7, Mode: ShareControl, ExpiresIn: 60, URL: "https://racgate.example/share/x"}},
			Watchers: []Watcher{{Link: 7, Mode: ShareControl, Name: "bob"}, {Link: 0, Mode: ShareView, Name: "Zoë"}}}},
		{"shares-max", Shares{Links: make([]ShareLink, MaxShareLinks), Watchers: make([]Watcher, MaxWatchers)}},
		{"clipboard-content-html", ClipboardContent{Text: "Grüße ✓", HTML: "<b>Grüße</b> ✓"}},
		{"clipboard-content-png", ClipboardContent{PNG: []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\x00")}},
		{"clipboard-content-all", ClipboardContent{Text: "t", HTML: "<i>t</i>", PNG: []byte("\x89PNG\r\n\x1a\n")}},
		{"client-clipboard-content", ClientClipboardContent{Text: "paste", HTML: "<p>paste</p>"}},
		{"client-clipboard-content-png", ClientClipboardContent{PNG: []byte("\x89PNG\r\n\x1a\nrest")}},
	}
}

func TestRoundTrip(t *testing.T) {
	var all []byte
	var want []Message
	for _, tc := range allMessages() {
		b := tc.m.Append(nil)
		if Type(b[0]) != tc.m.Type() {
			t.Errorf("%s: type byte %#x, want %#x", tc.name, b[0], tc.m.Type())
		}
		if n := binary.LittleEndian.Uint32(b[1:]); int(n) != len(b)-5 {
			t.Errorf("%s: length field %d, payload %d", tc.name, n, len(b)-5)
		}
		got, rest, err := Next(b)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if len(rest) != 0 {
			t.Errorf("%s: %d bytes left", tc.name, len(rest))
		}
		if !equalMsg(got, tc.m) {
			t.Errorf("%s: decoded %#v, want %#v", tc.name, got, tc.m)
		}
		all = tc.m.Append(all)
		want = append(want, tc.m)
	}
	// Several messages in one websocket message.
	var got []Message
	if err := Decode(all, func(m Message) error { got = append(got, m); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("Decode gave %d messages, want %d", len(got), len(want))
	}
	for i := range got {
		if !equalMsg(got[i], want[i]) {
			t.Errorf("message %d: %#v, want %#v", i, got[i], want[i])
		}
	}
}

// equalMsg compares messages, treating nil and empty byte slices alike.
func equalMsg(a, b Message) bool {
	return bytes.Equal(a.Append(nil), b.Append(nil)) && reflect.TypeOf(a) == reflect.TypeOf(b)
}

func TestFieldLayout(t *testing.T) {
	// Spot checks against docs/protocol.md, byte by byte.
	cases := []struct {
		m    Message
		want []byte
	}{
		{Fill{X: 1, Y: 2, W: 3, H: 4, R: 5, G: 6, B: 7}, []byte{3, 11, 0, 0, 0, 1, 0, 2, 0, 3, 0, 4, 0, 5, 6, 7}},
		{Wheel{X: 1, Y: 2, DX: -1, DY: 1}, []byte{0x86, 8, 0, 0, 0, 1, 0, 2, 0, 0xff, 0xff, 1, 0}},
		{Key{Down: true, Keysym: 0x01020304, Code: "A"}, []byte{0x81, 6, 0, 0, 0, 1, 4, 3, 2, 1, 'A'}},
		{Hello{Version: 1, Kind: 1, Flags: 7, Name: "x"}, []byte{1, 5, 0, 0, 0, 1, 0, 1, 7, 'x'}},
		{Close{Code: CloseShutdown, Reason: ""}, []byte{0x0b, 2, 0, 0, 0, 8, 0}},
		{Bell{}, []byte{9, 0, 0, 0, 0}},
		{TerminalConfig{FontSize: 0x0102, ColorScheme: "ab"}, []byte{0x0e, 4, 0, 0, 0, 2, 1, 'a', 'b'}},
		{Prompt{ID: 0x01020304, Name: "n", Instruction: "", Prompts: []PromptField{{Text: "P:"}, {Text: "", Echo: true}}},
			[]byte{0x0f, 18, 0, 0, 0, 4, 3, 2, 1, 1, 0, 'n', 0, 0, 2, 0, 2, 0, 'P', ':', 1, 0, 0}},
		{PromptResponse{ID: 9, Answers: []string{"ab", ""}}, []byte{0x88, 11, 0, 0, 0, 9, 0, 0, 0, 2, 2, 0, 'a', 'b', 0, 0}},
		{Notice{Level: NoticeWarning, Text: "hi"}, []byte{0x13, 3, 0, 0, 0, 1, 'h', 'i'}},
		{ResizeRequest{Width: 1, Height: 2}, []byte{0x84, 4, 0, 0, 0, 1, 0, 2, 0}},
		{ResizeRequest{Width: 1, Height: 2, Scale: 150}, []byte{0x84, 6, 0, 0, 0, 1, 0, 2, 0, 150, 0}},
		{ClientClipboardContent{Text: "a", HTML: "b"}, append([]byte{0x8a, 32, 0, 0, 0, 2, 10}, "text/plain\x01\x00\x00\x00a\x09text/html\x01\x00\x00\x00b"...)},
	}
	for _, c := range cases {
		if got := c.m.Append(nil); !bytes.Equal(got, c.want) {
			t.Errorf("%T: % x, want % x", c.m, got, c.want)
		}
	}
}

func TestAppendTerminalHeader(t *testing.T) {
	data := []byte("out\r\n")
	got := append(AppendTerminalHeader([]byte{0xaa}, len(data)), data...)
	if want := (Terminal{Data: data}).Append([]byte{0xaa}); !bytes.Equal(got, want) {
		t.Fatalf("% x, want % x", got, want)
	}
}

func TestExtraFieldsIgnored(t *testing.T) {
	// A longer payload than known fields is how fields are added within a version.
	b := []byte{byte(TypeFrame), 6, 0, 0, 0, 7, 0, 0, 0, 0xaa, 0xbb}
	m, rest, err := Next(b)
	if err != nil || len(rest) != 0 {
		t.Fatal(err, rest)
	}
	if m != (Frame{ID: 7}) {
		t.Fatalf("got %#v", m)
	}
}

func TestMalformed(t *testing.T) {
	big := make([]byte, MaxClipboard+1)
	for i := range big {
		big[i] = 'a'
	}
	cases := []struct {
		name string
		b    []byte
	}{
		{"empty-header", []byte{1}},
		{"short-header", []byte{1, 0, 0, 0}},
		{"truncated-payload", []byte{byte(TypeFrame), 4, 0, 0, 0, 1, 2}},
		{"huge-length", []byte{byte(TypeImage), 0xff, 0xff, 0xff, 0xff, 0}},
		{"short-hello", Unknown{T: TypeHello, Payload: []byte{1, 0, 0}}.Append(nil)},
		{"short-resize", Unknown{T: TypeResize, Payload: []byte{1, 0, 0}}.Append(nil)},
		{"short-fill", Unknown{T: TypeFill, Payload: make([]byte, 10)}.Append(nil)},
		{"short-copy", Unknown{T: TypeCopy, Payload: make([]byte, 11)}.Append(nil)},
		{"short-image", Unknown{T: TypeImage, Payload: make([]byte, 8)}.Append(nil)},
		{"short-frame", Unknown{T: TypeFrame, Payload: make([]byte, 3)}.Append(nil)},
		{"short-cursor", Unknown{T: TypeCursor, Payload: make([]byte, 7)}.Append(nil)},
		{"cursor-pixels-short", Unknown{T: TypeCursor, Payload: []byte{0, 0, 0, 0, 2, 0, 2, 0, 1, 2, 3}}.Append(nil)},
		{"short-close", Unknown{T: TypeClose, Payload: []byte{1}}.Append(nil)},
		{"short-ack", Unknown{T: TypeAck, Payload: []byte{1, 2}}.Append(nil)},
		{"short-key", Unknown{T: TypeKey, Payload: []byte{1, 2, 3, 4}}.Append(nil)},
		{"key-down-2", Unknown{T: TypeKey, Payload: []byte{2, 0, 0, 0, 0}}.Append(nil)},
		{"short-pointer", Unknown{T: TypePointer, Payload: make([]byte, 5)}.Append(nil)},
		{"short-resize-request", Unknown{T: TypeResizeRequest, Payload: make([]byte, 3)}.Append(nil)},
		{"short-wheel", Unknown{T: TypeWheel, Payload: make([]byte, 7)}.Append(nil)},
		{"short-terminal-resize", Unknown{T: TypeTerminalResize, Payload: make([]byte, 2)}.Append(nil)},
		{"clipboard-too-big", Unknown{T: TypeClipboard, Payload: big}.Append(nil)},
		{"client-clipboard-too-big", Unknown{T: TypeClientClipboard, Payload: big}.Append(nil)},
		{"prompt-no-prompts", Prompt{ID: 1}.Append(nil)},
		{"prompt-17-prompts", Prompt{ID: 1, Prompts: make([]PromptField, MaxPrompts+1)}.Append(nil)},
		{"prompt-text-too-long", Prompt{ID: 1, Prompts: []PromptField{{Text: string(big[:MaxPromptText+1])}}}.Append(nil)},
		{"prompt-name-too-long", Prompt{ID: 1, Name: string(big[:MaxPromptText+1]), Prompts: []PromptField{{}}}.Append(nil)},
		{"prompt-bad-flags", Unknown{T: TypePrompt, Payload: []byte{1, 0, 0, 0, 0, 0, 0, 0, 1, 2, 0, 0}}.Append(nil)},
		{"prompt-text-beyond-end", Unknown{T: TypePrompt, Payload: []byte{1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 5, 0, 'a'}}.Append(nil)},
		{"prompt-missing-prompt", Unknown{T: TypePrompt, Payload: []byte{1, 0, 0, 0, 0, 0, 0, 0, 2, 0, 1, 0, 'a'}}.Append(nil)},
		{"prompt-not-utf8", Unknown{T: TypePrompt, Payload: []byte{1, 0, 0, 0, 2, 0, 0xff, 0xfe, 0, 0, 1, 0, 0, 0}}.Append(nil)},
		{"short-prompt", Unknown{T: TypePrompt, Payload: make([]byte, 8)}.Append(nil)},
		{"short-prompt-response", Unknown{T: TypePromptResponse, Payload: make([]byte, 4)}.Append(nil)},
		{"prompt-response-17-answers", PromptResponse{ID: 1, Answers: make([]string, MaxPrompts+1)}.Append(nil)},
		{"prompt-response-answer-too-long", PromptResponse{ID: 1, Answers: []string{string(big[:MaxPromptText+1])}}.Append(nil)},
		{"prompt-response-missing-answer", Unknown{T: TypePromptResponse, Payload: []byte{1, 0, 0, 0, 2, 1, 0, 'x'}}.Append(nil)},
		{"prompt-response-not-utf8", Unknown{T: TypePromptResponse, Payload: []byte{1, 0, 0, 0, 1, 1, 0, 0xc3}}.Append(nil)},
		{"clipboard-not-utf8", Unknown{T: TypeClientClipboard, Payload: []byte{0xff, 0xfe}}.Append(nil)},
		{"short-notice", Unknown{T: TypeNotice}.Append(nil)},
		{"short-ping", Unknown{T: TypePing, Payload: []byte{1, 2, 3}}.Append(nil)},
		{"short-pong", Unknown{T: TypePong}.Append(nil)},
		{"short-terminal-size", Unknown{T: TypeTerminalSize, Payload: []byte{80, 0, 24}}.Append(nil)},
		{"terminal-size-0", TerminalSize{Cols: 0, Rows: 24}.Append(nil)},
		{"terminal-size-4097", TerminalSize{Cols: 80, Rows: MaxTerminalSide + 1}.Append(nil)},
		{"files-flags", Files{Flags: 8, Token: "t"}.Append(nil)},
		{"files-token-space", Files{Token: "a b"}.Append(nil)},
		{"files-token-empty", Files{}.Append(nil)},
		{"file-ready-empty", FileReady{}.Append(nil)},
		{"short-share", Unknown{T: TypeShare, Payload: []byte{0, 0, 1, 0, 0}}.Append(nil)},
		{"share-op-2", Share{Op: 2}.Append(nil)},
		{"share-mode-2", Share{Op: ShareCreate, Mode: 2}.Append(nil)},
		{"short-shares", Unknown{T: TypeShares}.Append(nil)},
		{"shares-17-links", Shares{Links: make([]ShareLink, MaxShareLinks+1)}.Append(nil)},
		{"shares-65-watchers", Shares{Watchers: make([]Watcher, MaxWatchers+1)}.Append(nil)},
		{"shares-81-entries", Unknown{T: TypeShares, Payload: []byte{81}}.Append(nil)},
		{"shares-entry-missing", Unknown{T: TypeShares, Payload: []byte{1}}.Append(nil)},
		{"shares-entry-short", Shares{Links: []ShareLink{{URL: "/x"}}}.Append(nil)[:5+1+12]},
		{"shares-kind-2", Unknown{T: TypeShares, Payload: []byte{1, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}}.Append(nil)},
		{"shares-mode-2", Shares{Watchers: []Watcher{{Mode: 2, Name: "a"}}}.Append(nil)},
		{"shares-link-mode-2", Shares{Links: []ShareLink{{Mode: 2}}}.Append(nil)},
		{"shares-text-too-long", Shares{Links: []ShareLink{{URL: strings.Repeat("u", MaxShareText+1)}}}.Append(nil)},
		{"shares-text-beyond-end", Unknown{T: TypeShares, Payload: []byte{1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3, 0, 'a'}}.Append(nil)},
		{"shares-link-after-watcher", Unknown{T: TypeShares, Payload: []byte{2, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}}.Append(nil)},
		{"shares-watcher-expires", Unknown{T: TypeShares, Payload: []byte{1, 1, 0, 0, 0, 0, 0, 5, 0, 0, 0, 0, 0}}.Append(nil)},
		{"shares-text-not-utf8", Shares{Watchers: []Watcher{{Name: "a\xff"}}}.Append(nil)},
		{"notice-level-2", Notice{Level: 2, Text: "x"}.Append(nil)},
		{"notice-level-255", Notice{Level: 255, Text: "x"}.Append(nil)},
		{"notice-empty", Notice{Level: NoticeWarning}.Append(nil)},
		{"notice-too-long", Notice{Text: string(big[:MaxNoticeText+1])}.Append(nil)},
		{"notice-not-utf8", Unknown{T: TypeNotice, Payload: []byte{0, 'a', 0xc3}}.Append(nil)},
		{"clipboard-content-empty", ClipboardContent{}.Append(nil)},
		{"short-clipboard-content", Unknown{T: TypeClipboardContent}.Append(nil)},
		{"clipboard-content-9-formats", Unknown{T: TypeClientClipboardContent, Payload: clipItems(9, "x/y", "")}.Append(nil)},
		{"clipboard-content-repeated", Unknown{T: TypeClipboardContent, Payload: clipItems(2, MIMEText, "a")}.Append(nil)},
		{"clipboard-content-empty-mime", Unknown{T: TypeClipboardContent, Payload: clipItems(1, "", "a")}.Append(nil)},
		{"clipboard-content-missing-format", Unknown{T: TypeClipboardContent, Payload: clipItems(1, MIMEText, "a")[:1]}.Append(nil)},
		{"clipboard-content-mime-beyond-end", Unknown{T: TypeClipboardContent, Payload: clipItems(1, MIMEText, "a")[:6]}.Append(nil)},
		{"clipboard-content-size-missing", Unknown{T: TypeClipboardContent, Payload: clipItems(1, MIMEText, "a")[:14]}.Append(nil)},
		{"clipboard-content-data-beyond-end", Unknown{T: TypeClipboardContent, Payload: clipItems(1, MIMEText, "ab")[:17]}.Append(nil)},
		{"clipboard-content-huge-size", Unknown{T: TypeClipboardContent, Payload: append([]byte{1, 1, 'x', 0xff, 0xff, 0xff, 0xff}, "abc"...)}.Append(nil)},
		{"clipboard-content-text-not-utf8", Unknown{T: TypeClipboardContent, Payload: clipItems(1, MIMEText, "\xc3")}.Append(nil)},
		{"clipboard-content-html-not-utf8", Unknown{T: TypeClientClipboardContent, Payload: clipItems(1, MIMEHTML, "\xff")}.Append(nil)},
		{"clipboard-content-html-too-big", ClipboardContent{HTML: string(big)}.Append(nil)},
		{"clipboard-content-text-too-big", ClientClipboardContent{Text: string(big)}.Append(nil)},
		{"clipboard-content-not-png", ClipboardContent{PNG: []byte("GIF89a")}.Append(nil)},
	}
	for _, c := range cases {
		_, _, err := Next(c.b)
		if !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: err %v, want ErrMalformed", c.name, err)
		}
		// Decode reports it too, after the good messages before it.
		n := 0
		err = Decode(append(Bell{}.Append(nil), c.b...), func(Message) error { n++; return nil })
		if !errors.Is(err, ErrMalformed) || n != 1 {
			t.Errorf("%s: Decode err %v after %d messages", c.name, err, n)
		}
	}
}

func TestDecodeStopsOnCallbackError(t *testing.T) {
	stop := errors.New("stop")
	b := Bell{}.Append(Bell{}.Append(nil))
	n := 0
	err := Decode(b, func(Message) error { n++; return stop })
	if !errors.Is(err, stop) || n != 1 {
		t.Fatalf("err %v n %d", err, n)
	}
}

func TestTypeString(t *testing.T) {
	if TypeTerminalResize.String() != "TERMINAL_RESIZE" || Type(0x40).String() != "0x40" {
		t.Fatal(TypeTerminalResize.String(), Type(0x40).String())
	}
	if CloseAuthFailed.Reconnect() || !CloseUnreachable.Reconnect() {
		t.Fatal("Reconnect table")
	}
}

func FuzzNext(f *testing.F) {
	for _, tc := range allMessages() {
		f.Add(tc.m.Append(nil))
	}
	f.Add([]byte{byte(TypeCursor), 9, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0})
	f.Add([]byte{byte(TypeFrame), 0xff, 0xff, 0xff, 0x7f})
	spec := loadSpec(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		m, rest, err := Next(b)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error does not wrap ErrMalformed: %v", err)
			}
			return
		}
		consumed := b[:len(b)-len(rest)]
		enc := m.Append(nil)
		// Re-encoding gives the same bytes, except fields this version does not know,
		// which were dropped: the known payload is a prefix of the original one. A
		// CLIPBOARD_CONTENT's formats may come in any order, with unknown ones among
		// them; its re-encoding is only checked to decode the same.
		// Formats it does not know are all a CLIPBOARD_CONTENT may hold: it decodes
		// empty, which has no encoding.
		switch c := m.(type) {
		case ClipboardContent:
			if c.Text == "" && c.HTML == "" && c.PNG == nil {
				return
			}
			consumed = enc
		case ClientClipboardContent:
			if c.Text == "" && c.HTML == "" && c.PNG == nil {
				return
			}
			consumed = enc
		}
		if enc[0] != consumed[0] || !bytes.HasPrefix(consumed[5:], enc[5:]) {
			t.Fatalf("re-encoded % x, input % x", enc, consumed)
		}
		if len(enc) != len(consumed) && !mayDropTrailing(spec, m) {
			t.Fatalf("variable-length %v lost bytes: % x vs % x", m.Type(), enc, consumed)
		}
		m2, rest2, err := Next(enc)
		if err != nil || len(rest2) != 0 || !equalMsg(m, m2) {
			t.Fatalf("second decode: %v %#v %#v", err, m, m2)
		}
	})
}

func TestNoPanicOnGarbage(t *testing.T) {
	// A cheap deterministic sweep in addition to FuzzNext: every prefix of every message.
	for _, tc := range allMessages() {
		b := tc.m.Append(nil)
		for i := 0; i < len(b); i++ {
			if _, _, err := Next(b[:i]); err == nil {
				t.Errorf("%s: prefix of %d bytes decoded", tc.name, i)
			}
		}
	}
}

// clipItems is a CLIPBOARD_CONTENT payload of n formats, each mime with data.
func clipItems(n int, mime, data string) []byte {
	b := []byte{byte(n)}
	for range n {
		b = append(append(b, byte(len(mime))), mime...)
		b = binary.LittleEndian.AppendUint32(b, uint32(len(data)))
		b = append(b, data...)
	}
	return b
}

// TestClipboardContentSkipsUnknown: formats a receiver does not know are skipped, so
// new ones can be added within the version; the known ones around them are read.
func TestClipboardContentSkipsUnknown(t *testing.T) {
	p := clipItems(1, "image/svg+xml", "<svg/>")
	p = append(p, clipItems(1, MIMEHTML, "<b>x</b>")[1:]...)
	p = append(p, clipItems(1, "text/uri-list", "")[1:]...)
	p = append(p, clipItems(1, MIMEText, "x")[1:]...)
	p[0] = 4
	m, rest, err := Next(append(Unknown{T: TypeClientClipboardContent, Payload: p}.Append(nil), Bell{}.Append(nil)...))
	if err != nil {
		t.Fatal(err)
	}
	if want := (ClientClipboardContent{Text: "x", HTML: "<b>x</b>"}); !equalMsg(m, want) {
		t.Errorf("decoded %#v, want %#v", m, want)
	}
	if len(rest) != 5 {
		t.Errorf("%d bytes after it, want the BELL's 5", len(rest))
	}
}

func TestValidText(t *testing.T) {
	for _, tc := range []struct {
		s    string
		n    int
		want string
	}{
		{"abc", 5, "abc"}, {"abc", 2, "ab"}, {"a世b", 2, "a"}, {"a世b", 4, "a世"}, {"世", 0, ""},
		{"a\xffb", 5, "a?b"}, {"\xff\xfe世", 3, "?"}, {"ab\xc3", 3, "ab?"},
	} {
		if got := ValidText(tc.s, tc.n); got != tc.want {
			t.Errorf("ValidText(%q, %d) = %q, want %q", tc.s, tc.n, got, tc.want)
		}
	}
}
