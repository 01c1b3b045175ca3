package peers

import (
	"context"
	"errors"
	"io"
	"net"
	"os/exec"
	"testing"
	"time"
)

// x224Negotiate sends an X.224 Connection Request with an RDP Negotiation
// Request for protocols (MS-RDPBCGR 2.2.1.1) and returns the Connection
// Confirm's negotiation type and data (selected protocol or failure code).
func x224Negotiate(t *testing.T, addr string, protocols uint32) (typ byte, data uint32) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	req := []byte{3, 0, 0, 19, 14, 0xe0, 0, 0, 0, 0, 0, 1, 0, 8, 0, byte(protocols), byte(protocols >> 8), byte(protocols >> 16), byte(protocols >> 24)}
	if _, err := c.Write(req); err != nil {
		t.Fatal(err)
	}
	resp := make([]byte, 19)
	if _, err := io.ReadFull(c, resp); err != nil {
		t.Fatalf("connection confirm: %v", err)
	}
	if resp[0] != 3 || resp[5] != 0xd0 {
		t.Fatalf("not a TPKT X.224 Connection Confirm: % x", resp)
	}
	return resp[11], uint32(resp[15]) | uint32(resp[16])<<8 | uint32(resp[17])<<16 | uint32(resp[18])<<24
}

func TestStartFreeRDPShadowTLS(t *testing.T) {
	Require(t, "Xvfb", "freerdp-shadow-cli")
	x := StartXvfb(t, "640x480", 24)
	s := StartFreeRDPShadow(t, x, ShadowOptions{})
	// Offer SSL|HYBRID: a +auth shadow without NLA must pick SSL (1).
	typ, proto := x224Negotiate(t, s.Addr, 3)
	if typ != 2 || proto != 1 {
		t.Fatalf("negotiation response type %d protocol %d, want 2/1 (TLS)\n%s", typ, proto, s.Log())
	}
}

func TestStartFreeRDPShadowNLA(t *testing.T) {
	Require(t, "Xvfb", "freerdp-shadow-cli", "xfreerdp")
	x := StartXvfb(t, "640x480", 24)
	s := StartFreeRDPShadow(t, x, ShadowOptions{Security: "nla"})
	// Offering only TLS must be refused: the server requires NLA
	// (failure 5, HYBRID_REQUIRED_BY_SERVER).
	if typ, code := x224Negotiate(t, s.Addr, 1); typ != 3 || code != 5 {
		t.Fatalf("TLS-only offer: type %d code %d, want failure 3/5", typ, code)
	}
	// FreeRDP's own client checks the SAM file: 0 for the right password,
	// 147 (logon failure) for a wrong one.
	authOnly := func(pw string) int {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		cmd := x.Command(ctx, "xfreerdp", "/v:"+s.Addr, "/u:"+s.User, "/p:"+pw, "/cert:ignore", "/sec:nla", "+auth-only")
		err := cmd.Run()
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return ee.ExitCode()
		}
		if err != nil {
			t.Fatal(err)
		}
		return 0
	}
	if rc := authOnly(s.Password); rc != 0 {
		t.Fatalf("right password: xfreerdp exit %d\n%s", rc, s.Log())
	}
	if rc := authOnly("wrong-" + s.Password); rc == 0 {
		t.Fatalf("wrong password accepted")
	}
}

func TestSAMLine(t *testing.T) {
	// MS-NLMP 4.2.1: NTOWFv1("Password") = a4f49c406510bdcab6824ee7c30fd852.
	if got, want := SAMLine("User", "Password"), "User:::a4f49c406510bdcab6824ee7c30fd852:::"; got != want {
		t.Fatalf("SAMLine = %q, want %q", got, want)
	}
}

func TestStartXRDP(t *testing.T) {
	Require(t, "xrdp", "xrdp-sesman")
	var s *RDPServer
	t.Run("inner", func(t *testing.T) {
		s = StartXRDP(t, XRDPOptions{})
		// security_layer=tls: an offer of SSL|HYBRID gets SSL.
		if typ, proto := x224Negotiate(t, s.Addr, 3); typ != 2 || proto != 1 {
			t.Fatalf("negotiation response type %d protocol %d, want 2/1 (TLS)\n%s", typ, proto, s.Log())
		}
	})
	if s == nil {
		return
	}
	if err := syscallKill0(s.PID); err == nil {
		t.Fatalf("xrdp %d still running after cleanup", s.PID)
	}
}
