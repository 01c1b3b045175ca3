package procstat

import (
	"errors"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/racgate/racgate/internal/peers"
)

func TestParseStat(t *testing.T) {
	// A command name with a space and a ')' of its own: fields count from the last ')'.
	line := "4242 (a b) c) S 1 4242 4242 0 -1 4194560 1234 0 0 0 517 93 0 0 20 0 9 0 12345 1000000 500 18446744073709551615\n"
	ut, st, err := ParseStat([]byte(line))
	if err != nil || ut != 517 || st != 93 {
		t.Fatalf("ParseStat = %d, %d, %v; want 517, 93", ut, st, err)
	}
	for _, bad := range []string{"", "12 (x) S 1 2", "12 x S 1 2 3 4 5 6 7 8 9 10 11 12 13", "1 (x) S 1 1 1 0 -1 0 0 0 0 0 -5 3 0 0"} {
		if _, _, err := ParseStat([]byte(bad)); !errors.Is(err, ErrFormat) {
			t.Errorf("ParseStat(%q) err = %v, want ErrFormat", bad, err)
		}
	}
}

func TestParseStatus(t *testing.T) {
	status := "Name:\tracgate\nVmPeak:\t  9000 kB\nVmRSS:\t    2048 kB\nThreads:\t7\n"
	kb, th, err := ParseStatus([]byte(status))
	if err != nil || kb != 2048 || th != 7 {
		t.Fatalf("ParseStatus = %d, %d, %v; want 2048, 7", kb, th, err)
	}
	// A zombie has no VmRSS.
	if kb, th, err := ParseStatus([]byte("Name:\tx\nThreads:\t1\n")); err != nil || kb != 0 || th != 1 {
		t.Fatalf("zombie: %d, %d, %v", kb, th, err)
	}
	for _, bad := range []string{"", "VmRSS:\t12 MB\nThreads:\t1\n", "VmRSS: x kB\nThreads: 1\n", "Threads: -1\n"} {
		if _, _, err := ParseStatus([]byte(bad)); !errors.Is(err, ErrFormat) {
			t.Errorf("ParseStatus(%q) err = %v, want ErrFormat", bad, err)
		}
	}
}

// TestParseRSSKinds on a status as Linux 6.x writes it (the lines around are real too).
func TestParseRSSKinds(t *testing.T) {
	status := "Name:\tracgate\nUmask:\t0022\nState:\tS (sleeping)\nTgid:\t41877\nPid:\t41877\n" +
		"VmPeak:\t 1893740 kB\nVmSize:\t 1893740 kB\nVmLck:\t       0 kB\nVmPin:\t       0 kB\n" +
		"VmHWM:\t   23040 kB\nVmRSS:\t   23040 kB\nRssAnon:\t    9100 kB\nRssFile:\t   13940 kB\n" +
		"RssShmem:\t       0 kB\nVmData:\t  160836 kB\nVmStk:\t     132 kB\nVmExe:\t   10428 kB\n" +
		"VmLib:\t    2128 kB\nVmPTE:\t     132 kB\nVmSwap:\t       0 kB\nHugetlbPages:\t       0 kB\n" +
		"CoreDumping:\t0\nTHP_enabled:\t1\nThreads:\t8\nSigQ:\t0/31602\n"
	k, err := ParseRSSKinds([]byte(status))
	if err != nil || k != (RSSKinds{Anon: 9100, File: 13940, Shmem: 0}) {
		t.Fatalf("ParseRSSKinds = %+v, %v; want 9100, 13940, 0", k, err)
	}
	if kb, _, err := ParseStatus([]byte(status)); err != nil || kb != k.Anon+k.File+k.Shmem {
		t.Fatalf("VmRSS %d, %v; want the sum of the kinds", kb, err)
	}
	// A zombie (or a kernel before 4.5) has no RssAnon or RssFile.
	for _, bad := range []string{"", "Name:\tx\nThreads:\t1\n", "RssAnon:\t1 kB\n", "RssAnon:\t1 MB\nRssFile:\t2 kB\n",
		"RssAnon:\t1 kB\nRssFile:\t-2 kB\n", "RssAnon:\t1 kB\nRssFile:\t2 kB\nRssShmem:\tx kB\n"} {
		if _, err := ParseRSSKinds([]byte(bad)); !errors.Is(err, ErrFormat) {
			t.Errorf("ParseRSSKinds(%q) err = %v, want ErrFormat", bad, err)
		}
	}
}

