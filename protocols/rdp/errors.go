package rdp

import (
	"errors"
	"fmt"
)

// ErrAuthFailed reports that the server refused our credentials (NLA logon
// failure or a logon error from the server). Check it with errors.Is.
var ErrAuthFailed = errors.New("rdp: authentication failed")

// ErrCertificate reports a server certificate that is neither trusted by the
// configured roots nor pinned; the wrapping error names its SHA-256
// fingerprint so that an administrator can pin it.
var ErrCertificate = errors.New("rdp: untrusted server certificate")

// ErrLicense reports that the server refused to license the session or asked
// for a licensing exchange this client does not implement.
var ErrLicense = errors.New("rdp: licensing failed")

// ErrUnsupported reports a server choice this client cannot follow (a
// security protocol, standard RDP security, a codec it did not advertise).
var ErrUnsupported = errors.New("rdp: unsupported")

// ProtocolError reports malformed or hostile server input: which PDU was being
// read, where the spec defines it, and why it was refused. The session ends.
type ProtocolError struct {
	PDU     string // e.g. "X.224 Connection Confirm", "Demand Active"
	Section string // e.g. "MS-RDPBCGR 2.2.1.2"
	Reason  string
	Err     error // underlying cause, if any
}

func (e *ProtocolError) Error() string {
	s := "rdp: bad " + e.PDU
	if e.Section != "" {
		s += " (" + e.Section + ")"
	}
	s += ": " + e.Reason
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *ProtocolError) Unwrap() error { return e.Err }

func protoErr(pdu, section, format string, args ...any) *ProtocolError {
	return &ProtocolError{PDU: pdu, Section: section, Reason: fmt.Sprintf(format, args...)}
}

// errShort is the Reason-carrying cause for truncated input.
var errShort = errors.New("truncated")

// ServerError is a disconnect the server explained with a Set Error Info PDU
// (MS-RDPBCGR 2.2.5.1.1). Licensing codes also match ErrLicense.
type ServerError struct {
	Code uint32 // errorInfo
	Err  error  // how the connection ended
}

func (e *ServerError) Error() string {
	name := errorInfoNames[e.Code]
	if name == "" {
		name = fmt.Sprintf("%#x", e.Code)
	}
	return fmt.Sprintf("rdp: server ended the session: %s (MS-RDPBCGR 2.2.5.1.1): %v", name, e.Err)
}

func (e *ServerError) Unwrap() []error {
	errs := []error{e.Err}
	if e.Code >= 0x100 && e.Code <= 0x10A {
		errs = append(errs, ErrLicense)
	}
	if e.Code == 0x9 || e.Code == 0xA {
		errs = append(errs, ErrAuthFailed)
	}
	return errs
}

var errorInfoNames = map[uint32]string{
	0x1:   "ERRINFO_RPC_INITIATED_DISCONNECT",
	0x2:   "ERRINFO_RPC_INITIATED_LOGOFF",
	0x3:   "ERRINFO_IDLE_TIMEOUT",
	0x4:   "ERRINFO_LOGON_TIMEOUT",
	0x5:   "ERRINFO_DISCONNECTED_BY_OTHERCONNECTION",
	0x6:   "ERRINFO_OUT_OF_MEMORY",
	0x7:   "ERRINFO_SERVER_DENIED_CONNECTION",
	0x9:   "ERRINFO_SERVER_INSUFFICIENT_PRIVILEGES",
	0xA:   "ERRINFO_SERVER_FRESH_CREDENTIALS_REQUIRED",
	0xB:   "ERRINFO_RPC_INITIATED_DISCONNECT_BYUSER",
	0xC:   "ERRINFO_LOGOFF_BY_USER",
	0x100: "ERRINFO_LICENSE_INTERNAL",
	0x101: "ERRINFO_LICENSE_NO_LICENSE_SERVER",
	0x102: "ERRINFO_LICENSE_NO_LICENSE",
	0x103: "ERRINFO_LICENSE_BAD_CLIENT_MSG",
	0x104: "ERRINFO_LICENSE_HWID_DOESNT_MATCH_LICENSE",
	0x105: "ERRINFO_LICENSE_BAD_CLIENT_LICENSE",
	0x106: "ERRINFO_LICENSE_CANT_FINISH_PROTOCOL",
	0x107: "ERRINFO_LICENSE_CLIENT_ENDED_PROTOCOL",
	0x108: "ERRINFO_LICENSE_BAD_CLIENT_ENCRYPTION",
	0x109: "ERRINFO_LICENSE_CANT_UPGRADE_LICENSE",
	0x10A: "ERRINFO_LICENSE_NO_REMOTE_CONNECTIONS",
}

func errorInfoError(code uint32, cause error) error {
	return &ServerError{Code: code, Err: cause}
}
