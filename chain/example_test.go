package chain_test

import (
	"bytes"
	"context"
	"crypto/sha3"
	"fmt"
	"os"

	"github.com/weftos/weftos/chain"
)

func exampleKeys() chain.Keys {
	seed := sha3.NewSHAKE256()
	seed.Write([]byte("example"))
	keys, err := chain.GenerateKeys(seed) // use crypto/rand.Reader in production
	if err != nil {
		panic(err)
	}
	return keys
}

// Append events, prove one against the latest checkpoint and verify the store.
func Example() {
	dir, err := os.MkdirTemp("", "exochain-example-")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	ctx := context.Background()

	log, err := chain.Open(ctx, dir, chain.Options{ChainID: 1, Origin: "node-a", Keys: exampleKeys()})
	if err != nil {
		fmt.Println(err)
		return
	}
	for i := range 3 {
		if _, err := log.Append(ctx, "kernel", "process.spawn", map[string]int{"pid": 100 + i}); err != nil {
			fmt.Println(err)
			return
		}
	}
	e, _ := log.Get(1)
	fmt.Println(e.Seq, string(e.Payload))
	if err := log.Close(ctx); err != nil { // writes the final checkpoint
		fmt.Println(err)
		return
	}

	r, err := chain.OpenReader(dir)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer r.Close()
	proof, cp, err := r.InclusionProof(1)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("inclusion:", chain.VerifyInclusion(r.PublicKeys(), cp, e.Hash, proof))

	rep, err := chain.Verify(ctx, dir, chain.VerifyOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("verified:", rep.OK(), rep.Events, "events,", rep.Checkpoints, "checkpoint")
	// Output:
	// 1 {"pid":101}
	// inclusion: <nil>
	// verified: true 3 events, 1 checkpoint
}

// Export a chain and verify the export as a third party would.
func ExampleVerifyExport() {
	dir, err := os.MkdirTemp("", "exochain-example-")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	ctx := context.Background()
	log, err := chain.Open(ctx, dir, chain.Options{ChainID: 1, Origin: "node-a", Keys: exampleKeys()})
	if err != nil {
		fmt.Println(err)
		return
	}
	log.Append(ctx, "kernel", "boot", nil) //nolint:errcheck // example
	var buf bytes.Buffer
	log.Close(ctx) //nolint:errcheck // example
	r, _ := chain.OpenReader(dir)
	defer r.Close()
	if err := r.Export(ctx, &buf, 0); err != nil {
		fmt.Println(err)
		return
	}
	rep, err := chain.VerifyExport(&buf, chain.VerifyOptions{})
	fmt.Println(err, rep.OK(), rep.Events)
	// Output: <nil> true 1
}

func ExampleRecorder() {
	dir, _ := os.MkdirTemp("", "exochain-example-")
	defer os.RemoveAll(dir)
	ctx := context.Background()
	log, err := chain.Open(ctx, dir, chain.Options{ChainID: 1, Origin: "node-a", Keys: exampleKeys()})
	if err != nil {
		fmt.Println(err)
		return
	}
	rec := chain.NewRecorder(log, nil, 1024)
	rec.Record(ctx, "kernel", "service.start", map[string]string{"name": "cron"}) //nolint:errcheck // example
	rec.Close(ctx)                                                                //nolint:errcheck // drains the queue
	fmt.Println(log.Len())
	log.Close(ctx) //nolint:errcheck // example
	// Output: 1
}
