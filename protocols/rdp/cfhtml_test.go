package rdp

import (
	"bytes"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

// cfhtmlOffsets reads the offsets of a CF_HTML header on its own (not
// through decodeCFHTML), so that the encoder is checked against the
// article's layout rather than against the decoder.
func cfhtmlOffsets(t *testing.T, data []byte) map[string]int {
	t.Helper()
	m := map[string]int{}
	for _, l := range regexp.MustCompile(`(?m)^(StartHTML|EndHTML|StartFragment|EndFragment):(\d+)\r$`).FindAllSubmatch(data, -1) {
		v, err := strconv.Atoi(string(l[2]))
		if err != nil {
			t.Fatal(err)
		}
		m[string(l[1])] = v
	}
	if len(m) != 4 {
		t.Fatalf("offsets %v in %q", m, data)
	}
	return m
}

// cfhtmlDoc lays out CF_HTML by hand, as other programs write it: in
// header, $SH, $EH, $SF and $EF become the byte offsets, written with
// format ("%d", "%010d", ...), of the marks \x01, \x04 (context) and \x02,
// \x03 (fragment) in body, which are removed. Offsets without padding
// change the header's length, so it is found by trying.
func cfhtmlDoc(header, body, format string) []byte {
	var pos [5]int
	clean := make([]byte, 0, len(body))
	for _, c := range []byte(body) {
		if c >= 1 && c <= 4 {
			pos[c] = len(clean)
			continue
		}
		clean = append(clean, c)
	}
	for n, tries := 0, 0; tries < 100; tries++ {
		h := header
		for i, k := range []string{"$SH", "$SF", "$EF", "$EH"} {
			h = strings.ReplaceAll(h, k, fmt.Sprintf(format, n+pos[i+1]))
		}
		if len(h) == n {
			return append([]byte(h), clean...)
		}
		n = len(h)
	}
	panic("no header length fits its offsets")
}

// windowsCFHTML lays out CF_HTML as Windows browsers write it: LF line
// ends, offsets without padding, a head in the context, and optional
// extra header lines.
func windowsCFHTML(fragment, extra string) []byte {
	return cfhtmlDoc("Version:0.9\nStartHTML:$SH\nEndHTML:$EH\nStartFragment:$SF\nEndFragment:$EF\n"+extra,
		"\x01<html>\n<head><title>Grüße</title></head>\n<body>\n<!--StartFragment-->\x02"+fragment+"\x03<!--EndFragment-->\n</body>\n</html>\x04", "%d")
}

// cfhtmlFragments are fragments the round-trip tests use: non-Latin
// text, where a count of characters instead of bytes would be off.
var cfhtmlFragments = []string{
	"",
	"<b>bold</b>",
	"<p>Grüße aus <i>Köln</i> — 東京 ✓ 😀</p>",
	"<table><tr><td>Δ</td><td>ж</td></tr></table>\r\n",
	"<!--EndFragment--> in the text, and a lone <!--StartFragment-->",
	"NUL \x00 inside, and at the end\x00",
}

// TestCFHTMLRoundTrip: encodeCFHTML writes the header the article lays
// out, with ten-digit byte offsets that point exactly at the document and
// at the fragment between its comments, and decodeCFHTML gives the
// fragment back.
func TestCFHTMLRoundTrip(t *testing.T) {
	for _, frag := range cfhtmlFragments {
		data := encodeCFHTML(frag)
		if len(data) != cfhtmlSize(len(frag)) {
			t.Errorf("%q: %d bytes, cfhtmlSize says %d", frag, len(data), cfhtmlSize(len(frag)))
		}
		if !bytes.HasPrefix(data, []byte("Version:0.9\r\nStartHTML:00000")) || data[len(data)-1] != 0 {
			t.Errorf("%q: encoded as %q", frag, data)
		}
		off := cfhtmlOffsets(t, data)
		if got := string(data[off["StartFragment"]:off["EndFragment"]]); got != frag {
			t.Errorf("%q: StartFragment..EndFragment is %q", frag, got)
		}
		html := string(data[off["StartHTML"]:off["EndHTML"]])
		if !strings.HasPrefix(html, "<html>") || !strings.HasSuffix(html, "</html>") {
			t.Errorf("%q: StartHTML..EndHTML is %q", frag, html)
		}
		if !bytes.HasSuffix(data[:off["StartFragment"]], []byte("<!--StartFragment-->")) ||
			!bytes.HasPrefix(data[off["EndFragment"]:], []byte("<!--EndFragment-->")) {
			t.Errorf("%q: the comments are not at the fragment's offsets", frag)
		}
		if off["StartHTML"] != cfhtmlHeaderSize || off["EndHTML"] != len(data)-1 {
			t.Errorf("%q: offsets %v for %d bytes", frag, off, len(data))
		}
		got, err := decodeCFHTML(data)
		if err != nil || got != frag {
			t.Errorf("decodeCFHTML(encodeCFHTML(%q)) = %q, %v", frag, got, err)
		}
	}
	// Invalid UTF-8 is sent as U+FFFD: CF_HTML is UTF-8.
	if got, err := decodeCFHTML(encodeCFHTML("a\xffb")); err != nil || got != "a\uFFFDb" {
		t.Errorf("invalid UTF-8: %q, %v", got, err)
	}
}

// TestCFHTMLOffByOne: offsets one byte off, or counted in characters
// instead of bytes of UTF-8, do not give the fragment back: the tests
// above would see an encoder that wrote them.
func TestCFHTMLOffByOne(t *testing.T) {
	frag := "<p>Grüße — 東京</p>"
	data := encodeCFHTML(frag)
	off := cfhtmlOffsets(t, data)
	// setOffset rewrites one ten-digit offset in place.
	setOffset := func(data []byte, key string, v int) []byte {
		d := bytes.Clone(data)
		i := bytes.Index(d, []byte(key+":")) + len(key) + 1
		copy(d[i:], fmt.Sprintf("%010d", v))
		return d
	}
	for _, tc := range []struct{ key, delta string }{
		{"StartFragment", "-1"}, {"StartFragment", "+1"}, {"EndFragment", "-1"}, {"EndFragment", "+1"},
	} {
		d, _ := strconv.Atoi(tc.delta)
		got, err := decodeCFHTML(setOffset(data, tc.key, off[tc.key]+d))
		if err == nil && got == frag {
			t.Errorf("%s%s still decodes to the fragment", tc.key, tc.delta)
		}
	}
	// Characters instead of bytes: EndFragment short by the extra bytes
	// of ü, ß, — and 東京.
	chars := off["StartFragment"] + utf8.RuneCountInString(frag)
	if got, err := decodeCFHTML(setOffset(data, "EndFragment", chars)); err == nil && got == frag {
		t.Errorf("EndFragment in characters (%d for %d) still decodes to the fragment", chars, off["EndFragment"])
	}
}

// TestDecodeCFHTML: CF_HTML as programs write it (LF, CR or CR LF line
// ends, offsets with or without zeros, -1 for no context, SourceURL and
// the selection's offsets, NULs after the data) gives the fragment, or
// the context when the fragment's offsets are missing or wrong.
func TestDecodeCFHTML(t *testing.T) {
	const frag = "<b>Grüße</b> 😀"
	win := windowsCFHTML(frag, "")
	const ctx = "<html>ü</html>"
	for _, tc := range []struct {
		name string
		data []byte
		want string
	}{
		{"as a browser writes it", win, frag},
		{"SourceURL and selection", windowsCFHTML(frag, "StartSelection:$SF\nEndSelection:$EF\nSourceURL:https://example.com:8443/a?b=c\n"), frag},
		{"CR line ends", bytes.ReplaceAll(win, []byte("\n"), []byte("\r")), frag},
		{"CR LF line ends", cfhtmlDoc("Version:0.9\r\nStartHTML:$SH\r\nEndHTML:$EH\r\nStartFragment:$SF\r\nEndFragment:$EF\r\n",
			"\x01<html><body><!--StartFragment-->\x02"+frag+"\x03<!--EndFragment--></body></html>\x04", "%010d"), frag},
		{"trailing NULs", append(bytes.Clone(win), 0, 0, 0, 0), frag},
		{"spaces and zeros, version 1.0", cfhtmlDoc("Version:1.0\r\nStartHTML: $SH\r\nEndHTML: $EH \r\nStartFragment:$SF\r\nEndFragment:$EF\r\n",
			"\x01<html><!--StartFragment-->\x02"+frag+"\x03<!--EndFragment--></html>\x04", "%014d"), frag},
		{"no context", cfhtmlDoc("Version:0.9\nStartHTML:-1\nEndHTML:-1\nStartFragment:$SF\nEndFragment:$EF\n",
			"<!--StartFragment-->\x02"+frag+"\x03<!--EndFragment-->", "%d"), frag},
		{"empty fragment", cfhtmlDoc("Version:0.9\nStartFragment:$SF\nEndFragment:$EF\n", "<a>\x02\x03</a>", "%d"), ""},
		{"fragment missing: the context", cfhtmlDoc("Version:0.9\nStartHTML:$SH\nEndHTML:$EH\n", "\x01"+ctx+"\x04", "%d"), ctx},
		{"fragment beyond the data: the context", cfhtmlDoc("Version:0.9\nStartHTML:$SH\nEndHTML:$EH\nStartFragment:$SH\nEndFragment:999\n", "\x01"+ctx+"\x04", "%d"), ctx},
		{"fragment reversed: the context", cfhtmlDoc("Version:0.9\nStartHTML:$SH\nEndHTML:$EH\nStartFragment:$EH\nEndFragment:$SH\n", "\x01"+ctx+"\x04", "%d"), ctx},
		{"fragment -1: the context", cfhtmlDoc("Version:0.9\nStartHTML:$SH\nEndHTML:$EH\nStartFragment:-1\nEndFragment:-1\n", "\x01"+ctx+"\x04", "%d"), ctx},
		{"end counting a NUL", cfhtmlDoc("Version:0.9\nStartHTML:$SH\nEndHTML:$EH\n", "\x01"+ctx+"\x00\x04\x00", "%d"), ctx},
	} {
		got, err := decodeCFHTML(tc.data)
		if err != nil || got != tc.want {
			t.Errorf("%s: %q, %v; want %q (data %q)", tc.name, got, err, tc.want, tc.data)
		}
	}
}

// TestDecodeCFHTMLHostile: offsets beyond the data, reversed, huge,
// negative, missing or inside the header, a header too long to scan, and
// HTML that is not UTF-8 are errors (ErrClipboardFailed, naming what is
// wrong), never a panic or a slice of the wrong bytes.
func TestDecodeCFHTMLHostile(t *testing.T) {
	const body = "\x01<p>\x02x\x03</p>\x04"
	doc := func(header string) []byte { return cfhtmlDoc(header, body, "%d") }
	for _, tc := range []struct {
		name string
		data []byte
		want string // in the error
	}{
		{"empty", nil, "no header"},
		{"only NULs", make([]byte, 64), "no header"},
		{"HTML without a header", []byte("<html><body>x</body></html>\n"), "no header"},
		{"no Version first", doc("StartFragment:$SF\nEndFragment:$EF\nVersion:0.9\n"), "not Version"},
		{"header line without an end", []byte("Version:0.9"), "no header"},
		{"offsets missing", doc("Version:0.9\n"), "StartFragment missing; StartHTML missing"},
		{"end missing", doc("Version:0.9\nStartFragment:$SF\nStartHTML:$SH\n"), "EndFragment missing; EndHTML missing"},
		{"beyond the data", doc("Version:0.9\nStartFragment:$SF\nEndFragment:4000\nStartHTML:$SH\nEndHTML:4001\n"), "beyond the"},
		{"start beyond the data", doc("Version:0.9\nStartFragment:4000\nEndFragment:4000\n"), "beyond the"},
		{"reversed", doc("Version:0.9\nStartFragment:$EF\nEndFragment:$SF\nStartHTML:$EH\nEndHTML:$SH\n"), "after EndHTML"},
		{"huge", doc("Version:0.9\nStartFragment:99999999999999999999999\nEndFragment:$EF\nStartHTML:$SH\nEndHTML:18446744073709551617\n"), "too large"},
		{"11 digits", doc("Version:0.9\nStartFragment:$SF\nEndFragment:10000000000\n"), "too large"},
		{"value over 64 bytes", doc("Version:0.9\nStartFragment:$SF\nEndFragment:" + strings.Repeat("0", 70) + "1\n"), "has a value of 71 bytes"},
		{"negative", doc("Version:0.9\nStartFragment:-5\nEndFragment:$EF\nStartHTML:-2\nEndHTML:$EH\n"), "StartFragment \"-5\", not an offset"},
		{"-1 for both", doc("Version:0.9\nStartFragment:-1\nEndFragment:-1\nStartHTML:-1\nEndHTML:-1\n"), "StartFragment -1 (none); StartHTML -1 (none)"},
		{"not a number", doc("Version:0.9\nStartFragment:0x10\nEndFragment:1e3\n"), "not an offset"},
		{"inside the header", doc("Version:0.9\nStartFragment:0\nEndFragment:$EF\nStartHTML:11\nEndHTML:$EH\n"), "within the"},
		{"header over the scan limit", doc("Version:0.9\nSourceURL:http://" + strings.Repeat("a", cfhtmlMaxHeader) + "\nStartFragment:$SF\nEndFragment:$EF\n"), "past the 4096 bytes read"},
		{"not UTF-8", cfhtmlDoc("Version:0.9\nStartFragment:$SF\nEndFragment:$EF\n", "<p>\x02\xc3\x28\x03</p>", "%d"), "not UTF-8"},
	} {
		got, err := decodeCFHTML(tc.data)
		if !errors.Is(err, ErrClipboardFailed) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %q, %v; want an error with %q", tc.name, got, err, tc.want)
			continue
		}
		t.Logf("%s: %v", tc.name, err)
	}
}
