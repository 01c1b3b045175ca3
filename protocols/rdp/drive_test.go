package rdp

import (
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The server's drive requests, written from MS-RDPEFS 2.2.1.4 and 2.2.3.3.

func ioRequest(fileID, completionID, major, minor uint32) []byte {
	b := putU32(nil, driveDeviceID)
	b = putU32(b, fileID)
	b = putU32(b, completionID)
	b = putU32(b, major)
	return putU32(b, minor)
}

func createReq(path string, access, disposition, options uint32) []byte {
	b := ioRequest(0, 7, irpMjCreate, 0)
	b = putU32(b, access)
	b = putU64(b, 0) // AllocationSize
	b = putU32(b, 0) // FileAttributes
	b = putU32(b, 7) // SharedAccess
	b = putU32(b, disposition)
	b = putU32(b, options)
	u := append(utf16le(path), 0, 0)
	b = putU32(b, uint32(len(u)))
	return append(b, u...)
}

func rwReq(fileID, major uint32, length uint32, offset uint64, data []byte) []byte {
	b := ioRequest(fileID, 8, major, 0)
	b = putU32(b, length)
	b = putU64(b, offset)
	b = append(b, make([]byte, 20)...)
	return append(b, data...)
}

func infoReq(fileID, major, class uint32, buf []byte) []byte {
	b := ioRequest(fileID, 9, major, 0)
	b = putU32(b, class)
	b = putU32(b, uint32(len(buf)))
	b = append(b, make([]byte, 24)...)
	return append(b, buf...)
}

func dirReq(fileID, class uint32, initial bool, path string) []byte {
	b := ioRequest(fileID, 10, irpMjDirectoryControl, irpMnQueryDirectory)
	b = putU32(b, class)
	var u []byte
	if initial {
		b = append(b, 1)
		u = append(utf16le(path), 0, 0)
	} else {
		b = append(b, 0)
	}
	b = putU32(b, uint32(len(u)))
	b = append(b, make([]byte, 23)...)
	return append(b, u...)
}

func closeReq(fileID uint32) []byte {
	return append(ioRequest(fileID, 11, irpMjClose, 0), make([]byte, 32)...)
}

// driveReply is a parsed Device I/O Response: its IoStatus and what follows.
type driveReply struct {
	status uint32
	rest   []byte
}

func (r driveReply) u32(at int) uint32 { return binary.LittleEndian.Uint32(r.rest[at:]) }

// do sends body to the drive and parses the response.
func do(t *testing.T, dr *drive, body []byte) driveReply {
	t.Helper()
	req, err := parseDeviceIORequest(body)
	if err != nil {
		t.Fatal(err)
	}
	out, err := dr.handle(nil, driveIORequest{deviceIORequest: req, body: body[deviceIORequestSize:]})
	if err != nil {
		t.Fatalf("request % x: %v", body[:20], err)
	}
	if len(out) < 16 || binary.LittleEndian.Uint16(out[2:]) != pakidCoreDeviceIOCompletion ||
		binary.LittleEndian.Uint32(out[4:]) != driveDeviceID || binary.LittleEndian.Uint32(out[8:]) != req.completionID {
		t.Fatalf("response % x", out)
	}
	return driveReply{status: binary.LittleEndian.Uint32(out[12:]), rest: out[16:]}
}

func newTestDrive(t *testing.T, readOnly bool) (*drive, string) {
	t.Helper()
	base := t.TempDir()
	dir := filepath.Join(base, "drive")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(base, "secret"), []byte("outside"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(base, "secret"), filepath.Join(dir, "out")); err != nil {
		t.Fatal(err)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { root.Close() })
	return newDrive(&Drive{Name: "racgate files", Root: root, ReadOnly: readOnly}), dir
}

// TestDriveFiles: through the drive's requests a server makes a folder and
// a file, writes and reads it, lists, renames and deletes, as xrdp's FUSE
// and Windows do; the folder on disk shows each step.
func TestDriveFiles(t *testing.T) {
	dr, dir := newTestDrive(t, false)
	var closed []string
	dr.d.Closed = func(name string) { closed = append(closed, name) }
	const rw = fileWriteData | 0x1 // FILE_READ_DATA | FILE_WRITE_DATA
	if r := do(t, dr, createReq(`\docs\a.txt`, rw, fileCreate, fileNonDirectoryFile)); r.status != statusObjectPathNotFound {
		t.Fatalf("a file in a missing folder: %#x", r.status)
	}
	r := do(t, dr, createReq(`\docs`, 0x1, fileCreate, fileDirectoryFile))
	if r.status != statusSuccess || r.rest[4] != fileCreated {
		t.Fatalf("mkdir: %#x % x", r.status, r.rest)
	}
	dirID := r.u32(0)
	r = do(t, dr, createReq(`\docs\a.txt`, rw, fileCreate, fileNonDirectoryFile))
	if r.status != statusSuccess || r.rest[4] != fileCreated {
		t.Fatalf("create: %#x", r.status)
	}
	id := r.u32(0)
	if r := do(t, dr, rwReq(id, irpMjWrite, 11, 0, []byte("hello drive"))); r.status != 0 || r.u32(0) != 11 {
		t.Fatalf("write: %#x % x", r.status, r.rest)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "docs", "a.txt")); string(b) != "hello drive" {
		t.Fatalf("on disk: %q", b)
	}
	if r := do(t, dr, rwReq(id, irpMjRead, 100, 6, nil)); r.status != 0 || r.u32(0) != 5 || string(r.rest[4:]) != "drive" {
		t.Fatalf("read: %#x %q", r.status, r.rest)
	}
	r = do(t, dr, infoReq(id, irpMjQueryInformation, fileStandardInformation, nil))
	if r.status != 0 || r.u32(0) != 22 || binary.LittleEndian.Uint64(r.rest[12:]) != 11 || r.rest[4+21] != 0 {
		t.Fatalf("standard information: %#x % x", r.status, r.rest)
	}
	r = do(t, dr, infoReq(dirID, irpMjQueryInformation, fileBasicInformation, nil))
	if r.status != 0 || r.u32(0) != 36 || r.u32(4+32)&fileAttributeDirectory == 0 {
		t.Fatalf("basic information of the folder: %#x % x", r.status, r.rest)
	}
	// EndOfFile cuts the file.
	if r := do(t, dr, infoReq(id, irpMjSetInformation, fileEndOfFileInformation, putU64(nil, 5))); r.status != 0 {
		t.Fatalf("end of file: %#x", r.status)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "docs", "a.txt")); string(b) != "hello" {
		t.Fatalf("after EndOfFile: %q", b)
	}
	do(t, dr, closeReq(id))
	if r := do(t, dr, createReq(`\docs\a.txt`, rw, fileCreate, 0)); r.status != statusObjectNameCollision {
		t.Fatalf("FILE_CREATE of an existing file: %#x", r.status)
	}
	// Opened to read and closed: nothing written, no Closed.
	do(t, dr, closeReq(do(t, dr, createReq(`\docs\a.txt`, 0x1, fileOpen, 0)).u32(0)))

	// The listing: one entry a request, then STATUS_NO_MORE_FILES.
	var names []string
	for i := 0; ; i++ {
		r := do(t, dr, dirReq(dirID, fileBothDirectoryInformation, i == 0, `\docs\*`))
		if r.status == statusNoMoreFiles {
			if r.u32(0) != 0 || len(r.rest) != 5 {
				t.Fatalf("no more files: % x", r.rest)
			}
			break
		}
		if r.status != 0 || i > 5 {
			t.Fatalf("query directory: %#x", r.status)
		}
		e := r.rest[4:]
		n := binary.LittleEndian.Uint32(e[60:])
		names = append(names, decodeUTF16(e[94:94+n]))
		if size := binary.LittleEndian.Uint64(e[40:]); size != 5 {
			t.Errorf("EndOfFile %d", size)
		}
	}
	if strings.Join(names, " ") != "a.txt" {
		t.Fatalf("listing %v", names)
	}
	// Rename, then delete on close.
	id = do(t, dr, createReq(`\docs\a.txt`, accessDelete, fileOpen, 0)).u32(0)
	ren := append([]byte{0, 0}, putU32(nil, uint32(len(utf16le(`\docs\b.txt`))))...)
	ren = append(ren, utf16le(`\docs\b.txt`)...)
	os.WriteFile(filepath.Join(dir, "docs", "taken.txt"), []byte("x"), 0o644)
	onto := append([]byte{0, 0}, putU32(nil, uint32(len(utf16le(`\docs\taken.txt`))))...)
	onto = append(onto, utf16le(`\docs\taken.txt`)...)
	if r := do(t, dr, infoReq(id, irpMjSetInformation, fileRenameInformation, onto)); r.status != statusObjectNameCollision {
		t.Fatalf("rename onto a taken name without ReplaceIfExists: %#x", r.status)
	}
	os.Remove(filepath.Join(dir, "docs", "taken.txt"))
	if r := do(t, dr, infoReq(id, irpMjSetInformation, fileRenameInformation, ren)); r.status != 0 {
		t.Fatalf("rename: %#x", r.status)
	}
	if r := do(t, dr, infoReq(dirID, irpMjSetInformation, fileDispositionInformation, []byte{1})); r.status != statusDirectoryNotEmpty {
		t.Fatalf("deleting a folder with a file: %#x", r.status)
	}
	if r := do(t, dr, infoReq(id, irpMjSetInformation, fileDispositionInformation, []byte{1})); r.status != 0 {
		t.Fatalf("disposition: %#x", r.status)
	}
	if _, err := os.Stat(filepath.Join(dir, "docs", "b.txt")); err != nil {
		t.Fatalf("renamed file: %v", err)
	}
	do(t, dr, closeReq(id))
	if _, err := os.Stat(filepath.Join(dir, "docs", "b.txt")); !os.IsNotExist(err) {
		t.Fatalf("deleted file still there: %v", err)
	}
	do(t, dr, closeReq(dirID))
	if len(dr.files) != 0 {
		t.Fatalf("%d files left open", len(dr.files))
	}
	// Done with a file: when a handle that wrote it closed, and when a whole
	// file was renamed into its name (as programs save: a temporary name, then
	// a rename); a read-only open and the folder do not count.
	if strings.Join(closed, " ") != "docs/a.txt docs/b.txt" {
		t.Fatalf("Closed for %v", closed)
	}
	if r := do(t, dr, rwReq(id, irpMjRead, 1, 0, nil)); r.status != statusInvalidHandle {
		t.Fatalf("a closed handle: %#x", r.status)
	}
}

