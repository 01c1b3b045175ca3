package recording

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/racgate/racgate/render/wire"
)

// Desktop writes a desktop recording. Its methods are safe for concurrent use. After a
// write fails every call returns that error: the caller ends the session or goes on
// unrecorded, as configured.
type Desktop struct {
	f     *os.File
	start time.Time // with its monotonic reading: records are times since it

	tcMu sync.Mutex // Output's: the viewer's messages come one at a time, but Desktop is safe for concurrent use
	tc   *transcoder

	mu     sync.Mutex
	buf    []byte
	err    error
	size   int64
	closed bool
}

// CreateDesktop creates base+ExtDesktop (see Base; folders made 0700, the file 0600,
// never over an existing one) and writes the magic and m.
func CreateDesktop(base string, m Meta) (*Desktop, error) {
	m.Version = Version
	meta, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	f, err := create(base, ExtDesktop)
	if err != nil {
		return nil, err
	}
	b := append([]byte(Magic), 0, 0, 0, 0)
	binary.LittleEndian.PutUint32(b[len(Magic):], uint32(len(meta)))
	b = append(b, meta...)
	if _, err := f.Write(b); err != nil {
		f.Close()
		return nil, fmt.Errorf("recording: %w", err)
	}
	return &Desktop{f: f, start: m.Start, size: int64(len(b)), tc: newTranscoder(predictRate, predictPerKey)}, nil
}

// create makes base's folders (0700) and the file base+ext (0600), never over an
// existing file: when one has the name (two sessions in one second), a counter goes
// before ext: -2, -3...
func create(base, ext string) (*os.File, error) {
	if err := os.MkdirAll(filepath.Dir(base), 0o700); err != nil {
		return nil, fmt.Errorf("recording: %w", err)
	}
	path := base + ext
	for i := 2; ; i++ {
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err == nil {
			return f, nil
		}
		if !errors.Is(err, os.ErrExist) || i > 1000 {
			return nil, fmt.Errorf("recording: %w", err)
		}
		path = base + "-" + strconv.Itoa(i) + ext
	}
}

// Output records one websocket message the viewer sent, its images re-coded for the
// file (transcoder). A message that begins with RESIZE begins a key frame; the file is
// synced to disk at a key record and at a delta record, which comes with the key frame's
// FRAME.
func (d *Desktop) Output(msg []byte) error {
	key := len(msg) > 0 && wire.Type(msg[0]) == wire.TypeResize
	d.tcMu.Lock()
	defer d.tcMu.Unlock()
	if err := d.state(); err != nil {
		return err // not even re-coded: a message may leave no record
	}
	recs, err := d.tc.message(msg, key, time.Since(d.start))
	if err != nil {
		return d.fail(err)
	}
	sync := false
	for _, r := range recs {
		if err := d.write(r.kind, r.payload); err != nil {
			return err
		}
		sync = sync || r.kind != KindOutput
	}
	if !sync {
		return nil
	}
	// Outside the lock: a slow disk holds up this viewer, not the input being recorded.
	if err := d.f.Sync(); err != nil {
		return d.fail(err)
	}
	return nil
}

// KeyDue reports whether a key frame is worth making now, interval being the shortest
// time between two (transcoder.keyDue); it says yes once per key frame. A recorder asks
// every second or so, and on yes has its viewer send one.
func (d *Desktop) KeyDue(interval time.Duration) bool {
	d.tcMu.Lock()
	defer d.tcMu.Unlock()
	return d.tc.keyDue(time.Since(d.start), interval)
}

// Input records one websocket message from the browser.
func (d *Desktop) Input(msg []byte) error { return d.write(KindInput, msg) }

// state is the error every call returns after a write failed or Close.
func (d *Desktop) state() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.stateLocked()
}

func (d *Desktop) stateLocked() error {
	if d.err != nil {
		return d.err
	}
	if d.closed {
		return errClosed
	}
	return nil
}

func (d *Desktop) write(kind byte, payload []byte) error {
	if len(payload) > MaxRecord {
		return fmt.Errorf("recording: a message of %d bytes, over %d", len(payload), MaxRecord)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.stateLocked(); err != nil {
		return err
	}
	// One write per record: a process killed mid-way leaves whole records and at most one
	// torn one at the end, which readers ignore.
	d.buf = appendRecord(d.buf[:0], kind, time.Since(d.start), payload)
	n, err := d.f.Write(d.buf)
	d.size += int64(n)
	if cap(d.buf) > 64<<10 {
		d.buf = nil // a big frame's buffer is not kept
	}
	if err != nil {
		d.err = fmt.Errorf("recording: %w", err)
		return d.err
	}
	return nil
}

func (d *Desktop) fail(err error) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.err == nil {
		d.err = fmt.Errorf("recording: %w", err)
	}
	return d.err
}

// Path is the file's path.
func (d *Desktop) Path() string { return d.f.Name() }

// Size is the file's size so far.
func (d *Desktop) Size() int64 {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.size
}

// Close writes the end record with reason (unless a write failed), syncs and closes.
func (d *Desktop) Close(reason string) error {
	end, _ := json.Marshal(struct {
		Reason string `json:"reason"`
	}{reason})
	werr := d.write(KindEnd, end)
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return errClosed
	}
	d.closed = true
	d.mu.Unlock()
	serr := d.f.Sync()
	cerr := d.f.Close()
	if werr != nil {
		return werr
	}
	if serr != nil {
		return fmt.Errorf("recording: %w", serr)
	}
	return cerr
}
