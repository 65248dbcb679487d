package governance

import (
	"bytes"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"

	toml "github.com/pelletier/go-toml/v2"
	"github.com/pelletier/go-toml/v2/unstable"
)

// ErrInvalidConstitution is matched (errors.Is) by every *ParseError.
var ErrInvalidConstitution = errors.New("governance: invalid constitution")

// Level is the level of a Problem.
type Level string

// Problem levels: errors make a constitution invalid; warnings are reported
// but do not prevent its use.
const (
	LevelError   Level = "error"
	LevelWarning Level = "warning"
)

// Problem is one finding of parsing or validation, located by file, line and
// field path (for example "rule[2].when.min_risk").
type Problem struct {
	Level   Level  `json:"level"`
	File    string `json:"file"`
	Line    int    `json:"line,omitempty"`
	Field   string `json:"field,omitempty"`
	Rule    string `json:"rule,omitempty"`
	Message string `json:"message"`
}

// String formats the problem as "file:line: field: message" (the line and
// the field are left out when unknown); warnings are prefixed "warning: ".
func (p Problem) String() string {
	var b strings.Builder
	b.WriteString(p.File)
	if p.Line > 0 {
		b.WriteByte(':')
		b.WriteString(strconv.Itoa(p.Line))
	}
	b.WriteString(": ")
	if p.Level == LevelWarning {
		b.WriteString("warning: ")
	}
	if p.Field != "" {
		b.WriteString(p.Field)
		b.WriteString(": ")
	}
	b.WriteString(p.Message)
	return b.String()
}

// ParseError lists every error-level problem that made a constitution (or a
// rule) invalid.
type ParseError struct {
	Problems []Problem
}

func (e *ParseError) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}

// Is makes errors.Is(err, ErrInvalidConstitution) true.
func (e *ParseError) Is(target error) bool { return target == ErrInvalidConstitution }

// MaxConstitutionSize bounds the input accepted by Parse and ParseRule.
const MaxConstitutionSize = 8 << 20

// Parse parses and validates a constitution.toml document. filename is used
// only in problem locations. On failure the error is a *ParseError listing
// every error found (unknown fields, invalid values, duplicate ids,
// contradictory rules …), each with file, line and field. Warnings of a
// valid constitution are available from Constitution.Warnings.
func Parse(filename string, data []byte) (*Constitution, error) {
	c, probs := parseAll(filename, data)
	if err := errorsOnly(probs); err != nil {
		return nil, err
	}
	return c, nil
}

// Validate parses data like Parse and returns every problem found, errors
// and warnings alike. An empty result means the constitution is valid and
// clean.
func Validate(filename string, data []byte) []Problem {
	_, probs := parseAll(filename, data)
	return probs
}

func parseAll(filename string, data []byte) (*Constitution, []Problem) {
	doc, lines, probs := decodeDoc(filename, data)
	if doc == nil {
		return nil, probs
	}
	c := &Constitution{file: filename, Environments: DefaultEnvironments()}
	if doc.Format != nil && *doc.Format != 1 {
		probs = append(probs, lines.problem(LevelError, "format", "", fmt.Sprintf("unsupported format %d (want 1)", *doc.Format)))
	}
	c.Name = doc.Name
	if doc.Revision != nil {
		if *doc.Revision < 0 {
			probs = append(probs, lines.problem(LevelError, "revision", "", "must not be negative"))
		} else {
			c.Revision = uint64(*doc.Revision)
		}
	}
	if e := doc.Environments; e != nil {
		for _, f := range []struct {
			src *float64
			dst *float64
		}{{e.Dev, &c.Environments.Dev}, {e.Staging, &c.Environments.Staging}, {e.Prod, &c.Environments.Prod}} {
			if f.src != nil {
				*f.dst = *f.src
			}
		}
	}
	for i := range doc.Rule {
		r, ps := doc.Rule[i].toRule(lines, i)
		probs = append(probs, ps...)
		c.Rules = append(c.Rules, r)
	}
	probs = append(probs, c.finish(lines)...)
	if hasErrors(probs) {
		return nil, probs
	}
	return c, probs
}

