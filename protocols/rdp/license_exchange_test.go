package rdp

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"math/big"
	"slices"
	"testing"
)

// licenseRequestFor builds a Server License Request (MS-RDPBCGR 2.2.2.1)
// carrying key in a proprietary certificate (2.2.1.4.3.1.1).
func licenseRequestFor(key *rsa.PublicKey, serverRandom []byte) []byte {
	mod := key.N.Bytes()
	slices.Reverse(mod)
	mod = append(mod, make([]byte, 8)...)
	var pk []byte
	pk = putU32(pk, 0x31415352)
	pk = putU32(pk, uint32(len(mod)))
	pk = putU32(pk, uint32(key.N.BitLen()))
	pk = putU32(pk, uint32(len(mod)-8-1))
	pk = putU32(pk, uint32(key.E))
	pk = append(pk, mod...)
	var cert []byte
	cert = putU32(cert, 1)
	cert = putU32(cert, 1)
	cert = putU32(cert, 1)
	cert = putU16(cert, 6)
	cert = putU16(cert, uint16(len(pk)))
	cert = append(cert, pk...)
	cert = putU16(cert, 8)
	cert = putU16(cert, 72)
	cert = append(cert, make([]byte, 72)...)
	var b []byte
	b = append(b, licenseRequest, 3, 0, 0)
	b = append(b, serverRandom...)
	b = putU32(b, 0x60000)
	b = putU32(b, 4)
	b = append(b, "M\x00\x00\x00"...)
	b = putU32(b, 4)
	b = append(b, "A\x00\x00\x00"...)
	b = licenseBlob(b, 0x000D, putU32(nil, 1))
	b = licenseBlob(b, 0x0003, cert)
	b = putU32(b, 0)
	setU16(b[2:], uint16(len(b)))
	return b
}

// TestLicenseExchange plays the server side of the licence exchange: the
// premaster secret decrypts with the server's private key, both sides
// derive the same keys, and the challenge response decrypts to the
// challenge with a MAC that verifies.
func TestLicenseExchange(t *testing.T) {
	priv, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	serverRandom := bytes.Repeat([]byte{0x42}, 32)
	c, _ := testClient()
	c.cfg.Username = "user"
	req, err := c.clientNewLicenseRequest(licenseRequestFor(&priv.PublicKey, serverRandom))
	if err != nil {
		t.Fatal(err)
	}
	d := decoder{b: req}
	if d.u8() != licenseNewLicenseRequest {
		t.Fatal("not a New License Request")
	}
	d.u8()
	if int(d.u16()) != len(req) {
		t.Fatal("wMsgSize")
	}
	d.u32()
	d.u32()
	clientRandom := d.bytes(32)
	enc := d.licenseBlob()
	user := d.licenseBlob()
	if d.err != nil || string(user) != "user\x00" {
		t.Fatalf("user name blob %q %v", user, d.err)
	}
	// Raw RSA decryption of the little-endian premaster secret.
	be := slices.Clone(enc[:len(enc)-8])
	slices.Reverse(be)
	m := new(big.Int).Exp(new(big.Int).SetBytes(be), priv.D, priv.N).FillBytes(make([]byte, 48))
	slices.Reverse(m)
	master := tripleHash(m, clientRandom, serverRandom)
	skb := tripleHash(master, serverRandom, clientRandom)
	encKey := md5Sum(skb[16:32], clientRandom, serverRandom)
	if !bytes.Equal(encKey, c.license.encKey) || !bytes.Equal(skb[:16], c.license.macSaltKey) {
		t.Fatal("server and client derive different licensing keys")
	}

	challenge := []byte("TEST\x00")
	var pc []byte
	pc = append(pc, licensePlatformChallenge, 3, 0, 0)
	pc = putU32(pc, 0)
	pc = licenseBlob(pc, bbEncryptedDataBlob, rc4Once(encKey, challenge))
	pc = append(pc, licenseMAC(skb[:16], challenge)...)
	setU16(pc[2:], uint16(len(pc)))
	resp, err := c.clientPlatformChallengeResponse(pc)
	if err != nil {
		t.Fatal(err)
	}
	d = decoder{b: resp[4:]}
	respData := rc4Once(encKey, d.licenseBlob())
	hwid := rc4Once(encKey, d.licenseBlob())
	mac := d.bytes(16)
	if d.err != nil || !bytes.Equal(respData[8:], challenge) || len(hwid) != 20 {
		t.Fatalf("response data % x, hwid % x, %v", respData, hwid, d.err)
	}
	if !bytes.Equal(mac, licenseMAC(skb[:16], append(hwid, respData...))) {
		t.Fatal("response MAC does not verify")
	}
}
