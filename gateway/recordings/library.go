// Package recordings serves session recordings to auditors (docs/recording.md § Playing):
// the list, one recording's index, and its data from the key frame before a time, for the
// player page (/recordings, webclient/src/player.ts).
//
//	GET /recordings                        the player page
//	GET /api/recordings?user=&endpoint=&from=&to=   JSON: the recordings, newest first
//	GET /api/recordings/index?id=          JSON: one recording's meta, length, key frames
//	GET /api/recordings/data?id=&at=MS     a desktop's records from the key frame at or
//	                                       before MS (its time in X-Racgate-Key-At), after
//	                                       its base's picture if it is a delta
//	                                       (X-Racgate-Key-Delta); a terminal's whole
//	                                       asciicast file
//
// A recording's id is the index of its folder among config.RecordingPaths and its path
// in the folder; files are opened through os.Root, so no id reaches outside a folder.
package recordings

import (
	"errors"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/racgate/racgate/recording"
)

// Viewer is who asks, as the gateway's sign-in knows them.
type Viewer struct {
	Name    string
	Auditor bool // in auditor-group or admin-group
}

// Config is what the library needs from the gateway, read per request (reloads).
type Config struct {
	// Folders are the configured recording folders (config.RecordingPaths).
	Folders func() []string
	// Who is the signed-in user of r; an error means nobody is.
	Who func(r *http.Request) (Viewer, error)
	// Viewed is told when an auditor opens a recording (the audit trail).
	Viewed func(r *http.Request, who, id string)
	// Page writes the player page.
	Page func(w http.ResponseWriter, r *http.Request, who string)
	Log  *slog.Logger
}

// Library serves recordings.
type Library struct {
	c     Config
	cache indexCache
}

// New returns a library on c.
func New(c Config) *Library { return &Library{c: c} }

// Routes adds the library's handlers to m.
func (l *Library) Routes(m *http.ServeMux) {
	m.HandleFunc("GET /recordings", l.handlePage)
	m.HandleFunc("GET /api/recordings", l.handleList)
	m.HandleFunc("GET /api/recordings/index", l.handleIndex)
	m.HandleFunc("GET /api/recordings/data", l.handleData)
}

// auditor returns who asks, or writes the refusal.
func (l *Library) auditor(w http.ResponseWriter, r *http.Request) (string, bool) {
	v, err := l.c.Who(r)
	if err != nil {
		http.Error(w, "log in as an auditor", http.StatusUnauthorized)
		return "", false
	}
	if !v.Auditor {
		http.Error(w, "auditors only", http.StatusForbidden)
		return "", false
	}
	return v.Name, true
}

func (l *Library) handlePage(w http.ResponseWriter, r *http.Request) {
	v, err := l.c.Who(r)
	if err != nil {
		http.Redirect(w, r, "/login?next=%2Frecordings", http.StatusSeeOther)
		return
	}
	if !v.Auditor {
		http.Error(w, "auditors only", http.StatusForbidden)
		return
	}
	l.c.Page(w, r, v.Name)
}

// errNotFound is any id that names no recording: malformed, outside the folders, gone.
var errNotFound = errors.New("no such recording")

// open opens the recording id names, inside its folder.
func (l *Library) open(id string) (*os.File, os.FileInfo, error) {
	n, rel, ok := strings.Cut(id, "/")
	folders := l.c.Folders()
	i, err := strconv.Atoi(n)
	if !ok || err != nil || i < 0 || i >= len(folders) || !filepath.IsLocal(rel) || kindOf(rel) == "" {
		return nil, nil, errNotFound
	}
	root, err := os.OpenRoot(folders[i])
	if err != nil {
		return nil, nil, errNotFound
	}
	defer root.Close()
	f, err := root.Open(filepath.FromSlash(rel))
	if err != nil {
		return nil, nil, errNotFound
	}
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		f.Close()
		return nil, nil, errNotFound
	}
	return f, fi, nil
}

// kindOf is "desktop" or "terminal" by a file's extension, or "".
func kindOf(name string) string {
	switch filepath.Ext(name) {
	case recording.ExtDesktop:
		return "desktop"
	case recording.ExtTerminal:
		return "terminal"
	}
	return ""
}

// indexCache keeps the last few recordings' indexes: a one-hour recording's takes a read
// of the whole file, and a player seeks in one recording many times.
type indexCache struct {
	mu      sync.Mutex
	entries []cached
}

type cached struct {
	path  string // the id
	size  int64
	mtime time.Time
	rec   *recording.Recording
}

const cachedIndexes = 8

// index returns the index of f, recording id, read again only when the file changed (a
// live recording).
func (c *indexCache) index(id string, f *os.File, fi os.FileInfo) (*recording.Recording, error) {
	c.mu.Lock()
	for _, e := range c.entries {
		if e.path == id && e.size == fi.Size() && e.mtime.Equal(fi.ModTime()) {
			c.mu.Unlock()
			return e.rec, nil
		}
	}
	c.mu.Unlock()
	rec, err := recording.Read(f, fi.Size())
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, e := range c.entries {
		if e.path == id {
			c.entries = append(c.entries[:i], c.entries[i+1:]...)
			break
		}
	}
	c.entries = append(c.entries, cached{id, fi.Size(), fi.ModTime(), rec})
	if len(c.entries) > cachedIndexes {
		c.entries = c.entries[1:]
	}
	return rec, nil
}
