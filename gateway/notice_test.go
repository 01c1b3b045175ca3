package gateway

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/racgate/racgate/config"
	"github.com/racgate/racgate/render/wire"
)

// notices are the NOTICE messages of ms, in order.
func notices(ms []wire.Message) []wire.Notice {
	var out []wire.Notice
	for _, m := range ms {
		if n, ok := m.(wire.Notice); ok {
			out = append(out, n)
		}
	}
	return out
}

// A remote's Notice reaches the browser as NOTICE, after HELLO even when the remote
// sends it while connecting; text is made valid UTF-8 and cut at a character boundary,
// a level over warning goes as a warning, empty text goes not at all.
func TestNoticeReachesBrowser(t *testing.T) {
	ts := newTestServer(t, strings.Replace(testConfig, "https://", "http://", 1))
	remotes := ts.useFake(nil)
	conn, _, err := ts.wsDial(t, ts.loggedIn(t, "demo"), "/ws/desk?width=800&height=600", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.CloseNow()
	f := <-remotes
	f.ev.Notice(wire.NoticeInfo, "while connecting")
	ms := readUntil(t, conn, wire.TypeNotice, 5*time.Second)
	if ms[0].Type() != wire.TypeHello {
		t.Fatalf("first message %v, want HELLO before the notice: %v", ms[0].Type(), types(ms))
	}
	if got := notices(ms); len(got) != 1 || got[0] != (wire.Notice{Level: wire.NoticeInfo, Text: "while connecting"}) {
		t.Fatalf("notices %+v", got)
	}

	long := strings.Repeat("a", wire.MaxNoticeText-1) + "é" // é would end one byte over the limit
	f.ev.Notice(wire.NoticeWarning, "The session ends in 5 minutes.")
	f.ev.Notice(wire.NoticeInfo, "bad \xff byte")
	f.ev.Notice(wire.NoticeInfo, long)
	f.ev.Notice(7, "level 7")
	f.ev.Notice(wire.NoticeWarning, "")
	f.ev.Bell() // after the notices in the same queue: the end of what to read
	got := notices(readUntil(t, conn, wire.TypeBell, 5*time.Second))
	want := []wire.Notice{
		{Level: wire.NoticeWarning, Text: "The session ends in 5 minutes."},
		{Level: wire.NoticeInfo, Text: "bad ? byte"},
		{Level: wire.NoticeInfo, Text: long[:wire.MaxNoticeText-1]},
		{Level: wire.NoticeWarning, Text: "level 7"},
	}
	if len(got) != len(want) {
		t.Fatalf("%d notices, want %d: %+v", len(got), len(want), got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("notice %d: level %d, %d bytes %.40q; want level %d, %d bytes %.40q",
				i, got[i].Level, len(got[i].Text), got[i].Text, want[i].Level, len(want[i].Text), want[i].Text)
		}
	}
}

// A shared connection's Notice reaches every browser on it, and no later one.
func TestNoticeSharedConnection(t *testing.T) {
	y := strings.NewReplacer("https://", "http://", "    maximum-connections: 1\n", "    maximum-connections: -1\n").Replace(testConfig)
	ts := newTestServer(t, y)
	d := &shareDialer{}
	ts.dial = func(ctx context.Context, ep *config.Endpoint, set config.Settings, ev remoteEvents, log *slog.Logger) (remote, display, error) {
		return ts.shares.join(ctx, "desk", log, ev, d.dial)
	}
	open := func(user string) *websocket.Conn {
		conn, _, err := ts.wsDial(t, ts.loggedIn(t, user), "/ws/desk?width=800&height=600", nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.CloseNow() })
		readUntil(t, conn, wire.TypeHello, 5*time.Second)
		return conn
	}
	a, b := open("demo"), open("bob")
	if c, n := ts.shares.count(); c != 1 || n != 2 {
		t.Fatalf("%d shared connections with %d sessions, want 1 with 2", c, n)
	}
	d.mu.Lock()
	ev := d.ev
	d.mu.Unlock()
	ev.Notice(wire.NoticeWarning, "shared ✓")
	want := wire.Notice{Level: wire.NoticeWarning, Text: "shared ✓"}
	for i, c := range []*websocket.Conn{a, b} {
		if got := notices(readUntil(t, c, wire.TypeNotice, 5*time.Second)); len(got) != 1 || got[0] != want {
			t.Errorf("browser %d: notices %+v", i, got)
		}
	}
	// A browser that joins later does not get it (unlike the desktop's name).
	late := open("demo")
	ev.Bell()
	if got := notices(readUntil(t, late, wire.TypeBell, 5*time.Second)); len(got) != 0 {
		t.Errorf("late browser got %+v", got)
	}
}
