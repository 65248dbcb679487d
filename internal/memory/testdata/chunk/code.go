package demo

import "fmt"

// Hello greets.
func Hello(name string) string {
	return fmt.Sprintf("hello %s", name)
}

// Add adds.
func Add(a, b int) int {
	return a + b
}

type T struct {
	A int
	B string
}
