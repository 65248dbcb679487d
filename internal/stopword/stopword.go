// Package stopword is the English function-word list the lexical parts of
// WeftOS share: the offline embedder drops these words from its features
// and the memory's inverted index neither indexes nor searches them.
//
// The list is frozen: the offline embedder's vectors depend on it, so
// changing it would silently change every stored vector. A consumer that
// wants more words keeps its own additions beside it.
package stopword

import "strings"

// english is the frozen list.
var english = func() map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(`a an the and or but if then else of at by for with
		about against between into through during before after above below to from up down
		in out on off over under again further once here there when where why how all any
		both each few more most other some such no nor not only own same so than too very
		s t can will just don should now i me my myself we our ours ourselves you your
		yours yourself yourselves he him his himself she her hers herself it its itself
		they them their theirs themselves what which who whom this that these those am is
		are was were be been being have has had having do does did doing would could
		m re ve ll d`) {
		m[w] = true
	}
	return m
}()

// English reports whether w (lower case) is an English stopword.
func English(w string) bool { return english[w] }
