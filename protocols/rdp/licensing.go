package rdp

import (
	"errors"
	"fmt"
)

// Licensing PDU message types (MS-RDPBCGR 2.2.1.12.1.1 bMsgType).
const (
	licenseRequest           = 0x01
	licensePlatformChallenge = 0x02
	licenseNewLicense        = 0x03
	licenseUpgradeLicense    = 0x04
	licenseErrorAlert        = 0xFF
)

// Licensing error codes and state transitions (2.2.1.12.1.3).
const (
	licenseStatusValidClient = 0x00000007
	licenseStNoTransition    = 0x00000002
	licenseStTotalAbort      = 0x00000001
)

// errLicenseExchange tells the caller to run the licence exchange.
var errLicenseExchange = errors.New("rdp: licence exchange")

// parseServerLicensePDU reads a Server License PDU (MS-RDPBCGR 2.2.1.12)
// after its security header and reports whether licensing is complete.
// Servers in remote administration mode, xrdp and FreeRDP answer with
// STATUS_VALID_CLIENT at once; a licence request or platform challenge
// returns errLicenseExchange (license_exchange.go answers them).
func parseServerLicensePDU(p []byte) (done bool, err error) {
	const pdu, sec = "Server License Error PDU", "MS-RDPBCGR 2.2.1.12"
	d := decoder{b: p}
	msgType := d.u8()
	d.u8() // flags (PREAMBLE_VERSION_3_0 etc.)
	size := int(d.u16())
	if d.err != nil || size < 4 || size > len(p) {
		return false, protoErr(pdu, sec, "preamble wMsgSize %d of %d bytes", size, len(p))
	}
	switch msgType {
	case licenseErrorAlert:
		code, transition := d.u32(), d.u32()
		if d.err != nil {
			return false, protoErr(pdu, sec, "truncated error message")
		}
		if code == licenseStatusValidClient && transition == licenseStNoTransition {
			return true, nil
		}
		return false, fmt.Errorf("%w: server licensing error %#x (state transition %#x) (MS-RDPBCGR 2.2.1.12.1.3)", ErrLicense, code, transition)
	case licenseNewLicense, licenseUpgradeLicense:
		// The licence blob is encrypted with keys from an exchange we did not
		// do; a server that sends one without a request has licensed us.
		return true, nil
	case licenseRequest, licensePlatformChallenge:
		return false, errLicenseExchange
	}
	return false, protoErr(pdu, sec, "message type %#x", msgType)
}
