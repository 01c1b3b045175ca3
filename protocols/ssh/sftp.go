package ssh

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/pkg/sftp"
	xssh "golang.org/x/crypto/ssh"
)

// SFTP packet sizes: every server takes 32 KiB of data a request (the draft's minimum,
// 34000 bytes a packet); OpenSSH's sftp-server takes up to 255 KiB, and says so with its
// limits@openssh.com extension. Bigger requests make fewer round trips: on loopback,
// 128 KiB moved a download about half again as fast as 32 KiB (bench -scenarios sftp).
const (
	sftpPacket    = 32 * 1024
	sftpPacketBig = 128 * 1024
)

// SFTP opens the "sftp" subsystem (SSH File Transfer Protocol, draft-ietf-secsh-filexfer-02,
// which OpenSSH speaks) on a channel of its own on the session's connection: the terminal
// and the file transfers share one login. The caller closes the client; closing the
// session closes the connection under it too.
func (s *Session) SFTP() (*sftp.Client, error) { return openSFTP(s.client) }

func openSFTP(client *xssh.Client) (*sftp.Client, error) {
	c, err := newSFTP(client, sftpPacket)
	if err != nil {
		return nil, err
	}
	if _, ok := c.HasExtension("limits@openssh.com"); ok {
		// OpenSSH's: open again with bigger requests (the packet size is fixed at the
		// start, before the server's extensions are known).
		c.Close()
		return newSFTP(client, sftpPacketBig)
	}
	return c, nil
}

func newSFTP(client *xssh.Client, packet int) (*sftp.Client, error) {
	// Several requests in flight per file keep a transfer from waiting on each round trip.
	c, err := sftp.NewClient(client, sftp.MaxPacketUnchecked(packet),
		sftp.MaxConcurrentRequestsPerFile(64), sftp.UseConcurrentReads(true), sftp.UseConcurrentWrites(true))
	if err != nil {
		return nil, fmt.Errorf("ssh: sftp subsystem: %w", err)
	}
	return c, nil
}

// SFTPConn is an SFTP client on a connection of its own (DialSFTP).
type SFTPConn struct {
	*sftp.Client
	conn *xssh.Client
}

// Close ends the SFTP session and its connection.
func (c *SFTPConn) Close() error {
	c.Client.Close()
	return c.conn.Close()
}

// DialSFTP connects to addr as Dial does (the host key checked, cfg's authentication)
// and opens the sftp subsystem only, no shell: file transfer for an endpoint whose files
// are on an SSH host (a VNC or RDP machine's own sshd, or another).
func DialSFTP(ctx context.Context, addr string, cfg Config) (*SFTPConn, error) {
	return dialThen(ctx, addr, cfg, "sftp", func(client *xssh.Client, _ *Config, _ *slog.Logger) (*SFTPConn, error) {
		sc, err := openSFTP(client)
		if err != nil {
			return nil, err
		}
		return &SFTPConn{Client: sc, conn: client}, nil
	})
}
