package anontls

import (
	"crypto/cipher"
	"encoding/binary"
	"errors"
	"io"
	"net"
)

// Record sizes (RFC 5246 §6.2).
const (
	recordHeaderLen = 5
	maxPlaintext    = 1 << 14             // §6.2.1
	maxCiphertext   = maxPlaintext + 2048 // §6.2.3
	explicitNonce   = 8                   // GenericAEADCipher.nonce_explicit, RFC 5288 §3
	gcmTagLen       = 16
	maxHandshakeMsg = 16 << 10 // far above what DH_anon needs (8192-bit p, g, Ys: ~3 KiB)
)

// halfConn is one direction's record protection: AES-GCM as in RFC 5288 §3,
// nonce = salt (client/server_write_IV, 4 bytes) + 8-byte explicit nonce,
// where we use the sequence number as the explicit part.
type halfConn struct {
	aead  cipher.AEAD // nil until ChangeCipherSpec
	nonce [12]byte    // salt in [0:4]; [4:12] rewritten per record
	seq   uint64      // RFC 5246 §6.1 seq_num, reset at ChangeCipherSpec
	ad    [13]byte    // seq_num + type + version + length, RFC 5246 §6.2.3.3
}

func (h *halfConn) setKey(aead cipher.AEAD, salt []byte) {
	h.aead = aead
	copy(h.nonce[:4], salt)
	h.seq = 0
}

// additionalData fills h.ad for a record of typ, version and plaintext length n.
func (h *halfConn) additionalData(typ uint8, version uint16, n int) []byte {
	binary.BigEndian.PutUint64(h.ad[:8], h.seq)
	h.ad[8] = typ
	binary.BigEndian.PutUint16(h.ad[9:], version)
	binary.BigEndian.PutUint16(h.ad[11:], uint16(n))
	return h.ad[:]
}

// open decrypts body (explicit nonce + ciphertext + tag) in place.
func (h *halfConn) open(typ uint8, version uint16, body []byte) ([]byte, error) {
	if len(body) < explicitNonce+gcmTagLen {
		return nil, protoErr(alertBadRecordMAC, "encrypted record of %d bytes is too short", len(body))
	}
	if h.seq == ^uint64(0) {
		return nil, protoErr(alertInternalError, "sequence number exhausted")
	}
	copy(h.nonce[4:], body[:explicitNonce])
	ct := body[explicitNonce:]
	ad := h.additionalData(typ, version, len(ct)-gcmTagLen)
	pt, err := h.aead.Open(ct[:0], h.nonce[:], ct, ad)
	if err != nil {
		return nil, protoErr(alertBadRecordMAC, "record authentication failed")
	}
	h.seq++
	return pt, nil
}

// seal appends the protected fragment for plaintext to rec, which already
// holds the 5-byte header; plaintext must not overlap rec's spare capacity
// except at exactly rec[len(rec)+explicitNonce:].
func (h *halfConn) seal(rec []byte, typ uint8, plaintext []byte) ([]byte, error) {
	if h.seq == ^uint64(0) {
		return nil, protoErr(alertInternalError, "sequence number exhausted")
	}
	binary.BigEndian.PutUint64(h.nonce[4:], h.seq)
	rec = append(rec, h.nonce[4:]...)
	ad := h.additionalData(typ, versionTLS12, len(plaintext))
	rec = h.aead.Seal(rec, h.nonce[:], plaintext, ad)
	h.seq++
	return rec, nil
}

