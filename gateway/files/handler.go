package files

import (
	"context"
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
	// Quota, when set, bounds what the user moves, uploads and downloads together.
	Quota Quota
	// Downloaded, when set, is told of each file downloaded whole, by the name the
	// browser used (an RDP drive's Download folder deletes it then).
	Downloaded func(name string)
}

// Quota is a user's allowance of bytes (the gateway's per-user daily limit). Reserve
// takes up to want bytes before a transfer and reports how many it got; Release gives
// back what the transfer did not use.
type Quota interface {
	Reserve(ctx context.Context, want int64) (got int64, err error)
	Release(ctx context.Context, unused int64)
}

// QuotaError is a transfer over the user's allowance.
type QuotaError struct{ Left int64 }

func (e *QuotaError) Error() string {
	return fmt.Sprintf("files: over the transfer limit (%d bytes left)", e.Left)
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
	ErrQuotaCheck  = errors.New("files: the transfer limit cannot be checked")
)

// describe is the HTTP status and the user's text for err.
func describe(err error) (int, string) {
	var tooBig *http.MaxBytesError
	var overQuota *QuotaError
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
	case errors.Is(err, ErrQuotaCheck):
		return http.StatusServiceUnavailable, "Your transfer limit cannot be checked now. Try again in a while."
	case errors.As(err, &overQuota):
		return http.StatusTooManyRequests, fmt.Sprintf("That is over your daily transfer limit: %s left today.", sizeText(overQuota.Left))
	case errors.As(err, &tooBig):
		return http.StatusRequestEntityTooLarge, fmt.Sprintf("The file is larger than the %s allowed.", sizeText(tooBig.Limit))
	case errors.Is(err, fs.ErrNotExist):
		return http.StatusNotFound, "There is no such file or folder."
	case errors.Is(err, fs.ErrExist):
		return http.StatusConflict, "A file or folder of that name is already there."
	case errors.Is(err, fs.ErrPermission):
		return http.StatusForbidden, "The remote machine does not allow that."
	}
	return http.StatusBadGateway, "The remote machine refused: " + err.Error()
}

// sizeText is a byte count for people: "1 MiB", "1.5 GiB", "300 bytes".
func sizeText(n int64) string {
	for _, u := range []struct {
		shift int
		name  string
	}{{40, "TiB"}, {30, "GiB"}, {20, "MiB"}, {10, "KiB"}} {
		if n >= 1<<u.shift {
			if n%(1<<u.shift) == 0 {
				return strconv.FormatInt(n>>u.shift, 10) + " " + u.name
			}
			return strconv.FormatFloat(float64(n)/float64(int64(1)<<u.shift), 'f', 1, 64) + " " + u.name
		}
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
	_, release, err := h.reserve(r.Context(), fi.Size(), true)
	if err != nil {
		return ev, err
	}
	f, err := h.root.fs.Open(real)
	if err != nil {
		release(0)
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
	release(n)
	ev.Bytes = n
	if err == nil && n != fi.Size() {
		err = fmt.Errorf("files: %d bytes sent of %d (the file changed)", n, fi.Size())
	}
	if err != nil {
		return ev, fmt.Errorf("%w: %w", errWritten, err)
	}
	if h.opts.Downloaded != nil {
		h.opts.Downloaded(h.root.Rel(real))
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
	// The allowance: the whole length when it is known, else whatever is left (up to
	// the upload limit), which then cuts the body off.
	want, exact := r.ContentLength, r.ContentLength >= 0
	if !exact {
		want = h.opts.MaxUpload
		if want <= 0 {
			want = 1 << 62
		}
	}
	got, release, err := h.reserve(r.Context(), want, exact)
	if err != nil {
		return ev, err
	}
	f, err := h.root.fs.Create(tmp)
	if err != nil {
		release(0)
		return ev, err
	}
	body := io.Reader(&idleReader{r: r.Body, rc: http.NewResponseController(w), idle: h.opts.Idle, busy: h.busy})
	switch {
	case h.opts.Quota != nil && (h.opts.MaxUpload <= 0 || got < h.opts.MaxUpload):
		body = &quotaReader{r: body, left: got}
	case h.opts.MaxUpload > 0:
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
		release(0) // nothing kept: nothing counted
		return ev, err
	}
	release(n)
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

// reserve takes want bytes of the user's allowance (exact: all of them or none; else as
// many as are left) and returns how many it got, and release, which gives back what a
// transfer did not use of them.
func (h *Handler) reserve(ctx context.Context, want int64, exact bool) (got int64, release func(used int64), err error) {
	q := h.opts.Quota
	if q == nil {
		return want, func(int64) {}, nil
	}
	got, err = q.Reserve(ctx, want)
	if err != nil {
		return 0, nil, fmt.Errorf("%w: %w", ErrQuotaCheck, err)
	}
	release = func(used int64) {
		if used < got {
			q.Release(context.WithoutCancel(ctx), got-used)
		}
	}
	if got <= 0 || (exact && got < want) {
		release(0)
		return 0, nil, &QuotaError{Left: max(got, 0)}
	}
	return got, release, nil
}

// quotaReader ends an upload of unknown length at the user's allowance.
type quotaReader struct {
	r    io.Reader
	left int64
}

func (q *quotaReader) Read(p []byte) (int, error) {
	if q.left <= 0 {
		// One byte more tells a body that ends here from one that goes on.
		var one [1]byte
		n, err := q.r.Read(one[:])
		if n > 0 {
			return 0, &QuotaError{}
		}
		return 0, err
	}
	if int64(len(p)) > q.left {
		p = p[:q.left]
	}
	n, err := q.r.Read(p)
	q.left -= int64(n)
	return n, err
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

// refreshEvery is how often a moving transfer pushes its deadline on: once a second,
// or four times an idle period where that is shorter.
func refreshEvery(idle time.Duration) time.Duration { return min(time.Second, idle/4) }

// moved pushes the deadline on and tells Busy, at most every refreshEvery.
func (i *idleReader) moved() {
	if now := time.Now(); now.Sub(i.last) >= refreshEvery(i.idle) {
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
	if now := time.Now(); now.Sub(i.last) >= refreshEvery(i.idle) {
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
