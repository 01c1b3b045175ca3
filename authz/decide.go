package authz

import (
	"context"
	"fmt"

	"github.com/racgate/racgate/config"
	"github.com/racgate/racgate/policy"
)

// Denied says why a user may not open an endpoint: the endpoint's groups, or the policy
// that said no (by name only: its expression is the admin's business). Error() is for
// the user.
type Denied struct {
	Policy string // "" when the endpoint's groups: shut the user out
	Err    error  // the policy's evaluation error, if that is why
}

func (d *Denied) Error() string {
	switch {
	case d.Policy == "":
		return "That endpoint is not open to you."
	case d.Err != nil:
		return fmt.Sprintf("The policy %q could not decide, so the endpoint stays closed; tell your administrator.", d.Policy)
	}
	return fmt.Sprintf("The policy %q does not let you open this endpoint.", d.Policy)
}

func (d *Denied) Unwrap() error { return d.Err }

// Input is what policies and expression mappings see of u asking for ep with req.
func (u *User) Input(ep *config.Endpoint, req policy.Request) policy.Input {
	return policy.Input{
		User: policy.User{Username: u.Username, Email: u.Email, Name: u.Name, UID: u.UID,
			Groups: u.Groups, Attributes: u.Attributes},
		Request:  req,
		Endpoint: policy.Endpoint{Name: ep.Name, Protocol: ep.Protocol, Host: ep.Host},
	}
}

// MayOpen decides whether u may open ep: the endpoint's groups, then every policy bound
// to its provider and to it, in that order. nil: yes; else a *Denied.
func MayOpen(ctx context.Context, cfg *config.Config, u *User, ep *config.Endpoint, req policy.Request) error {
	if !u.Allowed(ep.Groups) {
		return &Denied{}
	}
	in := u.Input(ep, req)
	for _, p := range cfg.PoliciesFor(ep) {
		ok, err := p.Allow(ctx, in)
		if err != nil || !ok {
			return &Denied{Policy: p.Name, Err: err}
		}
	}
	return nil
}
