package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/coder/websocket"
	"golang.org/x/crypto/bcrypt"

	"github.com/racgate/racgate/bench/client"
	"github.com/racgate/racgate/bench/report"
	"github.com/racgate/racgate/render/wire"
)

// The sftp scenario: file transfer through racgate (the file panel's upload and download,
// HTTP PUT and GET of docs/files.md's API, over the SFTP channel racgate opens on the
// session's SSH connection) against OpenSSH's own sftp client to the same sshd: the same
// file, the same server (sftp-server), rounds alternating which goes first. OpenSSH's
// times have its connection set-up taken off (a batch that only runs pwd, timed the same
// way); racgate's first round includes opening its SFTP channel.

// sftpServer is the sftp-server binary both clients' sessions run.
const sftpServer = "/usr/lib/openssh/sftp-server"

// sftpRounds is how many times each transfer runs through each client.
const sftpRounds = 3

func (h *harness) sftpBench(ctx context.Context, label string) ([]report.Transfer, error) {
	for _, bin := range []string{sftpServer} {
		if _, err := os.Stat(bin); err != nil {
			return nil, fmt.Errorf("sftp: %w", err)
		}
	}
	sftpBin, err := lookup("sftp")
	if err != nil {
		return nil, err
	}
	keygen, err := lookup("ssh-keygen")
	if err != nil {
		return nil, err
	}
	dir := filepath.Join(h.dir, "sftp")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	ps := &procs{}
	defer ps.stopAll()

	// A client key for OpenSSH's sftp (racgate logs in with the password).
	key := filepath.Join(dir, "client_key")
	if out, err := exec.CommandContext(ctx, keygen, "-q", "-t", "ed25519", "-N", "", "-C", "", "-f", key).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("ssh-keygen: %w: %s", err, out)
	}
	pub, err := os.ReadFile(key + ".pub")
	if err != nil {
		return nil, err
	}
	// sshd reads the keys file as the user: not in the run's folder (0700, root's).
	keys, err := os.MkdirTemp("", "racgate-bench-keys-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(keys)
	if err := os.Chmod(keys, 0o755); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(keys, "authorized_keys"), pub, 0o644); err != nil {
		return nil, err
	}
	// Every session runs sftp-server when it asks for the subsystem, and sleeps otherwise
	// (racgate's terminal): ForceCommand applies to both.
	extra := fmt.Sprintf("PubkeyAuthentication yes\nAuthorizedKeysFile %s\nStrictModes no\nSubsystem sftp %s\n",
		filepath.Join(keys, "authorized_keys"), sftpServer)
	command := fmt.Sprintf(`case "$SSH_ORIGINAL_COMMAND" in *sftp*) exec %s;; esac; exec sleep 86400`, sftpServer)
	h.prog.Set(label + ": starting sshd")
	s, err := startSSHDWith(ctx, ps, dir, command, "", extra)
	if err != nil {
		return nil, err
	}
	// The remote's folder: the bench user's, on this machine's disk.
	remote, err := os.MkdirTemp("", "racgate-bench-sftp-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(remote)
	u, err := user.Lookup(sshUser)
	if err != nil {
		return nil, err
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	if err := os.Chown(remote, uid, gid); err != nil {
		return nil, err
	}

	h.prog.Set(label + ": writing the file")
	size := h.o.sftpSize
	payload := filepath.Join(dir, "payload")
	f, err := os.Create(payload)
	if err != nil {
		return nil, err
	}
	_, err = io.Copy(f, io.LimitReader(rand.NewChaCha8([32]byte{9}), size))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, err
	}

	h.prog.Set(label + ": starting racgate")
	rg, token, hc, closeWS, err := h.sftpRacgate(ctx, ps, dir, s, remote)
	if err != nil {
		return nil, err
	}
	defer closeWS()

	openssh := func(batch string) (time.Duration, error) {
		bf := filepath.Join(dir, "batch")
		if err := os.WriteFile(bf, []byte(batch), 0o600); err != nil {
			return 0, err
		}
		host, port, _ := strings.Cut(s.Addr, ":")
		_ = host
		cmd := exec.CommandContext(ctx, sftpBin, "-q", "-b", bf, "-i", key, "-P", port,
			"-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "BatchMode=yes",
			sshUser+"@127.0.0.1")
		start := time.Now()
		out, err := cmd.CombinedOutput()
		if err != nil {
			return 0, fmt.Errorf("sftp: %w: %s", err, out)
		}
		return time.Since(start), nil
	}
	var setup []time.Duration
	for range 3 {
		d, err := openssh("pwd\n")
		if err != nil {
			return nil, err
		}
		setup = append(setup, d)
	}
	slices.Sort(setup)
	base := setup[1]

	if h.o.pprofDir != "" && rg.Debug != "" {
		// racgate's CPU over the rounds (it is idle during OpenSSH's).
		done := make(chan struct{})
		go func() {
			defer close(done)
			if err := fetchProfile(ctx, rg.Debug+"/debug/pprof/profile?seconds=30", filepath.Join(h.o.pprofDir, "sftp.pprof")); err != nil {
				h.log.Warn("cpu profile", "scenario", "sftp", "err", err)
			}
		}()
		defer func() { <-done }()
	}
	var times [4][]time.Duration // racgate up, down; OpenSSH up, down
	for round := range sftpRounds {
		racgateFirst := round%2 == 0
		for i := range 2 {
			name := fmt.Sprintf("r%d.bin", round)
			if (i == 0) == racgateFirst {
				h.prog.Set(fmt.Sprintf("%s: round %d/%d via racgate", label, round+1, sftpRounds))
				up, down, err := sftpViaRacgate(ctx, hc, rg, token, payload, "/rg-"+name, size)
				if err != nil {
					return nil, err
				}
				times[0], times[1] = append(times[0], up), append(times[1], down)
			} else {
				h.prog.Set(fmt.Sprintf("%s: round %d/%d via OpenSSH sftp", label, round+1, sftpRounds))
				up, err := openssh(fmt.Sprintf("put %s %s/os-%s\n", payload, remote, name))
				if err != nil {
					return nil, err
				}
				down, err := openssh(fmt.Sprintf("get %s/os-%s /dev/null\n", remote, name))
				if err != nil {
					return nil, err
				}
				times[2], times[3] = append(times[2], max(up-base, time.Millisecond)), append(times[3], max(down-base, time.Millisecond))
			}
		}
		if fi, err := os.Stat(filepath.Join(remote, "rg-"+fmt.Sprintf("r%d.bin", round))); err != nil || fi.Size() != size {
			return nil, fmt.Errorf("sftp: racgate's upload on the remote: %v", err)
		}
	}
	mbps := func(ds []time.Duration) float64 {
		s := slices.Clone(ds)
		slices.Sort(s)
		return float64(size) / (1 << 20) / s[len(s)/2].Seconds()
	}
	return []report.Transfer{
		{Direction: "upload", Bytes: size, Racgate: mbps(times[0]), OpenSSH: mbps(times[2])},
		{Direction: "download", Bytes: size, Racgate: mbps(times[1]), OpenSSH: mbps(times[3])},
	}, nil
}

