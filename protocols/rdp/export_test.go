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
	if c.audio == nil {
		return 0
	}
	return c.audio.confirms
}

// DVCVersion is the DVC version c negotiated over drdynvc (0 if none),
// after Run returned.
func DVCVersion(c *Client) uint16 {
	if c.dvc == nil {
		return 0
	}
	return c.dvc.version
}

// DVCRefused lists the names of the DVCs c refused (after Run returned).
func DVCRefused(c *Client) []string {
	if c.dvc == nil {
		return nil
	}
	return c.dvc.refused
}

// RdpdrProgress reports how far c's rdpdr exchange went (after Run
// returned): the Client Announce Reply sent, the Client ID confirmed, the
// user logged on, and the capability set types the server sent.
func RdpdrProgress(c *Client) (announced, confirmed, loggedOn bool, serverCaps []uint16) {
	if c.rdpdr == nil {
		return false, false, false, nil
	}
	r := c.rdpdr
	return r.announced, r.confirmed, r.loggedOn, r.server.types
}
