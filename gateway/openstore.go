package gateway

import (
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/racgate/racgate/config"
	"github.com/racgate/racgate/gateway/store"
)

// openStore makes the store cfg names. The Redis client is closed by the returned func.
func openStore(cfg *config.Config, log *slog.Logger, observe func(string, time.Duration, error)) (store.Store, func(), error) {
	if cfg.Store.Kind != "redis" {
		st := store.NewMemory(cfg.Instance, publicURLString(cfg))
		if f := cfg.Store.StateFile; f != "" {
			if err := st.PersistRevocations(f); err != nil {
				st.Close()
				return nil, nil, fmt.Errorf("gateway: store state-file: %w", err)
			}
		}
		return st, sync.OnceFunc(func() { st.Close() }), nil
	}
	rc := cfg.Store.Redis
	rdb := redis.NewUniversalClient(&redis.UniversalOptions{
		Addrs:      rc.Addrs,
		Username:   rc.Username,
		Password:   rc.Password,
		DB:         rc.DB,
		MasterName: rc.MasterName,
		TLSConfig:  rc.TLS,
		// Short timeouts: a connect waits on the store, and a dead Redis must show fast.
		DialTimeout:  2 * time.Second,
		ReadTimeout:  2 * time.Second,
		WriteTimeout: 2 * time.Second,
		MaxRetries:   1,
	})
	st, err := store.NewRedis(rdb, store.RedisOptions{
		Instance: cfg.Instance, PublicURL: publicURLString(cfg), LeaseTTL: rc.LeaseTTL,
		Prefix: rc.Prefix, FailOpen: rc.FailOpen, Logger: log, Observe: observe,
	})
	if err != nil {
		rdb.Close()
		return nil, nil, fmt.Errorf("gateway: %w", err)
	}
	return st, sync.OnceFunc(func() { st.Close(); rdb.Close() }), nil
}

func publicURLString(cfg *config.Config) string {
	if cfg.PublicURL == nil {
		return ""
	}
	return cfg.PublicURL.String()
}
