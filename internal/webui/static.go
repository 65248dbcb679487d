package webui

import (
	"embed"
	"io/fs"
	"net/http"
)

// assets are the UI's files: index.html, a stylesheet and plain
// JavaScript modules, served as they are (no build step).
//
//go:embed assets
var assets embed.FS

// Assets is the UI's file tree (index.html at its root).
func Assets() fs.FS {
	sub, err := fs.Sub(assets, "assets")
	if err != nil {
		panic(err) // the embedded tree always has assets/
	}
	return sub
}

// staticHandler serves the assets; "/" is index.html.
func staticHandler() http.Handler {
	files := http.FileServerFS(Assets())
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-cache")
		files.ServeHTTP(w, r)
	})
}
