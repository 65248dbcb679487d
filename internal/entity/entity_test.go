package entity

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestExtract(t *testing.T) {
	for _, tc := range []struct {
		text string
		want []string // kind:key
	}{
		{"Caroline went to the LGBTQ support group with Melanie.", []string{"name:caroline", "name:lgbtq", "name:melanie"}},
		{"The Bank of England raised rates.", []string{"name:bank of england"}},
		{"Thanks! I met John Smith in New York on 7 May 2023.", []string{"name:john smith", "name:new york", "date:2023-05-07"}},
		{"Ping @alice-b and @Bob_2, not mail@example.com.", []string{"handle:@alice-b", "handle:@bob_2"}},
		{"Released 2024-02-29; next May 7, 2023 and June 2024.", []string{"date:2024-02-29", "date:2023-05-07", "date:2024-06"}},
		{"Hey, how are you? Yes. Today is Sunday in May.", nil},
		{"Melanie's kids love Melanie.", []string{"name:melanie"}},
		{"A dog. I ran. Paris, France.", []string{"name:paris", "name:france"}},
		{"Can Ada Lovelace review the Causal Graph?", []string{"name:ada lovelace", "name:causal graph"}},
		{"", nil},
		{"the end of The", nil},
	} {
		var got []string
		for _, e := range Extract(tc.text) {
			got = append(got, e.Kind+":"+e.Key)
		}
		if strings.Join(got, "|") != strings.Join(tc.want, "|") {
			t.Errorf("Extract(%q) = %q, want %q", tc.text, got, tc.want)
		}
	}
}

// TestExtractGolden pins the extractor's output on a longer text: a change
// to the rules changes every analysed graph's hash, so it must be seen.
func TestExtractGolden(t *testing.T) {
	in, err := os.ReadFile(filepath.Join("testdata", "sample.md"))
	if err != nil {
		t.Fatal(err)
	}
	got, _ := json.MarshalIndent(Extract(string(in)), "", " ")
	got = append(got, '\n')
	golden := filepath.Join("testdata", "sample.golden.json")
	if os.Getenv("UPDATE_GOLDEN") != "" {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) {
		t.Errorf("entities changed:\n%s\nwant\n%s", got, want)
	}
}

func FuzzExtract(f *testing.F) {
	for _, s := range []string{"John Smith met @bob on 7 May 2023", "2023-01-02", "May 7, 2023", "@", "A. B. C", "\xff@x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		es := Extract(s)
		if len(es) > MaxPerText {
			t.Fatalf("%d entities", len(es))
		}
		seen := map[string]bool{}
		for _, e := range es {
			if e.Key == "" || e.Text == "" || seen[e.Kind+e.Key] {
				t.Fatalf("bad or repeated entity %+v", e)
			}
			seen[e.Kind+e.Key] = true
		}
		again := Extract(s)
		if len(again) != len(es) {
			t.Fatal("not deterministic")
		}
	})
}