// ParseRule parses a document holding exactly one [[rule]] table and nothing
// else (the form of amendment files and of Rule.Canonical) and validates the
// rule on its own. Cross-rule checks (duplicates, contradictions) happen when
// the rule is applied to a constitution.
func ParseRule(filename string, data []byte) (Rule, error) {
	doc, lines, probs := decodeDoc(filename, data)
	if doc == nil {
		return Rule{}, errorsOnly(probs)
	}
	for _, top := range []struct {
		set  bool
		name string
	}{{doc.Format != nil, "format"}, {doc.Name != "", "name"}, {doc.Revision != nil, "revision"}, {doc.Environments != nil, "environments"}} {
		if top.set {
			probs = append(probs, lines.problem(LevelError, top.name, "", "not allowed in a rule document (it holds one [[rule]] only)"))
		}
	}
	if len(doc.Rule) != 1 {
		probs = append(probs, Problem{Level: LevelError, File: filename, Field: "rule", Message: fmt.Sprintf("want exactly one [[rule]], found %d", len(doc.Rule))})
		return Rule{}, errorsOnly(probs)
	}
	r, ps := doc.Rule[0].toRule(lines, 0)
	probs = append(probs, ps...)
	c := &Constitution{file: filename, Environments: DefaultEnvironments(), Rules: []Rule{r}}
	probs = append(probs, c.finish(lines)...)
	if err := errorsOnly(probs); err != nil {
		return Rule{}, err
	}
	return c.Rules[0], nil
}

type docFile struct {
	Format       *int64    `toml:"format"`
	Name         string    `toml:"name"`
	Revision     *int64    `toml:"revision"`
	Environments *docEnvs  `toml:"environments"`
	Rule         []docRule `toml:"rule"`
}

type docEnvs struct {
	Dev     *float64 `toml:"dev"`
	Staging *float64 `toml:"staging"`
	Prod    *float64 `toml:"prod"`
}

type docRule struct {
	ID          string   `toml:"id"`
	Description string   `toml:"description"`
	Branch      string   `toml:"branch"`
	Severity    string   `toml:"severity"`
	Outcome     string   `toml:"outcome"`
	Sanctions   []string `toml:"sanctions"`
	When        docWhen  `toml:"when"`
}

type docWhen struct {
	Actions             []string            `toml:"actions"`
	Processes           []string            `toml:"processes"`
	Agents              []string            `toml:"agents"`
	Apps                []string            `toml:"apps"`
	Capabilities        []string            `toml:"capabilities"`
	WithoutCapabilities []string            `toml:"without_capabilities"`
	Envs                []string            `toml:"envs"`
	Paths               []string            `toml:"paths"`
	Hosts               []string            `toml:"hosts"`
	Tools               []string            `toml:"tools"`
	Models              []string            `toml:"models"`
	Context             map[string][]string `toml:"context"`
	MinRisk             *float64            `toml:"min_risk"`
	MinFairness         *float64            `toml:"min_fairness"`
	MinPrivacy          *float64            `toml:"min_privacy"`
	MinNovelty          *float64            `toml:"min_novelty"`
	MinSecurity         *float64            `toml:"min_security"`
	MinMagnitude        *float64            `toml:"min_magnitude"`
	OverEnvThreshold    bool                `toml:"over_env_threshold"`
	MinAgentRisk        *float64            `toml:"min_agent_risk"`
}

