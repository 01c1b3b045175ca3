package pulse

import "testing"

func TestParseServer(t *testing.T) {
	for _, tc := range []struct{ server, want string }{
		{"snd.example", "snd.example:4713"},
		{"snd.example:4714", "snd.example:4714"},
		{"tcp:10.0.0.5:4800", "10.0.0.5:4800"},
		{"tcp6:[::1]:4800", "[::1]:4800"},
		{"::1", "[::1]:4713"},
		{"[::1]", "[::1]:4713"},
	} {
		if got, err := ParseServer(tc.server); err != nil || got != tc.want {
			t.Errorf("ParseServer(%q) = %q, %v; want %q", tc.server, got, err, tc.want)
		}
	}
	for _, bad := range []string{"", "tcp:", "unix:/run/pulse/native", "/run/pulse/native", "snd.example:0", "snd.example:x", "a b", "{machine}snd"} {
		if got, err := ParseServer(bad); err == nil {
			t.Errorf("ParseServer(%q) = %q, want an error", bad, got)
		}
	}
}
