// Package procstat reads a process's CPU time and memory from Linux's /proc, for the
// benchmark harness: CPU from /proc/PID/stat (utime+stime), memory and threads from
// /proc/PID/status (VmRSS and its split into RssAnon and RssFile, Threads), and the
// proportional set size from /proc/PID/smaps_rollup (Pss: each shared page divided
// among the processes mapping it, so that processes sharing libraries, as guacd and its
// forked children do, are not counted twice). See proc(5).
package procstat

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"time"
)

// ClockTick is USER_HZ, the unit of utime and stime in /proc/PID/stat. Linux fixes it at
// 100 on every architecture Go supports (sysconf(_SC_CLK_TCK) needs cgo; we have none).
const ClockTick = 100

// ErrFormat is wrapped by parse errors: the file did not look like proc(5) says.
var ErrFormat = errors.New("procstat: unexpected format")

// maxFile bounds what is read of one /proc file; stat and status are a few KiB.
const maxFile = 64 << 10

// Sample is one reading of a process.
//
// RSS is split as the kernel counts it: RSSAnon is the heap, stacks and written data;
// RSSFile is mostly the pages of the binary (text, rodata, pclntab) and of shared
// libraries, and it depends on the binary's layout: the kernel maps in the cached pages
// of a whole 64 KiB window around each page touched (fault-around), so two binaries of
// the same code laid out differently (a bigger embedded file before .gopclntab, say)
// differ there by a few hundred KiB. Compare RSSAnon to judge a change to the code.
type Sample struct {
	At      time.Time
	CPU     time.Duration // user + system time since the process started
	RSS     int64         // resident set size in bytes
	RSSAnon int64         // RssAnon in bytes; -1 when it cannot be read
	RSSFile int64         // RssFile in bytes; -1 when it cannot be read
	PSS     int64         // proportional set size in bytes; -1 when it cannot be read
	// USS is the unique set size: pages only this process maps (Private_Clean plus
	// Private_Dirty), what ending it would free; -1 when it cannot be read. RootUSS is
	// the root process's own (ReadTree; USS for Read): a forked child shares the
	// parent's pages copy-on-write, which then count in neither's USS.
	USS     int64
	RootUSS int64
	Threads int
}

// Read samples process pid.
func Read(pid int) (Sample, error) {
	s := Sample{At: time.Now()}
	stat, err := readFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return s, err
	}
	ut, st, err := ParseStat(stat)
	if err != nil {
		return s, fmt.Errorf("pid %d: %w", pid, err)
	}
	s.CPU = ticks(ut + st)
	status, err := readFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return s, err
	}
	kb, threads, err := ParseStatus(status)
	if err != nil {
		return s, fmt.Errorf("pid %d: %w", pid, err)
	}
	s.RSS, s.Threads = kb*1024, threads
	s.RSSAnon, s.RSSFile = -1, -1
	if k, err := ParseRSSKinds(status); err == nil {
		s.RSSAnon, s.RSSFile = k.Anon*1024, k.File*1024
	}
	s.PSS, s.USS, s.RootUSS = -1, -1, -1
	if b, err := readFile(fmt.Sprintf("/proc/%d/smaps_rollup", pid)); err == nil {
		if pss, err := ParsePss(b); err == nil {
			s.PSS = pss * 1024
		}
		if uss, err := ParsePrivate(b); err == nil {
			s.USS = uss * 1024
		}
		s.RootUSS = s.USS
	}
	return s, nil
}

// ParsePss returns Pss (in KiB) from /proc/PID/smaps_rollup.
func ParsePss(b []byte) (int64, error) { return rollupKB(b, "Pss") }

// ParsePrivate returns Private_Clean plus Private_Dirty (in KiB) from
// /proc/PID/smaps_rollup: the process's unique set size.
func ParsePrivate(b []byte) (int64, error) {
	clean, err := rollupKB(b, "Private_Clean")
	if err != nil {
		return 0, err
	}
	dirty, err := rollupKB(b, "Private_Dirty")
	if err != nil {
		return 0, err
	}
	return clean + dirty, nil
}

