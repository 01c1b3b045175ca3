package gateway

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/racgate/racgate/config"
	"github.com/racgate/racgate/gateway/files"
	"github.com/racgate/racgate/recording"
	"github.com/racgate/racgate/render/wire"
)

// An RDP session's redirected drive (docs/files.md § RDP drive): a folder on the
// gateway, per user by `${user}` in drive-path, that the remote session sees as a drive
// and the browser reaches through the file panel, as an SSH session's SFTP.

// driveSettings are an RDP endpoint's drive settings (Guacamole's names).
type driveSettings struct {
	enabled          bool
	name, path       string // drive-name ("racgate" when unset), drive-path
	create           bool   // create-drive-path
	noUpload, noDown bool   // disable-upload, disable-download: the browser's panel only
}

func driveOptions(set config.Settings) (driveSettings, error) {
	o := driveSettings{enabled: set.Bool("enable-drive"), name: set["drive-name"], path: set["drive-path"],
		create: set.Bool("create-drive-path"), noUpload: set.Bool("disable-upload"), noDown: set.Bool("disable-download")}
	if !o.enabled {
		return o, nil
	}
	if o.name == "" {
		o.name = "racgate"
	}
	if o.path == "" {
		return o, errors.New("setting drive-path: enable-drive needs the folder to redirect")
	}
	if !filepath.IsAbs(o.path) {
		return o, fmt.Errorf("setting drive-path: %s is not an absolute path", strconv.Quote(o.path))
	}
	if strings.Contains(strings.ReplaceAll(o.path, "${user}", ""), "${") {
		return o, fmt.Errorf("setting drive-path: %s: only ${user} is expanded", strconv.Quote(o.path))
	}
	return o, nil
}

// openDrive opens the session's drive folder, if its endpoint redirects one; false:
// it cannot, and the session ended with the reason.
func (ss *session) openDrive() bool {
	o, err := driveOptions(ss.settings)
	if err != nil || !o.enabled {
		return true // checked when the config loaded: nothing to redirect
	}
	dir := strings.ReplaceAll(o.path, "${user}", recording.SafeElement(ss.user))
	if o.create {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			ss.end(&sessionEnd{Code: closeInternal, Err: err,
				Reason: "racgate could not make this connection's drive folder. Tell your administrator."})
			return false
		}
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		ss.end(&sessionEnd{Code: closeInternal, Err: err,
			Reason: "racgate could not open this connection's drive folder. Tell your administrator."})
		return false
	}
	// Guacamole's Download folder: what the session saves there goes to the browser.
	if err := root.Mkdir(downloadFolder, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		ss.log.Warn("drive: no Download folder", "err", err)
	}
	ss.drive = root
	ss.log.Info("drive", "path", dir)
	return true
}

// downloadFolder is the drive's folder whose files go to the browser by themselves.
const downloadFolder = "Download"

// inDownload reports whether name (a slash path in the drive) is a file right in the
// Download folder.
func inDownload(name string) bool {
	dir, file := path.Split(strings.TrimPrefix(name, "/"))
	return strings.EqualFold(strings.TrimSuffix(dir, "/"), downloadFolder) && file != ""
}

// driveFileClosed: the session is done writing name in its drive; a file in the Download
// folder goes to the browser (FILE_READY), if the panel may download. Called on the RDP
// client's goroutine: it only queues.
func (ss *session) driveFileClosed(name string) {
	// What leaves the remote machine for the gateway's disk is in the audit trail, as
	// the panel's transfers are.
	ss.fileEvent(files.Event{Op: "drive-write", Path: "/" + name})
	sf := ss.files.Load()
	if !inDownload(name) || sf == nil || sf.opts.NoDownload {
		return
	}
	ss.queue(wire.FileReady{Path: "/" + name}.Append(nil))
}

// startDriveFiles is the file panel on the session's drive folder.
func (ss *session) startDriveFiles() *sessionFiles {
	o, _ := driveOptions(ss.settings)
	sf := ss.newFiles(sftpSettings{enabled: true, dir: "/", noUpload: o.noUpload, noDown: o.noDown},
		func() (files.FS, error) { return files.NewLocal(ss.drive), nil })
	if sf != nil {
		// A file of the Download folder, once the browser has it whole, is gone from there.
		sf.opts.Downloaded = func(name string) {
			if inDownload(name) {
				if err := ss.drive.Remove(strings.TrimPrefix(name, "/")); err != nil {
					ss.log.Warn("drive: remove a downloaded file", "file", name, "err", err)
				}
			}
		}
	}
	return sf
}
