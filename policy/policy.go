// Package policy compiles and evaluates the CEL expressions of racgate's config: policies,
// which say whether a user may open an endpoint, and expression property mappings, which
// compute connection settings. An expression sees three variables:
//
//	user     username, email, name, uid (strings), groups (list of strings),
//	         attributes (map of strings)
//	request  ip, user_agent (strings), time (timestamp)
//	endpoint name, protocol, host (strings)
//
// Expressions are type-checked when the config loads, so a misspelt field or a policy
// that is not a bool is a config error with its file and line. Evaluation is bounded in
// cost, and its errors are returned, never panics.
//
// It imports cel-go and no racgate package.
package policy

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"sync"
	"time"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/common/types/ref"
	"cel.dev/cel-go/ext"
)

// User is who asks, as an expression sees them.
type User struct {
	Username   string            `cel:"username"`
	Email      string            `cel:"email"`
	Name       string            `cel:"name"`
	UID        string            `cel:"uid"`
	Groups     []string          `cel:"groups"`
	Attributes map[string]string `cel:"attributes"`
}

// Request is the HTTP request that asks.
type Request struct {
	IP        string    `cel:"ip"`
	UserAgent string    `cel:"user_agent"`
	Time      time.Time `cel:"time"`
}

// Endpoint is what is asked for.
type Endpoint struct {
	Name     string `cel:"name"`
	Protocol string `cel:"protocol"`
	Host     string `cel:"host"`
}

// Input is what an expression is evaluated on.
type Input struct {
	User     User
	Request  Request
	Endpoint Endpoint
}

// Limits on expressions.
const (
	MaxSource = 4096 // bytes of an expression
	// maxCost bounds one evaluation (CEL's cost units, about one per operation and
	// element): enough for any sensible policy, far from a denial of service.
	maxCost = 100_000
)

// ErrEval is wrapped by every evaluation error.
var ErrEval = errors.New("policy: evaluation failed")

// Program is a compiled expression. It is safe for concurrent use.
type Program struct{ prg cel.Program }

// env is the CEL environment every expression compiles in. Building it is costly and it
// is immutable, so it is built once per process; it holds no state of racgate's.
var env = sync.OnceValues(func() (*cel.Env, error) {
	return cel.NewEnv(
		ext.NativeTypes(reflect.TypeFor[User](), reflect.TypeFor[Request](), reflect.TypeFor[Endpoint](), ext.ParseStructTags(true)),
		cel.Variable("user", cel.ObjectType("policy.User")),
		cel.Variable("request", cel.ObjectType("policy.Request")),
		cel.Variable("endpoint", cel.ObjectType("policy.Endpoint")),
		ext.Strings(),
	)
})

// CompilePolicy compiles a policy: an expression of type bool.
func CompilePolicy(src string) (*Program, error) {
	return compile(src, func(t *cel.Type) bool { return t.IsExactType(cel.BoolType) }, "a bool (true lets the user in)")
}

// CompileMapping compiles an expression property mapping: a map of setting names to
// strings, numbers or bools, e.g. {"username": user.username, "domain": "CORP"}.
func CompileMapping(src string) (*Program, error) {
	return compile(src, func(t *cel.Type) bool {
		return t.Kind() == types.MapKind && len(t.Parameters()) == 2 &&
			(t.Parameters()[0].IsExactType(cel.StringType) || t.Parameters()[0].IsExactType(cel.DynType))
	}, `a map of settings such as {"username": user.username}`)
}

func compile(src string, ok func(*cel.Type) bool, want string) (*Program, error) {
	if len(src) > MaxSource {
		return nil, fmt.Errorf("expression of %d bytes (at most %d)", len(src), MaxSource)
	}
	e, err := env()
	if err != nil {
		return nil, err
	}
	ast, iss := e.Compile(src)
	if iss.Err() != nil {
		return nil, iss.Err()
	}
	if t := ast.OutputType(); !ok(t) && !t.IsExactType(cel.DynType) {
		return nil, fmt.Errorf("the expression gives %s; want %s", t, want)
	}
	prg, err := e.Program(ast, cel.CostLimit(maxCost), cel.InterruptCheckFrequency(100))
	if err != nil {
		return nil, err
	}
	return &Program{prg: prg}, nil
}

func (p *Program) eval(ctx context.Context, in Input) (ref.Val, error) {
	out, _, err := p.prg.ContextEval(ctx, map[string]any{"user": in.User, "request": in.Request, "endpoint": in.Endpoint})
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrEval, err)
	}
	return out, nil
}

// Allow evaluates a policy.
func (p *Program) Allow(ctx context.Context, in Input) (bool, error) {
	out, err := p.eval(ctx, in)
	if err != nil {
		return false, err
	}
	b, ok := out.Value().(bool)
	if !ok {
		return false, fmt.Errorf("%w: gave %s, not a bool", ErrEval, out.Type().TypeName())
	}
	return b, nil
}

// Settings evaluates a property mapping. Numbers and bools become their decimal and
// true/false text, as settings are written in the config file.
func (p *Program) Settings(ctx context.Context, in Input) (map[string]string, error) {
	out, err := p.eval(ctx, in)
	if err != nil {
		return nil, err
	}
	native, err := out.ConvertToNative(reflect.TypeFor[map[string]any]())
	if err != nil {
		return nil, fmt.Errorf("%w: gave %s, not a map of settings", ErrEval, out.Type().TypeName())
	}
	set := map[string]string{}
	for k, v := range native.(map[string]any) {
		switch v := v.(type) {
		case string:
			set[k] = v
		case bool:
			set[k] = strconv.FormatBool(v)
		case int64:
			set[k] = strconv.FormatInt(v, 10)
		case uint64:
			set[k] = strconv.FormatUint(v, 10)
		default:
			return nil, fmt.Errorf("%w: setting %q is a %T, not text, a number or a bool", ErrEval, k, v)
		}
	}
	return set, nil
}