// sftpRacgate starts racgate with one SSH endpoint whose files are remote, opens a
// session and returns its FILES token; closeWS ends the session.
func (h *harness) sftpRacgate(ctx context.Context, ps *procs, dir string, s *sshd, remote string) (rg *racgateProc, token string, hc *http.Client, closeWS func(), err error) {
	pass := randomPassword()
	hash, err := bcrypt.GenerateFromPassword([]byte(pass), bcrypt.MinCost)
	if err != nil {
		return nil, "", nil, nil, err
	}
	cfg := fmt.Sprintf(`listen: 127.0.0.1:0
store: memory
users:
  - username: bench
    password-hash: %q
providers:
  - name: bench
    files: {max-upload: 0}
endpoints:
  - name: %s
    provider: bench
    protocol: ssh
    host: %s
    settings: {username: %q, password: %q, host-key: %q, enable-sftp: true, sftp-root-directory: %q}
`, hash, endpointName, s.Addr, sshUser, s.Password, s.HostKey, remote)
	rg, err = startRacgate(ctx, ps, h.bin, dir, cfg, h.o.pprofDir != "", h.log)
	if err != nil {
		return nil, "", nil, nil, err
	}
	hc, err = client.Login(ctx, rg.Base, "bench", pass)
	if err != nil {
		return nil, "", nil, nil, err
	}
	wctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	conn, _, err := websocket.Dial(wctx, "ws"+strings.TrimPrefix(rg.Base, "http")+"/ws/"+endpointName+"?cols=80&rows=24",
		&websocket.DialOptions{HTTPClient: hc, Subprotocols: []string{wire.Subprotocol}})
	if err != nil {
		return nil, "", nil, nil, err
	}
	conn.SetReadLimit(wire.MaxServerMessage)
	for token == "" {
		_, data, err := conn.Read(wctx)
		if err != nil {
			conn.CloseNow()
			return nil, "", nil, nil, fmt.Errorf("waiting for FILES: %w", err)
		}
		wire.Decode(data, func(m wire.Message) error {
			switch m := m.(type) {
			case wire.Files:
				token = m.Token
			case wire.Close:
				err = errors.New("racgate closed the session: " + m.Reason)
			}
			return nil
		})
		if err != nil {
			conn.CloseNow()
			return nil, "", nil, nil, err
		}
	}
	// The session stays open while the transfers run; nothing to read but a sleep's silence.
	go func() {
		for {
			if _, _, err := conn.Read(context.Background()); err != nil {
				return
			}
		}
	}()
	return rg, token, hc, func() { conn.Close(websocket.StatusNormalClosure, "") }, nil
}

// sftpViaRacgate uploads payload to path through racgate's file API and downloads it
// back, timing each.
func sftpViaRacgate(ctx context.Context, hc *http.Client, rg *racgateProc, token, payload, path string, size int64) (up, down time.Duration, err error) {
	f, err := os.Open(payload)
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	api := rg.Base + "/files/" + token + "/"
	q := "?path=" + strings.ReplaceAll(path, "/", "%2F")
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, api+"upload"+q+"&replace=1", f)
	if err != nil {
		return 0, 0, err
	}
	req.ContentLength = size
	start := time.Now()
	resp, err := hc.Do(req)
	if err != nil {
		return 0, 0, err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	up = time.Since(start)
	if resp.StatusCode != http.StatusCreated {
		return 0, 0, fmt.Errorf("racgate upload: %s", resp.Status)
	}
	req, err = http.NewRequestWithContext(ctx, http.MethodGet, api+"download"+q, nil)
	if err != nil {
		return 0, 0, err
	}
	start = time.Now()
	resp, err = hc.Do(req)
	if err != nil {
		return 0, 0, err
	}
	n, err := io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	down = time.Since(start)
	if err != nil || resp.StatusCode != http.StatusOK || n != size {
		return 0, 0, fmt.Errorf("racgate download: %s, %d bytes, %v", resp.Status, n, err)
	}
	return up, down, nil
}