// TestDriveConfinement: ".." stays at the drive's top and a link out is
// refused; a read-only drive refuses every change.
func TestDriveConfinement(t *testing.T) {
	dr, dir := newTestDrive(t, false)
	if r := do(t, dr, createReq(`\..\..\secret`, 0x1, fileOpen, 0)); r.status != statusNoSuchFile {
		t.Fatalf(`\..\..\secret: %#x`, r.status)
	}
	if r := do(t, dr, createReq(`\out`, 0x1, fileOpen, 0)); r.status != statusAccessDenied {
		t.Fatalf("a link out: %#x", r.status)
	}
	if r := do(t, dr, createReq(`\a:stream`, 0x1, fileOpenIf, 0)); r.status != statusObjectNameInvalid {
		t.Fatalf("an alternate data stream: %#x", r.status)
	}
	id := do(t, dr, createReq(``, 0x1, fileOpen, fileDirectoryFile)).u32(0)
	var names []string
	for i := 0; ; i++ {
		r := do(t, dr, dirReq(id, fileDirectoryInformation, i == 0, `\*`))
		if r.status != 0 {
			break
		}
		e := r.rest[4:]
		n := binary.LittleEndian.Uint32(e[60:])
		names = append(names, decodeUTF16(e[64:64+n]))
	}
	if len(names) != 0 {
		t.Fatalf("the root lists %v: a link out must not show", names)
	}

	ro, dir2 := newTestDrive(t, true)
	os.WriteFile(filepath.Join(dir2, "f"), []byte("x"), 0o644)
	for _, c := range []struct {
		path                 string
		access, disp, option uint32
	}{
		{`\new`, 0x1, fileCreate, 0}, {`\f`, fileWriteData, fileOpen, 0}, {`\f`, 0x1, fileOverwriteIf, 0},
		{`\d`, 0x1, fileCreate, fileDirectoryFile}, {`\f`, 0x1, fileOpen, fileDeleteOnClose},
	} {
		if r := do(t, ro, createReq(c.path, c.access, c.disp, c.option)); r.status != statusAccessDenied {
			t.Errorf("read-only %+v: %#x", c, r.status)
		}
	}
	fid := do(t, ro, createReq(`\f`, 0x1, fileOpen, 0)).u32(0)
	if r := do(t, ro, rwReq(fid, irpMjWrite, 1, 0, []byte("y"))); r.status != statusAccessDenied {
		t.Fatalf("read-only write: %#x", r.status)
	}
	if r := do(t, ro, infoReq(fid, irpMjSetInformation, fileDispositionInformation, []byte{1})); r.status != statusAccessDenied {
		t.Fatalf("read-only delete: %#x", r.status)
	}
	if r := do(t, ro, rwReq(fid, irpMjRead, 10, 0, nil)); r.status != 0 || string(r.rest[4:]) != "x" {
		t.Fatalf("read-only read: %#x", r.status)
	}
	_ = dir
}

