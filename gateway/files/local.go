package files

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"
)

// Local is the FS of a folder on this machine, an RDP session's drive: names are slash
// paths from its top ("/" the folder itself), and os.Root lets no "..", and no
// symbolic link, lead out of it.
type Local struct{ root *os.Root }

// NewLocal serves root; Close leaves it open (its owner closes it).
func NewLocal(root *os.Root) *Local { return &Local{root: root} }

// rel is name relative to the root.
func rel(name string) string {
	c := strings.TrimPrefix(path.Clean("/"+name), "/")
	if c == "" {
		return "."
	}
	return c
}

func (l *Local) ReadDir(name string) ([]fs.FileInfo, error) {
	f, err := l.root.Open(rel(name))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return f.Readdir(-1)
}

func (l *Local) Stat(name string) (fs.FileInfo, error) { return l.root.Stat(rel(name)) }

// RealPath is name cleaned, once the root finds it: the root itself refuses a link out
// (ErrOutside).
func (l *Local) RealPath(name string) (string, error) {
	if _, err := l.root.Stat(rel(name)); err != nil {
		if !errors.Is(err, fs.ErrNotExist) && strings.Contains(err.Error(), "escapes") {
			return "", ErrOutside
		}
		return "", err
	}
	return path.Clean("/" + name), nil
}

func (l *Local) Open(name string) (io.ReadCloser, error) { return l.root.Open(rel(name)) }

func (l *Local) Create(name string) (io.WriteCloser, error) {
	return l.root.OpenFile(rel(name), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
}

func (l *Local) Rename(oldname, newname string, replace bool) error {
	if !replace {
		if _, err := l.root.Lstat(rel(newname)); err == nil {
			return fs.ErrExist
		} else if !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	return l.root.Rename(rel(oldname), rel(newname))
}

func (l *Local) Remove(name string) error { return l.root.Remove(rel(name)) }
func (l *Local) Mkdir(name string) error  { return l.root.Mkdir(rel(name), 0o700) }
func (l *Local) Close() error             { return nil }