// rollupKB returns the value of smaps_rollup's line "name: N kB".
func rollupKB(b []byte, name string) (int64, error) {
	prefix := []byte(name + ":")
	for line := range bytes.SplitSeq(b, []byte{'\n'}) {
		val, ok := bytes.CutPrefix(line, prefix)
		if !ok {
			continue
		}
		f := bytes.Fields(val)
		if len(f) != 2 || string(f[1]) != "kB" {
			return 0, fmt.Errorf("%w: %s %q", ErrFormat, name, val)
		}
		kb, err := strconv.ParseInt(string(f[0]), 10, 64)
		if err != nil || kb < 0 {
			return 0, fmt.Errorf("%w: %s %q", ErrFormat, name, val)
		}
		return kb, nil
	}
	return 0, fmt.Errorf("%w: smaps_rollup has no %s line", ErrFormat, name)
}

func ticks(n uint64) time.Duration {
	return time.Duration(n) * (time.Second / ClockTick)
}

func readFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("procstat: %w", err)
	}
	defer f.Close()
	b := make([]byte, maxFile)
	n, err := f.Read(b)
	if err != nil {
		return nil, fmt.Errorf("procstat: read %s: %w", path, err)
	}
	return b[:n], nil
}

// ParseStat returns utime and stime (fields 14 and 15, in clock ticks) of a
// /proc/PID/stat line. The command name (field 2) is in parentheses and may hold spaces
// and parentheses itself, so fields are counted from the last ')'.
func ParseStat(b []byte) (utime, stime uint64, err error) {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, 0, fmt.Errorf("%w: stat has no command name", ErrFormat)
	}
	fields := bytes.Fields(b[i+1:])
	// fields[0] is field 3 (state), so field N is fields[N-3].
	if len(fields) < 13 {
		return 0, 0, fmt.Errorf("%w: stat has %d fields after the name, want at least 13", ErrFormat, len(fields))
	}
	utime, err1 := strconv.ParseUint(string(fields[14-3]), 10, 64)
	stime, err2 := strconv.ParseUint(string(fields[15-3]), 10, 64)
	if err1 != nil || err2 != nil {
		return 0, 0, fmt.Errorf("%w: stat utime %q stime %q", ErrFormat, fields[14-3], fields[15-3])
	}
	return utime, stime, nil
}

// ParseStatus returns VmRSS (in KiB) and Threads from /proc/PID/status. A zombie has no
// VmRSS; that reads as 0.
func ParseStatus(b []byte) (rssKB int64, threads int, err error) {
	seenThreads := false
	for line := range bytes.SplitSeq(b, []byte{'\n'}) {
		key, val, ok := bytes.Cut(line, []byte{':'})
		if !ok {
			continue
		}
		switch string(key) {
		case "VmRSS":
			f := bytes.Fields(val)
			if len(f) != 2 || string(f[1]) != "kB" {
				return 0, 0, fmt.Errorf("%w: VmRSS %q", ErrFormat, val)
			}
			rssKB, err = strconv.ParseInt(string(f[0]), 10, 64)
			if err != nil || rssKB < 0 {
				return 0, 0, fmt.Errorf("%w: VmRSS %q", ErrFormat, val)
			}
		case "Threads":
			threads, err = strconv.Atoi(string(bytes.TrimSpace(val)))
			if err != nil || threads < 0 {
				return 0, 0, fmt.Errorf("%w: Threads %q", ErrFormat, val)
			}
			seenThreads = true
		}
	}
	if !seenThreads {
		return 0, 0, fmt.Errorf("%w: status has no Threads line", ErrFormat)
	}
	return rssKB, threads, nil
}

// RSSKinds is VmRSS split by kind of page, in KiB, as /proc/PID/status gives it since
// Linux 4.5: RssAnon, RssFile and RssShmem (VmRSS is their sum).
type RSSKinds struct {
	Anon, File, Shmem int64
}

