package rdp

import (
	"bytes"
	"testing"
	"time"
)

// ntlmSpecChallenge builds the CHALLENGE_MESSAGE of MS-NLMP 4.2.4.3: flags
// 0xe28a8233, server challenge 0123456789abcdef, target name "Server",
// target info NbDomainName "Domain", NbComputerName "Server".
func ntlmSpecChallenge() []byte {
	var ti []byte
	ti = putU16(ti, 2)
	ti = putU16(ti, 12)
	ti = append(ti, utf16le("Domain")...)
	ti = putU16(ti, 1)
	ti = putU16(ti, 12)
	ti = append(ti, utf16le("Server")...)
	ti = append(ti, 0, 0, 0, 0)
	name := utf16le("Server")
	b := append([]byte(nil), ntlmSignature...)
	b = putU32(b, 2)
	b = putU16(b, uint16(len(name)))
	b = putU16(b, uint16(len(name)))
	b = putU32(b, 56)
	b = putU32(b, 0xe28a8233)
	b = append(b, 0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef)
	b = append(b, make([]byte, 8)...)
	b = putU16(b, uint16(len(ti)))
	b = putU16(b, uint16(len(ti)))
	b = putU32(b, uint32(56+len(name)))
	b = append(b, 6, 0, 0x70, 0x17, 0, 0, 0, 15)
	b = append(b, name...)
	return append(b, ti...)
}

// TestNTLMv2SpecVectors checks NTLMv2 and session security against MS-NLMP
// 4.2.4 (User "User", Domain "Domain", Password "Password", client
// challenge aa..., random session key 55..., time zero).
func TestNTLMv2SpecVectors(t *testing.T) {
	if got, want := ntowfv2("Password", "User", "Domain"), unhex(t, "0c 86 8a 40 3b fd 7a 93 a3 00 1e f2 2e f0 2e 3f"); !bytes.Equal(got, want) {
		t.Fatalf("NTOWFv2 % x, want % x", got, want)
	}
	n := &ntlmClient{user: "User", domain: "Domain", password: "Password",
		rand: bytes.NewReader(append(bytes.Repeat([]byte{0xaa}, 8), bytes.Repeat([]byte{0x55}, 16)...)),
		now:  func() time.Time { return time.Date(1601, 1, 1, 0, 0, 0, 0, time.UTC) }}
	n.negotiateMessage()
	auth, err := n.authenticateMessage(ntlmSpecChallenge())
	if err != nil {
		t.Fatal(err)
	}
	field := func(off int) []byte {
		d := decoder{b: auth[off:]}
		l := int(d.u16())
		d.u16()
		o := int(d.u32())
		return auth[o : o+l]
	}
	if got, want := field(12), unhex(t, "86 c3 50 97 ac 9c ec 10 25 54 76 4a 57 cc cc 19 aa aa aa aa aa aa aa aa"); !bytes.Equal(got, want) {
		t.Errorf("LMv2 response % x, want % x", got, want)
	}
	if got, want := field(20)[:16], unhex(t, "68 cd 0a b8 51 e5 1c 96 aa bc 92 7b eb ef 6a 1c"); !bytes.Equal(got, want) {
		t.Errorf("NTProofStr % x, want % x", got, want)
	}
	if got, want := field(52), unhex(t, "c5 da d2 54 4f c9 79 90 94 ce 1c e9 0b c9 d0 3e"); !bytes.Equal(got, want) {
		t.Errorf("EncryptedRandomSessionKey % x, want % x", got, want)
	}
	if got, want := string(field(36)), string(utf16le("User")); got != want {
		t.Errorf("user name field %q", got)
	}
	// 4.2.4.4: sealing "Plaintext" (UTF-16LE) with sequence number 0.
	sealed := n.seal(utf16le("Plaintext"))
	if got, want := sealed[16:], unhex(t, "54 e5 01 65 bf 19 36 dc 99 60 20 c1 81 1b 0f 06 fb 5f"); !bytes.Equal(got, want) {
		t.Errorf("sealed data % x, want % x", got, want)
	}
	if got, want := sealed[:16], unhex(t, "01 00 00 00 7f b3 8e c5 c5 5d 49 76 00 00 00 00"); !bytes.Equal(got, want) {
		t.Errorf("signature % x, want % x", got, want)
	}
}

// TestNTLMSealRoundTrip: a server's sealing (the mirror keys) unseals.
func TestNTLMSealRoundTrip(t *testing.T) {
	n := &ntlmClient{exportedKey: bytes.Repeat([]byte{7}, 16)}
	n.initSessionSecurity()
	// Play the server: swap directions.
	s := &ntlmClient{exportedKey: n.exportedKey}
	s.initSessionSecurity()
	s.clientSign, s.serverSign = s.serverSign, s.clientSign
	s.clientSeal, s.serverSeal = s.serverSeal, s.clientSeal
	for i, msg := range []string{"first", "second message"} {
		got, err := n.unseal(s.seal([]byte(msg)))
		if err != nil || string(got) != msg {
			t.Fatalf("message %d: %q %v", i, got, err)
		}
	}
	bad := s.seal([]byte("tampered"))
	bad[20] ^= 1
	if _, err := n.unseal(bad); err == nil {
		t.Fatal("tampered message verified")
	}
}

// TestFileTime: FILETIME counts 100 ns intervals since 1601, for times
// before 1970 as well.
func TestFileTime(t *testing.T) {
	now := time.Now()
	for _, c := range []struct {
		t    time.Time
		want uint64
	}{
		{time.Date(1601, 1, 1, 0, 0, 0, 0, time.UTC), 0},
		{time.Unix(0, 0), 116444736000000000},
		{now, uint64(now.UnixNano()/100) + 116444736000000000},
	} {
		if got := fileTime(c.t); got != c.want {
			t.Errorf("fileTime(%v) = %d, want %d", c.t, got, c.want)
		}
	}
}