func TestWindowsMatch(t *testing.T) {
	for _, c := range []struct {
		pattern, name string
		want          bool
	}{
		{"*", "a", true}, {"*.*", "noext", true}, {"*.txt", "A.TXT", true}, {"*.txt", "a.txt.bak", false},
		{"a?c", "abc", true}, {"a?c", "ac", false}, {"a*b*c", "axxbyyc", true}, {"a*b*c", "axxbyy", false},
		{"exact", "exact", true}, {"exact", "exactly", false}, {"**a", "xa", true},
	} {
		if got := windowsMatch(c.pattern, c.name); got != c.want {
			t.Errorf("windowsMatch(%q, %q) = %v", c.pattern, c.name, got)
		}
	}
}

// FuzzDriveRequest: any Device I/O Request for the drive gets an answer or
// an error, never a panic, and nothing outside the drive's folder changes.
func FuzzDriveRequest(f *testing.F) {
	for _, seed := range [][]byte{
		createReq(`\a`, fileWriteData, fileOpenIf, 0), createReq(`\d`, 1, fileCreate, fileDirectoryFile),
		rwReq(1, irpMjWrite, 3, 0, []byte("abc")), rwReq(1, irpMjRead, 3, 0, nil),
		infoReq(1, irpMjQueryInformation, fileBasicInformation, nil), infoReq(1, irpMjSetInformation, fileEndOfFileInformation, putU64(nil, 1)),
		infoReq(1, irpMjQueryVolumeInformation, fileFsFullSizeInformation, nil), dirReq(2, fileNamesInformation, true, `\*`),
		closeReq(1), ioRequest(1, 1, irpMjLockControl, 0), ioRequest(1, 1, irpMjDeviceControl, 0),
	} {
		f.Add(seed, seed)
	}
	f.Fuzz(func(t *testing.T, first, second []byte) {
		dr, dir := newTestDrive(t, false)
		for _, body := range [][]byte{first, second, first} {
			req, err := parseDeviceIORequest(body)
			if err != nil {
				continue
			}
			req.deviceID = driveDeviceID
			dr.handle(nil, driveIORequest{deviceIORequest: req, body: body[deviceIORequestSize:]})
		}
		dr.closeAll()
		if b, err := os.ReadFile(filepath.Join(filepath.Dir(dir), "secret")); err != nil || string(b) != "outside" {
			t.Fatalf("the file outside the drive: %q %v", b, err)
		}
	})
}

