package vnc

import "fmt"

// DecodeStats describes what c decoded so far, for real-server tests. Run
// must have returned (or the caller accepts a racy read).
func DecodeStats(c *Client) string {
	return fmt.Sprintf("rects %v; tight copy %d palette %d gradient %d fill %d jpeg %d",
		c.stats.rects, c.stats.tight[tightStatCopy], c.stats.tight[tightStatPalette],
		c.stats.tight[tightStatGradient], c.stats.tight[tightStatFill], c.stats.tight[tightStatJPEG])
}

// RectCount is how many rectangles of enc c decoded (after Run returned).
func RectCount(c *Client, enc int32) int { return c.stats.rects[enc] }

// QEMUKeys reports whether c sends QEMU extended key events.
func QEMUKeys(c *Client) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.qemuKeys
}