// readRecord reads one record and returns its type and (decrypted) payload,
// valid until the next call. Warning alerts are skipped; close_notify gives
// io.EOF and a fatal alert an *AlertError. Errors are sticky, except a
// timeout before any byte of the record arrived. The caller holds inMu.
func (c *Conn) readRecord() (uint8, []byte, error) {
	for {
		if c.rerr != nil {
			return 0, nil, c.rerr
		}
		typ, data, err := c.readRecordOnce()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() && c.rawPartial == 0 {
				return 0, nil, err
			}
			c.rerr = err
			c.sendAlertFor(err)
			return 0, nil, err
		}
		if typ != recordAlert {
			return typ, data, nil
		}
		// Alert (RFC 5246 §7.2): exactly level and description.
		if len(data) != 2 {
			c.rerr = protoErr(alertDecodeError, "alert of %d bytes", len(data))
			c.sendAlertFor(c.rerr)
			return 0, nil, c.rerr
		}
		switch {
		case data[1] == alertCloseNotify:
			c.rerr = io.EOF
		case data[0] == alertLevelWarning:
			continue
		default:
			c.rerr = &AlertError{Level: data[0], Description: data[1]}
		}
		return 0, nil, c.rerr
	}
}

func (c *Conn) readRecordOnce() (uint8, []byte, error) {
	hdr := c.rbuf[:recordHeaderLen]
	c.rawPartial = 0
	n, err := io.ReadFull(c.br, hdr)
	c.rawPartial = n
	if err != nil {
		if n > 0 && errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return 0, nil, err
	}
	typ := hdr[0]
	version := binary.BigEndian.Uint16(hdr[1:])
	length := int(binary.BigEndian.Uint16(hdr[3:]))
	if typ < recordChangeCipherSpec || typ > recordApplicationData {
		return 0, nil, protoErr(alertUnexpectedMessage, "record type %d", typ)
	}
	if hdr[1] != 3 {
		return 0, nil, protoErr(alertProtocolVersion, "record version %#04x", version)
	}
	limit := maxPlaintext
	if c.in.aead != nil {
		limit = maxCiphertext
	}
	if length > limit {
		return 0, nil, protoErr(alertRecordOverflow, "record of %d bytes (limit %d)", length, limit)
	}
	body := c.rbuf[recordHeaderLen : recordHeaderLen+length]
	if _, err := io.ReadFull(c.br, body); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return 0, nil, err
	}
	if c.in.aead != nil {
		if body, err = c.in.open(typ, version, body); err != nil {
			return 0, nil, err
		}
		if len(body) > maxPlaintext {
			return 0, nil, protoErr(alertRecordOverflow, "plaintext of %d bytes", len(body))
		}
	}
	// RFC 5246 §6.2.1: only application data may be empty.
	if len(body) == 0 && typ != recordApplicationData {
		return 0, nil, protoErr(alertDecodeError, "empty record of type %d", typ)
	}
	return typ, body, nil
}

// writeRecord sends data as records of typ, fragmenting at 2^14 bytes. The
// caller holds outMu.
func (c *Conn) writeRecord(typ uint8, data []byte) (int, error) {
	if c.werr != nil {
		return 0, c.werr
	}
	written := 0
	for first := true; first || len(data) > 0; first = false {
		chunk := min(len(data), maxPlaintext)
		rec := append(c.wbuf[:0], typ, versionTLS12>>8, versionTLS12&0xff, 0, 0)
		if c.out.aead != nil {
			var err error
			if rec, err = c.out.seal(rec, typ, data[:chunk]); err != nil {
				c.werr = err
				return written, err
			}
		} else {
			rec = append(rec, data[:chunk]...)
		}
		binary.BigEndian.PutUint16(rec[3:], uint16(len(rec)-recordHeaderLen))
		c.wbuf = rec
		if _, err := c.conn.Write(rec); err != nil {
			c.werr = err
			return written, err
		}
		written += chunk
		data = data[chunk:]
	}
	return written, nil
}

// sendAlertFor tells the server why we are giving up, if the error is ours
// and the write side is free; best effort.
func (c *Conn) sendAlertFor(err error) {
	var le *localError
	if !errors.As(err, &le) || !c.outMu.TryLock() {
		return
	}
	defer c.outMu.Unlock()
	if c.werr == nil {
		c.writeRecord(recordAlert, []byte{alertLevelFatal, le.alert})
		c.werr = err
	}
}
