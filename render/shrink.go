package render

// Buffers sized by the screen are kept across a resize only if they fit the new size
// without much to spare: a screen that shrank must not keep the big screen's memory
// (an 8192x8192 framebuffer is 256 MiB, a lone viewer's scratch as much again).

// keepSmall is the capacity, in elements, below which a buffer is always kept.
const keepSmall = 4096

// fits reports whether a buffer with room for c elements may be kept to hold n: enough
// room, and at most half as much again (or small).
func fits(c, n int) bool { return c >= n && (c <= n+n/2 || c <= keepSmall) }

// resized returns s with length n, zeroed: s's memory if it fits, otherwise new.
func resized[T any](s []T, n int) []T {
	if !fits(cap(s), n) {
		return make([]T, n)
	}
	s = s[:n]
	clear(s)
	return s
}

// trimmed returns s emptied for appending up to about n elements, or nil if its memory
// is far more than that.
func trimmed[T any](s []T, n int) []T {
	if cap(s) > max(n+n/2, keepSmall) {
		return nil
	}
	return s[:0]
}
