package ssh

import (
	"fmt"

	"github.com/pkg/sftp"
)

// SFTP opens the "sftp" subsystem (SSH File Transfer Protocol, draft-ietf-secsh-filexfer-02,
// which OpenSSH speaks) on a channel of its own on the session's connection: the terminal
// and the file transfers share one login. The caller closes the client; closing the
// session closes the connection under it too.
func (s *Session) SFTP() (*sftp.Client, error) {
	// Concurrent requests per file keep a loopback or LAN transfer from waiting on each
	// round trip; 32 KiB packets are what every server accepts (the draft's minimum).
	c, err := sftp.NewClient(s.client, sftp.MaxPacketUnchecked(32*1024),
		sftp.MaxConcurrentRequestsPerFile(64), sftp.UseConcurrentReads(true), sftp.UseConcurrentWrites(true))
	if err != nil {
		return nil, fmt.Errorf("ssh: sftp subsystem: %w", err)
	}
	return c, nil
}
