package main

import (
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
	tags := make([]string, len(missing))
	for i, l := range missing {
		tags[i] = layers.Tag(l)
	}
	if localhttp.Impl != "net/http" {
		tags = append(tags, "nonethttp") // the local API on internal/minihttp
	}
	return version + " (without " + strings.Join(missing, ", ") + ": -tags " + strings.Join(tags, ",") + ")"
}
