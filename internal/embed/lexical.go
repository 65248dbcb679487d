package embed

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/weftos/weftos/internal/stopword"
)

// DefaultLexicalDim is the dimension of the default lexical embedder.
const DefaultLexicalDim = 384

// Feature weights of the lexical embedder (before tf scaling).
const (
	lexWordWeight   = 1.0
	lexBigramWeight = 0.7
	lexCharWeight   = 0.8
	lexMinGram      = 3
	lexMaxGram      = 5
	// lexMaxRunes bounds the work per text: longer texts are embedded from
	// their first lexMaxRunes runes.
	lexMaxRunes = 1 << 20
)

// Feature-kind prefixes, so a word and a character gram with the same bytes
// hash to different features.
const (
	kindWord byte = 1 + iota
	kindBigram
	kindChar
)

// Lexical is the built-in offline embedder. It is lexical, not semantic:
// each text becomes a bag of features — lower-cased word unigrams, bigrams
// of consecutive content words and character 3–5-grams of each word
// (with word-boundary markers, as in fastText) — each feature hashed with
// 64-bit FNV-1a into one of Dim buckets with a hash-derived sign (the
// signed hashing trick, so collisions cancel on average instead of
// accumulating), weighted by 1+ln(tf) times a per-kind weight, and the
// vector L2-normalised. Common English function words are dropped unless a
// text has nothing else. Texts sharing words or word fragments (plurals,
// inflections, typos) get a high cosine similarity; synonyms and
// paraphrases do not. A text with no letters or digits embeds to the zero
// vector.
//
// The output depends only on the text and Dim: it is the same on every
// platform and in every version named "lexical-v1". Lexical is safe for
// concurrent use.
type Lexical struct {
	dim int
}

var _ Embedder = (*Lexical)(nil)

// NewLexical returns a lexical embedder of dimension dim (0 means
// DefaultLexicalDim; otherwise 16..65536).
func NewLexical(dim int) (*Lexical, error) {
	if dim == 0 {
		dim = DefaultLexicalDim
	}
	if dim < 16 || dim > 1<<16 {
		return nil, fmt.Errorf("%w: lexical dimension %d outside 16..65536", ErrConfig, dim)
	}
	return &Lexical{dim: dim}, nil
}

// Name returns "lexical-v1/<dim>".
func (l *Lexical) Name() string { return fmt.Sprintf("lexical-v1/%d", l.dim) }

// Dim returns the vector dimension.
func (l *Lexical) Dim() int { return l.dim }

// LexicalOnly reports true: the vectors measure shared words and word
// fragments, not meaning (memory's hybrid search then leaves them out of
// its default fusion, since its BM25 index measures the same thing
// better).
func (l *Lexical) LexicalOnly() bool { return true }

// Embed returns the vector of each text. It never fails except when ctx
// is done.
func (l *Lexical) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	out := make([][]float32, len(texts))
	f := newFeaturizer()
	for i, t := range texts {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		out[i] = f.vector(t, l.dim)
	}
	return out, nil
}

// Vector returns the embedding of one text.
func (l *Lexical) Vector(text string) []float32 {
	return newFeaturizer().vector(text, l.dim)
}

type featurizer struct {
	tf    map[uint64]feature // feature hash → weight and count
	words []string
	keys  []uint64
	buf   []byte
}

func newFeaturizer() *featurizer {
	return &featurizer{tf: make(map[uint64]feature, 256)}
}

type feature struct {
	weight float64
	count  float64
}

func (f *featurizer) add(h uint64, weight float64) {
	ft := f.tf[h]
	ft.weight = weight
	ft.count++
	f.tf[h] = ft
}

const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)

func fnv1a(h uint64, b []byte) uint64 {
	for _, c := range b {
		h ^= uint64(c)
		h *= fnvPrime
	}
	return h
}

// hashKind hashes a kind prefix followed by b.
func hashKind(kind byte, b []byte) uint64 {
	h := uint64(fnvOffset)
	h ^= uint64(kind)
	h *= fnvPrime
	return fnv1a(h, b)
}

// tokenize splits text into lower-cased runs of letters and digits.
func tokenize(text string, words []string) []string {
	words = words[:0]
	var b strings.Builder
	n := 0
	flush := func() {
		if b.Len() > 0 {
			words = append(words, b.String())
			b.Reset()
		}
	}
	for _, r := range text {
		n++
		if n > lexMaxRunes {
			break
		}
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			b.WriteRune(unicode.ToLower(r))
			continue
		}
		if unicode.Is(unicode.Mn, r) && b.Len() > 0 { // combining marks stay in the word
			b.WriteRune(r)
			continue
		}
		flush()
	}
	flush()
	return words
}

func (f *featurizer) vector(text string, dim int) []float32 {
	clear(f.tf)
	all := tokenize(text, f.words)
	f.words = all
	content := make([]string, 0, len(all))
	for _, w := range all {
		if !stopword.English(w) {
			content = append(content, w)
		}
	}
	if len(content) == 0 {
		content = all
	}
	for i, w := range content {
		f.add(hashKind(kindWord, []byte(w)), lexWordWeight)
		if i > 0 {
			f.buf = append(f.buf[:0], content[i-1]...)
			f.buf = append(f.buf, ' ')
			f.buf = append(f.buf, w...)
			f.add(hashKind(kindBigram, f.buf), lexBigramWeight)
		}
		f.charGrams(w)
	}
	vec := make([]float64, dim)
	// Sum in key order: map order is random and float addition is not
	// associative, so this keeps the output bit-for-bit deterministic.
	f.keys = f.keys[:0]
	for h := range f.tf {
		f.keys = append(f.keys, h)
	}
	slices.Sort(f.keys)
	for _, h := range f.keys {
		ft := f.tf[h]
		v := ft.weight * (1 + math.Log(ft.count))
		idx := (h >> 1) % uint64(dim)
		if h&1 == 1 {
			v = -v
		}
		vec[idx] += v
	}
	var norm float64
	for _, v := range vec {
		norm += v * v
	}
	out := make([]float32, dim)
	if norm == 0 {
		return out
	}
	inv := 1 / math.Sqrt(norm)
	for i, v := range vec {
		out[i] = float32(v * inv)
	}
	return out
}

// charGrams adds the character 3–5-grams of "<w>".
func (f *featurizer) charGrams(w string) {
	f.buf = append(f.buf[:0], '<')
	f.buf = append(f.buf, w...)
	f.buf = append(f.buf, '>')
	b := f.buf
	// rune start offsets (plus the end), so grams never split a rune
	starts := make([]int, 0, len(b)+1)
	for i := 0; i < len(b); {
		starts = append(starts, i)
		_, size := utf8.DecodeRune(b[i:])
		i += size
	}
	starts = append(starts, len(b))
	nr := len(starts) - 1
	for n := lexMinGram; n <= lexMaxGram; n++ {
		for i := 0; i+n <= nr; i++ {
			f.add(hashKind(kindChar, b[starts[i]:starts[i+n]]), lexCharWeight)
		}
	}
	if nr < lexMinGram { // very short words: the whole marked word
		f.add(hashKind(kindChar, b), lexCharWeight)
	}
}
