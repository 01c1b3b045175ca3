package guac

import (
	"errors"
	"io"
	"slices"
	"strings"
	"testing"
)

func TestAppend(t *testing.T) {
	// The manual's example, and lengths in characters, not bytes.
	for _, tc := range []struct {
		ins  Instruction
		want string
	}{
		{Instruction{"size", []string{"0", "1024", "768"}}, "4.size,1.0,4.1024,3.768;"},
		{Instruction{"video", nil}, "5.video;"},
		{Instruction{"clipboard", []string{"é€😀", ""}}, "9.clipboard,3.é€😀,0.;"},
	} {
		if got := tc.ins.String(); got != tc.want {
			t.Errorf("%v = %q, want %q", tc.ins, got, tc.want)
		}
	}
}

func TestReader(t *testing.T) {
	in := "4.args,13.VERSION_1_5_0,8.hostname,4.port;" +
		"4.sync,8.12345678;" +
		"9.clipboard,3.é€😀,0.;" +
		"5.video;"
	r := NewReader(strings.NewReader(in))
	want := []Instruction{
		{"args", []string{"VERSION_1_5_0", "hostname", "port"}},
		{"sync", []string{"12345678"}},
		{"clipboard", []string{"é€😀", ""}},
		{"video", []string{}},
	}
	for _, w := range want {
		got, err := r.Read()
		if err != nil {
			t.Fatal(err)
		}
		if got.Opcode != w.Opcode || !slices.Equal(got.Args, w.Args) {
			t.Fatalf("Read = %#v, want %#v", got, w)
		}
		// What Append writes, Read reads back.
		if back, err := NewReader(strings.NewReader(got.String())).Read(); err != nil || back.String() != got.String() {
			t.Fatalf("round trip of %v: %v %v", got, back, err)
		}
	}
	if _, err := r.Read(); !errors.Is(err, io.EOF) {
		t.Fatalf("at the end: %v, want io.EOF", err)
	}
	if r.Bytes != uint64(len(in)) {
		t.Fatalf("Bytes = %d, want %d", r.Bytes, len(in))
	}
}

func TestReaderErrors(t *testing.T) {
	for name, in := range map[string]string{
		"no dot":          "4size;",
		"letter length":   "x.size;",
		"empty length":    ".;",
		"bad separator":   "4.size:1.0;",
		"short value":     "4.siz",
		"cut after value": "4.size",
		"huge length":     "999999999.x;",
		"too big element": "1048577.x;",
		"too many":        strings.Repeat("1.a,", MaxElements) + "1.a;",
	} {
		_, err := NewReader(strings.NewReader(in)).Read()
		if err == nil || errors.Is(err, io.EOF) {
			t.Errorf("%s: err = %v", name, err)
		}
		if !errors.Is(err, ErrMalformed) && !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Errorf("%s: err = %v, want ErrMalformed or ErrUnexpectedEOF", name, err)
		}
	}
}

func FuzzReader(f *testing.F) {
	f.Add([]byte("4.size,1.0,4.1024,3.768;"))
	f.Add([]byte("3.img,1.1,2.14,1.0,9.image/png,1.0,1.0;4.blob,1.1,4.iVBO;3.end,1.1;"))
	f.Add([]byte("9.clipboard,3.é€😀,0.;4.sync,1.0;"))
	f.Add([]byte("2.\xff\xfe;"))
	f.Fuzz(func(t *testing.T, b []byte) {
		r := NewReader(strings.NewReader(string(b)))
		for range 64 {
			ins, err := r.Read()
			if err != nil {
				return
			}
			// Anything read encodes to something that reads back the same.
			back, err := NewReader(strings.NewReader(ins.String())).Read()
			if err != nil || back.String() != ins.String() {
				t.Fatalf("round trip of %q: %q, %v", ins.String(), back.String(), err)
			}
			if r.Bytes > uint64(len(b)) {
				t.Fatalf("counted %d bytes of %d", r.Bytes, len(b))
			}
		}
	})
}
