package rdp

import (
	"encoding/binary"
	"errors"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path"
	"slices"
	"strings"
	"syscall"
	"time"
)

// Drive redirection: the client's side of the File System Virtual Channel
// Extension's drive (MS-RDPEFS 3.2.5.2, 2.2.3), on rdpdr. The client
// announces one file system device; the server opens, reads, writes,
// lists, renames and deletes files on it with Device I/O Requests, and
// the client answers each from a folder on its own machine.

// Drive is a folder redirected to the session as a drive (Config.Drive).
// Every name the server sends is taken inside Root: os.Root lets no "..",
// and no symbolic link, lead out of it.
type Drive struct {
	// Name is the drive's name in the session; its first 7 ASCII letters
	// and digits, in upper case, are its PreferredDosName ("RACGATE" when
	// it has none).
	Name string
	Root *os.Root
	// ReadOnly refuses whatever would change the folder: the server may
	// only read and list (STATUS_ACCESS_DENIED otherwise).
	ReadOnly bool
	// Changed, when set, is called after the server wrote, created,
	// renamed or deleted something, with the slash path of what changed
	// (relative to Root). It is called on Run's goroutine and must not
	// block.
	Changed func(name string)
	// Closed, when set, is called when the server is done with a file it
	// wrote: a handle that wrote, made or cut it closed, or it was renamed
	// to its name. Its slash path is relative to Root. It is called on
	// Run's goroutine and must not block.
	Closed func(name string)
}

// Bounds on what the server may make the client hold.
const (
	maxDriveFiles = 1024 // open files and directories
	// maxDriveRead bounds one read: its response must fit one rdpdr
	// message with room for the headers.
	maxDriveRead = maxRdpdrMessage - 64
	// driveDirBatch is how many directory entries are read at a time.
	driveDirBatch = 256
)

// driveDeviceID is the DeviceId the client gives its drive.
const driveDeviceID = 1

// openFile is a FileId's file or directory.
type openFile struct {
	name          string // slash path inside the root; "." for the root
	f             *os.File
	dir           bool
	deleteOnClose bool
	written       bool // written, made or cut through this handle: Closed when it closes
	// A directory listing in progress (QUERY_DIRECTORY).
	pattern string
	pending []fs.DirEntry
	eof     bool
}

// drive is a Drive's state on the client: its open files.
type drive struct {
	d      *Drive
	log    *slog.Logger // nil: none
	files  map[uint32]*openFile
	nextID uint32
}

func newDrive(d *Drive) *drive { return &drive{d: d, files: map[uint32]*openFile{}} }

// dosName is the PreferredDosName for name (2.2.1.3).
func dosName(name string) string {
	var b strings.Builder
	for _, r := range strings.ToUpper(name) {
		if (r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') && b.Len() < 7 {
			b.WriteRune(r)
		}
	}
	if b.Len() == 0 {
		return "RACGATE"
	}
	return b.String()
}

