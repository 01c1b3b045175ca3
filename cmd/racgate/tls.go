package main

import (
	"crypto/tls"
	"fmt"
	"sync/atomic"

	"github.com/racgate/racgate/config"
)

// certificate is the certificate racgate serves (tls:), swapped whole when a SIGHUP
// reads the files again: handshakes after it get the new one, connections already
// open (websocket sessions among them) keep theirs.
type certificate struct {
	cur atomic.Pointer[tls.Certificate]
}

func (c *certificate) load(t *config.TLSConfig) error {
	pair, err := readCertificate(t)
	if err == nil {
		c.cur.Store(pair)
	}
	return err
}

func readCertificate(t *config.TLSConfig) (*tls.Certificate, error) {
	pair, err := t.Load()
	if err != nil {
		return nil, fmt.Errorf("tls: %w", err)
	}
	return pair, nil
}

func (c *certificate) get(*tls.ClientHelloInfo) (*tls.Certificate, error) { return c.cur.Load(), nil }

// serverTLS is TLS 1.2 and up, with only forward-secret AEAD suites for 1.2 (1.3's are
// all such). HTTP/1.1 only: the websockets need it, and the pages are few and small.
func (c *certificate) serverTLS() *tls.Config {
	return &tls.Config{
		MinVersion:     tls.VersionTLS12,
		GetCertificate: c.get,
		NextProtos:     []string{"http/1.1"},
		CipherSuites: []uint16{
			tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
			tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
			tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256, tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
		},
	}
}
