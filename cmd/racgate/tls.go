package main

import (
	"crypto/tls"
	"sync/atomic"
)

// certificate is the certificate racgate serves (tls:), swapped whole when a SIGHUP
// parses the config, and so reads the files, again: handshakes after it get the new
// one, connections already open (websocket sessions among them) keep theirs.
type certificate struct {
	cur atomic.Pointer[tls.Certificate]
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
