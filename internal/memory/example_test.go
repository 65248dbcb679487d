package memory_test

import (
	"context"
	"fmt"
	"os"

	"github.com/weftos/weftos/internal/embed"
	"github.com/weftos/weftos/internal/memory"
)

func Example() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "memory-example")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	lex, err := embed.NewLexical(0)
	if err != nil {
		panic(err)
	}
	store, err := memory.Open(ctx, dir, memory.Options{Embedder: lex})
	if err != nil {
		panic(err)
	}
	defer store.Close(ctx)

	store.Put(ctx, "The staging database lives on host db-2.", memory.Meta{Agent: "ops"}, 1)
	store.Put(ctx, "Alice's favourite colour is green.", memory.Meta{Agent: "chat", Shared: true}, 2)
	store.Put(ctx, "The chat agent's scratch note about the database.", memory.Meta{Agent: "chat"}, 3)

	// The ops agent sees its own memories and shared ones only: the chat
	// agent's note about the database is not among them.
	for _, q := range []string{"which host runs the staging database?", "Alice's colour"} {
		hits, err := store.Search(ctx, q, 2, memory.Filter{Agent: "ops", Scope: memory.ScopeShared})
		if err != nil {
			panic(err)
		}
		for _, h := range hits {
			fmt.Println(h.Record.Meta.Agent, "|", h.Record.Text)
		}
	}
	// Output:
	// ops | The staging database lives on host db-2.
	// chat | Alice's favourite colour is green.
}
