package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"runtime/debug"
)

// newFlags is a subcommand's flag set: errors and usage go to stderr, except that -h
// (asked for) prints the usage to stdout and parse says to exit 0.
func newFlags(name, usage string, stdout, stderr io.Writer) *flagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	f := &flagSet{FlagSet: fs, usage: usage, stdout: stdout}
	fs.SetOutput(stderr)
	fs.Usage = func() { f.printUsage(fs.Output()) }
	return f
}

type flagSet struct {
	*flag.FlagSet
	usage  string // "racgate NAME ARGS", as the top-level usage has it
	stdout io.Writer
}

func (f *flagSet) printUsage(w io.Writer) {
	fmt.Fprintf(w, "usage: %s\n", f.usage)
	f.SetOutput(w)
	f.PrintDefaults()
}

// parse parses args. It returns false with the exit code when the command should stop
// here: 0 after -h, 2 after a bad flag.
func (f *flagSet) parse(args []string) (rc int, ok bool) {
	out := f.Output()
	f.Usage = func() {}
	err := f.Parse(args)
	f.Usage = func() { f.printUsage(out) }
	switch {
	case errors.Is(err, flag.ErrHelp):
		f.printUsage(f.stdout)
		return 0, false
	case err != nil:
		f.printUsage(out)
		return 2, false
	}
	return 0, true
}

// fail prints msg and the usage to stderr; the exit code is 2.
func (f *flagSet) fail(msg string) int {
	if msg != "" {
		fmt.Fprintln(f.Output(), "racgate:", msg)
	}
	f.printUsage(f.Output())
	return 2
}

// commit is stamped by make build (-ldflags -X main.commit=...): git describe of the
// checkout. Empty in other builds, which may carry Go's own VCS stamp instead.
var commit string

// version is the module version and the commit racgate was built from: the stamp, else
// what go build recorded (-buildvcs, in a git checkout), else none.
func version() string {
	bi, ok := debug.ReadBuildInfo()
	return versionOf(bi, ok, commit)
}

func versionOf(bi *debug.BuildInfo, ok bool, stamp string) string {
	if !ok {
		return "(unknown)"
	}
	v := bi.Main.Version
	if v == "" {
		v = "(devel)"
	}
	var rev, when string
	modified := false
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.time":
			when = s.Value
		case "vcs.modified":
			modified = s.Value == "true"
		}
	}
	if stamp != "" {
		rev, when, modified = stamp, "", false // git describe says -dirty itself
	}
	if rev != "" {
		if len(rev) > 12 && stamp == "" {
			rev = rev[:12]
		}
		v += " commit " + rev
		if modified {
			v += " (modified)"
		}
		if when != "" {
			v += " of " + when
		}
	}
	if bi.GoVersion != "" {
		v += ", " + bi.GoVersion
	}
	return v
}
