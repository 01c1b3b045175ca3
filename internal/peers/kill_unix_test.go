package peers

import "syscall"

// syscallKill0 probes whether a process exists (signal 0).
func syscallKill0(pid int) error { return syscall.Kill(pid, 0) }