// rootName is the slash path inside the root for a path the server sends:
// backslashes for separators, the root as "\" or empty. A NUL or a ':'
// (an alternate data stream) is refused.
func rootName(p string) (string, bool) {
	if strings.ContainsAny(p, "\x00:") {
		return "", false
	}
	c := path.Clean("/" + strings.ReplaceAll(p, `\`, "/"))
	if c == "/" {
		return ".", true
	}
	return c[1:], true
}

// closeAll closes every open file: the channel or the session ended.
func (dr *drive) closeAll() {
	for id, of := range dr.files {
		if of.f != nil {
			of.f.Close()
		}
		delete(dr.files, id)
	}
}

// handle answers one Device I/O Request for the drive; nil response: none
// yet (a change notification, which stays pending).
func (dr *drive) handle(out []byte, req driveIORequest) ([]byte, error) {
	switch req.majorFunction {
	case irpMjCreate:
		return dr.create(out, req)
	case irpMjClose:
		status := statusSuccess
		if of, ok := dr.files[req.fileID]; ok {
			delete(dr.files, req.fileID)
			if of.f != nil {
				of.f.Close()
			}
			if of.deleteOnClose {
				if err := dr.d.Root.Remove(of.name); err != nil {
					status = ntStatus(err)
				} else {
					dr.changed(of.name)
				}
			} else if of.written && !of.dir && dr.d.Closed != nil {
				dr.d.Closed(of.name)
			}
		} else {
			status = statusInvalidHandle
		}
		b := appendIOCompletion(out, req.deviceIORequest, status)
		return putU32(b, 0), nil // DR_CLOSE_RSP Padding
	case irpMjRead:
		return dr.read(out, req)
	case irpMjWrite:
		return dr.write(out, req)
	case irpMjQueryInformation:
		return dr.queryInformation(out, req)
	case irpMjSetInformation:
		return dr.setInformation(out, req)
	case irpMjQueryVolumeInformation:
		return dr.queryVolume(out, req)
	case irpMjDirectoryControl:
		switch req.minorFunction {
		case irpMnQueryDirectory:
			return dr.queryDirectory(out, req)
		case irpMnNotifyChangeDirectory:
			return nil, nil // pending until the handle closes: no notifications
		}
	case irpMjLockControl:
		// No byte-range locks: every lock is granted (DR_DRIVE_LOCK_RSP).
		b := appendIOCompletion(out, req.deviceIORequest, statusSuccess)
		return append(b, 0, 0, 0, 0, 0), nil
	}
	return appendDeviceIOFailure(out, req.deviceIORequest, statusNotSupported), nil
}

func (dr *drive) changed(name string) {
	if dr.d.Changed != nil {
		dr.d.Changed(name)
	}
}

// ntStatus is the NTSTATUS for a file system error.
func ntStatus(err error) uint32 {
	var errno syscall.Errno
	switch {
	case err == nil:
		return statusSuccess
	case errors.Is(err, fs.ErrNotExist):
		// STATUS_NO_SUCH_FILE, as FreeRDP's drive and Windows' redirector
		// client answer: xrdp's chansrv takes only it for "no such file".
		return statusNoSuchFile
	case errors.Is(err, fs.ErrExist):
		return statusObjectNameCollision
	case errors.Is(err, fs.ErrPermission):
		return statusAccessDenied
	case errors.As(err, &errno):
		switch errno {
		case syscall.ENOTEMPTY:
			return statusDirectoryNotEmpty
		case syscall.ENOTDIR:
			return statusNotADirectory
		case syscall.EISDIR:
			return statusFileIsADirectory
		case syscall.ENOSPC, syscall.EDQUOT:
			return statusDiskFull
		case syscall.ENAMETOOLONG, syscall.EINVAL:
			return statusObjectNameInvalid
		}
	case strings.Contains(err.Error(), "escapes from parent"), strings.Contains(err.Error(), "path escapes"):
		return statusAccessDenied // os.Root refused a way out
	}
	return ntStatusUnsuccessful
}

// create opens or makes a file or directory (DR_CREATE_REQ, 2.2.1.4.1) and
// answers DR_CREATE_RSP (2.2.1.5.1) with its FileId.
func (dr *drive) create(out []byte, req driveIORequest) ([]byte, error) {
	cr, err := parseCreateRequest(req.body)
	if err != nil {
		return nil, err
	}
	fail := func(status uint32) ([]byte, error) {
		b := appendIOCompletion(out, req.deviceIORequest, status)
		return append(putU32(b, 0), 0), nil
	}
	name, ok := rootName(cr.path)
	if !ok {
		return fail(statusObjectNameInvalid)
	}
	if dr.log != nil {
		dr.log.Debug("rdp: rdpdr drive create", "path", cr.path, "desiredAccess", cr.desiredAccess,
			"createDisposition", cr.createDisposition, "createOptions", cr.createOptions)
	}
	if len(dr.files) >= maxDriveFiles {
		return fail(statusInsufficientResources)
	}
	root := dr.d.Root
	fi, statErr := root.Stat(name)
	exists := statErr == nil
	if statErr != nil && !errors.Is(statErr, fs.ErrNotExist) {
		return fail(ntStatus(statErr))
	}
	wantDir := cr.createOptions&fileDirectoryFile != 0
	switch {
	case exists && wantDir && !fi.IsDir():
		return fail(statusNotADirectory)
	case exists && cr.createOptions&fileNonDirectoryFile != 0 && fi.IsDir():
		return fail(statusFileIsADirectory)
	}
	disp := cr.createDisposition
	if disp > fileOverwriteIf {
		return fail(statusInvalidParameter)
	}
	makes := !exists && disp != fileOpen && disp != fileOverwrite
	truncates := exists && (disp == fileSupersede || disp == fileOverwrite || disp == fileOverwriteIf)
	writes := cr.desiredAccess&writeAccess != 0 || makes || truncates || cr.createOptions&fileDeleteOnClose != 0
	if dr.d.ReadOnly && writes {
		return fail(statusAccessDenied)
	}
	var info byte
	switch {
	case !exists && (disp == fileOpen || disp == fileOverwrite):
		return fail(dr.notFound(name))
	case exists && disp == fileCreate:
		return fail(statusObjectNameCollision)
	case makes:
		info = fileCreated
	case truncates && disp == fileSupersede:
		info = fileSuperseded
	case truncates:
		info = fileOverwritten
	default:
		info = fileOpened
	}
	of := &openFile{name: name, deleteOnClose: cr.createOptions&fileDeleteOnClose != 0}
	switch {
	case makes && wantDir:
		if err := root.Mkdir(name, 0o755); err != nil {
			return fail(dr.createFailed(name, err))
		}
		of.dir = true
		dr.changed(name)
	case (exists && fi.IsDir()) || (makes && wantDir):
		of.dir = true
	default:
		flag := os.O_RDONLY
		if cr.desiredAccess&(fileWriteData|fileAppendData|genericWrite|genericAll) != 0 || makes || truncates {
			flag = os.O_RDWR
		}
		if makes {
			flag |= os.O_CREATE | os.O_EXCL
		}
		if truncates {
			flag |= os.O_TRUNC
		}
		f, err := root.OpenFile(name, flag, 0o644)
		if err != nil {
			return fail(dr.createFailed(name, err))
		}
		of.f = f
		if makes || truncates {
			of.written = true
			dr.changed(name)
		}
	}
	id := dr.allocID()
	dr.files[id] = of
	b := appendIOCompletion(out, req.deviceIORequest, statusSuccess)
	return append(putU32(b, id), info), nil
}

// notFound is the status for a name that does not exist: its folder's
// absence is a path not found, as Windows tells them apart.
func (dr *drive) notFound(name string) uint32 {
	if fi, err := dr.d.Root.Stat(path.Dir(name)); err != nil || !fi.IsDir() {
		return statusObjectPathNotFound
	}
	return statusNoSuchFile
}

// createFailed is the status for an open or mkdir of name that failed.
func (dr *drive) createFailed(name string, err error) uint32 {
	if errors.Is(err, fs.ErrNotExist) {
		return dr.notFound(name)
	}
	return ntStatus(err)
}

// allocID is a FileId no open file has (0 is never given).
func (dr *drive) allocID() uint32 {
	for {
		dr.nextID++
		if _, used := dr.files[dr.nextID]; dr.nextID != 0 && !used {
			return dr.nextID
		}
	}
}

// read answers DR_READ_REQ with DR_READ_RSP (2.2.1.5.3).
func (dr *drive) read(out []byte, req driveIORequest) ([]byte, error) {
	rr, err := parseRWRequest(req.body, false)
	if err != nil {
		return nil, err
	}
	of := dr.files[req.fileID]
	status := statusSuccess
	switch {
	case of == nil:
		status = statusInvalidHandle
	case of.f == nil:
		status = statusFileIsADirectory
	case rr.offset > 1<<62:
		status = statusInvalidParameter
	}
	start := len(out)
	b := appendIOCompletion(out, req.deviceIORequest, status)
	if status != statusSuccess {
		return putU32(b, 0), nil
	}
	// Read straight into the response, after its Length field.
	at := len(b) + 4
	b = slices.Grow(b, 4+min(int(rr.length), maxDriveRead))
	buf := b[at : at+min(int(rr.length), maxDriveRead)]
	got, err := of.f.ReadAt(buf, int64(rr.offset))
	if err != nil && !errors.Is(err, io.EOF) {
		binary.LittleEndian.PutUint32(b[start+12:], ntStatus(err)) // IoStatus
	}
	return putU32(b, uint32(got))[:at+got], nil
}

// write answers DR_WRITE_REQ with DR_WRITE_RSP (2.2.1.5.4).
func (dr *drive) write(out []byte, req driveIORequest) ([]byte, error) {
	wr, err := parseRWRequest(req.body, true)
	if err != nil {
		return nil, err
	}
	of := dr.files[req.fileID]
	status := statusSuccess
	n := 0
	switch {
	case of == nil:
		status = statusInvalidHandle
	case dr.d.ReadOnly:
		status = statusAccessDenied
	case of.f == nil:
		status = statusFileIsADirectory
	case wr.offset > 1<<62:
		status = statusInvalidParameter
	default:
		n, err = of.f.WriteAt(wr.data, int64(wr.offset))
		status = ntStatus(err)
		if n > 0 {
			of.written = true
			dr.changed(of.name)
		}
	}
	b := appendIOCompletion(out, req.deviceIORequest, status)
	return append(putU32(b, uint32(n)), 0), nil
}

// stat is the open file's information, following no link out of the root.
func (dr *drive) stat(of *openFile) (fs.FileInfo, error) {
	if of.f != nil {
		return of.f.Stat()
	}
	return dr.d.Root.Stat(of.name)
}

// attributes are a file's FileAttributes (MS-FSCC 2.6).
func attributes(fi fs.FileInfo, readOnly bool) uint32 {
	var a uint32
	if fi.IsDir() {
		a |= fileAttributeDirectory
	} else {
		a |= fileAttributeArchive
	}
	if readOnly || fi.Mode().Perm()&0o200 == 0 {
		a |= fileAttributeReadonly
	}
	if strings.HasPrefix(fi.Name(), ".") && fi.Name() != "." && fi.Name() != ".." {
		a |= fileAttributeHidden
	}
	return a
}

// allocation rounds a size up to 4 KiB clusters (AllocationSize).
func allocation(n int64) uint64 { return uint64((n + 4095) &^ 4095) }

// queryInformation answers DR_DRIVE_QUERY_INFORMATION_REQ with
// DR_DRIVE_QUERY_INFORMATION_RSP (2.2.3.4.8).
func (dr *drive) queryInformation(out []byte, req driveIORequest) ([]byte, error) {
	ir, err := parseInfoRequest(req.body, "DR_DRIVE_QUERY_INFORMATION_REQ", "MS-RDPEFS 2.2.3.3.8")
	if err != nil {
		return nil, err
	}
	reply := func(status uint32, buf []byte) ([]byte, error) {
		b := appendIOCompletion(out, req.deviceIORequest, status)
		return append(putU32(b, uint32(len(buf))), buf...), nil
	}
	of := dr.files[req.fileID]
	if of == nil {
		return reply(statusInvalidHandle, nil)
	}
	fi, err := dr.stat(of)
	if err != nil {
		return reply(ntStatus(err), nil)
	}
	t := fileTime(fi.ModTime())
	var buf []byte
	switch ir.class {
	case fileBasicInformation: // MS-FSCC 2.4.7, without Reserved (2.2.3.4.8)
		buf = putU64(putU64(putU64(putU64(buf, t), t), t), t)
		buf = putU32(buf, attributes(fi, dr.d.ReadOnly))
	case fileStandardInformation: // MS-FSCC 2.4.41, without Reserved
		size := fi.Size()
		if fi.IsDir() {
			size = 0
		}
		buf = putU64(putU64(buf, allocation(size)), uint64(size))
		buf = putU32(buf, 1) // NumberOfLinks
		dir := byte(0)
		if fi.IsDir() {
			dir = 1
		}
		buf = append(buf, b2u8(of.deleteOnClose), dir)
	case fileAttributeTagInformation: // MS-FSCC 2.4.6
		buf = putU32(putU32(buf, attributes(fi, dr.d.ReadOnly)), 0)
	default:
		return reply(statusNotSupported, nil)
	}
	return reply(statusSuccess, buf)
}

func b2u8(b bool) byte {
	if b {
		return 1
	}
	return 0
}

// setInformation answers DR_DRIVE_SET_INFORMATION_REQ with
// DR_DRIVE_SET_INFORMATION_RSP (2.2.3.4.9).
func (dr *drive) setInformation(out []byte, req driveIORequest) ([]byte, error) {
	ir, err := parseInfoRequest(req.body, "DR_DRIVE_SET_INFORMATION_REQ", "MS-RDPEFS 2.2.3.3.9")
	if err != nil {
		return nil, err
	}
	reply := func(status uint32) ([]byte, error) {
		b := appendIOCompletion(out, req.deviceIORequest, status)
		return append(putU32(b, uint32(len(ir.buffer))), 0), nil
	}
	of := dr.files[req.fileID]
	if of == nil {
		return reply(statusInvalidHandle)
	}
	if dr.d.ReadOnly {
		return reply(statusAccessDenied)
	}
	root := dr.d.Root
	switch ir.class {
	case fileBasicInformation:
		// Times: the last write time, where the server sets one.
		d := decoder{b: ir.buffer}
		d.skip(16) // CreationTime, LastAccessTime
		w := uint64(d.u32()) | uint64(d.u32())<<32
		if d.err == nil && w != 0 && w != ^uint64(0) {
			const epochDiff = 116444736000000000
			if w > epochDiff {
				mt := time.Unix(0, int64(w-epochDiff)*100)
				root.Chtimes(of.name, time.Time{}, mt)
			}
		}
		return reply(statusSuccess)
	case fileEndOfFileInformation, fileAllocationInformation:
		d := decoder{b: ir.buffer}
		n := uint64(d.u32()) | uint64(d.u32())<<32
		if d.err != nil || n > 1<<62 {
			return reply(statusInvalidParameter)
		}
		if of.f == nil {
			return reply(statusFileIsADirectory)
		}
		if ir.class == fileAllocationInformation {
			// Allocation only matters when it would cut the file.
			if fi, err := of.f.Stat(); err != nil || int64(n) >= fi.Size() {
				return reply(ntStatus(err))
			}
		}
		if err := of.f.Truncate(int64(n)); err != nil {
			return reply(ntStatus(err))
		}
		of.written = true
		dr.changed(of.name)
		return reply(statusSuccess)
	case fileDispositionInformation:
		// No buffer, or DeletePending set: delete when the handle closes
		// (2.2.3.3.9). A directory must be empty by then; say so now.
		if len(ir.buffer) > 0 && ir.buffer[0] == 0 {
			of.deleteOnClose = false
			return reply(statusSuccess)
		}
		if of.name == "." {
			return reply(statusAccessDenied)
		}
		if of.dir {
			if f, err := root.Open(of.name); err == nil {
				names, _ := f.Readdirnames(1)
				f.Close()
				if len(names) > 0 {
					return reply(statusDirectoryNotEmpty)
				}
			}
		}
		of.deleteOnClose = true
		return reply(statusSuccess)
	case fileRenameInformation:
		ri, err := parseRenameInformation(ir.buffer)
		if err != nil {
			return nil, err
		}
		to, ok := rootName(ri.name)
		if !ok || to == "." || of.name == "." {
			return reply(statusObjectNameInvalid)
		}
		if _, err := root.Lstat(to); err == nil && !ri.replace {
			return reply(statusObjectNameCollision)
		}
		if err := root.Rename(of.name, to); err != nil {
			return reply(ntStatus(err))
		}
		dr.changed(of.name)
		of.name = to
		dr.changed(to)
		if !of.dir && !of.written && dr.d.Closed != nil {
			dr.d.Closed(to) // whole already: moved into place
		}
		return reply(statusSuccess)
	}
	return reply(statusNotSupported)
}

// queryVolume answers DR_DRIVE_QUERY_VOLUME_INFORMATION_REQ with
// DR_DRIVE_QUERY_VOLUME_INFORMATION_RSP (2.2.3.4.6).
func (dr *drive) queryVolume(out []byte, req driveIORequest) ([]byte, error) {
	ir, err := parseInfoRequest(req.body, "DR_DRIVE_QUERY_VOLUME_INFORMATION_REQ", "MS-RDPEFS 2.2.3.3.6")
	if err != nil {
		return nil, err
	}
	var buf []byte
	total, free := volumeSpace(dr.d.Root)
	const unit = 4096 // bytes per allocation unit: 8 sectors of 512
	switch ir.class {
	case fileFsVolumeInformation: // MS-FSCC 2.5.9
		label := utf16le(dosName(dr.d.Name))
		buf = putU64(buf, 0)          // VolumeCreationTime
		buf = putU32(buf, 0x52414347) // VolumeSerialNumber: "RACG"
		buf = putU32(buf, uint32(len(label)))
		buf = append(buf, 0, 0) // SupportsObjects, Reserved
		buf = append(buf, label...)
	case fileFsSizeInformation: // MS-FSCC 2.5.8
		buf = putU64(putU64(buf, total/unit), free/unit)
		buf = putU32(putU32(buf, 8), 512)
	case fileFsFullSizeInformation: // MS-FSCC 2.5.4
		buf = putU64(putU64(putU64(buf, total/unit), free/unit), free/unit)
		buf = putU32(putU32(buf, 8), 512)
	case fileFsAttributeInformation: // MS-FSCC 2.5.1
		name := utf16le("FAT32")
		// FILE_CASE_SENSITIVE_SEARCH | FILE_CASE_PRESERVED_NAMES | FILE_UNICODE_ON_DISK
		buf = putU32(buf, 0x00000007)
		buf = putU32(buf, 255) // MaximumComponentNameLength
		buf = putU32(buf, uint32(len(name)))
		buf = append(buf, name...)
	case fileFsDeviceInformation: // MS-FSCC 2.5.10
		buf = putU32(putU32(buf, 0x00000007), 0) // FILE_DEVICE_DISK, no characteristics
	default:
		b := appendIOCompletion(out, req.deviceIORequest, statusNotSupported)
		return putU32(b, 0), nil
	}
	b := appendIOCompletion(out, req.deviceIORequest, statusSuccess)
	return append(putU32(b, uint32(len(buf))), buf...), nil
}

// queryDirectory answers DR_DRIVE_QUERY_DIRECTORY_REQ with one entry of
// the listing (DR_DRIVE_QUERY_DIRECTORY_RSP, 2.2.3.4.10), or
// STATUS_NO_MORE_FILES when it has none left.
func (dr *drive) queryDirectory(out []byte, req driveIORequest) ([]byte, error) {
	qr, err := parseDirectoryRequest(req.body)
	if err != nil {
		return nil, err
	}
	reply := func(status uint32, buf []byte) ([]byte, error) {
		b := appendIOCompletion(out, req.deviceIORequest, status)
		b = append(putU32(b, uint32(len(buf))), buf...)
		if len(buf) == 0 {
			b = append(b, 0) // Padding
		}
		return b, nil
	}
	of := dr.files[req.fileID]
	switch {
	case of == nil:
		return reply(statusInvalidHandle, nil)
	case !of.dir:
		return reply(statusNotADirectory, nil)
	}
	switch qr.class {
	case fileDirectoryInformation, fileFullDirectoryInformation, fileBothDirectoryInformation, fileNamesInformation:
	default:
		return reply(statusNotSupported, nil)
	}
	if qr.initial {
		// The path is the directory's, then a pattern: "\dir\*".
		p := strings.ReplaceAll(qr.path, `\`, "/")
		of.pattern = path.Base(p)
		if of.pattern == "/" || of.pattern == "." || of.pattern == "" {
			of.pattern = "*"
		}
		if of.f != nil {
			of.f.Close()
		}
		f, err := dr.d.Root.Open(of.name)
		if err != nil {
			return reply(ntStatus(err), nil)
		}
		of.f, of.pending, of.eof = f, nil, false
	}
	if of.f == nil {
		return reply(statusNoMoreFiles, nil)
	}
	for {
		if len(of.pending) == 0 {
			if of.eof {
				return reply(statusNoMoreFiles, nil)
			}
			ents, err := of.f.ReadDir(driveDirBatch)
			of.pending = ents
			if err != nil || len(ents) < driveDirBatch {
				of.eof = true
			}
			continue
		}
		e := of.pending[0]
		of.pending = of.pending[1:]
		if !windowsMatch(of.pattern, e.Name()) {
			continue
		}
		fi, err := e.Info()
		if err != nil {
			continue // gone meanwhile
		}
		if fi.Mode()&fs.ModeSymlink != 0 {
			// A link is listed as what it points to, inside the root only.
			if t, err := dr.d.Root.Stat(path.Join(of.name, e.Name())); err == nil {
				fi = renamed{t, e.Name()}
			} else {
				continue
			}
		}
		return reply(statusSuccess, appendDirectoryEntry(nil, qr.class, fi, dr.d.ReadOnly))
	}
}

// renamed is a FileInfo under another name (a link's target, listed as the link).
type renamed struct {
	fs.FileInfo
	name string
}

func (r renamed) Name() string { return r.name }

// appendDirectoryEntry appends one entry of a directory listing in class
// (MS-FSCC 2.4.10, 2.4.14, 2.4.8, 2.4.28), NextEntryOffset 0.
func appendDirectoryEntry(b []byte, class uint32, fi fs.FileInfo, readOnly bool) []byte {
	name := utf16le(fi.Name())
	b = putU32(b, 0) // NextEntryOffset
	b = putU32(b, 0) // FileIndex
	if class == fileNamesInformation {
		b = putU32(b, uint32(len(name)))
		return append(b, name...)
	}
	t := fileTime(fi.ModTime())
	size := fi.Size()
	if fi.IsDir() {
		size = 0
	}
	b = putU64(putU64(putU64(putU64(b, t), t), t), t)
	b = putU64(putU64(b, uint64(size)), allocation(size))
	b = putU32(b, attributes(fi, readOnly))
	b = putU32(b, uint32(len(name)))
	switch class {
	case fileFullDirectoryInformation:
		b = putU32(b, 0) // EaSize
	case fileBothDirectoryInformation:
		b = putU32(b, 0)                   // EaSize
		b = append(b, 0, 0)                // ShortNameLength, Reserved
		b = append(b, make([]byte, 24)...) // ShortName: none
	}
	return append(b, name...)
}

// windowsMatch matches a name against a Windows wildcard pattern: '*' any
// run, '?' any one character, case-insensitively; "*.*" matches every name.
// It backtracks only to the last '*', so its time is at most the product
// of the two lengths.
func windowsMatch(pattern, name string) bool {
	if pattern == "*" || pattern == "*.*" {
		return true
	}
	p, n := []rune(strings.ToLower(pattern)), []rune(strings.ToLower(name))
	i, j, star, mark := 0, 0, -1, 0
	for j < len(n) {
		switch {
		case i < len(p) && (p[i] == '?' || p[i] == n[j]):
			i++
			j++
		case i < len(p) && p[i] == '*':
			star, mark = i, j
			i++
		case star >= 0:
			i, mark = star+1, mark+1
			j = mark
		default:
			return false
		}
	}
	for i < len(p) && p[i] == '*' {
		i++
	}
	return i == len(p)
}
