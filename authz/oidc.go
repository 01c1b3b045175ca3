package authz

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/racgate/racgate/config"
)

// OIDC: users sign in at an OpenID Connect provider with the authorization code flow
// (OpenID Connect Core 1.0 §3.1), PKCE (RFC 7636, S256), state and nonce. Their name,
// groups, e-mail and display name come from the ID token's claims and the userinfo
// endpoint's.

// SourceOIDC is a User who signed in at the OIDC provider.
const SourceOIDC = "oidc"

// ErrOIDC is wrapped by every sign-in failure that is the provider's or the browser's
// (a bad state, a refused code, a token that does not verify, a claim missing).
var ErrOIDC = errors.New("authz: OIDC sign-in failed")

// OIDC signs users in at one provider. It is safe for concurrent use.
type OIDC struct {
	cfg    config.OIDCConfig
	client *http.Client

	mu sync.Mutex
	p  *oidc.Provider // discovered on first use, again after a failure
}

// NewOIDC returns the OIDC source cfg describes, talking to the provider with client
// (nil: http.DefaultClient). Discovery waits for the first sign-in, so that a provider
// that is down does not keep racgate from starting.
func NewOIDC(cfg config.OIDCConfig, client *http.Client) *OIDC {
	if client == nil {
		client = http.DefaultClient
	}
	return &OIDC{cfg: cfg, client: client}
}

// ctx makes the provider's requests go through o's client.
func (o *OIDC) ctx(ctx context.Context) context.Context { return oidc.ClientContext(ctx, o.client) }

// Config is the configuration o was made from.
func (o *OIDC) Config() config.OIDCConfig { return o.cfg }

func (o *OIDC) provider(ctx context.Context) (*oidc.Provider, *oauth2.Config, error) {
	ctx = o.ctx(ctx)
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.p == nil {
		p, err := oidc.NewProvider(ctx, o.cfg.Issuer)
		if err != nil {
			return nil, nil, fmt.Errorf("%w: discovery at %s: %w", ErrOIDC, o.cfg.Issuer, err)
		}
		o.p = p
	}
	return o.p, &oauth2.Config{ClientID: o.cfg.ClientID, ClientSecret: o.cfg.ClientSecret,
		Endpoint: o.p.Endpoint(), RedirectURL: o.cfg.RedirectURL, Scopes: o.cfg.Scopes}, nil
}

// Flow is what a sign-in's callback must match: kept by the browser, signed, between
// Start and Finish (SignFlow).
type Flow struct {
	State, Nonce, Verifier string
	Next                   string // where the browser goes after signing in
}

// Start returns the provider's authorization URL for a new sign-in and its Flow.
func (o *OIDC) Start(ctx context.Context, next string) (string, Flow, error) {
	_, oc, err := o.provider(ctx)
	if err != nil {
		return "", Flow{}, err
	}
	f := Flow{State: randomToken(), Nonce: randomToken(), Verifier: oauth2.GenerateVerifier(), Next: next}
	return oc.AuthCodeURL(f.State, oauth2.S256ChallengeOption(f.Verifier), oidc.Nonce(f.Nonce)), f, nil
}

// Grant is what a sign-in got from the provider besides the user.
type Grant struct {
	Tokens
	Issuer, Subject string
	SID             string // the provider's session ID ("sid" claim), "" when it gave none
}

// Tokens are what racgate keeps of a sign-in while its login lasts: the refresh token to
// ask the provider whether the user is still signed in, and the ID token to name the
// sign-in when ending it there (RP-initiated logout's id_token_hint).
type Tokens struct {
	Refresh string    `json:"r,omitempty"`
	IDToken string    `json:"i,omitempty"`
	Expiry  time.Time `json:"e,omitzero"` // the access token's; zero: the provider did not say
}