// TestReadSelf reads this process, which has certainly used CPU and memory by now.
func TestReadSelf(t *testing.T) {
	// Burn CPU until a tick is counted (a loaded machine may give us little of it).
	var s Sample
	var err error
	for end := time.Now().Add(10 * time.Second); time.Now().Before(end); {
		for spin := time.Now().Add(10 * time.Millisecond); time.Now().Before(spin); {
		}
		if s, err = Read(os.Getpid()); err != nil {
			t.Fatal(err)
		}
		if s.CPU > 0 {
			break
		}
	}
	if s.CPU <= 0 || s.RSS <= 0 || s.Threads <= 0 {
		t.Fatalf("Read(self) = %+v, want positive CPU, RSS and threads", s)
	}
	// The split adds up to VmRSS, read from the same file at the same moment.
	if s.RSSAnon <= 0 || s.RSSFile <= 0 || s.RSSAnon+s.RSSFile > s.RSS {
		t.Fatalf("RSSAnon %d + RSSFile %d with RSS %d", s.RSSAnon, s.RSSFile, s.RSS)
	}
	if _, err := Read(-1); err == nil {
		t.Fatal("Read(-1) succeeded")
	}
	// Our own smaps_rollup is readable: PSS is known, no more than RSS plus what grew
	// between the two reads, and most of it (a Go test binary shares little).
	if s.PSS < s.RSS/4 || s.PSS > s.RSS+16<<20 {
		t.Fatalf("PSS %d with RSS %d", s.PSS, s.RSS)
	}
	// What only we map is part of our proportional share: USS <= PSS, and it is not
	// nothing (our heap).
	if s.USS <= 0 || s.USS > s.PSS {
		t.Fatalf("USS %d with PSS %d", s.USS, s.PSS)
	}
}

func TestParsePrivate(t *testing.T) {
	rollup := "55d0c0a00000-7ffd5a3fe000 ---p 00000000 00:00 0                          [rollup]\n" +
		"Rss:               22540 kB\nPss:               18873 kB\nShared_Clean:       3000 kB\n" +
		"Private_Clean:       412 kB\nPrivate_Dirty:     15128 kB\nReferenced:        22540 kB\n"
	if kb, err := ParsePrivate([]byte(rollup)); err != nil || kb != 412+15128 {
		t.Fatalf("ParsePrivate = %d, %v; want %d", kb, err, 412+15128)
	}
	for _, bad := range []string{"", "Private_Clean: 1 kB\n", "Private_Dirty: 1 kB\n", "Private_Clean: 1 kB\nPrivate_Dirty: -1 kB\n"} {
		if _, err := ParsePrivate([]byte(bad)); !errors.Is(err, ErrFormat) {
			t.Errorf("ParsePrivate(%q) = %v", bad, err)
		}
	}
}

func TestParsePss(t *testing.T) {
	rollup := "55d0c0a00000-7ffd5a3fe000 ---p 00000000 00:00 0                          [rollup]\n" +
		"Rss:               22540 kB\nPss:               18873 kB\nPss_Dirty:          9216 kB\nPss_Anon:           9088 kB\n"
	if kb, err := ParsePss([]byte(rollup)); err != nil || kb != 18873 {
		t.Fatalf("ParsePss = %d, %v; want 18873", kb, err)
	}
	for _, bad := range []string{"", "Rss: 1 kB\n", "Pss: x kB\n", "Pss: 12\n", "Pss: -3 kB\n"} {
		if _, err := ParsePss([]byte(bad)); !errors.Is(err, ErrFormat) {
			t.Errorf("ParsePss(%q) = %v", bad, err)
		}
	}
}

