package gateway

import (
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/racgate/racgate/gateway/recordings"
	"github.com/racgate/racgate/recording"
	"github.com/racgate/racgate/render/wire"
)

// TestRecordingsAPI: only auditors (and admins) list and read recordings; the list
// filters; ids that leave the folders (.., symlinks) name nothing; data starts at the key
// frame before the time asked.
func TestRecordingsAPI(t *testing.T) {
	dir := t.TempDir()
	outside := t.TempDir()
	start := time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)
	mk := func(base string, m recording.Meta, keys int) {
		t.Helper()
		d, err := recording.CreateDesktop(filepath.Join(dir, base), m)
		if err != nil {
			t.Fatal(err)
		}
		for i := range keys {
			d.Output(wire.Frame{ID: uint32(i + 1)}.Append(wire.Resize{Width: 8, Height: 8}.Append(nil)))
			time.Sleep(20 * time.Millisecond)
		}
		d.Close("done")
	}
	mk("a", recording.Meta{Protocol: "vnc", User: "alice", Endpoint: "desk", Start: start}, 3)
	mk("sub/b", recording.Meta{Protocol: "rdp", User: "bob", Endpoint: "Windows box", Start: start.Add(48 * time.Hour)}, 1)
	c, err := recording.CreateTerminal(filepath.Join(dir, "c"), recording.Meta{Protocol: "ssh", User: "carol", Endpoint: "shell", Start: start.Add(time.Hour)}, 80, 24, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	c.Output([]byte("hello\r\n"))
	c.Close()
	os.WriteFile(filepath.Join(outside, "secret"+recording.ExtDesktop), []byte("not yours"), 0o600)
	os.Symlink(filepath.Join(outside, "secret"+recording.ExtDesktop), filepath.Join(dir, "link"+recording.ExtDesktop))
	os.WriteFile(filepath.Join(dir, "junk"+recording.ExtDesktop), []byte("junk"), 0o600)

	y := strings.Replace(testConfig, "  - name: lab\n", "  - name: lab\n    recording: {path: "+dir+"}\n", 1) + "auditor-group: auditors\nadmin-group: admins\n"
	y = strings.Replace(y, "  - username: bob\n    password-hash: \""+testHash+"\"\n", "  - username: bob\n    password-hash: \""+testHash+"\"\n  - username: eve\n    password-hash: \""+testHash+"\"\n    groups: [auditors]\n", 1)
	ts := newTestServer(t, strings.Replace(y, "https://gw.example", "http://gw.example", 1))

	// Nobody, and a user who is neither auditor nor admin: refused.
	if resp, _ := get(t, ts.client(), ts.hs.URL+"/api/recordings"); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("no login: %s", resp.Status)
	}
	if resp, _ := get(t, ts.loggedIn(t, "bob"), ts.hs.URL+"/api/recordings"); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("bob: %s", resp.Status)
	}
	list := func(c *http.Client, q string) []recordings.Entry {
		t.Helper()
		resp, body := get(t, c, ts.hs.URL+"/api/recordings?"+q)
		if resp.StatusCode != 200 {
			t.Fatalf("list %q: %s %s", q, resp.Status, body)
		}
		var l []recordings.Entry
		if err := json.Unmarshal([]byte(body), &l); err != nil {
			t.Fatal(err)
		}
		return l
	}
	eve, demo := ts.loggedIn(t, "eve"), ts.loggedIn(t, "demo") // an auditor, an admin
	all := list(eve, "")
	if len(all) != 3 || all[0].User != "bob" || all[1].User != "carol" || all[2].User != "alice" {
		t.Fatalf("list (newest first, junk and the symlink left out): %+v", all)
	}
	if all[0].ID != "0/sub/b"+recording.ExtDesktop || all[1].Kind != "terminal" || all[2].Protocol != "vnc" {
		t.Fatalf("entries %+v", all)
	}
	for q, want := range map[string]int{"user=ALI": 1, "endpoint=windows": 1, "from=2026-12-07": 1, "to=2026-12-06": 2, "from=2026-12-06&to=2026-12-06&user=carol": 1, "user=zed": 0} {
		if got := list(demo, q); len(got) != want {
			t.Errorf("list %q: %d entries, want %d", q, len(got), want)
		}
	}
	if resp, _ := get(t, eve, ts.hs.URL+"/api/recordings?from=yesterday"); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("a bad date: %s", resp.Status)
	}

	// Ids that leave the folder, or name no recording.
	for _, id := range []string{"0/../" + filepath.Base(outside) + "/secret.rgrec", "0/link.rgrec", "1/a.rgrec", "x/a.rgrec", "0/a.txt", "0//etc/passwd.rgrec", "0/nope.rgrec"} {
		resp, _ := get(t, eve, ts.hs.URL+"/api/recordings/index?id="+url.QueryEscape(id))
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("id %q: %s", id, resp.Status)
		}
	}
	if resp, _ := get(t, eve, ts.hs.URL+"/api/recordings/index?id="+url.QueryEscape("0/junk.rgrec")); resp.StatusCode != http.StatusUnprocessableEntity {
		t.Errorf("junk: %s", resp.Status)
	}

	// The index, and data from the key frame at or before at.
	resp, body := get(t, eve, ts.hs.URL+"/api/recordings/index?id="+url.QueryEscape("0/a.rgrec"))
	var ix recordings.Index
	if resp.StatusCode != 200 || json.Unmarshal([]byte(body), &ix) != nil || len(ix.Keys) != 3 || !ix.Ended || ix.Reason != "done" || ix.Meta.User != "alice" {
		t.Fatalf("index: %s %s", resp.Status, body)
	}
	// The screen never changes: the second and third key frames are deltas over the
	// first, whose picture (one record) comes before them.
	for i, k := range ix.Keys {
		for _, at := range []int64{k, k + 5} {
			resp, data := get(t, eve, ts.hs.URL+"/api/recordings/data?id=0/a.rgrec&at="+strconv.FormatInt(at, 10))
			r, rest, ok := recording.Next([]byte(data))
			if resp.StatusCode != 200 || !ok || r.Kind != recording.KindKey || r.At.Milliseconds() != ix.Keys[0] || resp.Header.Get("X-Racgate-Key-At") != strconv.FormatInt(k, 10) ||
				resp.Header.Get("X-Racgate-Key-Delta") != map[bool]string{true: "1"}[i > 0] {
				t.Fatalf("data at %d (key %d at %d): %s %v, first record %+v ok %v", at, i, k, resp.Status, resp.Header, r, ok)
			}
			if r, _, ok := recording.Next(rest); i > 0 && (!ok || r.Kind != recording.KindDelta || r.At.Milliseconds() != k) {
				t.Fatalf("data at %d (key %d at %d): second record %+v ok %v, want the delta", at, i, k, r, ok)
			}
		}
	}
	resp, data := get(t, eve, ts.hs.URL+"/api/recordings/data?id=0/c.cast")
	if resp.StatusCode != 200 || !strings.Contains(data, `"o", "hello\r\n"`) {
		t.Fatalf("cast data: %s %q", resp.Status, data)
	}
	if resp, _ := get(t, eve, ts.hs.URL+"/recordings"); resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("page: %s", resp.Status)
	}
	// The endpoint list links auditors and administrators to the recordings, no one else.
	for user, want := range map[string]bool{"eve": true, "demo": true, "bob": false} {
		_, body := get(t, ts.loggedIn(t, user), ts.hs.URL+"/")
		if got := strings.Contains(body, `<a id="recordings" href="/recordings">`); got != want {
			t.Errorf("%s: link to the recordings %v, want %v", user, got, want)
		}
	}
	if resp, _ := get(t, ts.loggedIn(t, "bob"), ts.hs.URL+"/recordings"); resp.StatusCode != http.StatusForbidden {
		t.Errorf("bob's player page: %s", resp.Status)
	}
}
