package rdp

import (
	"os"
	"syscall"
)

// volumeSpace is the size and free space of the file system under root, in
// bytes; the largest figures when they cannot be read.
func volumeSpace(root *os.Root) (total, free uint64) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(root.Name(), &st); err != nil {
		return 1 << 40, 1 << 40
	}
	return st.Blocks * uint64(st.Bsize), st.Bavail * uint64(st.Bsize)
}
