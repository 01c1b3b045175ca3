// Command racgate is the remote-access gateway: it serves the web client and connects
// browsers to VNC (and later RDP and SSH) machines named in a YAML config.
//
//	racgate serve -config FILE     run the gateway (SIGHUP reloads, SIGINT/SIGTERM stop)
//	racgate check-config FILE      print OK or every error with file:line
//	racgate hash-password          read a password on stdin, print a bcrypt hash
//	racgate connections list|kill  live connections on every instance (admin API)
//	racgate version                print the version and the commit it was built from
package main

import (
	"bufio"
	"cmp"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"github.com/racgate/racgate/authz"
	"github.com/racgate/racgate/config"
	"github.com/racgate/racgate/gateway"
)

func main() {
	setGCPercent(os.Getenv)
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// gcPercent is racgate's GOGC where the environment sets none. A session's heap is mostly
// long-lived framebuffers; at Go's default of 100 the heap, and what the runtime keeps of
// it after a collection, may grow to twice what is live. At 50 a busy session's private
// memory was 9–11% smaller, for CPU within noise on text and 5–10% more on full-screen
// churn (docs/benchmarks.md § Fourth round).
const gcPercent = 50

// setGCPercent sets the garbage collector's target to gcPercent unless GOGC is set,
// which the Go runtime has then already applied.
func setGCPercent(getenv func(string) string) {
	if getenv("GOGC") == "" {
		debug.SetGCPercent(gcPercent)
	}
}

func usage(w io.Writer) {
	fmt.Fprint(w, `usage:
  racgate serve -config FILE [-listen HOST:PORT] [-log-level info] [-log-format text]
  racgate check-config FILE          (or -config FILE)
  racgate hash-password [-cost N]    (password on stdin)
  racgate connections [-config FILE | -url URL -token-file FILE] list | kill ID
  racgate version
`)
}

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return 2
	}
	switch args[0] {
	case "serve":
		return serve(args[1:], stdout, stderr)
	case "check-config":
		return checkConfig(args[1:], stdout, stderr)
	case "hash-password":
		return hashPassword(args[1:], stdin, stdout, stderr)
	case "connections":
		return connections(args[1:], stdout, stderr)
	case "version", "-version", "--version":
		if len(args) > 1 && args[1] != "-h" && args[1] != "-help" && args[1] != "--help" {
			fmt.Fprintln(stderr, "usage: racgate version")
			return 2
		}
		fmt.Fprintln(stdout, "racgate", version())
		return 0
	case "help", "-h", "-help", "--help":
		usage(stdout)
		return 0
	}
	fmt.Fprintf(stderr, "racgate: unknown command %q\n", args[0])
	usage(stderr)
	return 2
}

func checkConfig(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("check-config", "racgate check-config FILE   (or -config FILE, as serve takes it)", stdout, stderr)
	path := fs.String("config", "", "the config file (YAML), instead of FILE")
	if rc, ok := fs.parse(args); !ok {
		return rc
	}
	switch {
	case *path == "" && fs.NArg() == 1:
		*path = fs.Arg(0)
	case *path == "" || fs.NArg() != 0:
		return fs.fail("check-config takes one config file")
	}
	if _, err := gateway.LoadConfig(*path); err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	fmt.Fprintln(stdout, "OK")
	return 0
}

func hashPassword(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := newFlags("hash-password", "racgate hash-password [-cost N]   (the password on stdin)", stdout, stderr)
	cost := fs.Int("cost", 0, "bcrypt cost (default 10)")
	if rc, ok := fs.parse(args); !ok {
		return rc
	}
	if fs.NArg() != 0 {
		return fs.fail("hash-password reads the password on stdin, not as an argument")
	}
	line, err := bufio.NewReader(io.LimitReader(stdin, 4096)).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		fmt.Fprintln(stderr, "racgate: read password:", err)
		return 1
	}
	pw := strings.TrimRight(line, "\r\n")
	h, err := authz.HashPassword(pw, *cost)
	if err != nil {
		fmt.Fprintln(stderr, "racgate:", err)
		return 1
	}
	fmt.Fprintln(stdout, h)
	return 0
}

