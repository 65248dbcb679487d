package tools

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
)

// SchemaDialect is the JSON Schema dialect every tool schema declares.
const SchemaDialect = "https://json-schema.org/draft/2020-12/schema"

// Schema is the subset of JSON Schema (draft 2020-12) the built-in tools use:
// type object/string/integer/boolean/array, properties, required,
// additionalProperties false, string enums, integer minimum/maximum, string
// minLength/maxLength and array items/minItems/maxItems.
type Schema struct {
	Dialect              string             `json:"$schema,omitempty"`
	Type                 string             `json:"type"`
	Description          string             `json:"description,omitempty"`
	Properties           map[string]*Schema `json:"properties,omitempty"`
	Required             []string           `json:"required,omitempty"`
	AdditionalProperties *bool              `json:"additionalProperties,omitempty"`
	Enum                 []string           `json:"enum,omitempty"`
	Minimum              *int64             `json:"minimum,omitempty"`
	Maximum              *int64             `json:"maximum,omitempty"`
	MinLength            *int               `json:"minLength,omitempty"`
	MaxLength            *int               `json:"maxLength,omitempty"`
	Items                *Schema            `json:"items,omitempty"`
	MinItems             *int               `json:"minItems,omitempty"`
	MaxItems             *int               `json:"maxItems,omitempty"`
}

// ErrSchema is wrapped by every ParseSchema error.
var ErrSchema = errors.New("invalid tool schema")

const maxSchemaDepth = 16

// ParseSchema decodes and checks a schema in the supported subset. Unknown
// keywords, unsupported types and inconsistent bounds are errors, so a schema
// the validator would silently ignore parts of is refused.
func ParseSchema(raw []byte) (*Schema, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	var s Schema
	if err := dec.Decode(&s); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrSchema, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("%w: trailing data after the schema", ErrSchema)
	}
	if s.Type != "object" {
		return nil, fmt.Errorf("%w: the top-level type must be object, not %q", ErrSchema, s.Type)
	}
	if err := s.check("", 0); err != nil {
		return nil, err
	}
	return &s, nil
}

func (s *Schema) check(at string, depth int) error {
	if s == nil {
		return fmt.Errorf("%w: %s: null schema", ErrSchema, where(at))
	}
	if depth > maxSchemaDepth {
		return fmt.Errorf("%w: %s: nested too deeply", ErrSchema, where(at))
	}
	if depth > 0 && s.Dialect != "" {
		return fmt.Errorf("%w: %s: $schema only at the top level", ErrSchema, where(at))
	}
	bad := func(kw string) error {
		return fmt.Errorf("%w: %s: %s does not apply to type %q", ErrSchema, where(at), kw, s.Type)
	}
	neg := func(kw string, v *int) error {
		if v != nil && *v < 0 {
			return fmt.Errorf("%w: %s: %s is negative", ErrSchema, where(at), kw)
		}
		return nil
	}
	for _, e := range []error{neg("minLength", s.MinLength), neg("maxLength", s.MaxLength), neg("minItems", s.MinItems), neg("maxItems", s.MaxItems)} {
		if e != nil {
			return e
		}
	}
	if s.Type != "object" && (s.Properties != nil || s.Required != nil || s.AdditionalProperties != nil) {
		return bad("properties/required/additionalProperties")
	}
	if s.Type != "string" && (s.Enum != nil || s.MinLength != nil || s.MaxLength != nil) {
		return bad("enum/minLength/maxLength")
	}
	if s.Type != "integer" && (s.Minimum != nil || s.Maximum != nil) {
		return bad("minimum/maximum")
	}
	if s.Type != "array" && (s.Items != nil || s.MinItems != nil || s.MaxItems != nil) {
		return bad("items/minItems/maxItems")
	}
	switch s.Type {
	case "object":
		for _, r := range s.Required {
			if _, ok := s.Properties[r]; !ok {
				return fmt.Errorf("%w: %s: required property %q is not declared", ErrSchema, where(at), r)
			}
		}
		for name, p := range s.Properties {
			if err := p.check(join(at, name), depth+1); err != nil {
				return err
			}
		}
	case "string":
		if s.MinLength != nil && s.MaxLength != nil && *s.MinLength > *s.MaxLength {
			return fmt.Errorf("%w: %s: minLength > maxLength", ErrSchema, where(at))
		}
	case "integer":
		if s.Minimum != nil && s.Maximum != nil && *s.Minimum > *s.Maximum {
			return fmt.Errorf("%w: %s: minimum > maximum", ErrSchema, where(at))
		}
	case "array":
		if s.Items == nil {
			return fmt.Errorf("%w: %s: array without items", ErrSchema, where(at))
		}
		if s.MinItems != nil && s.MaxItems != nil && *s.MinItems > *s.MaxItems {
			return fmt.Errorf("%w: %s: minItems > maxItems", ErrSchema, where(at))
		}
		return s.Items.check(at+"[]", depth+1)
	case "boolean":
	default:
		return fmt.Errorf("%w: %s: unsupported type %q", ErrSchema, where(at), s.Type)
	}
	return nil
}

