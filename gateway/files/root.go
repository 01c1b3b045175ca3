package files

import (
	"errors"
	"fmt"
	"path"
	"strings"
)

// ErrOutside is a name that leads out of the root: by "..", or by a symbolic link.
var ErrOutside = errors.New("files: outside the shared folder")

// ErrName is a name that cannot be a file's: empty, ".", "..", or with "/" or NUL.
var ErrName = errors.New("files: not a file name")

// Root is an FS seen from one of its directories. A browser names files relative to it
// ("/" is the root itself), and every name is checked after the server resolves its
// symbolic links: none leads out. (Between the check and the use, a process on the
// remote machine could swap a directory for a link; it could as well read the file
// itself. The check keeps the browser in the root, not the remote's own users.)
type Root struct {
	fs  FS
	dir string // the root's real path
}

// NewRoot opens dir (resolved, and a directory) on fsys.
func NewRoot(fsys FS, dir string) (*Root, error) {
	if dir == "" {
		dir = "."
	}
	real, err := fsys.RealPath(dir)
	if err != nil {
		return nil, fmt.Errorf("files: root %q: %w", dir, err)
	}
	fi, err := fsys.Stat(real)
	if err != nil {
		return nil, fmt.Errorf("files: root %q: %w", dir, err)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("files: root %q is not a directory", dir)
	}
	return &Root{fs: fsys, dir: real}, nil
}

// FS is the file system under the root.
func (r *Root) FS() FS { return r.fs }

// within reports whether real (a resolved path) is the root or under it.
func (r *Root) within(real string) bool {
	return real == r.dir || r.dir == "/" || strings.HasPrefix(real, r.dir+"/")
}

// clean makes name a path under the root's top: "/" + its elements, ".." going no higher.
func clean(name string) string { return path.Clean("/" + name) }

// Existing resolves name, which must exist, to its real path under the root.
func (r *Root) Existing(name string) (string, error) {
	if strings.IndexByte(name, 0) >= 0 {
		return "", ErrName
	}
	real, err := r.fs.RealPath(path.Join(r.dir, clean(name)))
	if err != nil {
		return "", err
	}
	if !r.within(real) {
		return "", ErrOutside
	}
	return real, nil
}

// New resolves name, which is to be made, to a path under the root: its directory must
// exist within the root, and its last element be a file name.
func (r *Root) New(name string) (string, error) {
	c := clean(name)
	dir, base := path.Split(c)
	if err := CheckName(base); err != nil {
		return "", err
	}
	parent, err := r.Existing(dir)
	if err != nil {
		return "", err
	}
	return path.Join(parent, base), nil
}

// Inside resolves name, which must exist and not be the root itself (what rename and
// delete act on), without following a link in its last element: a link is renamed or
// deleted, not what it points to.
func (r *Root) Inside(name string) (string, error) {
	c := clean(name)
	if c == "/" {
		return "", fmt.Errorf("%w: the shared folder itself", ErrName)
	}
	dir, base := path.Split(c)
	parent, err := r.Existing(dir)
	if err != nil {
		return "", err
	}
	return path.Join(parent, base), nil
}

// CheckName refuses what cannot be one element of a path.
func CheckName(base string) error {
	if base == "" || base == "." || base == ".." || strings.ContainsAny(base, "/\x00") || len(base) > 255 {
		return fmt.Errorf("%w: %q", ErrName, base)
	}
	return nil
}

// Rel is real (under the root) as the browser names it.
func (r *Root) Rel(real string) string {
	if r.dir == "/" {
		return real
	}
	return "/" + strings.TrimPrefix(strings.TrimPrefix(real, r.dir), "/")
}