func (d *docRule) toRule(lines lineIndex, i int) (Rule, []Problem) {
	r := Rule{
		ID:          d.ID,
		Description: d.Description,
		Branch:      Branch(d.Branch),
		Severity:    Severity(d.Severity),
		Outcome:     RuleOutcome(d.Outcome),
		Line:        lines.line(rulePath(i)),
	}
	var probs []Problem
	for j, s := range d.Sanctions {
		sn, err := ParseSanction(s)
		if err != nil {
			f := fmt.Sprintf("%s.sanctions[%d]", rulePath(i), j)
			probs = append(probs, lines.problem(LevelError, f, d.ID, err.Error()))
			continue
		}
		r.Sanctions = append(r.Sanctions, sn)
	}
	w := &d.When
	r.When = Conditions{
		Actions: w.Actions, Processes: w.Processes, Agents: w.Agents, Apps: w.Apps,
		Capabilities: w.Capabilities, WithoutCapabilities: w.WithoutCapabilities,
		Envs: w.Envs, Paths: w.Paths, Hosts: w.Hosts, Tools: w.Tools, Models: w.Models,
		Context: w.Context,
		MinRisk: w.MinRisk, MinFairness: w.MinFairness, MinPrivacy: w.MinPrivacy,
		MinNovelty: w.MinNovelty, MinSecurity: w.MinSecurity, MinMagnitude: w.MinMagnitude,
		OverEnvThreshold: w.OverEnvThreshold, MinAgentRisk: w.MinAgentRisk,
	}
	return r, probs
}

func rulePath(i int) string { return "rule[" + strconv.Itoa(i) + "]" }

// decodeDoc decodes data strictly into a docFile, converting decoder errors
// into located problems, and builds the line index.
func decodeDoc(filename string, data []byte) (*docFile, lineIndex, []Problem) {
	if len(data) > MaxConstitutionSize {
		return nil, lineIndex{}, []Problem{{Level: LevelError, File: filename,
			Message: fmt.Sprintf("document is %d bytes, more than the limit of %d", len(data), MaxConstitutionSize)}}
	}
	lines := buildLineIndex(filename, data)
	var doc docFile
	dec := toml.NewDecoder(bytes.NewReader(data)).DisallowUnknownFields()
	err := dec.Decode(&doc)
	if err == nil {
		return &doc, lines, nil
	}
	var strict *toml.StrictMissingError
	var de *toml.DecodeError
	switch {
	case errors.As(err, &strict):
		probs := make([]Problem, 0, len(strict.Errors))
		for i := range strict.Errors {
			e := &strict.Errors[i]
			row, _ := e.Position()
			probs = append(probs, Problem{Level: LevelError, File: filename, Line: row,
				Field: lines.fieldAt(row, e.Key()), Message: "unknown field"})
		}
		// Strict mode reports unknown fields after decoding everything else:
		// keep the decoded document so semantic checks can run too.
		return &doc, lines, probs
	case errors.As(err, &de):
		row, _ := de.Position()
		msg := friendlyDecodeMessage(strings.TrimPrefix(de.Error(), "toml: "))
		if len(de.Key()) == 0 {
			msg = "syntax error: " + msg
		}
		return nil, lines, []Problem{{Level: LevelError, File: filename, Line: row,
			Field: lines.fieldAt(row, de.Key()), Message: msg}}
	}
	return nil, lines, []Problem{{Level: LevelError, File: filename,
		Message: strings.TrimPrefix(err.Error(), "toml: ")}}
}

var typeMismatch = regexp.MustCompile(`^cannot decode TOML (\S+) into .* of type (\S+)$`)

// friendlyDecodeMessage rewrites go-toml type errors, which name Go types,
// in terms of the constitution format.
func friendlyDecodeMessage(msg string) string {
	m := typeMismatch.FindStringSubmatch(msg)
	if m == nil {
		return msg
	}
	want := map[string]string{
		"string": "a string", "[]string": "an array of strings", "float64": "a number", "*float64": "a number",
		"bool": "a boolean", "*int64": "an integer", "int64": "an integer", "map[string][]string": "a table of string arrays",
	}[strings.TrimPrefix(m[2], "*")]
	if want == "" {
		want = "another type"
	}
	return fmt.Sprintf("wrong type: got %s, want %s", m[1], want)
}

// lineIndex maps field paths such as "rule[3].when.actions[1]" to the line
// where they are written.
type lineIndex struct {
	file   string
	m      map[string]int
	byLine map[int][]string
}

func (li lineIndex) line(path string) int { return li.m[path] }

// problem builds a problem located at path, falling back to the closest
// enclosing path that has a known line.
func (li lineIndex) problem(level Level, path, rule, msg string) Problem {
	p := Problem{Level: level, File: li.file, Field: path, Rule: rule, Message: msg}
	for q := path; q != ""; q = parentPath(q) {
		if l, ok := li.m[q]; ok {
			p.Line = l
			break
		}
	}
	return p
}

