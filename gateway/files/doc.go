// Package files is a session's file transfer (docs/files.md): a file system seen from a
// root directory it cannot leave (root.go), the remote's over SFTP (sftp.go), and the
// HTTP handlers of the browser's file panel (handler.go).
package files
