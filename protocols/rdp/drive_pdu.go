package rdp

// The drive PDUs of the File System Virtual Channel Extension (MS-RDPEFS
// 2.2.3) and the file information structures they carry (MS-FSCC 2.4, 2.5),
// named as the specs name them. drive.go answers them.

// DeviceType of DEVICE_ANNOUNCE (2.2.1.3).
const rdpdrDtypFilesystem = 0x00000008 // RDPDR_DTYP_FILESYSTEM

// DRIVE_CAPS_SET (2.2.2.7.5): version 2 supports Unicode file names in
// the Device List Announce's DeviceData.
const (
	driveCapabilityVersion02 = 0x00000002
	driveCapsSetSize         = 8 // the header alone
)

// MinorFunction of a directory control request (2.2.1.4).
const (
	irpMnQueryDirectory        = 0x00000001
	irpMnNotifyChangeDirectory = 0x00000002
)

// NTSTATUS values (MS-ERREF 2.3).
const (
	statusSuccess               uint32 = 0x00000000
	statusNoMoreFiles           uint32 = 0x80000006
	statusInvalidHandle         uint32 = 0xC0000008
	statusInvalidParameter      uint32 = 0xC000000D
	statusNoSuchFile            uint32 = 0xC000000F
	statusAccessDenied          uint32 = 0xC0000022
	statusObjectNameCollision   uint32 = 0xC0000035
	statusObjectPathNotFound    uint32 = 0xC000003A
	statusDiskFull              uint32 = 0xC000007F
	statusFileIsADirectory      uint32 = 0xC00000BA
	statusNotSupported          uint32 = 0xC00000BB
	statusDirectoryNotEmpty     uint32 = 0xC0000101
	statusNotADirectory         uint32 = 0xC0000103
	statusObjectNameInvalid     uint32 = 0xC0000033
	statusInsufficientResources uint32 = 0xC000009A
)

// CreateDisposition of DR_CREATE_REQ (2.2.1.4.1, MS-SMB2 2.2.13).
const (
	fileSupersede   = 0x00000000
	fileOpen        = 0x00000001
	fileCreate      = 0x00000002
	fileOpenIf      = 0x00000003
	fileOverwrite   = 0x00000004
	fileOverwriteIf = 0x00000005
)

// CreateOptions bits (MS-SMB2 2.2.13).
const (
	fileDirectoryFile    = 0x00000001
	fileNonDirectoryFile = 0x00000040
	fileDeleteOnClose    = 0x00001000
)

// DesiredAccess bits that write (MS-SMB2 2.2.13.1.1).
const (
	fileWriteData       = 0x00000002
	fileAppendData      = 0x00000004
	fileWriteEA         = 0x00000010
	fileWriteAttributes = 0x00000100
	accessDelete        = 0x00010000
	genericAll          = 0x10000000
	genericWrite        = 0x40000000
	writeAccess         = fileWriteData | fileAppendData | fileWriteEA | fileWriteAttributes | accessDelete | genericAll | genericWrite
)

// Information of DR_CREATE_RSP (2.2.1.5.1).
const (
	fileSuperseded  = 0
	fileOpened      = 1
	fileCreated     = 2
	fileOverwritten = 3
)

// FileAttributes (MS-FSCC 2.6).
const (
	fileAttributeReadonly  = 0x00000001
	fileAttributeHidden    = 0x00000002
	fileAttributeDirectory = 0x00000010
	fileAttributeArchive   = 0x00000020
)

// FsInformationClass values: file information (MS-FSCC 2.4) and file
// system information (MS-FSCC 2.5).
const (
	fileDirectoryInformation     = 1
	fileFullDirectoryInformation = 2
	fileBothDirectoryInformation = 3
	fileBasicInformation         = 4
	fileStandardInformation      = 5
	fileRenameInformation        = 10
	fileNamesInformation         = 12
	fileDispositionInformation   = 13
	fileAllocationInformation    = 19
	fileEndOfFileInformation     = 20
	fileAttributeTagInformation  = 35

	fileFsVolumeInformation    = 1
	fileFsSizeInformation      = 3
	fileFsDeviceInformation    = 4
	fileFsAttributeInformation = 5
	fileFsFullSizeInformation  = 7
)

// driveIORequest is a Device I/O Request for the drive: the header
// (2.2.1.4) and the rest of the body, which its MajorFunction lays out.
type driveIORequest struct {
	deviceIORequest
	body []byte
}

// createRequest is DR_CREATE_REQ (2.2.1.4.1).
type createRequest struct {
	desiredAccess, fileAttributes, sharedAccess uint32
	createDisposition, createOptions            uint32
	path                                        string
}

func parseCreateRequest(b []byte) (createRequest, error) {
	const pdu, sec = "DR_CREATE_REQ", "MS-RDPEFS 2.2.1.4.1"
	d := decoder{b: b}
	r := createRequest{desiredAccess: d.u32()}
	d.skip(8) // AllocationSize
	r.fileAttributes, r.sharedAccess = d.u32(), d.u32()
	r.createDisposition, r.createOptions = d.u32(), d.u32()
	var err error
	r.path, err = d.utf16Path(len(b), pdu, sec, "PathLength")
	return r, err
}

// utf16Path reads a u32 length (named field in errors) and that many bytes of
// UTF-16LE, up to a NUL: a path or name field of the drive PDUs.
func (d *decoder) utf16Path(size int, pdu, sec, field string) (string, error) {
	n := int(d.u32())
	if d.err != nil {
		return "", protoErr(pdu, sec, "%d bytes", size)
	}
	if n > d.remaining() || n%2 != 0 {
		return "", protoErr(pdu, sec, "%s %d with %d bytes left", field, n, d.remaining())
	}
	return decodeUTF16Z(d.bytes(n)), nil
}