func parentPath(p string) string {
	i := strings.LastIndexAny(p, ".[")
	if i <= 0 {
		return ""
	}
	return p[:i]
}

// fieldAt names the field the decoder complained about: the indexed path
// written on that line whose un-indexed form is key, else the joined key.
func (li lineIndex) fieldAt(row int, key toml.Key) string {
	want := strings.Join(key, ".")
	for _, p := range li.byLine[row] {
		if stripIndexes(p) == want {
			return p
		}
	}
	if len(li.byLine[row]) == 1 && want == "" {
		return li.byLine[row][0]
	}
	return want
}

func stripIndexes(p string) string {
	var b strings.Builder
	depth := 0
	for i := 0; i < len(p); i++ {
		switch c := p[i]; {
		case c == '[':
			depth++
		case c == ']':
			depth--
		case depth == 0:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// buildLineIndex walks the TOML expressions with the go-toml unstable parser.
// It is best effort: on a syntax error it stops and the decoder reports the
// error with its own position.
func buildLineIndex(filename string, data []byte) lineIndex {
	li := lineIndex{file: filename, m: map[string]int{}, byLine: map[int][]string{}}
	starts := []int{0}
	for i, c := range data {
		if c == '\n' {
			starts = append(starts, i+1)
		}
	}
	lineOf := func(r unstable.Range) int {
		return sort.Search(len(starts), func(i int) bool { return starts[i] > int(r.Offset) })
	}
	add := func(path string, line int) {
		if _, ok := li.m[path]; !ok && line > 0 {
			li.m[path] = line
			li.byLine[line] = append(li.byLine[line], path)
		}
	}
	arrays := map[string]int{}
	resolve := func(it unstable.Iterator) (string, int) {
		path, line := "", 0
		for it.Next() {
			k := it.Node()
			if line == 0 {
				line = lineOf(k.Raw)
			}
			if path != "" {
				path += "."
			}
			path += string(k.Data)
			if n, ok := arrays[path]; ok && n > 0 {
				path += "[" + strconv.Itoa(n-1) + "]"
			}
		}
		return path, line
	}
	var walkValue func(path string, v *unstable.Node)
	walkKV := func(prefix string, kv *unstable.Node) {
		key, line := resolve(kv.Key())
		path := key
		if prefix != "" {
			path = prefix + "." + key
		}
		add(path, line)
		walkValue(path, kv.Value())
	}
	walkValue = func(path string, v *unstable.Node) {
		switch v.Kind {
		case unstable.Array:
			i := 0
			for it := v.Children(); it.Next(); {
				n := it.Node()
				if n.Kind == unstable.Comment {
					continue
				}
				ep := path + "[" + strconv.Itoa(i) + "]"
				if n.Raw.Length > 0 {
					add(ep, lineOf(n.Raw))
				}
				walkValue(ep, n)
				i++
			}
		case unstable.InlineTable:
			for it := v.Children(); it.Next(); {
				if n := it.Node(); n.Kind == unstable.KeyValue {
					walkKV(path, n)
				}
			}
		}
	}
	var p unstable.Parser
	p.Reset(data)
	prefix := ""
	for p.NextExpression() {
		e := p.Expression()
		switch e.Kind {
		case unstable.ArrayTable:
			base, line := resolve(e.Key())
			base = stripLastIndex(base)
			n := arrays[base]
			arrays[base] = n + 1
			prefix = base + "[" + strconv.Itoa(n) + "]"
			add(prefix, line)
		case unstable.Table:
			var line int
			prefix, line = resolve(e.Key())
			add(prefix, line)
		case unstable.KeyValue:
			walkKV(prefix, e)
		}
	}
	return li
}

// stripLastIndex turns "a[1].rule[0]" into "a[1].rule": resolve appends the
// current element index to array-table paths, which [[header]] must undo.
func stripLastIndex(p string) string {
	if strings.HasSuffix(p, "]") {
		if i := strings.LastIndexByte(p, '['); i > 0 {
			return p[:i]
		}
	}
	return p
}