// Finish takes the callback's state and code: the code is exchanged with f's verifier,
// the ID token verified (signature, issuer, audience, expiry, f's nonce), and the user
// read from its claims and the userinfo endpoint's.
func (o *OIDC) Finish(ctx context.Context, state, code string, f Flow) (*User, *Grant, error) {
	if f.State == "" || !hmac.Equal([]byte(state), []byte(f.State)) {
		return nil, nil, fmt.Errorf("%w: the state does not match this browser's sign-in", ErrOIDC)
	}
	p, oc, err := o.provider(ctx)
	if err != nil {
		return nil, nil, err
	}
	ctx = o.ctx(ctx)
	tok, err := oc.Exchange(ctx, code, oauth2.VerifierOption(f.Verifier))
	if err != nil {
		return nil, nil, fmt.Errorf("%w: code exchange: %w", ErrOIDC, err)
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return nil, nil, fmt.Errorf("%w: no ID token", ErrOIDC)
	}
	id, err := p.Verifier(&oidc.Config{ClientID: o.cfg.ClientID}).Verify(ctx, raw)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: ID token: %w", ErrOIDC, err)
	}
	if !hmac.Equal([]byte(id.Nonce), []byte(f.Nonce)) {
		return nil, nil, fmt.Errorf("%w: the ID token's nonce is not this sign-in's", ErrOIDC)
	}
	claims := map[string]any{}
	if err := id.Claims(&claims); err != nil {
		return nil, nil, fmt.Errorf("%w: ID token claims: %w", ErrOIDC, err)
	}
	g := &Grant{Tokens: Tokens{Refresh: tok.RefreshToken, IDToken: raw, Expiry: tok.Expiry}, Issuer: id.Issuer, Subject: id.Subject}
	g.SID, _ = claims["sid"].(string)
	if p.UserInfoEndpoint() != "" {
		ui, err := p.UserInfo(ctx, oauth2.StaticTokenSource(tok))
		if err != nil {
			return nil, nil, fmt.Errorf("%w: userinfo: %w", ErrOIDC, err)
		}
		if ui.Subject != id.Subject {
			return nil, nil, fmt.Errorf("%w: userinfo is of another subject", ErrOIDC)
		}
		more := map[string]any{}
		if err := ui.Claims(&more); err != nil {
			return nil, nil, fmt.Errorf("%w: userinfo claims: %w", ErrOIDC, err)
		}
		for k, v := range more {
			claims[k] = v
		}
	}
	u, err := o.user(id.Subject, claims)
	if err != nil {
		return nil, nil, err
	}
	return u, g, nil
}

// user reads the configured claims.
func (o *OIDC) user(sub string, claims map[string]any) (*User, error) {
	str := func(name string) string {
		s, _ := claims[name].(string)
		return s
	}
	u := &User{Username: str(o.cfg.UsernameClaim), Email: str(o.cfg.EmailClaim), Name: str(o.cfg.NameClaim), UID: sub, Source: SourceOIDC}
	if u.Username == "" {
		return nil, fmt.Errorf("%w: the provider gave no %s claim", ErrOIDC, o.cfg.UsernameClaim)
	}
	switch g := claims[o.cfg.GroupsClaim].(type) {
	case string:
		u.Groups = []string{g}
	case []any:
		for _, x := range g {
			if s, ok := x.(string); ok && s != "" {
				u.Groups = append(u.Groups, s)
			}
		}
	}
	for _, name := range o.cfg.AttributeClaims {
		v, ok := claims[name]
		if !ok || v == nil {
			continue
		}
		s, ok := v.(string)
		if !ok { // a number, a boolean, a list: as JSON
			b, err := json.Marshal(v)
			if err != nil {
				continue
			}
			s = string(b)
		}
		if u.Attributes == nil {
			u.Attributes = map[string]string{}
		}
		u.Attributes[strings.ToLower(name)] = s
	}
	all := append([]string{u.Username, u.Email, u.Name, u.UID}, u.Groups...)
	for _, v := range u.Attributes {
		all = append(all, v)
	}
	for _, s := range all {
		if len(s) > maxHeaderValue || !plainText(s) {
			return nil, fmt.Errorf("%w: a claim that is too long or not plain text", ErrOIDC)
		}
	}
	if len(u.Groups) > maxGroups {
		return nil, fmt.Errorf("%w: %d groups (at most %d)", ErrOIDC, len(u.Groups), maxGroups)
	}
	return u, nil
}

func randomToken() string {
	var b [24]byte
	rand.Read(b[:])
	return b64.EncodeToString(b[:])
}

// SignFlow makes the value of the cookie that keeps f until the callback, valid until
// expires: "f1.<state>.<nonce>.<verifier>.<b64 next>.<expires>.<mac>".
func SignFlow(key []byte, f Flow, expires time.Time) string {
	payload := strings.Join([]string{"f1", f.State, f.Nonce, f.Verifier, b64.EncodeToString([]byte(f.Next)),
		strconv.FormatInt(expires.Unix(), 10)}, ".")
	return payload + "." + b64.EncodeToString(flowMAC(key, payload))
}

func flowMAC(key []byte, payload string) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte("racgate oidc flow\x00" + payload))
	return h.Sum(nil)
}

// ParseFlow checks a SignFlow value and returns its Flow.
func ParseFlow(key []byte, value string, now time.Time) (Flow, error) {
	bad := fmt.Errorf("%w: this browser's sign-in state is missing, expired or forged", ErrOIDC)
	if len(value) > MaxLoginLen {
		return Flow{}, bad
	}
	i := strings.LastIndexByte(value, '.')
	if i < 0 || !hmac.Equal([]byte(value[i+1:]), []byte(b64.EncodeToString(flowMAC(key, value[:i])))) {
		return Flow{}, bad
	}
	parts := strings.Split(value[:i], ".")
	if len(parts) != 6 || parts[0] != "f1" {
		return Flow{}, bad
	}
	next, err := b64.DecodeString(parts[4])
	exp, err2 := strconv.ParseInt(parts[5], 10, 64)
	if err != nil || err2 != nil || !now.Before(time.Unix(exp, 0)) {
		return Flow{}, bad
	}
	return Flow{State: parts[1], Nonce: parts[2], Verifier: parts[3], Next: string(next)}, nil
}