// rwRequest is DR_READ_REQ (2.2.1.4.3) or DR_WRITE_REQ (2.2.1.4.4).
type rwRequest struct {
	length uint32
	offset uint64
	data   []byte // a write's
}

func parseRWRequest(b []byte, write bool) (rwRequest, error) {
	pdu, sec := "DR_READ_REQ", "MS-RDPEFS 2.2.1.4.3"
	if write {
		pdu, sec = "DR_WRITE_REQ", "MS-RDPEFS 2.2.1.4.4"
	}
	d := decoder{b: b}
	r := rwRequest{length: d.u32()}
	r.offset = uint64(d.u32()) | uint64(d.u32())<<32
	d.skip(20) // Padding
	if d.err != nil {
		return r, protoErr(pdu, sec, "%d bytes", len(b))
	}
	if write {
		if int64(r.length) > int64(d.remaining()) {
			return r, protoErr(pdu, sec, "Length %d with %d bytes of data", r.length, d.remaining())
		}
		r.data = d.bytes(int(r.length))
	}
	return r, nil
}

// infoRequest is DR_DRIVE_QUERY_VOLUME_INFORMATION_REQ (2.2.3.3.6),
// DR_DRIVE_QUERY_INFORMATION_REQ (2.2.3.3.8) or
// DR_DRIVE_SET_INFORMATION_REQ (2.2.3.3.9): FsInformationClass, Length,
// 24 bytes of Padding, then Length bytes (a set request's SetBuffer).
type infoRequest struct {
	class  uint32
	buffer []byte
}

func parseInfoRequest(b []byte, pdu, sec string) (infoRequest, error) {
	d := decoder{b: b}
	r := infoRequest{class: d.u32()}
	n := int(d.u32())
	d.skip(24)
	if d.err != nil {
		return r, protoErr(pdu, sec, "%d bytes", len(b))
	}
	if n > d.remaining() {
		// Query requests may carry fewer bytes than Length says (the
		// buffer is unused); keep what is there.
		n = d.remaining()
	}
	r.buffer = d.bytes(n)
	return r, nil
}

// directoryRequest is DR_DRIVE_QUERY_DIRECTORY_REQ (2.2.3.3.10).
type directoryRequest struct {
	class   uint32
	initial bool
	path    string
}

func parseDirectoryRequest(b []byte) (directoryRequest, error) {
	const pdu, sec = "DR_DRIVE_QUERY_DIRECTORY_REQ", "MS-RDPEFS 2.2.3.3.10"
	d := decoder{b: b}
	r := directoryRequest{class: d.u32(), initial: d.u8() != 0}
	// PathLength comes before 23 bytes of Padding, then the Path.
	n := int(d.u32())
	d.skip(23)
	if d.err != nil {
		return r, protoErr(pdu, sec, "%d bytes", len(b))
	}
	if n > d.remaining() || n%2 != 0 {
		return r, protoErr(pdu, sec, "PathLength %d with %d bytes left", n, d.remaining())
	}
	r.path = decodeUTF16Z(d.bytes(n))
	return r, nil
}

// renameInformation is RDP_FILE_RENAME_INFORMATION (2.2.3.3.9.1).
type renameInformation struct {
	replace bool
	name    string
}

func parseRenameInformation(b []byte) (renameInformation, error) {
	const pdu, sec = "RDP_FILE_RENAME_INFORMATION", "MS-RDPEFS 2.2.3.3.9.1"
	d := decoder{b: b}
	r := renameInformation{replace: d.u8() != 0}
	d.skip(1) // RootDirectory
	var err error
	r.name, err = d.utf16Path(len(b), pdu, sec, "FileNameLength")
	return r, err
}

// appendIOCompletion appends DR_DEVICE_IOCOMPLETION (2.2.1.5) for r.
func appendIOCompletion(b []byte, r deviceIORequest, status uint32) []byte {
	b = appendRdpdrHeader(b, pakidCoreDeviceIOCompletion)
	b = putU32(b, r.deviceID)
	b = putU32(b, r.completionID)
	return putU32(b, status)
}

// appendDriveDeviceAnnounce appends a DR_CORE_DEVICELIST_ANNOUNCE_REQ
// (2.2.2.9) with one DEVICE_ANNOUNCE (2.2.1.3): a file system whose
// PreferredDosName is dosName (at most 7 ASCII characters, NUL-padded to
// 8) and whose DeviceData is its display name, UTF-16LE with a NUL (a
// DRIVE_CAPABILITY_VERSION_02 client's, 2.2.3.1).
func appendDriveDeviceAnnounce(b []byte, deviceID uint32, dosName, name string) []byte {
	b = appendRdpdrHeader(b, pakidCoreDeviceListAnnounce)
	b = putU32(b, 1) // DeviceCount
	b = putU32(b, rdpdrDtypFilesystem)
	b = putU32(b, deviceID)
	var dos [8]byte
	copy(dos[:7], dosName)
	b = append(b, dos[:]...)
	u := utf16le(name)
	b = putU32(b, uint32(len(u)+2))
	b = append(b, u...)
	return append(b, 0, 0)
}

func putU64(b []byte, v uint64) []byte { return putU32(putU32(b, uint32(v)), uint32(v>>32)) }
