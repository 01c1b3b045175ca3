// Package webclient holds the built browser client (npm run build → dist/) for the
// gateway to serve: client.html, client.js, client.css and their source map.
package webclient

import (
	"embed"
	"io/fs"
)

// dist is embedded with all: so that the placeholder .gitkeep keeps the pattern
// valid before the client is built.
//
//go:embed all:dist
var dist embed.FS

// FS returns the contents of dist/ (client.html at its root). Before `make web` it
// holds no client.js; the gateway checks for that and says how to build it.
func FS() fs.FS {
	sub, err := fs.Sub(dist, "dist")
	if err != nil {
		// fs.Sub fails only for an invalid path, and "dist" is valid.
		panic(err)
	}
	return sub
}
