//go:build wasip1

// Command gocpu is a CPU-bound wasip1 program used to test and benchmark
// fuel metering on real Go compiler output: it counts primes below argv[1]
// (default 20000) by trial division, sorts a slice and hashes the result.
package main

import (
	"crypto/sha256"
	"fmt"
	"os"
	"sort"
	"strconv"
)

func main() {
	n := 20000
	if len(os.Args) > 1 {
		if v, err := strconv.Atoi(os.Args[1]); err == nil {
			n = v
		}
	}
	var primes []int
	for i := 2; i < n; i++ {
		prime := true
		for d := 2; d*d <= i; d++ {
			if i%d == 0 {
				prime = false
				break
			}
		}
		if prime {
			primes = append(primes, i)
		}
	}
	sort.Sort(sort.Reverse(sort.IntSlice(primes)))
	h := sha256.New()
	for _, p := range primes {
		fmt.Fprint(h, p)
	}
	fmt.Printf("%d %x\n", len(primes), h.Sum(nil)[:8])
}
