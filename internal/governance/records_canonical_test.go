package governance

import (
	"encoding/json"
	"math"
	"math/rand"
	"reflect"
	"testing"
	"testing/quick"

	"github.com/weftos/weftos/internal/jcs/jcstest"
)

// randomize fills v with random values (testing/quick) and then zeroes
// each field, at any depth, with probability 1/3, so that every field is
// seen both set and empty (omitempty).
func randomize(r *rand.Rand, t reflect.Type) reflect.Value {
	v, ok := quick.Value(t, r)
	if !ok {
		panic("quick cannot generate " + t.String())
	}
	p := reflect.New(t).Elem()
	p.Set(v)
	sparsify(r, p)
	return p
}

func sparsify(r *rand.Rand, v reflect.Value) {
	if v.Kind() != reflect.Struct {
		return
	}
	for i := range v.NumField() {
		f := v.Field(i)
		if !f.CanSet() {
			continue
		}
		if r.Intn(3) == 0 {
			f.SetZero()
			continue
		}
		sparsify(r, f)
	}
}

// floats are the doubles the records hold, and their edges.
var floats = []float64{0, 0.1, 0.2, 0.3, 0.9, 1, 0.08944271909999159, 1e-7, 1e-6, 1e21, 1e20 + 1, 5e-324, math.MaxFloat64, -0.5, math.Copysign(0, -1), math.NaN(), math.Inf(1)}

func randFloat(r *rand.Rand) float64 {
	if r.Intn(4) == 0 {
		return r.Float64()
	}
	return floats[r.Intn(len(floats))]
}

func randEffect(r *rand.Rand) Effect {
	return Effect{Risk: randFloat(r), Fairness: randFloat(r), Privacy: randFloat(r), Novelty: randFloat(r), Security: randFloat(r)}
}

var details = []json.RawMessage{nil, {}, json.RawMessage(`{"k":5,"query_hash":"h","scope":"own"}`), json.RawMessage(`{"scope":"own","k":5}`),
	json.RawMessage(` {"a" : [1.50, "<&>"]}`), json.RawMessage(`{"a":1,"a":2}`), json.RawMessage(`{"a":`), json.RawMessage(`null`), json.RawMessage(`"\u00e9"`)}

// TestCanonicalRecords: the records' own canonical encodings give the
// reference's bytes (encoding/json, canonicalized) on random values that
// set and clear every field, alone and inside values encoded by
// reflection.
func TestCanonicalRecords(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	n := 3000
	if testing.Short() {
		n = 300
	}
	for i := range n {
		d := randomize(r, reflect.TypeFor[DecisionRecord]()).Interface().(DecisionRecord)
		if i%8 != 0 {
			d.Decision.Outcome %= 4 // else mostly invalid outcomes
		}
		if i%2 == 0 {
			d.Request.Effect, d.Decision.Effect = randEffect(r), randEffect(r)
			d.Decision.Magnitude, d.Decision.Threshold = randFloat(r), randFloat(r)
		}
		a := randomize(r, reflect.TypeFor[ActRecord]()).Interface().(ActRecord)
		a.Detail = details[r.Intn(len(details))]
		for _, v := range []any{d, &d, (*DecisionRecord)(nil), a, &a, (*ActRecord)(nil),
			struct{ D, E any }{d, a}, []any{d, a}, RefusalRecord{ActionID: "x", Request: d.Request}} {
			jcstest.CheckMarshal(t, v)
		}
	}
}

func FuzzCanonicalRecords(f *testing.F) {
	f.Add("a", "é\xff<&>\u2028", 0.1, 1e21, uint64(1), int64(-1), uint8(0), []byte(`{"b":1,"a":2}`))
	f.Fuzz(func(t *testing.T, s1, s2 string, f1, f2 float64, u uint64, i int64, o uint8, detail []byte) {
		eff := Effect{Risk: f1, Fairness: f2, Privacy: f1 * f2, Novelty: -f1, Security: f2 / 3}
		d := DecisionRecord{ActionID: s1, Request: Request{Action: s2, Process: s1, Agent: s2, App: s1, PID: u, Capabilities: []string{s1, s2},
			Context: Context{Path: s1, Host: s2, Tool: s1, Model: s2, Extra: map[string]string{s1: s2, s2: s1}}, Effect: eff},
			Decision: Decision{Outcome: Outcome(o % 5), RuleIDs: []string{s2}, Effect: eff, Magnitude: f1, Reason: s1, Env: s2,
				Threshold: f2, ConstitutionHash: s1, ConstitutionRevision: u}}
		a := ActRecord{ActionID: s1, Action: s2, Agent: s1, PID: u, Session: s2, OK: o%2 == 0, Error: s1, Micros: i, Detail: detail}
		jcstest.CheckMarshal(t, d)
		jcstest.CheckMarshal(t, a)
	})
}
