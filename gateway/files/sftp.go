package files

import (
	"errors"
	"io"
	"io/fs"
	"os"

	"github.com/pkg/sftp"
)

// SFTP is the FS of an SFTP server.
type SFTP struct{ c *sftp.Client }

// NewSFTP wraps c; Close closes it.
func NewSFTP(c *sftp.Client) *SFTP { return &SFTP{c: c} }

func (s *SFTP) ReadDir(name string) ([]fs.FileInfo, error) { return s.c.ReadDir(name) }
func (s *SFTP) Stat(name string) (fs.FileInfo, error)      { return s.c.Stat(name) }
func (s *SFTP) RealPath(name string) (string, error)       { return s.c.RealPath(name) }
func (s *SFTP) Mkdir(name string) error                    { return s.c.Mkdir(name) }
func (s *SFTP) Close() error                               { return s.c.Close() }

// Open returns the remote file; its WriteTo reads ahead with concurrent requests.
func (s *SFTP) Open(name string) (io.ReadCloser, error) { return s.c.Open(name) }

// Create opens name for writing, exclusively (SSH_FXF_EXCL), readable by its owner only
// until the upload is whole and renamed into place.
func (s *SFTP) Create(name string) (io.WriteCloser, error) {
	f, err := s.c.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL)
	if err != nil {
		return nil, err
	}
	return concurrentWriter{f}, nil
}

// concurrentWriter lets io.Copy write with several requests in flight.
type concurrentWriter struct{ *sftp.File }

func (w concurrentWriter) ReadFrom(r io.Reader) (int64, error) {
	return w.File.ReadFromWithConcurrency(r, 64)
}

// Rename uses posix-rename@openssh.com to replace (SSH_FXP_RENAME refuses an existing
// target on OpenSSH); without replace it checks first, as the plain rename would.
func (s *SFTP) Rename(oldname, newname string, replace bool) error {
	if replace {
		return s.c.PosixRename(oldname, newname)
	}
	if _, err := s.c.Lstat(newname); err == nil {
		return fs.ErrExist
	} else if !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return s.c.Rename(oldname, newname)
}

// Remove deletes a file, or a directory if it is empty.
func (s *SFTP) Remove(name string) error {
	fi, err := s.c.Lstat(name)
	if err != nil {
		return err
	}
	if fi.IsDir() {
		return s.c.RemoveDirectory(name)
	}
	return s.c.Remove(name)
}
