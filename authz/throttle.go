package authz

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"log/slog"
	"net"
	"time"

	"github.com/racgate/racgate/config"
	"github.com/racgate/racgate/gateway/store"
)

// Login throttling: after a number of failed logins for one user name, or from one source
// address, each further attempt has to wait, 1s and doubling up to max-backoff. Failures
// are counted in the connection store, so every instance on one Redis sees them; while the
// store cannot answer, this instance counts on its own. Unknown user names are counted
// like real ones, so the throttle says nothing about which names exist.

// AttemptStore counts failed logins per key: gateway/store's Store has these methods.
type AttemptStore interface {
	LoginFailed(ctx context.Context, keys []string, forget time.Duration) ([]store.Attempts, error)
	LoginAttempts(ctx context.Context, keys []string) ([]store.Attempts, error)
	LoginSucceeded(ctx context.Context, key string) error
}

// Throttle holds back logins after failures. Create it with NewThrottle.
type Throttle struct {
	shared, local AttemptStore
	log           *slog.Logger
}

// NewThrottle counts failures in shared (the connection store) and, while shared fails, in
// local (this instance's own). log may be nil.
func NewThrottle(shared, local AttemptStore, log *slog.Logger) *Throttle {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Throttle{shared: shared, local: local, log: log}
}

// throttleBase is the first wait once the free attempts are used up.
const throttleBase = time.Second

// throttleKeys are the store keys of a login attempt: the user name (hashed, so that any
// string a form carries makes a short key) and the source address (an IPv6 client by its
// /64, which one host usually has whole).
type throttleKeys struct{ user, addr string }

// loginKeys: remoteAddr is host:port, as in http.Request.RemoteAddr.
func loginKeys(username, remoteAddr string) throttleKeys {
	h := sha256.Sum256([]byte(username))
	return throttleKeys{user: "user:" + hex.EncodeToString(h[:16]), addr: "addr:" + clientNet(remoteAddr)}
}

func (k throttleKeys) list() []string { return []string{k.user, k.addr} }

// clientNet is the address a client's attempts are counted under.
func clientNet(remote string) string {
	host, _, err := net.SplitHostPort(remote)
	if err != nil {
		host = remote
	}
	ip := net.ParseIP(host)
	if ip == nil {
		return host
	}
	if ip.To4() == nil {
		return ip.Mask(net.CIDRMask(64, 128)).String() + "/64"
	}
	return ip.String()
}

// backoff is how long after its last failure a key with that many failures must wait.
func backoff(failures, free int, most time.Duration) time.Duration {
	if failures < free {
		return 0
	}
	n := min(failures-free, 30) // 2^30 s is past any max-backoff
	return min(throttleBase<<n, most)
}

// throttleWait is how long the attempt must still wait, and which key holds it ("user" or
// "address"); 0 when it may go ahead.
func throttleWait(cfg config.ThrottleConfig, a []store.Attempts) (time.Duration, string) {
	var wait time.Duration
	var by string
	for i, free := range []int{cfg.UserAttempts, cfg.AddressAttempts} {
		if i >= len(a) {
			break
		}
		if left := backoff(a[i].Failures, free, cfg.MaxBackoff) - a[i].Since; left > wait {
			wait, by = left, [...]string{"user", "address"}[i]
		}
	}
	return wait, by
}

// forgetAfter is how long the store keeps a key's failures after the last one: long enough
// that waiting out the longest back-off does not reset the count.
func forgetAfter(cfg config.ThrottleConfig) time.Duration { return max(2*cfg.MaxBackoff, time.Minute) }

// Wait is how long a login by username from remoteAddr (host:port) must wait, and which
// key holds it ("user" or "address"); 0 when it may go ahead.
func (t *Throttle) Wait(ctx context.Context, cfg config.ThrottleConfig, username, remoteAddr string) (time.Duration, string) {
	if cfg.Disabled {
		return 0, ""
	}
	k := loginKeys(username, remoteAddr).list()
	a, err := t.shared.LoginAttempts(ctx, k)
	if err != nil {
		t.log.Warn("login throttle: store unavailable, counting on this instance only", "err", err)
		a, _ = t.local.LoginAttempts(ctx, k)
	}
	return throttleWait(cfg, a)
}

// Failed counts a failed login and returns how long the next one must wait, as Wait.
func (t *Throttle) Failed(ctx context.Context, cfg config.ThrottleConfig, username, remoteAddr string) (time.Duration, string) {
	if cfg.Disabled {
		return 0, ""
	}
	k := loginKeys(username, remoteAddr).list()
	a, err := t.shared.LoginFailed(ctx, k, forgetAfter(cfg))
	if err != nil {
		t.log.Warn("login throttle: store unavailable, counting on this instance only", "err", err)
		a, _ = t.local.LoginFailed(ctx, k, forgetAfter(cfg))
	}
	return throttleWait(cfg, a)
}

// Succeeded clears the user's count; the address's stays, so that one account an
// attacker holds cannot reset the count of an address that guesses at others.
func (t *Throttle) Succeeded(ctx context.Context, cfg config.ThrottleConfig, username, remoteAddr string) {
	if cfg.Disabled {
		return
	}
	k := loginKeys(username, remoteAddr)
	if err := t.shared.LoginSucceeded(ctx, k.user); err != nil {
		t.log.Warn("login throttle: cannot clear the user's failures", "err", err)
	}
	t.local.LoginSucceeded(ctx, k.user)
}

// RetryAfter rounds a wait up to whole seconds for people and the Retry-After header.
func RetryAfter(d time.Duration) int { return int((d + time.Second - 1) / time.Second) }
