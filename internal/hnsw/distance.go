package hnsw

import (
	"fmt"
	"math"
)

// Distance selects the metric of an index. Smaller is closer for all of
// them.
type Distance uint32

const (
	// L2 is the squared Euclidean distance.
	L2 Distance = iota
	// Cosine is 1 − cos(a, b). Vectors (and queries) are normalised to unit
	// length, so it is computed as 1 − a·b.
	Cosine
	// Dot is the negated inner product −a·b (maximum inner product search).
	Dot
)

// String returns "l2", "cosine" or "dot".
func (d Distance) String() string {
	switch d {
	case L2:
		return "l2"
	case Cosine:
		return "cosine"
	case Dot:
		return "dot"
	}
	return fmt.Sprintf("distance(%d)", uint32(d))
}

// ParseDistance parses "l2", "cosine" or "dot" (as printed by String).
func ParseDistance(s string) (Distance, error) {
	switch s {
	case "l2", "L2", "euclidean":
		return L2, nil
	case "cosine", "cos", "angular":
		return Cosine, nil
	case "dot", "ip", "inner_product":
		return Dot, nil
	}
	return 0, fmt.Errorf("%w: unknown distance %q", ErrInvalidConfig, s)
}

func (d Distance) valid() bool { return d <= Dot }

// Func returns the distance function of d as used by the index, on vectors
// as stored (for Cosine the inputs must already be unit length; see
// Normalize).
func (d Distance) Func() func(a, b []float32) float32 {
	switch d {
	case Cosine:
		return cosineDist
	case Dot:
		return negDot
	default:
		return L2Squared
	}
}

func cosineDist(a, b []float32) float32 { return 1 - dotImpl(a, b) }
func negDot(a, b []float32) float32     { return -dotImpl(a, b) }

// Normalize scales v to unit Euclidean length in place. It returns false,
// leaving v unchanged, if v has zero (or non-finite) norm.
func Normalize(v []float32) bool {
	n := float64(dotImpl(v, v))
	if n == 0 || math.IsInf(n, 0) || math.IsNaN(n) {
		return false
	}
	inv := float32(1 / math.Sqrt(n))
	for i := range v {
		v[i] *= inv
	}
	return true
}

// finite reports whether every component of v is a finite number.
func finite(v []float32) bool {
	for _, x := range v {
		if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
			return false
		}
	}
	return true
}
