package anontls

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"fmt"
	"hash"
	"io"
	"math/big"
	"slices"
)

// suite describes a supported cipher suite.
type suite struct {
	id     uint16
	keyLen int
	hash   func() hash.Hash // PRF and Finished hash (RFC 5288 §3)
}

var suites = []suite{
	{TLS_DH_anon_WITH_AES_128_GCM_SHA256, 16, sha256.New},
	{TLS_DH_anon_WITH_AES_256_GCM_SHA384, 32, sha512.New384},
}

const masterSecretLen = 48

// clientHandshake runs the full handshake (RFC 5246 §7.3) for DH_anon:
// ClientHello; ServerHello, ServerKeyExchange, ServerHelloDone;
// ClientKeyExchange, ChangeCipherSpec, Finished; ChangeCipherSpec, Finished.
// The caller holds inMu.
func (c *Conn) clientHandshake() error {
	var hello clientHelloMsg
	if _, err := io.ReadFull(c.rand, hello.random[:]); err != nil {
		return fmt.Errorf("anontls: random: %w", err)
	}
	for _, s := range c.suites {
		hello.cipherSuites = append(hello.cipherSuites, s.id)
	}
	msg := hello.marshal()
	transcript := slices.Clone(msg)
	if err := c.writeLocked(recordHandshake, msg); err != nil {
		return err
	}

	msg, err := c.readHandshake(typeServerHello)
	if err != nil {
		return err
	}
	var sh serverHelloMsg
	if err := sh.unmarshal(msg[4:]); err != nil {
		return c.fail(err)
	}
	if sh.version != versionTLS12 {
		return c.fail(protoErr(alertProtocolVersion, "server chose version %#04x, want TLS 1.2", sh.version))
	}
	i := slices.IndexFunc(c.suites, func(s suite) bool { return s.id == sh.cipherSuite })
	if i < 0 {
		return c.fail(protoErr(alertIllegalParameter, "server chose cipher suite %#04x we did not offer", sh.cipherSuite))
	}
	cs := c.suites[i]
	transcript = append(transcript, msg...)

	msg, err = c.readHandshake(typeServerKeyExchange)
	if err != nil {
		return err
	}
	var ske serverKeyExchangeMsg
	if err := ske.unmarshal(msg[4:]); err != nil {
		return c.fail(err)
	}
	transcript = append(transcript, msg...)

	msg, err = c.readHandshake(typeServerHelloDone)
	if err != nil {
		return err
	}
	if len(msg) != 4 {
		return c.fail(protoErr(alertDecodeError, "ServerHelloDone has a body"))
	}
	transcript = append(transcript, msg...)

	// RFC 5246 §8.1.2: Z = Ys^x mod p, leading zero bytes stripped.
	x, err := dhPrivate(c.rand, ske.p)
	if err != nil {
		return err
	}
	yc := new(big.Int).Exp(ske.g, x, ske.p)
	z := new(big.Int).Exp(ske.ys, x, ske.p)
	if z.Cmp(big.NewInt(1)) <= 0 {
		return c.fail(protoErr(alertIllegalParameter, "DH shared secret is degenerate"))
	}
	pms := z.Bytes()

	// ClientKeyExchange: ClientDiffieHellmanPublic, dh_Yc<1..2^16-1> (§7.4.7.2).
	ycb := yc.Bytes()
	cke := handshakeMsg(typeClientKeyExchange, append(u16(nil, uint16(len(ycb))), ycb...))
	transcript = append(transcript, cke...)

	var ms []byte
	if sh.extendedMasterSecret {
		// RFC 7627 §4: session_hash covers the messages through ClientKeyExchange.
		ms = prf12(cs.hash, pms, "extended master secret", sum(cs.hash, transcript), masterSecretLen)
	} else {
		ms = prf12(cs.hash, pms, "master secret", concat(hello.random[:], sh.random[:]), masterSecretLen)
	}
	clear(pms)
	// §6.3: client_write_key, server_write_key, client_write_IV, server_write_IV
	// (AEAD suites have no MAC keys; the IVs are the 4-byte GCM salts).
	kb := prf12(cs.hash, ms, "key expansion", concat(sh.random[:], hello.random[:]), 2*cs.keyLen+8)
	clientAEAD, err := newGCM(kb[:cs.keyLen])
	if err != nil {
		return err
	}
	serverAEAD, err := newGCM(kb[cs.keyLen : 2*cs.keyLen])
	if err != nil {
		return err
	}
	clientIV, serverIV := kb[2*cs.keyLen:2*cs.keyLen+4], kb[2*cs.keyLen+4:]

	if err := c.writeLocked(recordHandshake, cke); err != nil {
		return err
	}
	if err := c.writeLocked(recordChangeCipherSpec, []byte{1}); err != nil {
		return err
	}
	c.outMu.Lock()
	c.out.setKey(clientAEAD, clientIV)
	c.outMu.Unlock()
	// §7.4.9: verify_data = PRF(master_secret, finished_label, Hash(handshake_messages)).
	fin := handshakeMsg(typeFinished, prf12(cs.hash, ms, "client finished", sum(cs.hash, transcript), verifyLen))
	transcript = append(transcript, fin...)
	if err := c.writeLocked(recordHandshake, fin); err != nil {
		return err
	}

	if err := c.readChangeCipherSpec(); err != nil {
		return err
	}
	c.in.setKey(serverAEAD, serverIV)
	msg, err = c.readHandshake(typeFinished)
	if err != nil {
		return err
	}
	want := prf12(cs.hash, ms, "server finished", sum(cs.hash, transcript), verifyLen)
	if len(msg) != 4+verifyLen || subtle.ConstantTimeCompare(msg[4:], want) != 1 {
		return c.fail(protoErr(alertDecryptError, "server Finished does not verify"))
	}
	if len(c.hsBuf) != 0 {
		return c.fail(protoErr(alertUnexpectedMessage, "handshake data after Finished"))
	}
	c.hsBuf = nil
	c.state = State{CipherSuite: cs.id, ExtendedMasterSecret: sh.extendedMasterSecret, DHBits: ske.p.BitLen()}
	return nil
}