// ParseRSSKinds returns RssAnon, RssFile and RssShmem from /proc/PID/status. A status
// without RssAnon or RssFile (an older kernel, a zombie) is an ErrFormat error; a missing
// RssShmem reads as 0.
func ParseRSSKinds(b []byte) (RSSKinds, error) {
	var k RSSKinds
	seen := 0
	for line := range bytes.SplitSeq(b, []byte{'\n'}) {
		key, val, ok := bytes.Cut(line, []byte{':'})
		if !ok {
			continue
		}
		var dst *int64
		switch string(key) {
		case "RssAnon":
			dst = &k.Anon
			seen |= 1
		case "RssFile":
			dst = &k.File
			seen |= 2
		case "RssShmem":
			dst = &k.Shmem
		default:
			continue
		}
		f := bytes.Fields(val)
		if len(f) != 2 || string(f[1]) != "kB" {
			return RSSKinds{}, fmt.Errorf("%w: %s %q", ErrFormat, key, val)
		}
		n, err := strconv.ParseInt(string(f[0]), 10, 64)
		if err != nil || n < 0 {
			return RSSKinds{}, fmt.Errorf("%w: %s %q", ErrFormat, key, val)
		}
		*dst = n
	}
	if seen != 3 {
		return RSSKinds{}, fmt.Errorf("%w: status has no RssAnon or RssFile line", ErrFormat)
	}
	return k, nil
}

// ParsePPID returns the parent PID (field 4) of a /proc/PID/stat line.
func ParsePPID(b []byte) (int, error) {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, fmt.Errorf("%w: stat has no command name", ErrFormat)
	}
	fields := bytes.Fields(b[i+1:])
	if len(fields) < 2 {
		return 0, fmt.Errorf("%w: stat too short", ErrFormat)
	}
	ppid, err := strconv.Atoi(string(fields[4-3]))
	if err != nil || ppid < 0 {
		return 0, fmt.Errorf("%w: ppid %q", ErrFormat, fields[4-3])
	}
	return ppid, nil
}

// maxTree bounds the processes ReadTree sums.
const maxTree = 4096

// ReadTree samples pid and all its descendants and sums CPU, RSS (and its split), PSS and
// threads: guacd forks a process per connection. Processes that end while it reads are
// skipped. PSS, USS, RSSAnon and RSSFile are -1 if any process's could not be read.
func ReadTree(pid int) (Sample, error) {
	root, err := Read(pid)
	if err != nil {
		return root, err
	}
	kids, err := Descendants(pid)
	if err != nil {
		return root, err
	}
	sum := root
	for _, p := range kids {
		s, err := Read(p)
		if err != nil {
			continue
		}
		sum.CPU += s.CPU
		sum.RSS += s.RSS
		if sum.PSS >= 0 && s.PSS >= 0 {
			sum.PSS += s.PSS
		} else {
			sum.PSS = -1
		}
		if sum.USS >= 0 && s.USS >= 0 {
			sum.USS += s.USS
		} else {
			sum.USS = -1
		}
		if sum.RSSAnon >= 0 && s.RSSAnon >= 0 && sum.RSSFile >= 0 && s.RSSFile >= 0 {
			sum.RSSAnon += s.RSSAnon
			sum.RSSFile += s.RSSFile
		} else {
			sum.RSSAnon, sum.RSSFile = -1, -1
		}
		sum.Threads += s.Threads
	}
	return sum, nil
}

// Descendants lists pid's children, their children and so on (at most maxTree), as
// /proc shows them now.
func Descendants(pid int) ([]int, error) {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil, fmt.Errorf("procstat: %w", err)
	}
	children := map[int][]int{}
	for _, e := range ents {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := readFile(fmt.Sprintf("/proc/%d/stat", p))
		if err != nil {
			continue
		}
		if pp, err := ParsePPID(b); err == nil {
			children[pp] = append(children[pp], p)
		}
	}
	var out []int
	queue := append([]int(nil), children[pid]...)
	for len(queue) > 0 && len(out) < maxTree {
		p := queue[0]
		queue = queue[1:]
		out = append(out, p)
		queue = append(queue, children[p]...)
	}
	return out, nil
}
