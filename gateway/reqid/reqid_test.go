package reqid

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestMiddleware: a sane incoming ID is kept, anything else replaced; the answer and the
// log line written with the request's context carry it.
func TestMiddleware(t *testing.T) {
	var logs bytes.Buffer
	log := slog.New(Handler(slog.NewJSONHandler(&logs, nil))).With("part", "test")
	h := Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		log.InfoContext(r.Context(), "seen")
		log.Info("no context")
	}))
	for _, tc := range []struct{ in, want string }{
		{"3f2a-11ee.b:9_Z", "3f2a-11ee.b:9_Z"},
		{"", ""},
		{"two words", ""},
		{"x\nlevel=ERROR", ""},
		{string(bytes.Repeat([]byte("a"), 65)), ""},
	} {
		logs.Reset()
		rec := httptest.NewRecorder()
		req := httptest.NewRequest("GET", "/", nil)
		if tc.in != "" {
			req.Header.Set(Header, tc.in)
		}
		h.ServeHTTP(rec, req)
		got := rec.Header().Get(Header)
		if tc.want != "" && got != tc.want || tc.want == "" && (!valid(got) || got == tc.in || len(got) != 16) {
			t.Fatalf("in %q: answer's ID %q", tc.in, got)
		}
		dec := json.NewDecoder(&logs)
		var first, second map[string]any
		if err := dec.Decode(&first); err != nil {
			t.Fatal(err)
		}
		if err := dec.Decode(&second); err != nil {
			t.Fatal(err)
		}
		if first["request"] != got || first["part"] != "test" || second["request"] != nil {
			t.Fatalf("in %q: log lines %v and %v, want request=%s on the first only", tc.in, first, second, got)
		}
	}
}

// FuzzValid: whatever a client sends, the ID the answer and the logs carry is 1 to 64
// bytes of letters, digits and -_.:, and a sane one is kept as it came.
func FuzzValid(f *testing.F) {
	f.Add("3f2a-11ee.b:9_Z")
	f.Add("x\nlevel=ERROR")
	f.Add("")
	f.Add("é")
	h := Middleware(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	f.Fuzz(func(t *testing.T, in string) {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest("GET", "/", nil)
		req.Header[Header] = []string{in}
		h.ServeHTTP(rec, req)
		got := rec.Header().Get(Header)
		if len(got) == 0 || len(got) > 64 || strings.Trim(got, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.:") != "" {
			t.Fatalf("in %q: ID %q", in, got)
		}
		if valid(in) != (got == in) {
			t.Fatalf("in %q (valid %v): ID %q", in, valid(in), got)
		}
	})
}
