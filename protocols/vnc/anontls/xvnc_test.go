package anontls

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"testing"
	"time"

	"github.com/racgate/racgate/internal/peers"
)

// vencryptTLSNone runs RFB 3.8 up to the start of VeNCrypt TLSNone's TLS
// (RFC 6143 §7.1, rfbproto "VeNCrypt").
func vencryptTLSNone(t *testing.T, nc net.Conn) {
	t.Helper()
	read := func(n int) []byte {
		b := make([]byte, n)
		if _, err := io.ReadFull(nc, b); err != nil {
			t.Fatalf("RFB preamble: %v", err)
		}
		return b
	}
	read(12)
	nc.Write([]byte("RFB 003.008\n"))
	types := read(int(read(1)[0]))
	if len(types) != 1 || types[0] != 19 {
		t.Fatalf("security types %v, want [19]", types)
	}
	nc.Write([]byte{19})
	read(2)
	nc.Write([]byte{0, 2})
	if ack := read(1); ack[0] != 0 {
		t.Fatal("VeNCrypt 0.2 refused")
	}
	read(4 * int(read(1)[0]))
	nc.Write([]byte{0, 0, 1, 1}) // TLSNone, 257
	if ok := read(1); ok[0] != 1 {
		t.Fatal("TLSNone refused")
	}
}

// TigerVNC's Xvnc (GnuTLS) accepts both suites with the extended master
// secret; after the handshake the RFB session continues inside TLS.
func TestXvncTLSNone(t *testing.T) {
	t.Parallel()
	peers.Require(t, "Xvnc")
	x := peers.StartXvnc(t, peers.XvncOptions{SecurityTypes: "TLSNone", Geometry: "640x360"})
	for _, id := range []uint16{TLS_DH_anon_WITH_AES_128_GCM_SHA256, TLS_DH_anon_WITH_AES_256_GCM_SHA384} {
		t.Run(fmt.Sprintf("%#04x", id), func(t *testing.T) {
			nc, err := net.Dial("tcp", x.Addr)
			if err != nil {
				t.Fatal(err)
			}
			defer nc.Close()
			nc.SetDeadline(time.Now().Add(20 * time.Second))
			vencryptTLSNone(t, nc)
			c, err := Client(nc, &Config{CipherSuites: []uint16{id}})
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := c.HandshakeContext(ctx); err != nil {
				t.Fatal(err)
			}
			st := c.ConnectionState()
			t.Logf("negotiated %+v", st)
			if st.CipherSuite != id || !st.ExtendedMasterSecret || st.DHBits < 2048 {
				t.Fatalf("state %+v", st)
			}
			// SecurityResult 0, then ClientInit/ServerInit with the screen size.
			var b [24]byte
			if _, err := io.ReadFull(c, b[:4]); err != nil {
				t.Fatal(err)
			}
			if r := binary.BigEndian.Uint32(b[:4]); r != 0 {
				t.Fatalf("SecurityResult %d", r)
			}
			if _, err := c.Write([]byte{1}); err != nil {
				t.Fatal(err)
			}
			if _, err := io.ReadFull(c, b[:]); err != nil {
				t.Fatal(err)
			}
			if w, h := binary.BigEndian.Uint16(b[0:]), binary.BigEndian.Uint16(b[2:]); w != 640 || h != 360 {
				t.Fatalf("ServerInit %dx%d, want 640x360", w, h)
			}
			if err := c.Close(); err != nil {
				t.Fatal(err)
			}
		})
	}
}
