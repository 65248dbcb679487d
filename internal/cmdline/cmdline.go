// Package cmdline holds what the weave and weft commands share: a command
// table (Program, Command) from which dispatch, help, did-you-mean
// suggestions and shell completion scripts all derive; flag parsing that
// allows flags among positional arguments; usage errors (exit code 2)
// reported as one line and a hint; the default home directory; terminal
// detection for progress bars; and JSON and table output.
package cmdline

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
)

// Exit codes shared by the commands.
const (
	ExitOK    = 0
	ExitError = 1
	ExitUsage = 2
)

// UsageError marks a bad command line (exit code 2).
type UsageError struct {
	Msg string
	// Hint is an optional second line, e.g. "run 'weave chain verify
	// --help' for usage"; Program.Run sets it for the command that failed.
	Hint string
	// inline: Msg ends with its own hint (unknown commands).
	inline bool
}

func (e *UsageError) Error() string { return e.Msg }

// Usagef returns a *UsageError.
func Usagef(format string, args ...any) error {
	return &UsageError{Msg: fmt.Sprintf(format, args...)}
}

// DefaultHome is $WEFTOS_HOME, else ~/.weftos.
func DefaultHome() string {
	if h := os.Getenv("WEFTOS_HOME"); h != "" {
		return h
	}
	if u, err := os.UserHomeDir(); err == nil {
		return filepath.Join(u, ".weftos")
	}
	return ".weftos"
}

// Parse parses args allowing flags anywhere among the positional
// arguments ("--" ends flags) and checks the number of positionals
// (maxArgs < 0: no maximum). It reports problems only through its error —
// it silences the flag set's own printing, so a bad flag is reported once
// — and returns flag.ErrHelp for -h or --help.
func Parse(fs *flag.FlagSet, args []string, minArgs, maxArgs int) ([]string, error) {
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, &UsageError{Msg: prefixed(fs.Name(), err.Error())}
		}
		rest := fs.Args()
		if len(rest) == 0 {
			break
		}
		if i := len(args) - len(rest); i > 0 && args[i-1] == "--" {
			pos = append(pos, rest...)
			break
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
	if len(pos) < minArgs || (maxArgs >= 0 && len(pos) > maxArgs) {
		return nil, &UsageError{Msg: prefixed(fs.Name(), "wrong number of arguments")}
	}
	return pos, nil
}

func prefixed(name, msg string) string {
	if name == "" {
		return msg
	}
	return name + ": " + msg
}

// Report prints err as one line on stderr — a usage error with its hint
// on a second line — and returns the exit code.
func Report(stderr io.Writer, prog string, err error) int {
	if err == nil || errors.Is(err, flag.ErrHelp) {
		return ExitOK
	}
	var ue *UsageError
	if errors.As(err, &ue) {
		fmt.Fprintln(stderr, prog+":", OneLine(ue.Msg))
		if ue.Hint != "" {
			fmt.Fprintln(stderr, ue.Hint)
		}
		return ExitUsage
	}
	var ce interface{ ExitCode() int }
	code := ExitError
	if errors.As(err, &ce) {
		code = ce.ExitCode()
	}
	fmt.Fprintln(stderr, prog+":", OneLine(err.Error()))
	return code
}

// OneLine folds a multi-line message onto one line.
func OneLine(s string) string {
	return strings.Join(strings.Fields(strings.ReplaceAll(s, "\n", "; ")), " ")
}

// PrintJSON writes v as indented JSON.
func PrintJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// Reply writes a command's result: v as indented JSON when asJSON (the
// --json flag), else the line format describes.
func Reply(w io.Writer, asJSON bool, v any, format string, args ...any) error {
	if asJSON {
		return PrintJSON(w, v)
	}
	_, err := fmt.Fprintf(w, format, args...)
	return err
}

// Table writes rows under a header, aligned.
func Table(w io.Writer, header []string, rows [][]string) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(header, "\t"))
	for _, r := range rows {
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	return tw.Flush()
}