// dhPrivate picks the private exponent x uniformly enough in [2, p-2]: 64
// extra random bits make the modular bias negligible.
func dhPrivate(rnd io.Reader, p *big.Int) (*big.Int, error) {
	b := make([]byte, (p.BitLen()+7)/8+8)
	if _, err := io.ReadFull(rnd, b); err != nil {
		return nil, fmt.Errorf("anontls: random: %w", err)
	}
	x := new(big.Int).SetBytes(b)
	clear(b)
	n := new(big.Int).Sub(p, big.NewInt(3)) // values 0..p-4, then +2
	x.Mod(x, n)
	return x.Add(x, big.NewInt(2)), nil
}

func newGCM(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("anontls: %w", err)
	}
	return cipher.NewGCM(block)
}

func sum(h func() hash.Hash, b []byte) []byte {
	d := h()
	d.Write(b)
	return d.Sum(nil)
}

func concat(a, b []byte) []byte { return append(slices.Clip(a), b...) }

// writeLocked writes records while holding outMu.
func (c *Conn) writeLocked(typ uint8, data []byte) error {
	c.outMu.Lock()
	defer c.outMu.Unlock()
	_, err := c.writeRecord(typ, data)
	return err
}

// fail sends the alert for a local error and makes the read side unusable.
func (c *Conn) fail(err error) error {
	if c.rerr == nil {
		c.rerr = err
	}
	c.sendAlertFor(err)
	return err
}

// readHandshake returns the next handshake message, header included, which
// must be of type want. Messages may span records and share them.
func (c *Conn) readHandshake(want uint8) ([]byte, error) {
	for {
		if len(c.hsBuf) >= 4 {
			n := int(c.hsBuf[1])<<16 | int(c.hsBuf[2])<<8 | int(c.hsBuf[3])
			if c.hsBuf[0] != want {
				return nil, c.fail(protoErr(alertUnexpectedMessage, "handshake message %d, want %d", c.hsBuf[0], want))
			}
			if n > maxHandshakeMsg {
				return nil, c.fail(protoErr(alertDecodeError, "handshake message of %d bytes", n))
			}
			if len(c.hsBuf) >= 4+n {
				msg := slices.Clone(c.hsBuf[:4+n])
				c.hsBuf = c.hsBuf[4+n:]
				return msg, nil
			}
		}
		typ, data, err := c.readRecord()
		if err != nil {
			return nil, err
		}
		if typ != recordHandshake {
			return nil, c.fail(protoErr(alertUnexpectedMessage, "record type %d during the handshake", typ))
		}
		if len(c.hsBuf)+len(data) > 4+maxHandshakeMsg {
			return nil, c.fail(protoErr(alertDecodeError, "handshake data too long"))
		}
		c.hsBuf = append(c.hsBuf, data...)
	}
}

// readChangeCipherSpec reads the server's ChangeCipherSpec (RFC 5246 §7.1),
// which must sit at a handshake message boundary.
func (c *Conn) readChangeCipherSpec() error {
	typ, data, err := c.readRecord()
	if err != nil {
		return err
	}
	if typ != recordChangeCipherSpec || len(c.hsBuf) != 0 {
		return c.fail(protoErr(alertUnexpectedMessage, "record type %d, want ChangeCipherSpec", typ))
	}
	if len(data) != 1 || data[0] != 1 {
		return c.fail(protoErr(alertDecodeError, "bad ChangeCipherSpec"))
	}
	return nil
}
