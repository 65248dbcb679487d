package cmdline

import (
	"errors"
	"flag"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

var errNegative = errors.New("must not be negative")

// Count defines an int flag for a count or a size: a negative value is a
// usage error when the flags are parsed.
func Count(fs *flag.FlagSet, name string, value int, usage string) *int {
	p := new(int)
	*p = value
	fs.Var((*countValue)(p), name, usage)
	return p
}

type countValue int

func (c *countValue) Set(s string) error {
	v, err := strconv.ParseInt(s, 0, strconv.IntSize)
	switch {
	case err != nil:
		return errors.New("not an integer")
	case v < 0:
		return errNegative
	}
	*c = countValue(v)
	return nil
}

func (c *countValue) String() string { return strconv.Itoa(int(*c)) }
func (c *countValue) Get() any       { return int(*c) }
func (c *countValue) Type() string   { return "int" }

// Imported are flags declared by ImportFlags.
type Imported struct {
	fs    *flag.FlagSet
	names map[string]bool
}

// ImportFlags declares on fs the flags that defaults describes: the text
// another flag set's PrintDefaults wrote (a "Usage of …:" line is
// skipped). It lets a command that hands its arguments on to code with a
// flag set of its own, out of reach, check them first — one usage error
// instead of that code's usage dump — and list and complete them like its
// own flags. Values are checked by the type PrintDefaults names (int,
// uint, float, duration; a boolean when it names none; anything else is
// taken as text); with counts, an int must not be negative.
func ImportFlags(fs *flag.FlagSet, defaults string, counts bool) (*Imported, error) {
	type spec struct{ name, typ, usage string }
	var specs []*spec
	var cur *spec
	for _, line := range strings.Split(defaults, "\n") {
		switch {
		case strings.HasPrefix(line, "  -"):
			head := line[len("  -"):]
			if name, usage, ok := strings.Cut(head, "\t"); ok {
				cur = &spec{name: name, usage: usage}
			} else {
				name, typ, _ := strings.Cut(head, " ")
				cur = &spec{name: name, typ: typ}
			}
			specs = append(specs, cur)
		case strings.HasPrefix(line, "    \t") && cur != nil:
			if cur.usage != "" {
				cur.usage += "\n"
			}
			cur.usage += line[len("    \t"):]
		case line == "" || (cur == nil && strings.HasPrefix(line, "Usage")):
		default:
			return nil, fmt.Errorf("cmdline: importing flags: unexpected line %q", line)
		}
	}
	if len(specs) == 0 {
		return nil, errors.New("cmdline: importing flags: none found")
	}
	im := &Imported{fs: fs, names: map[string]bool{}}
	for _, s := range specs {
		if !validName.MatchString(s.name) || fs.Lookup(s.name) != nil {
			return nil, fmt.Errorf("cmdline: importing flags: bad or duplicate flag %q", s.name)
		}
		v := &importedValue{typ: s.typ, counts: counts}
		usage := s.usage
		if m := defaultSuffix.FindStringSubmatch(usage); m != nil {
			usage, v.value = m[1], m[2]
			if s.typ == "string" {
				if u, err := strconv.Unquote(v.value); err == nil {
					v.value = u
				}
			}
		}
		fs.Var(v, s.name, usage)
		im.names[s.name] = true
	}
	return im, nil
}

var defaultSuffix = regexp.MustCompile(`(?s)^(.*) \(default (.*)\)$`)

// Args returns the imported flags given on the command line as -name=value
// arguments, in name order, to hand on.
func (im *Imported) Args() []string {
	var out []string
	im.fs.Visit(func(f *flag.Flag) {
		if im.names[f.Name] {
			out = append(out, "-"+f.Name+"="+f.Value.String())
		}
	})
	return out
}

// importedValue checks a value by the type PrintDefaults named and keeps
// its text.
type importedValue struct {
	typ    string
	value  string
	counts bool
}

func (v *importedValue) String() string   { return v.value }
func (v *importedValue) Type() string     { return v.typ }
func (v *importedValue) IsBoolFlag() bool { return v.typ == "" }

// Get returns the text for a string flag (so help quotes its default).
func (v *importedValue) Get() any {
	if v.typ == "string" {
		return v.value
	}
	return nil
}

func (v *importedValue) Set(s string) error {
	var err error
	switch v.typ {
	case "":
		_, err = strconv.ParseBool(s)
	case "int":
		var n int64
		if n, err = strconv.ParseInt(s, 0, 64); err == nil && n < 0 && v.counts {
			return errNegative
		}
	case "uint":
		_, err = strconv.ParseUint(s, 0, 64)
	case "float":
		_, err = strconv.ParseFloat(s, 64)
	case "duration":
		_, err = time.ParseDuration(s)
	}
	if err != nil {
		if v.typ == "" {
			return errors.New("not a boolean")
		}
		return fmt.Errorf("not a %s", v.typ)
	}
	v.value = s
	return nil
}
