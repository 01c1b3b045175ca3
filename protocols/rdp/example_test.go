package rdp_test

import (
	"context"
	"errors"
	"log"
	"time"

	"github.com/racgate/racgate/protocols/keys"
	"github.com/racgate/racgate/protocols/rdp"
	"github.com/racgate/racgate/render"
)

func Example() {
	fb := render.NewFramebuffer(1024, 768)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := rdp.Dial(ctx, "rdp.example.com:3389", rdp.Config{
		Username: "alice", Password: "secret", Domain: "EXAMPLE",
		CertFingerprints: []string{"sha256:0123..."}, // or RootCAs, or IgnoreCert
		Width:            1024, Height: 768,
		Performance: rdp.EnableFontSmoothing,
	}, fb)
	var ce *rdp.CertificateError
	switch {
	case errors.As(err, &ce):
		log.Fatalf("untrusted server; pin %s if it is the right one", ce.Fingerprint)
	case errors.Is(err, rdp.ErrAuthFailed):
		log.Fatal("wrong user name or password")
	case err != nil:
		log.Fatal(err)
	}
	defer c.Close()
	go func() {
		sc, _ := keys.XTScancode("KeyA")
		c.KeyScancode(sc, true)
		c.KeyScancode(sc, false)
		c.Pointer(1, 100, 100) // left button down at 100,100
		c.Pointer(0, 100, 100)
	}()
	if err := c.Run(context.Background()); err != nil {
		log.Print(err)
	}
}