func serve(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("serve", "racgate serve -config FILE [-listen HOST:PORT] [-log-level info] [-log-format text]", stdout, stderr)
	path := fs.String("config", "", "config file (YAML)")
	level := fs.String("log-level", "", "debug, info, warn or error (default: the config's log.level, else info)")
	format := fs.String("log-format", "", "text or json (default: the config's log.format, else text)")
	listen := fs.String("listen", "", "listen on this host:port instead of the config's listen (make run LISTEN=...)")
	debugAddr := fs.String("debug-listen", "", "serve Go's pprof profiles on this host:port (keep it on loopback)")
	if rc, ok := fs.parse(args); !ok {
		return rc
	}
	if *path == "" || fs.NArg() != 0 {
		return fs.fail("serve takes its config file as -config FILE")
	}
	var flagLevel slog.Level
	if *level != "" {
		if err := flagLevel.UnmarshalText([]byte(*level)); err != nil {
			fmt.Fprintln(stderr, "racgate: -log-level:", err)
			return 2
		}
	}
	if *format != "" && *format != "text" && *format != "json" {
		fmt.Fprintln(stderr, "racgate: -log-format: want text or json")
		return 2
	}

	cfg, err := gateway.LoadConfig(*path)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	// The level is a LevelVar, so that a reload can change it; the flags win over the file.
	lv := &slog.LevelVar{}
	lv.Set(cfg.Log.Level)
	if *level != "" {
		lv.Set(flagLevel)
	}
	hopts := &slog.HandlerOptions{Level: lv}
	var logger *slog.Logger
	if cmp.Or(*format, cfg.Log.Format) == "json" {
		logger = slog.New(slog.NewJSONHandler(stderr, hopts))
	} else {
		logger = slog.New(slog.NewTextHandler(stderr, hopts))
	}
	logs := logSettings{level: lv, flagLevel: *level != "", format: cmp.Or(*format, cfg.Log.Format), flagFormat: *format != ""}
	if *listen != "" {
		cfg.Listen = *listen
	}
	srv, err := gateway.NewServer(cfg, logger)
	if err != nil {
		fmt.Fprintln(stderr, "racgate:", err)
		return 1
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		fmt.Fprintln(stderr, "racgate:", err)
		return 1
	}
	var cert *certificate
	if cfg.TLS != nil {
		cert = &certificate{}
		cert.cur.Store(cfg.TLS.Certificate)
		ln = tls.NewListener(ln, cert.serverTLS())
	}
	hs := &http.Server{
		Handler:           srv.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	logger.Info("racgate listening", "addr", ln.Addr().String(), "tls", cert != nil, "config", *path, "version", version())
	if cfg.Metrics.Listen != "" {
		mln, err := net.Listen("tcp", cfg.Metrics.Listen)
		if err != nil {
			fmt.Fprintln(stderr, "racgate: metrics.listen:", err)
			return 1
		}
		defer mln.Close()
		mux := http.NewServeMux()
		mux.Handle("GET /metrics", srv.MetricsHandler())
		ms := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 10 * time.Second,
			ErrorLog: slog.NewLogLogger(logger.Handler(), slog.LevelWarn)}
		go ms.Serve(mln) //nolint:errcheck // ends when mln closes
		logger.Info("metrics listening", "addr", mln.Addr().String())
	}
	if *debugAddr != "" {
		dln, err := net.Listen("tcp", *debugAddr)
		if err != nil {
			fmt.Fprintln(stderr, "racgate: -debug-listen:", err)
			return 1
		}
		defer dln.Close()
		go http.Serve(dln, debugHandler()) //nolint:errcheck // ends when dln closes
		logger.Info("pprof listening", "addr", dln.Addr().String())
	}

	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGHUP, syscall.SIGINT, syscall.SIGTERM)
	defer signal.Stop(sigs)
	served := make(chan error, 1)
	go func() { served <- hs.Serve(ln) }()

	for {
		select {
		case err := <-served:
			logger.Error("http server stopped", "err", err)
			return 1
		case sig := <-sigs:
			if sig == syscall.SIGHUP {
				if next := reload(srv, cfg, *path, *listen, logs, cert, logger); next != nil {
					cfg = next
				}
				continue
			}
			logger.Info("shutting down", "signal", sig.String(), "delay", cfg.Shutdown.Delay, "drain_timeout", cfg.Shutdown.DrainTimeout)
			// Out of the load balancer first (/readyz fails), still serving for the delay,
			// so that new sessions go elsewhere before the listener closes.
			srv.Drain()
			if d := cfg.Shutdown.Delay; d > 0 {
				select {
				case <-time.After(d):
				case sig := <-sigs:
					logger.Info("shutting down now", "signal", sig.String())
				}
			}
			// Sessions are told the instance is going away (CLOSE 8): the page reconnects,
			// through the balancer, to another instance.
			ctx, cancel := context.WithTimeout(context.Background(), cfg.Shutdown.DrainTimeout)
			// Stop accepting first; websockets are hijacked, so this does not wait for them.
			if err := hs.Shutdown(ctx); err != nil {
				logger.Warn("http shutdown", "err", err)
			}
			err := srv.Shutdown(ctx)
			cancel()
			if err != nil {
				logger.Warn("sessions did not end in time", "err", err)
				return 1
			}
			logger.Info("stopped")
			return 0
		}
	}
}

// logSettings is what serve's flags and the config made of logging.
type logSettings struct {
	level      *slog.LevelVar
	flagLevel  bool   // -log-level given: the file's level is not applied
	format     string // in use; a change needs a restart
	flagFormat bool   // -log-format given: the file's format does not matter
}

// reload applies a changed config file and reads the TLS certificate again; a bad file
// is refused and the running config (and certificate) kept. listen is serve's -listen,
// which stands for the file's. It returns the config now running, nil if unchanged.
func reload(srv *gateway.Server, running *config.Config, path, listen string, logs logSettings, cert *certificate, logger *slog.Logger) *config.Config {
	cfg, err := gateway.LoadConfig(path)
	if err == nil {
		if listen != "" {
			cfg.Listen = listen
		}
		if (cfg.TLS == nil) != (cert == nil) {
			err = fmt.Errorf("tls: turning TLS on or off needs a restart")
		}
	}
	if err == nil {
		err = srv.Reload(cfg)
	}
	if err != nil {
		logger.Error("config reload refused; keeping the running config and certificate", "err", err)
		return nil
	}
	if cert != nil {
		cert.cur.Store(cfg.TLS.Certificate)
		leaf := cfg.TLS.Certificate.Leaf
		logger.Info("certificate loaded", "subject", leaf.Subject.String(), "not_after", leaf.NotAfter, "serial", leaf.SerialNumber.String())
	}
	if !logs.flagLevel {
		logs.level.Set(cfg.Log.Level)
	}
	if !logs.flagFormat && cfg.Log.Format != logs.format {
		logger.Warn("log.format changes need a restart", "running", logs.format, "config", cfg.Log.Format)
	}
	if cfg.Listen != running.Listen {
		logger.Warn("listen address changes need a restart", "running", running.Listen, "config", cfg.Listen)
	}
	if cfg.Metrics.Listen != running.Metrics.Listen {
		logger.Warn("metrics.listen changes need a restart", "running", running.Metrics.Listen, "config", cfg.Metrics.Listen)
	}
	logger.Info("config reloaded", "config", path)
	return cfg
}
