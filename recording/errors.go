package recording

import "errors"

var (
	errClosed = errors.New("recording: closed")
	// ErrFormat is wrapped by every error about a file that is not a recording this
	// package reads, or is damaged before its end.
	ErrFormat = errors.New("recording: not a racgate recording")
)
