package files

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Options are what a session's file transfer allows.
type Options struct {
	NoUpload   bool  // sftp-disable-upload
	NoDownload bool  // sftp-disable-download
	MaxUpload  int64 // bytes in one upload; 0: no limit
	// Idle bounds how long a transfer may make no progress (default 60 s).
	Idle time.Duration
	// Event, when set, hears of every operation, done or refused (the audit log).
	Event func(Event)
	// Busy, when set, is called as requests come and transfers move: the session is in
	// use (no idle-timeout in the middle of an upload).
	Busy func()
}

// Event is one file operation.
type Event struct {
	Op    string // "list", "download", "upload", "rename", "delete", "mkdir"
	Path  string // as the browser named it
	To    string // rename's target
	Bytes int64  // transferred
	Err   error  // nil: done
}

// Entry is one line of a listing (docs/files.md § API).
type Entry struct {
	Name  string    `json:"name"`
	Dir   bool      `json:"dir"`
	Size  int64     `json:"size"`
	MTime time.Time `json:"mtime"`
	Link  bool      `json:"link,omitempty"` // a symbolic link (Dir and Size are its target's)
}

// Listing is GET list's answer.
type Listing struct {
	Path    string  `json:"path"`
	Entries []Entry `json:"entries"`
}

// Handler serves one session's file panel: GET list and download, PUT upload, POST
// rename, delete and mkdir, each named by the last element of the request's path with
// its arguments in the query (docs/files.md § API). The caller checks who asks.
type Handler struct {
	root *Root
	opts Options
}

// NewHandler serves root with opts.
func NewHandler(root *Root, opts Options) *Handler {
	if opts.Idle <= 0 {
		opts.Idle = 60 * time.Second
	}
	return &Handler{root: root, opts: opts}
}

// maxEntries bounds a listing: a browser cannot show more usefully, and it bounds the
// gateway's memory for one request.
const maxEntries = 10000

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	op := path.Base(r.URL.Path)
	q := r.URL.Query()
	h.busy()
	var ev Event
	var err error
	switch {
	case op == "list" && r.Method == http.MethodGet:
		ev, err = h.list(w, q.Get("path"))
	case op == "download" && r.Method == http.MethodGet:
		ev, err = h.download(w, r, q.Get("path"))
	case op == "upload" && r.Method == http.MethodPut:
		ev, err = h.upload(w, r, q.Get("path"), q.Get("replace") == "1")
	case op == "rename" && r.Method == http.MethodPost:
		ev = Event{Op: op, Path: q.Get("from"), To: q.Get("to")}
		err = h.rename(ev.Path, ev.To, q.Get("replace") == "1")
	case op == "delete" && r.Method == http.MethodPost:
		ev = Event{Op: op, Path: q.Get("path")}
		err = h.remove(ev.Path)
	case op == "mkdir" && r.Method == http.MethodPost:
		ev = Event{Op: op, Path: q.Get("path")}
		err = h.mkdir(ev.Path)
	default:
		http.Error(w, "no such file operation", http.StatusNotFound)
		return
	}
	ev.Err = err
	if h.opts.Event != nil && (op != "list" || err != nil) {
		h.opts.Event(ev)
	}
	if err == nil {
		if op != "list" && op != "download" && op != "upload" {
			w.WriteHeader(http.StatusNoContent)
		}
		return
	}
	if errors.Is(err, errWritten) {
		return // the response had begun: the browser sees the download cut short
	}
	status, text := describe(err)
	writeJSON(w, status, map[string]string{"error": text})
}

// errWritten marks an error after the response began.
var errWritten = errors.New("files: response begun")

// Errors the handlers return themselves.
var (
	ErrUploadOff   = errors.New("files: uploads are turned off for this connection")
	ErrDownloadOff = errors.New("files: downloads are turned off for this connection")
	ErrNotFile     = errors.New("files: not a regular file")
	ErrNotDir      = errors.New("files: not a folder")
	ErrTooMany     = errors.New("files: too many entries")
)