// TestRdpdrDrive: with Config.Drive (and no sound) the client joins rdpdr,
// lists the drive capability set, announces the drive once the user has
// logged on (xrdp sends Server User Logged On first), and answers I/O
// requests for it from the folder; a new Server Announce forgets the
// handles.
func TestRdpdrDrive(t *testing.T) {
	c, _ := testClient()
	cc := &capConn{}
	c.conn, c.tcp = cc, cc
	dr, dir := newTestDrive(t, false)
	c.cfg.Drive = dr.d
	c.initChannels()
	if c.rdpdr == nil || c.snd != nil {
		t.Fatal("a drive alone did not request rdpdr (or requested sound)")
	}
	c.channels[c.rdpdr.ch].ID = rdpdrTestChannel
	sendRdpdr(t, c, serverAnnounce(12, 7))
	expectRdpdr(t, cc, "72 44 43 43 01 00 0c 00 07 00 00 00", clientNameRacgate)
	// The client's capabilities: the general set as without a drive, with
	// numCapabilities 2, then DRIVE_CAPS_SET (type 4, 8 bytes, version 2).
	sendRdpdr(t, c, hx(xrdpServerCaps))
	caps := strings.Replace(clientCoreCaps, "72 44 50 43 01 00", "72 44 50 43 02 00", 1) + " 04 00 08 00 02 00 00 00"
	expectRdpdr(t, cc, caps)
	// The server sends User Logged On (extendedPDU has it): the confirm
	// announces nothing, the logon announces the drive.
	sendRdpdr(t, c, serverClientIDConfirm(12, 7))
	expectRdpdr(t, cc, deviceListNone)
	sendRdpdr(t, c, hx(userLoggedOn))
	// DeviceCount 1, RDPDR_DTYP_FILESYSTEM, DeviceId 1, "RACGATE\0",
	// DeviceDataLength 28: "racgate files" and a NUL in UTF-16LE.
	announce := "72 44 41 44 01 00 00 00 08 00 00 00 01 00 00 00 52 41 43 47 41 54 45 00 1c 00 00 00" +
		" 72 00 61 00 63 00 67 00 61 00 74 00 65 00 20 00 66 00 69 00 6c 00 65 00 73 00 00 00"
	expectRdpdr(t, cc, announce)
	// An I/O request for the drive: create, answered from the folder.
	req := append(appendRdpdrHeader(nil, pakidCoreDeviceIORequest), createReq(`\made.txt`, fileWriteData, fileCreate, 0)...)
	sendRdpdr(t, c, req)
	got := sentOn(t, cc, rdpdrTestChannel)
	if len(got) != 1 || !bytes.HasPrefix(got[0], hx("72 44 43 49 01 00 00 00 07 00 00 00 00 00 00 00")) || got[0][len(got[0])-1] != fileCreated {
		t.Fatalf("create response % x", got)
	}
	if _, err := os.Stat(filepath.Join(dir, "made.txt")); err != nil {
		t.Fatal(err)
	}
	if len(c.rdpdr.drive.files) != 1 {
		t.Fatalf("%d open files", len(c.rdpdr.drive.files))
	}
	sendRdpdr(t, c, serverAnnounce(12, 8))
	sentOn(t, cc, rdpdrTestChannel)
	if len(c.rdpdr.drive.files) != 0 || c.rdpdr.driveAnnounced {
		t.Fatalf("after a new Server Announce: %d open files, announced %v", len(c.rdpdr.drive.files), c.rdpdr.driveAnnounced)
	}
}
