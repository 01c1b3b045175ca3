package wire

import (
	"encoding/binary"
	"unicode/utf8"
)

// TypeFiles is FILES (0x18), server to client: the session has file transfer
// (docs/files.md), reached over HTTP under /files/{token}/.
const TypeFiles Type = 0x18

// FILES flags (§ FILES).
const (
	FilesUpload   = 1 // uploads (and rename, delete, new folder) are allowed
	FilesDownload = 2 // downloads are allowed
)

// MaxFilesToken bounds FILES's token.
const MaxFilesToken = 64

// Files is FILES (0x18): the token names the session's file-transfer API; MaxUpload is
// the most bytes one upload may have (0: no limit).
type Files struct {
	Flags     uint8
	MaxUpload uint64
	Token     string
}

func (Files) Type() Type { return TypeFiles }

func (m Files) Append(b []byte) []byte {
	b = append(header(b, TypeFiles, 9+len(m.Token)), m.Flags)
	b = binary.LittleEndian.AppendUint64(b, m.MaxUpload)
	return append(b, m.Token...)
}

// tokenChar: a token goes into a URL's path as it is.
func tokenChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.'
}

func decodeFiles(b, rest, p []byte) (Message, []byte, error) {
	m := Files{Flags: p[0], MaxUpload: binary.LittleEndian.Uint64(p[1:]), Token: string(p[9:])}
	if m.Flags&^(FilesUpload|FilesDownload) != 0 {
		return nil, b, malformed(TypeFiles, "flags %#x", m.Flags)
	}
	if n := len(m.Token); n < 1 || n > MaxFilesToken || !utf8.ValidString(m.Token) {
		return nil, b, malformed(TypeFiles, "token of %d bytes, want 1-%d", n, MaxFilesToken)
	}
	for i := 0; i < len(m.Token); i++ {
		if !tokenChar(m.Token[i]) {
			return nil, b, malformed(TypeFiles, "token byte %#x", m.Token[i])
		}
	}
	return m, rest, nil
}

// TypeFileReady is FILE_READY (0x19), server to client: a file the session left for the
// browser is ready (an RDP drive's Download folder, docs/files.md).
const TypeFileReady Type = 0x19

// MaxFilePath bounds FILE_READY's path.
const MaxFilePath = 4096

// FileReady is FILE_READY (0x19): the client downloads Path (a name under the FILES
// API's root, from "/") as the user would from the panel.
type FileReady struct{ Path string }

func (FileReady) Type() Type { return TypeFileReady }

func (m FileReady) Append(b []byte) []byte {
	return append(header(b, TypeFileReady, len(m.Path)), m.Path...)
}

func decodeFileReady(b, rest, p []byte) (Message, []byte, error) {
	if len(p) < 2 || len(p) > MaxFilePath || p[0] != '/' || !utf8.Valid(p) {
		return nil, b, malformed(TypeFileReady, "path of %d bytes, want \"/...\" of 2-%d UTF-8 bytes", len(p), MaxFilePath)
	}
	return FileReady{Path: string(p)}, rest, nil
}