// describe is the HTTP status and the user's text for err.
func describe(err error) (int, string) {
	var tooBig *http.MaxBytesError
	switch {
	case errors.Is(err, ErrUploadOff):
		return http.StatusForbidden, "Uploading files is turned off for this connection."
	case errors.Is(err, ErrDownloadOff):
		return http.StatusForbidden, "Downloading files is turned off for this connection."
	case errors.Is(err, ErrOutside):
		return http.StatusForbidden, "That is outside the shared folder."
	case errors.Is(err, ErrName):
		return http.StatusBadRequest, "That is not a usable file name."
	case errors.Is(err, ErrNotFile):
		return http.StatusBadRequest, "Only files can be downloaded."
	case errors.Is(err, ErrNotDir):
		return http.StatusBadRequest, "That is not a folder."
	case errors.Is(err, ErrTooMany):
		return http.StatusInsufficientStorage, fmt.Sprintf("The folder has more than %d entries.", maxEntries)
	case errors.As(err, &tooBig):
		return http.StatusRequestEntityTooLarge, fmt.Sprintf("The file is larger than the %s allowed.", size(tooBig.Limit))
	case errors.Is(err, fs.ErrNotExist):
		return http.StatusNotFound, "There is no such file or folder."
	case errors.Is(err, fs.ErrExist):
		return http.StatusConflict, "A file or folder of that name is already there."
	case errors.Is(err, fs.ErrPermission):
		return http.StatusForbidden, "The remote machine does not allow that."
	}
	return http.StatusBadGateway, "The remote machine refused: " + err.Error()
}

