package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"

	"github.com/racgate/racgate/internal/peers"
)

// rdpUser is the account the RDP scenarios log in with. freerdp-shadow-cli checks NLA
// against a SAM file of its own, so no system user is needed.
const rdpUser = "bench"

// startXvfb starts Xvfb on a free display (-displayfd). The result has no RFB address.
func startXvfb(ctx context.Context, ps *procs, dir string, width, height int) (*xvnc, error) {
	bin, err := lookup("Xvfb")
	if err != nil {
		return nil, err
	}
	display, p, err := startDisplayServer(ctx, ps, bin, dir, filepath.Join(dir, "Xvfb.log"),
		"-screen", "0", fmt.Sprintf("%dx%dx24", width, height), "-nolisten", "tcp")
	if err != nil {
		return nil, err
	}
	return &xvnc{ps: ps, p: p, Display: display, Dir: dir, Width: width, Height: height}, nil
}

// startShadow serves x's display over RDP with freerdp-shadow-cli on a free loopback
// port, NLA checked against a SAM file holding rdpUser and password.
func startShadow(ctx context.Context, ps *procs, x *xvnc, password string) (addr string, p *proc, err error) {
	bin, err := lookup("freerdp-shadow-cli")
	if err != nil {
		return "", nil, err
	}
	sam := filepath.Join(x.Dir, "SAM")
	if err := os.WriteFile(sam, []byte(peers.SAMLine(rdpUser, password)+"\n"), 0o600); err != nil {
		return "", nil, err
	}
	var lastErr error
	for attempt := range 3 {
		port, err := freePort()
		if err != nil {
			return "", nil, err
		}
		logPath := filepath.Join(x.Dir, fmt.Sprintf("shadow.%d.log", attempt))
		logf, err := os.Create(logPath)
		if err != nil {
			return "", nil, err
		}
		cmd := exec.Command(bin, "/bind-address:127.0.0.1", "/port:"+strconv.Itoa(port), "/sec:nla", "/sam-file:"+sam)
		cmd.Stdout, cmd.Stderr = logf, logf
		cmd.Dir = x.Dir
		// HOME: the server writes its generated TLS certificate below it.
		cmd.Env = append(os.Environ(), "DISPLAY="+x.Display, "HOME="+x.Dir)
		p, err = ps.start(cmd)
		logf.Close()
		if err != nil {
			return "", nil, fmt.Errorf("start freerdp-shadow-cli: %w", err)
		}
		addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		if err := waitPort(ctx, p, addr); err != nil {
			p.stop()
			lastErr = fmt.Errorf("freerdp-shadow-cli on %s: %w: %s", addr, err, logTail(logPath))
			continue
		}
		return addr, p, nil
	}
	return "", nil, lastErr
}