func FuzzParseStat(f *testing.F) {
	f.Add([]byte("1 (init) S 0 1 1 0 -1 4194560 100 0 0 0 10 20 0 0 20 0 1 0 1 100 10"))
	f.Add([]byte("1 ((x)) S"))
	f.Add([]byte(")"))
	f.Fuzz(func(t *testing.T, b []byte) {
		ParseStat(b)
	})
}

func FuzzParseStatus(f *testing.F) {
	f.Add([]byte("VmRSS:\t  100 kB\nThreads:\t3\n"))
	f.Add([]byte("Threads:"))
	f.Fuzz(func(t *testing.T, b []byte) {
		if kb, th, err := ParseStatus(b); err == nil && (kb < 0 || th < 0) {
			t.Fatalf("negative result %d %d", kb, th)
		}
	})
}

func FuzzParseRSSKinds(f *testing.F) {
	f.Add([]byte("RssAnon:\t  100 kB\nRssFile:\t3 kB\n"))
	f.Add([]byte("RssShmem:"))
	f.Fuzz(func(t *testing.T, b []byte) {
		if k, err := ParseRSSKinds(b); err == nil && (k.Anon < 0 || k.File < 0 || k.Shmem < 0) {
			t.Fatalf("negative result %+v", k)
		}
	})
}

func TestParsePPID(t *testing.T) {
	if pp, err := ParsePPID([]byte("77 (sh (x)) S 12 77 77 0")); err != nil || pp != 12 {
		t.Fatalf("ParsePPID = %d, %v", pp, err)
	}
	for _, bad := range []string{"", "1 (x) S", "1 (x) S -3 1"} {
		if _, err := ParsePPID([]byte(bad)); !errors.Is(err, ErrFormat) {
			t.Errorf("ParsePPID(%q) = %v", bad, err)
		}
	}
}

// TestReadTree: a child's CPU is added to its parent's.
func TestReadTree(t *testing.T) {
	peers.Require(t, "sh")
	cmd := exec.Command("sh", "-c", "i=0; while [ $i -lt 200000 ]; do i=$((i+1)); done; sleep 5")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	deadline := time.Now().Add(5 * time.Second)
	for {
		// In this order, as CPU only grows: the tree is read last.
		child, err3 := Read(cmd.Process.Pid)
		self, err1 := Read(os.Getpid())
		tree, err2 := ReadTree(os.Getpid())
		if err1 != nil || err2 != nil || err3 != nil {
			t.Fatal(err1, err2, err3)
		}
		if child.CPU > 0 {
			if tree.CPU < self.CPU+child.CPU {
				t.Fatalf("tree %+v < self %+v + child %+v", tree, self, child)
			}
			// The child's PSS is added to ours (a few MB either way in between).
			if tree.PSS < self.PSS+child.PSS-8<<20 || child.PSS <= 0 {
				t.Fatalf("tree PSS %d, self %d, child %d", tree.PSS, self.PSS, child.PSS)
			}
			// USS too, and the root's own is kept apart: what the children hold is
			// the tree's less the root's.
			if child.USS <= 0 || tree.USS-tree.RootUSS < child.USS || tree.RootUSS < self.USS-8<<20 || tree.RootUSS > self.USS+8<<20 {
				t.Fatalf("tree USS %d (root %d), self %d, child %d", tree.USS, tree.RootUSS, self.USS, child.USS)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the child used no CPU")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func FuzzParseRollup(f *testing.F) {
	f.Add([]byte("Rss: 22540 kB\nPss: 18873 kB\nPrivate_Clean: 412 kB\nPrivate_Dirty: 15128 kB\n"))
	f.Add([]byte("Pss: 9223372036854775807 kB\nPrivate_Clean: 9223372036854775807 kB\nPrivate_Dirty: 1 kB\n"))
	f.Add([]byte("Private_Dirty:\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		if kb, err := ParsePss(b); err == nil && kb < 0 {
			t.Fatalf("Pss %d", kb)
		}
		ParsePrivate(b) // must not panic; its sum is only for real (small) figures
	})
}
