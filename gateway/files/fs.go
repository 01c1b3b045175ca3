package files

import (
	"io"
	"io/fs"
)

// FS is what file transfer needs of a file system. Names are absolute slash paths of
// that file system; Root decides which of them a browser may reach.
type FS interface {
	ReadDir(name string) ([]fs.FileInfo, error)
	Stat(name string) (fs.FileInfo, error)
	// RealPath is name with every symbolic link resolved; an error if it does not exist.
	RealPath(name string) (string, error)
	Open(name string) (io.ReadCloser, error)
	// Create makes a new file, failing if name exists.
	Create(name string) (io.WriteCloser, error)
	// Rename moves oldname to newname; with replace it replaces a file there, otherwise
	// it fails if newname exists.
	Rename(oldname, newname string, replace bool) error
	// Remove deletes a file or an empty directory.
	Remove(name string) error
	Mkdir(name string) error
	Close() error
}
