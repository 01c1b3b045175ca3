package anontls

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"encoding/binary"
	"errors"
	"testing"
)

// RFC 5288 §3: the GCM nonce is the 4-byte salt (write IV) followed by the
// 8-byte explicit nonce carried in the record; the additional data is
// seq_num + type + version + plaintext length (RFC 5246 §6.2.3.3). Check our
// sealing against a plain AES-GCM built from those definitions.
func TestGCMNonceConstruction(t *testing.T) {
	key := bytes.Repeat([]byte{0x11}, 16)
	salt := []byte{0xde, 0xad, 0xbe, 0xef}
	aead, err := newGCM(key)
	if err != nil {
		t.Fatal(err)
	}
	var out halfConn
	out.setKey(aead, salt)
	out.seq = 0x0102030405060708
	plain := []byte("RFB frame data")
	rec := []byte{recordApplicationData, 3, 3, 0, 0}
	rec, err = out.seal(rec, recordApplicationData, plain)
	if err != nil {
		t.Fatal(err)
	}
	if out.seq != 0x0102030405060709 {
		t.Fatalf("seq after seal %#x", out.seq)
	}
	body := rec[recordHeaderLen:]
	if len(body) != explicitNonce+len(plain)+gcmTagLen {
		t.Fatalf("record body %d bytes", len(body))
	}
	if !bytes.Equal(body[:8], []byte{1, 2, 3, 4, 5, 6, 7, 8}) {
		t.Fatalf("explicit nonce %x, want the sequence number", body[:8])
	}
	block, _ := aes.NewCipher(key)
	ref, _ := cipher.NewGCM(block)
	nonce := append(append([]byte{}, salt...), body[:8]...)
	ad := binary.BigEndian.AppendUint64(nil, 0x0102030405060708)
	ad = append(ad, recordApplicationData, 3, 3, 0, byte(len(plain)))
	got, err := ref.Open(nil, nonce, body[8:], ad)
	if err != nil || !bytes.Equal(got, plain) {
		t.Fatalf("reference open: %q, %v", got, err)
	}

	// Our open accepts it with the peer's sequence number, and only then.
	var in halfConn
	in.setKey(aead, salt)
	in.seq = 0x0102030405060708
	pt, err := in.open(recordApplicationData, versionTLS12, bytes.Clone(body))
	if err != nil || !bytes.Equal(pt, plain) {
		t.Fatalf("open: %q, %v", pt, err)
	}
	in.seq = 0 // wrong sequence number: the additional data differs
	if _, err := in.open(recordApplicationData, versionTLS12, bytes.Clone(body)); !errors.Is(err, ErrProtocol) {
		t.Fatalf("open with wrong seq: %v, want ErrProtocol", err)
	}
	in.seq = 0x0102030405060708
	bad := bytes.Clone(body)
	bad[len(bad)-1] ^= 1
	if _, err := in.open(recordApplicationData, versionTLS12, bad); !errors.Is(err, ErrProtocol) {
		t.Fatalf("open of a tampered record: %v, want ErrProtocol", err)
	}
	if _, err := in.open(recordHandshake, versionTLS12, bytes.Clone(body)); !errors.Is(err, ErrProtocol) {
		t.Fatalf("open with another record type: %v, want ErrProtocol", err)
	}
	if _, err := in.open(recordApplicationData, versionTLS12, body[:23]); !errors.Is(err, ErrProtocol) {
		t.Fatalf("open of a short record: %v, want ErrProtocol", err)
	}
}
