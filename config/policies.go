package config

import (
	"context"
	"fmt"
	"maps"
	"slices"

	"go.yaml.in/yaml/v3"

	"github.com/racgate/racgate/policy"
)

// Policy decides whether a user may open the endpoints it is bound to (a provider's
// policies bind it to all the provider's endpoints, an endpoint's to that one). A user
// must pass every policy bound to both.
type Policy struct {
	Name string
	// A user in one of Groups or named in Users passes; both empty: every user.
	Groups, Users []string
	// Expression must also be true (nil: none), over user, request and endpoint
	// (package policy).
	Expression *policy.Program
}

// Allow reports whether the policy lets in.
func (p *Policy) Allow(ctx context.Context, in policy.Input) (bool, error) {
	if len(p.Groups)+len(p.Users) > 0 && !slices.Contains(p.Users, in.User.Username) &&
		!slices.ContainsFunc(p.Groups, func(g string) bool { return slices.Contains(in.User.Groups, g) }) {
		return false, nil
	}
	if p.Expression == nil {
		return true, nil
	}
	return p.Expression.Allow(ctx, in)
}

// PoliciesFor returns the policies bound to ep: its provider's, then its own.
func (c *Config) PoliciesFor(ep *Endpoint) []*Policy {
	var out []*Policy
	if prov := c.provider(ep.Provider); prov != nil {
		for _, n := range prov.Policies {
			out = append(out, c.policy(n))
		}
	}
	for _, n := range ep.Policies {
		out = append(out, c.policy(n))
	}
	return slices.DeleteFunc(out, func(p *Policy) bool { return p == nil })
}

func (c *Config) policy(name string) *Policy {
	for _, p := range c.Policies {
		if p.Name == name {
			return p
		}
	}
	return nil
}

// MergeFor is Merge for one user's connection: property mappings with an expression
// add what it gives for in, at the mapping's place. An expression that fails, or
// gives a setting that is unknown or invalid, is an error.
func (c *Config) MergeFor(ctx context.Context, ep *Endpoint, conn Settings, in policy.Input) (Settings, error) {
	return c.merge(ep, conn, func(pm *PropertyMapping) (Settings, error) {
		if pm.Expression == nil {
			return pm.Settings, nil
		}
		set, err := pm.Expression.Settings(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("property mapping %q: %w", pm.Name, err)
		}
		for _, k := range slices.Sorted(maps.Keys(set)) {
			if err := checkMappedSetting(k, set[k]); err != nil {
				return nil, fmt.Errorf("property mapping %q: %w", pm.Name, err)
			}
		}
		return set, nil
	})
}

// policies reads the policies: list.
func (d *decoder) policies(k string, v *yaml.Node, c *Config, names map[string]int) {
	d.sequence(v, k, func(k string, v *yaml.Node) {
		p := &Policy{}
		d.mapping(v, k, map[string]fieldFunc{
			"name":   func(k string, v *yaml.Node) { d.name(k, v, &p.Name, names, "policy") },
			"groups": func(k string, v *yaml.Node) { d.strList(v, k, &p.Groups) },
			"users":  func(k string, v *yaml.Node) { d.strList(v, k, &p.Users) },
			"expression": func(k string, v *yaml.Node) {
				if s, ok := d.scalar(v, k); ok {
					prg, err := policy.CompilePolicy(s)
					if err != nil {
						d.errorf(v, k, "%v", err)
						return
					}
					p.Expression = prg
				}
			},
		})
		d.required(v, k, "name", p.Name)
		c.Policies = append(c.Policies, p)
	})
}

// mappingExpression reads a property mapping's expression.
func (d *decoder) mappingExpression(k string, v *yaml.Node) *policy.Program {
	s, ok := d.scalar(v, k)
	if !ok {
		return nil
	}
	prg, err := policy.CompileMapping(s)
	if err != nil {
		d.errorf(v, k, "%v", err)
		return nil
	}
	return prg
}
