package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/racgate/racgate/gateway"
)

// connections is `racgate connections list|kill ID`: it talks to a running racgate's
// admin API (any instance: the list and the kill reach every instance through the
// store), with the token from admin-token-file.
func connections(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("connections", "racgate connections [-config FILE | -url URL -token-file FILE] list | kill ID", stdout, stderr)
	cfgPath := fs.String("config", "", "config file: the API URL (public-url or listen) and admin-token-file come from it")
	base := fs.String("url", "", "racgate's URL, e.g. http://127.0.0.1:8080 (overrides -config)")
	tokenFile := fs.String("token-file", "", "file holding the admin token (overrides -config; or set RACGATE_ADMIN_TOKEN)")
	asJSON := fs.Bool("json", false, "list: print the API's JSON")
	if rc, ok := fs.parse(args); !ok {
		return rc
	}
	cmd := fs.Arg(0)
	if (cmd != "list" || fs.NArg() != 1) && (cmd != "kill" || fs.NArg() != 2) {
		return fs.fail("")
	}
	u, token, err := adminTarget(*cfgPath, *base, *tokenFile)
	if err != nil {
		fmt.Fprintln(stderr, "racgate:", err)
		return 2
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if cmd == "kill" {
		id := fs.Arg(1)
		status, body, err := adminCall(ctx, http.MethodDelete, u+"/api/connections/"+url.PathEscape(id), token)
		if err != nil {
			fmt.Fprintln(stderr, "racgate:", err)
			return 1
		}
		if status != http.StatusNoContent {
			fmt.Fprintf(stderr, "racgate: kill %s: %d %s\n", id, status, strings.TrimSpace(string(body)))
			return 1
		}
		fmt.Fprintln(stdout, "ended", id)
		return 0
	}
	status, body, err := adminCall(ctx, http.MethodGet, u+"/api/connections", token)
	if err == nil && status != http.StatusOK {
		err = fmt.Errorf("list: %d %s", status, strings.TrimSpace(string(body)))
	}
	if err != nil {
		fmt.Fprintln(stderr, "racgate:", err)
		return 1
	}
	if *asJSON {
		stdout.Write(body)
		return 0
	}
	var list gateway.ConnectionList
	if err := json.Unmarshal(body, &list); err != nil {
		fmt.Fprintln(stderr, "racgate: list: bad answer:", err)
		return 1
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "INSTANCE\tCONNECTIONS\tPUBLIC URL\tLAST SEEN")
	for _, in := range list.Instances {
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\n", in.ID, in.Conns, in.PublicURL, in.Seen.Format(time.RFC3339))
	}
	fmt.Fprintln(tw)
	fmt.Fprintln(tw, "ID\tUSER\tENDPOINT\tINSTANCE\tSTARTED\tREMOTE")
	for _, c := range list.Connections {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", c.ID, c.User, c.Endpoint, c.Instance, c.Started.Format(time.RFC3339), c.Remote)
	}
	tw.Flush()
	return 0
}

// adminTarget finds the API's base URL and the token.
func adminTarget(cfgPath, base, tokenFile string) (string, string, error) {
	var token string
	if cfgPath != "" {
		cfg, err := gateway.LoadConfig(cfgPath)
		if err != nil {
			return "", "", err
		}
		if base == "" {
			if cfg.PublicURL != nil {
				base = cfg.PublicURL.String()
			} else {
				host, port, _ := net.SplitHostPort(cfg.Listen)
				if host == "" || host == "0.0.0.0" || host == "::" {
					host = "127.0.0.1"
				}
				base = "http://" + net.JoinHostPort(host, port)
			}
		}
		token = string(cfg.AdminToken)
	}
	if tokenFile != "" {
		b, err := os.ReadFile(tokenFile)
		if err != nil {
			return "", "", err
		}
		token = string(bytes.TrimSpace(b))
	}
	if token == "" {
		token = os.Getenv("RACGATE_ADMIN_TOKEN")
	}
	if base == "" {
		return "", "", fmt.Errorf("give -config FILE or -url URL")
	}
	if token == "" {
		return "", "", fmt.Errorf("no admin token: set admin-token-file in the config, or give -token-file or RACGATE_ADMIN_TOKEN")
	}
	return strings.TrimRight(base, "/"), token, nil
}

// maxAnswer bounds what we read from the API.
const maxAnswer = 16 << 20

func adminCall(ctx context.Context, method, u, token string) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, u, nil)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	return resp.StatusCode, body, err
}
