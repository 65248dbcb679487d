package governance

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Effect is the five-dimensional effect vector of an action. Every component
// lies in [0,1]; 0 means "no effect on this dimension" and 1 "maximal".
type Effect struct {
	Risk     float64 `json:"risk"`
	Fairness float64 `json:"fairness"`
	Privacy  float64 `json:"privacy"`
	Novelty  float64 `json:"novelty"`
	Security float64 `json:"security"`
}

// Dimension names an effect component, as written in effect strings and in
// constitution thresholds.
type Dimension int

// The five effect dimensions.
const (
	DimRisk Dimension = iota
	DimFairness
	DimPrivacy
	DimNovelty
	DimSecurity
	numDims
)

var dimNames = [numDims]string{"risk", "fairness", "privacy", "novelty", "security"}

// String returns the lower-case name of the dimension.
func (d Dimension) String() string {
	if d < 0 || d >= numDims {
		return "dimension(" + strconv.Itoa(int(d)) + ")"
	}
	return dimNames[d]
}

// ErrInvalidEffect is returned (wrapped) by ParseEffect and Effect.Validate.
var ErrInvalidEffect = errors.New("governance: invalid effect")

// sqrt5 normalises the Euclidean norm of a vector in [0,1]^5 to [0,1].
var sqrt5 = math.Sqrt(5)

// Magnitude returns the Euclidean norm of the vector divided by sqrt(5), so
// that the magnitude of any valid effect lies in [0,1]: 0 for the zero vector,
// 1 only when every component is 1. A single component at x gives x/sqrt(5)
// (about 0.447·x).
func (e Effect) Magnitude() float64 {
	s := e.Risk*e.Risk + e.Fairness*e.Fairness + e.Privacy*e.Privacy +
		e.Novelty*e.Novelty + e.Security*e.Security
	return math.Sqrt(s) / sqrt5
}

// Get returns the component for d (0 for an unknown dimension).
func (e Effect) Get(d Dimension) float64 {
	switch d {
	case DimRisk:
		return e.Risk
	case DimFairness:
		return e.Fairness
	case DimPrivacy:
		return e.Privacy
	case DimNovelty:
		return e.Novelty
	case DimSecurity:
		return e.Security
	}
	return 0
}

// set assigns component d.
func (e *Effect) set(d Dimension, v float64) {
	switch d {
	case DimRisk:
		e.Risk = v
	case DimFairness:
		e.Fairness = v
	case DimPrivacy:
		e.Privacy = v
	case DimNovelty:
		e.Novelty = v
	case DimSecurity:
		e.Security = v
	}
}

// Validate reports whether every component is a finite number in [0,1].
func (e Effect) Validate() error {
	for d := Dimension(0); d < numDims; d++ {
		v := e.Get(d)
		if math.IsNaN(v) || v < 0 || v > 1 {
			return fmt.Errorf("%w: %s=%v is outside [0,1]", ErrInvalidEffect, d, v)
		}
	}
	return nil
}

// Normalize clamps every component into [0,1] (NaN becomes 1, the
// conservative reading) and rounds it to six decimals, so that vectors built
// by adding context raises compare and serialise deterministically.
func (e Effect) Normalize() Effect {
	var out Effect
	for d := Dimension(0); d < numDims; d++ {
		out.set(d, normUnit(e.Get(d)))
	}
	return out
}

func normUnit(v float64) float64 {
	switch {
	case math.IsNaN(v) || v > 1:
		return 1
	case v < 0:
		return 0
	}
	return math.Round(v*1e6) / 1e6
}

// Max returns the component-wise maximum of e and o.
func (e Effect) Max(o Effect) Effect {
	return Effect{
		Risk:     math.Max(e.Risk, o.Risk),
		Fairness: math.Max(e.Fairness, o.Fairness),
		Privacy:  math.Max(e.Privacy, o.Privacy),
		Novelty:  math.Max(e.Novelty, o.Novelty),
		Security: math.Max(e.Security, o.Security),
	}
}

// Add returns the component-wise sum of e and o, normalised into [0,1].
func (e Effect) Add(o Effect) Effect {
	return Effect{
		Risk:     e.Risk + o.Risk,
		Fairness: e.Fairness + o.Fairness,
		Privacy:  e.Privacy + o.Privacy,
		Novelty:  e.Novelty + o.Novelty,
		Security: e.Security + o.Security,
	}.Normalize()
}

// String formats the vector in the form accepted by ParseEffect, listing
// every dimension: "risk=0.8,fairness=0,privacy=0.2,novelty=0,security=0".
func (e Effect) String() string {
	var b strings.Builder
	for d := Dimension(0); d < numDims; d++ {
		if d > 0 {
			b.WriteByte(',')
		}
		b.WriteString(dimNames[d])
		b.WriteByte('=')
		b.WriteString(strconv.FormatFloat(e.Get(d), 'g', -1, 64))
	}
	return b.String()
}

// ParseDimension maps a dimension name ("risk", "fairness", "privacy",
// "novelty", "security") to its Dimension.
func ParseDimension(name string) (Dimension, bool) {
	for d := Dimension(0); d < numDims; d++ {
		if dimNames[d] == name {
			return d, true
		}
	}
	return 0, false
}

// ParseEffect parses a comma-separated list of name=value pairs such as
// "risk=0.8,privacy=0.2". Names are the five dimensions; omitted dimensions
// are 0; values must be decimal numbers in [0,1]; a dimension may appear only
// once; surrounding spaces are ignored. The empty string is the zero vector.
func ParseEffect(s string) (Effect, error) {
	var e Effect
	if strings.TrimSpace(s) == "" {
		return e, nil
	}
	var seen [numDims]bool
	for part := range strings.SplitSeq(s, ",") {
		name, val, ok := strings.Cut(part, "=")
		name, val = strings.TrimSpace(name), strings.TrimSpace(val)
		if !ok {
			return Effect{}, fmt.Errorf("%w: %q: want name=value", ErrInvalidEffect, part)
		}
		d, ok := ParseDimension(name)
		if !ok {
			return Effect{}, fmt.Errorf("%w: unknown dimension %q (want risk, fairness, privacy, novelty or security)", ErrInvalidEffect, name)
		}
		if seen[d] {
			return Effect{}, fmt.Errorf("%w: dimension %q given twice", ErrInvalidEffect, name)
		}
		seen[d] = true
		v, err := strconv.ParseFloat(val, 64)
		if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
			return Effect{}, fmt.Errorf("%w: %s=%q is not a number", ErrInvalidEffect, name, val)
		}
		if v < 0 || v > 1 {
			return Effect{}, fmt.Errorf("%w: %s=%v is outside [0,1]", ErrInvalidEffect, name, v)
		}
		e.set(d, v)
	}
	return e, nil
}
