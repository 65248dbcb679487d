package stopword

import "testing"

func TestEnglish(t *testing.T) {
	for _, tc := range []struct {
		w    string
		want bool
	}{
		{"the", true}, {"ourselves", true}, {"ll", true}, {"could", true},
		{"The", false}, // callers lower-case first
		{"memory", false}, {"also", false}, {"", false},
	} {
		if got := English(tc.w); got != tc.want {
			t.Errorf("English(%q) = %v", tc.w, got)
		}
	}
	// Frozen: the offline embedder's vectors depend on the exact list.
	if len(english) != 131 {
		t.Fatalf("%d stopwords: the list is frozen (see the package doc)", len(english))
	}
}
