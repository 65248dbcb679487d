package embed_test

import (
	"context"
	"fmt"

	"github.com/weftos/weftos/internal/embed"
)

func ExampleLexical() {
	l, err := embed.NewLexical(0)
	if err != nil {
		panic(err)
	}
	vs, err := l.Embed(context.Background(), []string{
		"The deploy failed because the disk was full",
		"disk full during deployment",
		"lunch at noon",
	})
	if err != nil {
		panic(err)
	}
	dot := func(a, b []float32) (s float32) {
		for i := range a {
			s += a[i] * b[i]
		}
		return s
	}
	fmt.Println(l.Name())
	fmt.Println(dot(vs[0], vs[1]) > dot(vs[0], vs[2]))
	// Output:
	// lexical-v1/384
	// true
}
