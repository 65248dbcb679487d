// Package cputime reads the CPU time this process has used, for
// benchmarks that report CPU per operation beside wall time: on a shared
// machine the wall time includes waiting for a core.
package cputime
