package recordings

import (
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/racgate/racgate/recording"
)

// Entry is one recording in the list.
type Entry struct {
	ID       string    `json:"id"`
	Kind     string    `json:"kind"` // desktop or terminal
	User     string    `json:"user"`
	Endpoint string    `json:"endpoint"`
	Provider string    `json:"provider,omitempty"`
	Protocol string    `json:"protocol"`
	Start    time.Time `json:"start"`
	// Seconds is how long it ran, from its start to the file's last change.
	Seconds float64 `json:"seconds"`
	Size    int64   `json:"size"`
	Input   bool    `json:"input"`
}

// maxList bounds the recordings one list reads: the newest files first.
const maxList = 5000

func (l *Library) handleList(w http.ResponseWriter, r *http.Request) {
	if _, ok := l.auditor(w, r); !ok {
		return
	}
	q := r.URL.Query()
	user, endpoint := strings.ToLower(q.Get("user")), strings.ToLower(q.Get("endpoint"))
	var from, to time.Time
	for _, p := range []struct {
		key string
		dst *time.Time
		add time.Duration
	}{{"from", &from, 0}, {"to", &to, 24 * time.Hour}} {
		if v := q.Get(p.key); v != "" {
			d, err := time.Parse("2006-01-02", v)
			if err != nil {
				http.Error(w, p.key+": want a date like 2026-12-31", http.StatusBadRequest)
				return
			}
			*p.dst = d.Add(p.add) // to is the end of its day
		}
	}
	type file struct {
		id, path string
		fi       fs.FileInfo
	}
	var files []file
	for i, dir := range l.c.Folders() {
		filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || kindOf(p) == "" || d.Type()&fs.ModeSymlink != 0 {
				return nil
			}
			fi, err := d.Info()
			if err != nil {
				return nil
			}
			rel, _ := filepath.Rel(dir, p)
			files = append(files, file{strconv.Itoa(i) + "/" + filepath.ToSlash(rel), p, fi})
			return nil
		})
	}
	slices.SortFunc(files, func(a, b file) int { return b.fi.ModTime().Compare(a.fi.ModTime()) })
	files = files[:min(len(files), maxList)]
	list := []Entry{}
	for _, f := range files {
		e, err := entry(f.path, f.fi)
		if err != nil {
			continue // not a recording, or not readable
		}
		e.ID = f.id
		if user != "" && !strings.Contains(strings.ToLower(e.User), user) ||
			endpoint != "" && !strings.Contains(strings.ToLower(e.Endpoint), endpoint) ||
			!from.IsZero() && e.Start.Before(from) || !to.IsZero() && !e.Start.Before(to) {
			continue
		}
		list = append(list, e)
	}
	slices.SortStableFunc(list, func(a, b Entry) int { return b.Start.Compare(a.Start) })
	writeJSON(w, list)
}

// entry reads a recording's header.
func entry(path string, fi fs.FileInfo) (Entry, error) {
	f, err := os.Open(path)
	if err != nil {
		return Entry{}, err
	}
	defer f.Close()
	var m recording.Meta
	kind := kindOf(path)
	if kind == "desktop" {
		m, _, err = recording.ReadMeta(f, fi.Size())
	} else {
		m, _, _, err = recording.ReadCastMeta(f)
	}
	if err != nil {
		return Entry{}, err
	}
	return Entry{Kind: kind, User: m.User, Endpoint: m.Endpoint, Provider: m.Provider, Protocol: m.Protocol,
		Start: m.Start, Seconds: max(fi.ModTime().Sub(m.Start).Seconds(), 0), Size: fi.Size(), Input: m.Input}, nil
}

// Index is the body of /api/recordings/index.
type Index struct {
	ID      string         `json:"id"`
	Kind    string         `json:"kind"`
	Meta    recording.Meta `json:"meta"`
	Size    int64          `json:"size"`
	Millis  int64          `json:"ms"`             // the last record's time (desktops)
	Keys    []int64        `json:"keys,omitempty"` // key frames' times, ms (desktops)
	Ended   bool           `json:"ended"`          // the end record is there (desktops)
	Reason  string         `json:"reason,omitempty"`
	Cols    int            `json:"cols,omitempty"` // a terminal's first size
	Rows    int            `json:"rows,omitempty"`
	Comment string         `json:"comment,omitempty"`
}

func (l *Library) handleIndex(w http.ResponseWriter, r *http.Request) {
	who, ok := l.auditor(w, r)
	if !ok {
		return
	}
	id := r.URL.Query().Get("id")
	f, fi, err := l.open(id)
	if err != nil {
		http.Error(w, err.Error(), http.StatusNotFound)
		return
	}
	defer f.Close()
	out := Index{ID: id, Kind: kindOf(id), Size: fi.Size()}
	if out.Kind == "terminal" {
		out.Meta, out.Cols, out.Rows, err = recording.ReadCastMeta(f)
	} else {
		var rec *recording.Recording
		rec, err = l.cache.index(id, f, fi)
		if err == nil {
			out.Meta, out.Millis, out.Ended, out.Reason = rec.Meta, rec.Duration.Milliseconds(), rec.Ended, rec.Reason
			out.Keys = make([]int64, len(rec.Keys))
			for i, k := range rec.Keys {
				out.Keys[i] = k.At.Milliseconds()
			}
			if rec.Torn {
				out.Comment = "The recording was cut off (racgate stopped while writing it)."
			}
		}
	}
	if err != nil {
		l.c.Log.Warn("recordings: unreadable", "id", id, "err", err)
		http.Error(w, "the file is not a recording racgate can read", http.StatusUnprocessableEntity)
		return
	}
	l.c.Viewed(r, who, id)
	writeJSON(w, out)
}

func (l *Library) handleData(w http.ResponseWriter, r *http.Request) {
	if _, ok := l.auditor(w, r); !ok {
		return
	}
	q := r.URL.Query()
	id := q.Get("id")
	f, fi, err := l.open(id)
	if err != nil {
		http.Error(w, err.Error(), http.StatusNotFound)
		return
	}
	defer f.Close()
	w.Header().Set("Cache-Control", "no-store")
	if kindOf(id) == "terminal" {
		w.Header().Set("Content-Type", "application/x-asciicast")
		http.ServeContent(w, r, "", fi.ModTime(), f)
		return
	}
	at, err := strconv.ParseInt(q.Get("at"), 10, 64)
	if err != nil || at < 0 {
		http.Error(w, "at: want milliseconds", http.StatusBadRequest)
		return
	}
	rec, err := l.cache.index(id, f, fi)
	if err != nil {
		http.Error(w, "the file is not a recording racgate can read", http.StatusUnprocessableEntity)
		return
	}
	k, ok := rec.KeyBefore(time.Duration(at) * time.Millisecond)
	if !ok {
		http.Error(w, "the recording has no picture yet", http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("X-Racgate-Key-At", strconv.FormatInt(k.At.Milliseconds(), 10))
	if k.Delta {
		// The base's picture comes first; the player draws the first delta record, over
		// it, and skips any other (docs/recording.md § Records).
		w.Header().Set("X-Racgate-Key-Delta", "1")
	}
	from, n := rec.From(f, k)
	w.Header().Set("Content-Length", strconv.FormatInt(n, 10))
	if _, err := io.Copy(w, from); err != nil && !errors.Is(err, http.ErrAbortHandler) {
		l.c.Log.Debug("recordings: data", "id", id, "err", err) // the player seeked away
	}
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	json.NewEncoder(w).Encode(v)
}
