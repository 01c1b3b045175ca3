package authz

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// How an OIDC sign-in ends: the provider refuses to refresh its tokens, the user logs
// out of racgate (RP-initiated logout, OpenID Connect RP-Initiated Logout 1.0), or the
// provider says the user logged out there (OpenID Connect Back-Channel Logout 1.0).

// ErrSignInEnded: the provider no longer signs the user in (it refused a refresh).
var ErrSignInEnded = errors.New("authz: the provider ended the sign-in")

// Refresh asks the provider for new tokens with t's refresh token (RFC 6749 §6). A
// refusal (invalid_grant: the token revoked, or the user's session at the provider
// ended) is ErrSignInEnded; anything else (the provider unreachable, a 5xx) says nothing
// about the user and is another error. A refreshed ID token must be of subject.
func (o *OIDC) Refresh(ctx context.Context, t Tokens, subject string) (Tokens, error) {
	if t.Refresh == "" {
		return t, fmt.Errorf("%w: no refresh token", ErrOIDC)
	}
	p, oc, err := o.provider(ctx)
	if err != nil {
		return t, err
	}
	ctx = o.ctx(ctx)
	// An expired token makes the source refresh at once.
	tok, err := oc.TokenSource(ctx, &oauth2.Token{RefreshToken: t.Refresh, Expiry: time.Unix(1, 0)}).Token()
	if err != nil {
		var re *oauth2.RetrieveError
		if errors.As(err, &re) && re.ErrorCode == "invalid_grant" {
			return t, fmt.Errorf("%w: %w", ErrSignInEnded, err)
		}
		return t, fmt.Errorf("%w: refresh: %w", ErrOIDC, err)
	}
	nt := Tokens{Refresh: tok.RefreshToken, IDToken: t.IDToken, Expiry: tok.Expiry}
	if nt.Refresh == "" {
		nt.Refresh = t.Refresh // the provider keeps the old one valid (RFC 6749 §6)
	}
	if raw, _ := tok.Extra("id_token").(string); raw != "" {
		// OpenID Connect Core §12.2: same issuer and subject; no nonce to check.
		id, err := p.Verifier(&oidc.Config{ClientID: o.cfg.ClientID}).Verify(ctx, raw)
		if err != nil {
			return t, fmt.Errorf("%w: refreshed ID token: %w", ErrOIDC, err)
		}
		if id.Subject != subject {
			return t, fmt.Errorf("%w: refreshed ID token is of another subject", ErrSignInEnded)
		}
		nt.IDToken = raw
	}
	return nt, nil
}

// LogoutURL is the provider's end_session_endpoint for ending the sign-in idToken names,
// sending the browser on to postLogout ("" for the provider's own page). "" when the
// provider has no such endpoint.
func (o *OIDC) LogoutURL(ctx context.Context, idToken, postLogout string) (string, error) {
	p, _, err := o.provider(ctx)
	if err != nil {
		return "", err
	}
	var d struct {
		EndSession string `json:"end_session_endpoint"`
	}
	if err := p.Claims(&d); err != nil || d.EndSession == "" {
		return "", err
	}
	u, err := url.Parse(d.EndSession)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") {
		return "", fmt.Errorf("%w: end_session_endpoint %q", ErrOIDC, d.EndSession)
	}
	q := u.Query()
	q.Set("client_id", o.cfg.ClientID)
	if idToken != "" {
		q.Set("id_token_hint", idToken)
	}
	if postLogout != "" {
		q.Set("post_logout_redirect_uri", postLogout)
	}
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// Logout is a verified logout token: the provider's user (Subject) or one sign-in of
// theirs (SID) logged out there.
type Logout struct {
	Issuer, Subject, SID, JTI string
	Issued                    time.Time
}

// Bounds on a logout token's times: it must have been issued within MaxLogoutAge, and
// not further ahead than logoutSkew (clocks differ).
const (
	MaxLogoutAge = 5 * time.Minute
	logoutSkew   = time.Minute
)

// backChannelEvent is the logout token's event (Back-Channel Logout 1.0 §2.4).
const backChannelEvent = "http://schemas.openid.net/event/backchannel-logout"

// VerifyLogout checks a back-channel logout token (Back-Channel Logout 1.0 §2.6):
// signed by the provider's keys, its issuer, for this client, issued lately, with the
// logout event, a sub or a sid, a jti, and no nonce (so an ID token is not one).
func (o *OIDC) VerifyLogout(ctx context.Context, raw string, now time.Time) (*Logout, error) {
	p, _, err := o.provider(ctx)
	if err != nil {
		return nil, err
	}
	// exp is checked below: a token without one is held to MaxLogoutAge alone.
	id, err := p.Verifier(&oidc.Config{ClientID: o.cfg.ClientID, SkipExpiryCheck: true, Now: func() time.Time { return now }}).Verify(o.ctx(ctx), raw)
	if err != nil {
		return nil, fmt.Errorf("%w: logout token: %w", ErrOIDC, err)
	}
	var c struct {
		Events map[string]json.RawMessage `json:"events"`
		SID    string                     `json:"sid"`
		JTI    string                     `json:"jti"`
		Nonce  *json.RawMessage           `json:"nonce"`
		IAT    *json.Number               `json:"iat"`
	}
	if err := id.Claims(&c); err != nil {
		return nil, fmt.Errorf("%w: logout token claims: %w", ErrOIDC, err)
	}
	ev, ok := c.Events[backChannelEvent]
	var evObj map[string]json.RawMessage
	switch {
	case !ok || json.Unmarshal(ev, &evObj) != nil || evObj == nil:
		return nil, fmt.Errorf("%w: not a logout token (no back-channel logout event)", ErrOIDC)
	case c.Nonce != nil:
		return nil, fmt.Errorf("%w: a logout token has no nonce", ErrOIDC)
	case id.Subject == "" && c.SID == "":
		return nil, fmt.Errorf("%w: logout token names neither sub nor sid", ErrOIDC)
	case c.JTI == "":
		return nil, fmt.Errorf("%w: logout token has no jti", ErrOIDC)
	case c.IAT == nil:
		return nil, fmt.Errorf("%w: logout token has no iat", ErrOIDC)
	case now.Sub(id.IssuedAt) > MaxLogoutAge || id.IssuedAt.Sub(now) > logoutSkew:
		return nil, fmt.Errorf("%w: logout token issued at %v, not lately", ErrOIDC, id.IssuedAt)
	case !id.Expiry.IsZero() && !now.Before(id.Expiry.Add(logoutSkew)):
		return nil, fmt.Errorf("%w: logout token expired at %v", ErrOIDC, id.Expiry)
	}
	return &Logout{Issuer: id.Issuer, Subject: id.Subject, SID: c.SID, JTI: c.JTI, Issued: id.IssuedAt}, nil
}
