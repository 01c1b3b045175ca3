package rdp

import (
	"crypto/rand"
	"crypto/rc4"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509"
	"encoding/binary"
	"fmt"
	"math/big"
	"slices"
)

// The licence exchange (MS-RDPBCGR 2.2.2, keys in MS-RDPELE 5.1.3/5.1.4
// terms as MS-RDPBCGR 5.3.5.1 defines them): Server License Request ->
// Client New License Request -> Server Platform Challenge -> Client Platform
// Challenge Response -> Server New License or STATUS_VALID_CLIENT. xrdp
// always runs it; Windows does when no licence is stored. The licence the
// server issues is not stored: every connection asks anew.

// Licensing binary blob types (2.2.1.12.1.2).
const (
	bbRandomBlob         = 0x0002
	bbEncryptedDataBlob  = 0x0009
	bbClientUserNameBlob = 0x000F
	bbClientMachineBlob  = 0x0010
)

const (
	licenseNewLicenseRequest         = 0x13
	licensePlatformChallengeResponse = 0x15
	preambleVersion3                 = 0x03
)

// licenseState holds the keys of one licence exchange.
type licenseState struct {
	clientRandom, serverRandom []byte
	macSaltKey, encKey         []byte
}

func licenseBlob(b []byte, typ uint16, data []byte) []byte {
	b = putU16(b, typ)
	b = putU16(b, uint16(len(data)))
	return append(b, data...)
}

func (d *decoder) licenseBlob() []byte {
	d.u16() // wBlobType: servers send inconsistent types; the position says what it is
	return d.bytes(int(d.u16()))
}

// saltedHash is SaltedHash(S, I, R1, R2) = MD5(S + SHA1(I + S + R1 + R2))
// (MS-RDPBCGR 5.3.5.1).
func saltedHash(s, i, r1, r2 []byte) []byte {
	h := sha1.New()
	h.Write(i)
	h.Write(s)
	h.Write(r1)
	h.Write(r2)
	return md5Sum(s, h.Sum(nil))
}

func tripleHash(s, r1, r2 []byte) []byte {
	var out []byte
	for _, i := range []string{"A", "BB", "CCC"} {
		out = append(out, saltedHash(s, []byte(i), r1, r2)...)
	}
	return out
}

// licenseMAC is the MAC of 5.3.6.1 keyed with the MAC salt key.
func licenseMAC(key, data []byte) []byte {
	pad1 := slices.Repeat([]byte{0x36}, 40)
	pad2 := slices.Repeat([]byte{0x5C}, 48)
	h := sha1.New()
	h.Write(key)
	h.Write(pad1)
	h.Write(binary.LittleEndian.AppendUint32(nil, uint32(len(data))))
	h.Write(data)
	return md5Sum(key, pad2, h.Sum(nil))
}

func rc4Once(key, data []byte) []byte {
	c, _ := rc4.NewCipher(key)
	out := make([]byte, len(data))
	c.XORKeyStream(out, data)
	return out
}

// serverLicenseKey extracts the server's RSA key from the ServerCertificate
// of a licence request: a proprietary certificate (2.2.1.4.3.1.1) or an
// X.509 chain (2.2.1.4.3.1.2), whose last certificate is the server's.
func serverLicenseKey(cert []byte) (*rsa.PublicKey, error) {
	const pdu, sec = "Server Certificate", "MS-RDPBCGR 2.2.1.4.3.1"
	d := decoder{b: cert}
	version := d.u32() & 0x7FFFFFFF
	switch version {
	case 1:
		d.u32() // dwSigAlgId
		d.u32() // dwKeyAlgId
		d.u16() // wPublicKeyBlobType
		kb := d.bytes(int(d.u16()))
		kd := decoder{b: kb}
		magic := kd.u32()
		keylen := int(kd.u32())
		kd.u32() // bitlen
		kd.u32() // datalen
		exp := kd.u32()
		mod := kd.bytes(keylen)
		// Up to 4096-bit keys: a bigger modulus would only cost us CPU.
		if d.err != nil || kd.err != nil || magic != 0x31415352 || keylen < 8+64 || keylen > 8+512 {
			return nil, protoErr(pdu, "MS-RDPBCGR 2.2.1.4.3.1.1.1", "bad RSA public key")
		}
		m := slices.Clone(mod[:keylen-8]) // 8 zero bytes of padding
		slices.Reverse(m)
		return &rsa.PublicKey{N: new(big.Int).SetBytes(m), E: int(exp)}, nil
	case 2:
		n := int(d.u32())
		if n < 1 || n > 16 {
			return nil, protoErr(pdu, sec, "%d certificates", n)
		}
		var last []byte
		for range n {
			last = d.bytes(int(d.u32()))
		}
		if d.err != nil {
			return nil, protoErr(pdu, sec, "truncated certificate chain")
		}
		c, err := x509.ParseCertificate(last)
		if err != nil {
			return nil, &ProtocolError{PDU: pdu, Section: sec, Reason: "server certificate", Err: err}
		}
		k, ok := c.PublicKey.(*rsa.PublicKey)
		if !ok || k.N.BitLen() > 4096 {
			return nil, protoErr(pdu, sec, "not an RSA key of up to 4096 bits")
		}
		return k, nil
	}
	return nil, protoErr(pdu, sec, "certificate version %d", version)
}

