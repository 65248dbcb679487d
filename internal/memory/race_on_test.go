//go:build race

package memory_test

// raceEnabled reports a -race build: the LoCoMo measurement is skipped
// there (it measures, it does not test, and is slow under the detector).
const raceEnabled = true
