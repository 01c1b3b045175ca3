package rdp

import "fmt"

// DecodeStats reports how many bitmaps of each codec c decoded; read it only
// after Run has returned.
func DecodeStats(c *Client) string {
	return fmt.Sprintf("raw %d planar %d interleaved %d", c.stats.raw, c.stats.planar, c.stats.interleaved)
}

// PlanarCount is the number of planar bitmaps decoded (after Run returned).
func PlanarCount(c *Client) int { return c.stats.planar }

// InterleavedCount is the number of interleaved RLE bitmaps decoded.
func InterleavedCount(c *Client) int { return c.stats.interleaved }

// AudioConfirms is the number of Wave Confirm PDUs c sent (after Run
// returned).
func AudioConfirms(c *Client) int {
	if c.snd == nil {
		return 0
	}
	return c.snd.confirms
}
