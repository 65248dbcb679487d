//go:build wasip1

// Command wordcount is the research app's WASM tool: it reads
// {"text": "..."} on stdin and writes {"words": N, "lines": N}.
//
// Build:
//
//	GOOS=wasip1 GOARCH=wasm go build -o tool.wasm .
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
)

func main() {
	var in struct {
		Text string `json:"text"`
	}
	if err := json.NewDecoder(os.Stdin).Decode(&in); err != nil {
		fmt.Fprintln(os.Stderr, "bad input:", err)
		os.Exit(1)
	}
	out := map[string]int{"words": len(strings.Fields(in.Text)), "lines": strings.Count(in.Text, "\n") + 1}
	if in.Text == "" {
		out["lines"] = 0
	}
	if err := json.NewEncoder(os.Stdout).Encode(out); err != nil {
		os.Exit(1)
	}
}