// rsaEncryptLE encrypts the little-endian message m with raw RSA as
// 5.3.4.1 describes and returns the little-endian result padded with 8 zero
// bytes to the modulus length plus 8.
func rsaEncryptLE(k *rsa.PublicKey, m []byte) []byte {
	be := slices.Clone(m)
	slices.Reverse(be)
	c := new(big.Int).Exp(new(big.Int).SetBytes(be), big.NewInt(int64(k.E)), k.N)
	size := (k.N.BitLen() + 7) / 8
	out := c.FillBytes(make([]byte, size))
	slices.Reverse(out)
	return append(out, make([]byte, 8)...)
}

// clientNewLicenseRequest answers a Server License Request (2.2.2.1) with a
// Client New License Request (2.2.2.2) and derives the licensing keys.
func (c *Client) clientNewLicenseRequest(p []byte) ([]byte, error) {
	const pdu, sec = "Server License Request", "MS-RDPBCGR 2.2.2.1"
	d := decoder{b: p}
	d.skip(4) // preamble
	serverRandom := d.bytes(32)
	d.u32()                 // ProductInfo.dwVersion
	d.skip(int(d.u32()))    // pbCompanyName
	d.skip(int(d.u32()))    // pbProductId
	d.licenseBlob()         // KeyExchangeList
	cert := d.licenseBlob() // ServerCertificate
	if d.err != nil {
		return nil, protoErr(pdu, sec, "truncated")
	}
	if len(cert) == 0 {
		return nil, fmt.Errorf("%w: licence request without a server certificate", ErrLicense)
	}
	key, err := serverLicenseKey(cert)
	if err != nil {
		return nil, err
	}
	ls := &licenseState{clientRandom: make([]byte, 32), serverRandom: slices.Clone(serverRandom)}
	rand.Read(ls.clientRandom)
	premaster := make([]byte, 48)
	rand.Read(premaster)
	master := tripleHash(premaster, ls.clientRandom, ls.serverRandom)
	sessionKeyBlob := tripleHash(master, ls.serverRandom, ls.clientRandom)
	ls.macSaltKey = sessionKeyBlob[:16]
	ls.encKey = md5Sum(sessionKeyBlob[16:32], ls.clientRandom, ls.serverRandom)
	c.license = ls

	var b []byte
	b = append(b, licenseNewLicenseRequest, preambleVersion3, 0, 0)
	b = putU32(b, 1)          // KEY_EXCHANGE_ALG_RSA
	b = putU32(b, 0x03010000) // CLIENT_OS_ID_WINNT_POST_52 | CLIENT_IMAGE_ID_MICROSOFT
	b = append(b, ls.clientRandom...)
	b = licenseBlob(b, bbRandomBlob, rsaEncryptLE(key, premaster))
	b = licenseBlob(b, bbClientUserNameBlob, append([]byte(c.cfg.Username), 0))
	b = licenseBlob(b, bbClientMachineBlob, append([]byte(c.cfg.ClientName), 0))
	setU16(b[2:], uint16(len(b)))
	return b, nil
}

// clientPlatformChallengeResponse answers a Server Platform Challenge
// (2.2.2.4) with a Client Platform Challenge Response (2.2.2.5).
func (c *Client) clientPlatformChallengeResponse(p []byte) ([]byte, error) {
	const pdu, sec = "Server Platform Challenge", "MS-RDPBCGR 2.2.2.4"
	if c.license == nil {
		return nil, protoErr(pdu, sec, "challenge before a licence request")
	}
	d := decoder{b: p}
	d.skip(4) // preamble
	d.u32()   // ConnectFlags
	enc := d.licenseBlob()
	mac := d.bytes(16)
	if d.err != nil {
		return nil, protoErr(pdu, sec, "truncated")
	}
	ls := c.license
	challenge := rc4Once(ls.encKey, enc)
	if want := licenseMAC(ls.macSaltKey, challenge); string(want) != string(mac) {
		c.log.Debug("rdp: platform challenge MAC does not verify")
	}
	var resp []byte             // PLATFORM_CHALLENGE_RESPONSE_DATA (2.2.2.5.1)
	resp = putU16(resp, 0x0100) // wVersion
	resp = putU16(resp, 0x0100) // wClientType: OTHER_PLATFORM_CHALLENGE_TYPE
	resp = putU16(resp, 0x0003) // wLicenseDetailLevel: LICENSE_DETAIL_DETAIL
	resp = putU16(resp, uint16(len(challenge)))
	resp = append(resp, challenge...)
	hwid := make([]byte, 20) // CLIENT_HARDWARE_ID (2.2.2.3.1)
	binary.LittleEndian.PutUint32(hwid, 0x03010000)
	h := md5Sum([]byte(c.cfg.ClientName))
	copy(hwid[4:], h)

	var b []byte
	b = append(b, licensePlatformChallengeResponse, preambleVersion3, 0, 0)
	b = licenseBlob(b, bbEncryptedDataBlob, rc4Once(ls.encKey, resp))
	b = licenseBlob(b, bbEncryptedDataBlob, rc4Once(ls.encKey, hwid))
	b = append(b, licenseMAC(ls.macSaltKey, append(slices.Clone(hwid), resp...))...)
	setU16(b[2:], uint16(len(b)))
	return b, nil
}