func size(n int64) string {
	switch {
	case n >= 1<<30 && n%(1<<30) == 0:
		return strconv.FormatInt(n>>30, 10) + " GiB"
	case n >= 1<<20 && n%(1<<20) == 0:
		return strconv.FormatInt(n>>20, 10) + " MiB"
	}
	return strconv.FormatInt(n, 10) + " bytes"
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func (h *Handler) list(w http.ResponseWriter, name string) (Event, error) {
	ev := Event{Op: "list", Path: name}
	real, err := h.root.Existing(name)
	if err != nil {
		return ev, err
	}
	if fi, err := h.root.fs.Stat(real); err != nil {
		return ev, err
	} else if !fi.IsDir() {
		return ev, ErrNotDir
	}
	infos, err := h.root.fs.ReadDir(real)
	if err != nil {
		return ev, err
	}
	if len(infos) > maxEntries {
		return ev, ErrTooMany
	}
	out := Listing{Path: h.root.Rel(real), Entries: make([]Entry, 0, len(infos))}
	for _, fi := range infos {
		e := Entry{Name: fi.Name(), Dir: fi.IsDir(), Size: fi.Size(), MTime: fi.ModTime().UTC()}
		if fi.Mode()&fs.ModeSymlink != 0 {
			e.Link = true
			// What it points to decides how the panel shows it; a link out of the root
			// is listed but refused when used.
			if t, err := h.root.fs.Stat(path.Join(real, fi.Name())); err == nil {
				e.Dir, e.Size = t.IsDir(), t.Size()
			}
		}
		if e.Dir {
			e.Size = 0
		}
		out.Entries = append(out.Entries, e)
	}
	slices.SortFunc(out.Entries, func(a, b Entry) int {
		if a.Dir != b.Dir {
			if a.Dir {
				return -1
			}
			return 1
		}
		return strings.Compare(a.Name, b.Name)
	})
	writeJSON(w, http.StatusOK, out)
	return ev, nil
}

func (h *Handler) download(w http.ResponseWriter, r *http.Request, name string) (Event, error) {
	ev := Event{Op: "download", Path: name}
	if h.opts.NoDownload {
		return ev, ErrDownloadOff
	}
	real, err := h.root.Existing(name)
	if err != nil {
		return ev, err
	}
	fi, err := h.root.fs.Stat(real)
	if err != nil {
		return ev, err
	}
	if !fi.Mode().IsRegular() {
		return ev, ErrNotFile
	}
	f, err := h.root.fs.Open(real)
	if err != nil {
		return ev, err
	}
	defer f.Close()
	hd := w.Header()
	hd.Set("Content-Type", "application/octet-stream")
	hd.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": path.Base(real)}))
	hd.Set("Content-Length", strconv.FormatInt(fi.Size(), 10))
	hd.Set("Cache-Control", "no-store")
	hd.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	// Streamed: the gateway holds a few requests' worth, never the file.
	n, err := io.Copy(&idleWriter{w: w, rc: http.NewResponseController(w), idle: h.opts.Idle, busy: h.busy}, f)
	ev.Bytes = n
	if err == nil && n != fi.Size() {
		err = fmt.Errorf("files: %d bytes sent of %d (the file changed)", n, fi.Size())
	}
	if err != nil {
		return ev, fmt.Errorf("%w: %w", errWritten, err)
	}
	return ev, nil
}

func (h *Handler) upload(w http.ResponseWriter, r *http.Request, name string, replace bool) (Event, error) {
	ev := Event{Op: "upload", Path: name}
	if h.opts.NoUpload {
		return ev, ErrUploadOff
	}
	if h.opts.MaxUpload > 0 && r.ContentLength > h.opts.MaxUpload {
		return ev, &http.MaxBytesError{Limit: h.opts.MaxUpload}
	}
	final, err := h.root.New(name)
	if err != nil {
		return ev, err
	}
	if !replace {
		if _, err := h.root.fs.Stat(final); err == nil {
			return ev, fs.ErrExist
		}
	}
	// Written under a hidden name and renamed when whole: a cut upload never leaves a
	// partial file under the real name, nor replaces a good one.
	dir, base := path.Split(final)
	tmp := path.Join(dir, "."+base+"."+rand.Text()[:12]+".racgate-part")
	f, err := h.root.fs.Create(tmp)
	if err != nil {
		return ev, err
	}
	body := io.Reader(&idleReader{r: r.Body, rc: http.NewResponseController(w), idle: h.opts.Idle, busy: h.busy})
	if h.opts.MaxUpload > 0 {
		body = http.MaxBytesReader(w, io.NopCloser(body), h.opts.MaxUpload)
	}
	n, err := io.Copy(f, body)
	ev.Bytes = n
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil && r.ContentLength >= 0 && n != r.ContentLength {
		err = fmt.Errorf("files: %d bytes received of %d", n, r.ContentLength)
	}
	if err == nil {
		err = h.root.fs.Rename(tmp, final, replace)
	}
	if err != nil {
		h.root.fs.Remove(tmp)
		return ev, err
	}
	ev.Path = h.root.Rel(final)
	writeJSON(w, http.StatusCreated, map[string]any{"path": ev.Path, "size": n})
	return ev, nil
}

func (h *Handler) rename(from, to string, replace bool) error {
	if h.opts.NoUpload {
		return ErrUploadOff // renaming changes the remote's files, as an upload does
	}
	src, err := h.root.Inside(from)
	if err != nil {
		return err
	}
	dst, err := h.root.New(to)
	if err != nil {
		return err
	}
	return h.root.fs.Rename(src, dst, replace)
}

func (h *Handler) remove(name string) error {
	if h.opts.NoUpload {
		return ErrUploadOff
	}
	real, err := h.root.Inside(name)
	if err != nil {
		return err
	}
	return h.root.fs.Remove(real)
}

func (h *Handler) mkdir(name string) error {
	if h.opts.NoUpload {
		return ErrUploadOff
	}
	real, err := h.root.New(name)
	if err != nil {
		return err
	}
	return h.root.fs.Mkdir(real)
}

// idleReader moves the request's read deadline on with every read: a transfer may take
// as long as it needs while it moves, and ends after idle without progress.
type idleReader struct {
	r    io.Reader
	rc   *http.ResponseController
	idle time.Duration
	busy func()
	last time.Time
}

func (i *idleReader) Read(p []byte) (int, error) {
	i.moved()
	return i.r.Read(p)
}

// moved pushes the deadline on and tells Busy, at most once a second.
func (i *idleReader) moved() {
	if now := time.Now(); now.Sub(i.last) >= time.Second {
		i.last = now
		i.rc.SetReadDeadline(now.Add(i.idle))
		i.busy()
	}
}

// idleWriter does the same for the response's writes.
type idleWriter struct {
	w    io.Writer
	rc   *http.ResponseController
	idle time.Duration
	busy func()
	last time.Time
}

func (i *idleWriter) Write(p []byte) (int, error) {
	if now := time.Now(); now.Sub(i.last) >= time.Second {
		i.last = now
		i.rc.SetWriteDeadline(now.Add(i.idle))
		i.busy()
	}
	return i.w.Write(p)
}

func (h *Handler) busy() {
	if h.opts.Busy != nil {
		h.opts.Busy()
	}
}
