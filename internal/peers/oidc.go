package peers

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/zitadel/oidc/v3/example/server/exampleop"
	"github.com/zitadel/oidc/v3/example/server/storage"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
)

// The OpenID provider tests sign in at: zitadel's example OP (github.com/zitadel/oidc
// v3), a full implementation (discovery, PKCE, signed ID tokens, userinfo, rotating
// refresh tokens, end_session), with racgate registered as a web client.
const (
	OIDCClientID     = "racgate"
	OIDCClientSecret = "racgate-client-secret"
	// The example's user: name and password at its login form, and subject.
	OIDCUser     = "test-user2"
	OIDCPassword = "verysecure"
	OIDCSubject  = "id2"
)

// OIDC is a running provider. Its storage is the example's, with what racgate's tests
// need besides: userinfo that names the user's groups (admins, staff), a session ID
// (sid) the test chooses for the next sign-in, a signing key the test holds (to sign
// back-channel logout tokens, which the example does not send), and a count of
// refreshes.
type OIDC struct {
	*storage.Storage
	Issuer    string
	Key       *rsa.PrivateKey // signs its tokens
	sid       atomic.Pointer[string]
	refreshes atomic.Int32
}

// StartOIDC runs the provider on loopback with racgate's callback at redirect, until the
// test ends.
func StartOIDC(t testing.TB, redirect string) *OIDC {
	t.Helper()
	ps := httptest.NewServer(nil)
	t.Cleanup(ps.Close)
	storage.RegisterClients(storage.WebClient(OIDCClientID, OIDCClientSecret, redirect))
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	o := &OIDC{Storage: storage.NewStorage(storage.NewUserStore(ps.URL)), Issuer: ps.URL, Key: key}
	ps.Config.Handler = exampleop.SetupServer(ps.URL, o, nil, false, op.WithAllowInsecure())
	return o
}

// SetSID makes the next sign-ins' ID tokens carry sid.
func (o *OIDC) SetSID(sid string) { o.sid.Store(&sid) }

// Refreshes counts refresh-token grants so far.
func (o *OIDC) Refreshes() int { return int(o.refreshes.Load()) }

// EndSessions ends the user's sessions with racgate at the provider: their refresh
// tokens stop working.
func (o *OIDC) EndSessions(subject string) error {
	return o.TerminateSession(context.Background(), subject, OIDCClientID)
}

const oidcKeyID = "racgate-test-key"

type signingKey struct{ k *rsa.PrivateKey }

func (k signingKey) SignatureAlgorithm() jose.SignatureAlgorithm { return jose.RS256 }
func (k signingKey) Key() any                                    { return k.k }
func (k signingKey) ID() string                                  { return oidcKeyID }

type publicKey struct{ k *rsa.PrivateKey }

func (k publicKey) ID() string                         { return oidcKeyID }
func (k publicKey) Algorithm() jose.SignatureAlgorithm { return jose.RS256 }
func (k publicKey) Use() string                        { return "sig" }
func (k publicKey) Key() any                           { return &k.k.PublicKey }

// SigningKey, KeySet and SignatureAlgorithms put o.Key in place of the example's key.
func (o *OIDC) SigningKey(context.Context) (op.SigningKey, error) { return signingKey{o.Key}, nil }
func (o *OIDC) KeySet(context.Context) ([]op.Key, error)          { return []op.Key{publicKey{o.Key}}, nil }
func (o *OIDC) SignatureAlgorithms(context.Context) ([]jose.SignatureAlgorithm, error) {
	return []jose.SignatureAlgorithm{jose.RS256}, nil
}

// SetUserinfoFromToken is the userinfo endpoint's answer: the user's groups too.
func (o *OIDC) SetUserinfoFromToken(ctx context.Context, ui *oidc.UserInfo, tokenID, subject, origin string) error {
	if err := o.Storage.SetUserinfoFromToken(ctx, ui, tokenID, subject, origin); err != nil {
		return err
	}
	ui.AppendClaims("groups", []string{"admins", "staff"})
	return nil
}

// SetUserinfoFromScopes fills the ID token's claims: sid goes there.
func (o *OIDC) SetUserinfoFromScopes(ctx context.Context, ui *oidc.UserInfo, userID, clientID string, scopes []string) error {
	if err := o.Storage.SetUserinfoFromScopes(ctx, ui, userID, clientID, scopes); err != nil {
		return err
	}
	if sid := o.sid.Load(); sid != nil {
		ui.AppendClaims("sid", *sid)
	}
	return nil
}

// CreateAccessAndRefreshTokens counts refreshes.
func (o *OIDC) CreateAccessAndRefreshTokens(ctx context.Context, req op.TokenRequest, current string) (string, string, time.Time, error) {
	if current != "" {
		o.refreshes.Add(1)
	}
	return o.Storage.CreateAccessAndRefreshTokens(ctx, req, current)
}

// LogoutToken signs a back-channel logout token (Back-Channel Logout 1.0 §2.4) for
// racgate about the user, with key (o.Key, or another to test a forgery); set changes
// its claims (a nil value removes one).
func (o *OIDC) LogoutToken(t testing.TB, key *rsa.PrivateKey, set map[string]any) string {
	t.Helper()
	claims := map[string]any{
		"iss": o.Issuer, "aud": OIDCClientID, "iat": time.Now().Unix(), "exp": time.Now().Add(2 * time.Minute).Unix(),
		"jti": rand.Text(), "events": map[string]any{"http://schemas.openid.net/event/backchannel-logout": map[string]any{}},
		"sub": OIDCSubject,
	}
	for k, v := range set {
		if v == nil {
			delete(claims, k)
		} else {
			claims[k] = v
		}
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	sig, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: key, KeyID: oidcKeyID}},
		(&jose.SignerOptions{}).WithType("logout+jwt"))
	if err != nil {
		t.Fatal(err)
	}
	jws, err := sig.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := jws.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return raw
}