func where(at string) string {
	if at == "" {
		return "input"
	}
	return at
}

func join(at, name string) string {
	if at == "" {
		return name
	}
	return at + "." + name
}

// Validate checks a JSON document against s. It returns nil or an error
// listing every violation (sorted, at most 10), phrased so a model can fix
// its call.
func (s *Schema) Validate(input []byte) error {
	dec := json.NewDecoder(bytes.NewReader(input))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return fmt.Errorf("input is not valid JSON: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("input has trailing data after the JSON object")
	}
	var probs []string
	s.validate("", v, &probs)
	if len(probs) == 0 {
		return nil
	}
	sort.Strings(probs)
	if len(probs) > 10 {
		probs = append(probs[:10], fmt.Sprintf("and %d more problems", len(probs)-10))
	}
	return errors.New(strings.Join(probs, "; "))
}

func (s *Schema) validate(at string, v any, probs *[]string) {
	add := func(format string, args ...any) {
		*probs = append(*probs, where(at)+": "+fmt.Sprintf(format, args...))
	}
	switch s.Type {
	case "object":
		obj, ok := v.(map[string]any)
		if !ok {
			add("must be an object, got %s", kind(v))
			return
		}
		for _, r := range s.Required {
			if _, ok := obj[r]; !ok {
				add("missing required property %q", r)
			}
		}
		for name, val := range obj {
			p, ok := s.Properties[name]
			if !ok {
				if s.AdditionalProperties != nil && !*s.AdditionalProperties {
					add("unknown property %q (allowed: %s)", name, strings.Join(s.propertyNames(), ", "))
				}
				continue
			}
			p.validate(join(at, name), val, probs)
		}
	case "string":
		str, ok := v.(string)
		if !ok {
			add("must be a string, got %s", kind(v))
			return
		}
		n := utf8.RuneCountInString(str)
		if s.MinLength != nil && n < *s.MinLength {
			add("must be at least %d characters long", *s.MinLength)
		}
		if s.MaxLength != nil && n > *s.MaxLength {
			add("must be at most %d characters long", *s.MaxLength)
		}
		if s.Enum != nil && !slices.Contains(s.Enum, str) {
			add("must be one of %s", strings.Join(s.Enum, ", "))
		}
	case "integer":
		num, ok := v.(json.Number)
		if !ok {
			add("must be an integer, got %s", kind(v))
			return
		}
		i, err := strconv.ParseInt(num.String(), 10, 64)
		if err != nil {
			add("must be a whole number within 64-bit range, got %s", num)
			return
		}
		if s.Minimum != nil && i < *s.Minimum {
			add("must be >= %d", *s.Minimum)
		}
		if s.Maximum != nil && i > *s.Maximum {
			add("must be <= %d", *s.Maximum)
		}
	case "boolean":
		if _, ok := v.(bool); !ok {
			add("must be a boolean, got %s", kind(v))
		}
	case "array":
		arr, ok := v.([]any)
		if !ok {
			add("must be an array, got %s", kind(v))
			return
		}
		if s.MinItems != nil && len(arr) < *s.MinItems {
			add("must have at least %d items", *s.MinItems)
		}
		if s.MaxItems != nil && len(arr) > *s.MaxItems {
			add("must have at most %d items", *s.MaxItems)
			return
		}
		for i, item := range arr {
			s.Items.validate(fmt.Sprintf("%s[%d]", where(at), i), item, probs)
		}
	}
}

func (s *Schema) propertyNames() []string {
	names := make([]string, 0, len(s.Properties))
	for n := range s.Properties {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func kind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case string:
		return "string"
	case json.Number:
		return "number"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return fmt.Sprintf("%T", v)
}
