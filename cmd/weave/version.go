package main

import (
	"slices"
	"strings"

	"github.com/weftos/weftos/internal/layers"
	"github.com/weftos/weftos/internal/localhttp"
)

// versionLine is what weave --version prints after the name: the version
// and, for a binary built with layers compiled out, which
// (docs/PLATFORMS.md, "Build tags").
func versionLine() string {
	missing := layers.Missing()
	if len(missing) == 0 {
		return version
	}
	// One tag may compile out several layers (nollm takes the channels
	// and MCP with it): each tag once.
	var tags []string
	for _, l := range missing {
		if tag := layers.OffBy(l); !slices.Contains(tags, tag) {
			tags = append(tags, tag)
		}
	}
	if localhttp.Impl != "net/http" {
		tags = append(tags, "nonethttp") // the local API on internal/minihttp
	}
	return version + " (without " + strings.Join(missing, ", ") + ": -tags " + strings.Join(tags, ",") + ")"
}
