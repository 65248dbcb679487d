package daemon

import (
	"context"
	"errors"
	"io"
	"slices"
	"testing"
	"time"

	"github.com/weftos/weftos/internal/apitype"
	"github.com/weftos/weftos/internal/client"
	"github.com/weftos/weftos/internal/governance"
	"github.com/weftos/weftos/internal/kernel"
	"github.com/weftos/weftos/internal/layers"
	"github.com/weftos/weftos/internal/llm/llmtest"
)

// TestEveryEndpointHasATypedMethod: each endpoint the daemon serves is
// reached through a typed method of internal/client, and the answer
// decodes into its apitype type (an error answer must decode into an
// APIError with a code). A new endpoint without a method fails here.
func TestEveryEndpointHasATypedMethod(t *testing.T) {
	srv := llmtest.NewOpenAI(llmtest.Options{Handler: func(llmtest.Request) llmtest.Turn { return llmtest.Text("ok") }})
	defer srv.Close()
	t.Setenv("OPENAI_BASE_URL", srv.URL)
	t.Setenv("OPENAI_API_KEY", "k")
	t.Setenv("ANTHROPIC_API_KEY", "")
	d, c := openClient(t, t.TempDir())
	ws := t.TempDir()
	type call func(ctx context.Context) error
	ignore := func(_ any, err error) error { return err }
	short := func(ctx context.Context, f func(ctx context.Context) error) error {
		ctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
		defer cancel()
		if err := f(ctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
			return err
		}
		return nil
	}
	calls := map[string]call{
		"GET /v1/status":    func(ctx context.Context) error { return ignore(c.Status(ctx)) },
		"GET /v1/processes": func(ctx context.Context) error { return ignore(c.PS(ctx, true)) },
		"POST /v1/processes": func(ctx context.Context) error {
			return ignore(c.Spawn(ctx, apitype.SpawnRequest{Name: "m", Kind: "mailbox"}))
		},
		"GET /v1/processes/{pid}":              func(ctx context.Context) error { return ignore(c.Inspect(ctx, 1)) },
		"POST /v1/processes/{pid}/{action}":    func(ctx context.Context) error { return c.Control(ctx, 99999, "stop") },
		"PUT /v1/processes/{pid}/capabilities": func(ctx context.Context) error { return c.Elevate(ctx, 99999, kernel.Capabilities{}) },
		"GET /v1/services":                     func(ctx context.Context) error { return ignore(c.Services(ctx)) },
		"POST /v1/services": func(ctx context.Context) error {
			return ignore(c.RegisterService(ctx, apitype.ServiceRegisterRequest{Name: "svc", PID: 99999}))
		},
		"DELETE /v1/services/{name}": func(ctx context.Context) error { return c.UnregisterService(ctx, "nosuch") },
		"POST /v1/ipc/send": func(ctx context.Context) error {
			return ignore(c.Send(ctx, apitype.SendRequest{Target: kernel.ToTopic("t"), Payload: kernel.Text("x")}))
		},
		"GET /v1/ipc/subscribe": func(ctx context.Context) error {
			return short(ctx, func(ctx context.Context) error {
				return c.Subscribe(ctx, "t", func(kernel.Envelope) error { return nil })
			})
		},
		"GET /v1/ipc/dlq": func(ctx context.Context) error { return ignore(c.DeadLetters(ctx)) },
		"GET /v1/cron":    func(ctx context.Context) error { return ignore(c.CronList(ctx)) },
		"POST /v1/cron": func(ctx context.Context) error {
			return ignore(c.CronAdd(ctx, apitype.CronRequest{Schedule: "@every 1h", Target: kernel.ToTopic("t"), Payload: kernel.Text("x")}))
		},
		"DELETE /v1/cron/{id}": func(ctx context.Context) error { return c.CronRemove(ctx, "nosuch") },
		"GET /v1/config":       func(ctx context.Context) error { return ignore(c.Config(ctx)) },
		"GET /metrics":         func(ctx context.Context) error { return ignore(c.Metrics(ctx)) },
		"POST /v1/shutdown":    nil, // called last

		"GET /v1/chain/status":       func(ctx context.Context) error { return ignore(c.ChainStatus(ctx)) },
		"GET /v1/chain/keys":         func(ctx context.Context) error { return ignore(c.ChainKeys(ctx)) },
		"GET /v1/chain/witnesses":    func(ctx context.Context) error { return ignore(c.ChainWitnesses(ctx)) },
		"GET /v1/chain/events":       func(ctx context.Context) error { return ignore(c.ChainEvents(ctx, apitype.ChainEventsQuery{N: 5})) },
		"GET /v1/chain/events/{seq}": func(ctx context.Context) error { return ignore(c.ChainEvent(ctx, 0)) },
		"GET /v1/xref/{id}":          func(ctx context.Context) error { return ignore(c.Xref(ctx, "seq:0", 1)) },
		"POST /v1/ecc/edges": func(ctx context.Context) error {
			return ignore(c.EccLink(ctx, apitype.EccEdgeRequest{From: "seq:0", To: "seq:1", Type: "follows"}))
		},
		"GET /v1/ecc/why/{id}": func(ctx context.Context) error { return ignore(c.EccWhy(ctx, "seq:0", apitype.EccWalkQuery{})) },
		"GET /v1/ecc/status":   func(ctx context.Context) error { return ignore(c.EccStatus(ctx)) },
		"POST /v1/ecc/analyze": func(ctx context.Context) error {
			return ignore(c.EccAnalyze(ctx, apitype.EccAnalyzeRequest{Paths: []string{ws}}, nil))
		},
		"GET /v1/ecc/impact/{id}":   func(ctx context.Context) error { return ignore(c.EccImpact(ctx, "seq:0", apitype.EccWalkQuery{})) },
		"GET /v1/chain/export":      func(ctx context.Context) error { return c.ChainExport(ctx, io.Discard, 0) },
		"GET /v1/chain/prove/{seq}": func(ctx context.Context) error { return ignore(c.ChainProve(ctx, 0)) },
		"GET /v1/chain/consistency": func(ctx context.Context) error { return ignore(c.ChainConsistency(ctx, 1, 2)) },

		"GET /v1/gov/rules": func(ctx context.Context) error { return ignore(c.GovRules(ctx)) },
		"POST /v1/gov/check": func(ctx context.Context) error {
			return ignore(c.GovCheck(ctx, apitype.CheckRequest{Request: governance.Request{Action: "fs.read"}}))
		},
		"GET /v1/gov/env":  func(ctx context.Context) error { return ignore(c.GovEnv(ctx)) },
		"POST /v1/gov/env": func(ctx context.Context) error { return ignore(c.GovSetEnv(ctx, "dev")) },
		"POST /v1/gov/amend": func(ctx context.Context) error {
			return ignore(c.GovAmend(ctx, apitype.AmendRequest{Text: "not toml ["}))
		},
		"POST /v1/gov/retire": func(ctx context.Context) error {
			return ignore(c.GovRetire(ctx, apitype.AmendRequest{RuleID: "nosuch"}))
		},
		"GET /v1/gov/pending": func(ctx context.Context) error { return ignore(c.GovPending(ctx)) },
		"POST /v1/gov/pending/{id}/{verdict}": func(ctx context.Context) error {
			return ignore(c.GovResolve(ctx, "nosuch", true, apitype.ResolveRequest{}))
		},
		"GET /v1/gov/audit": func(ctx context.Context) error { return ignore(c.GovAudit(ctx, 0)) },

		"POST /v1/memory/ingest": func(ctx context.Context) error {
			return ignore(c.MemoryIngest(ctx, apitype.MemoryIngestRequest{Paths: []string{ws}}, nil))
		},
		"POST /v1/memory/search": func(ctx context.Context) error {
			return ignore(c.MemorySearch(ctx, apitype.MemorySearchRequest{Query: "q"}))
		},
		"GET /v1/memory/stats":    func(ctx context.Context) error { return ignore(c.MemoryStats(ctx)) },
		"DELETE /v1/memory/{id}":  func(ctx context.Context) error { return ignore(c.MemoryRemove(ctx, "nosuch")) },
		"POST /v1/memory/reembed": func(ctx context.Context) error { return ignore(c.MemoryReembed(ctx)) },

		"POST /v1/agent/run": func(ctx context.Context) error {
			return c.AgentRun(ctx, apitype.RunRequest{Session: "s", Workspace: ws, Message: "hi", Once: true}, func(apitype.RunEvent) error { return nil })
		},
		"POST /v1/plan/run": func(ctx context.Context) error {
			return c.PlanRun(ctx, apitype.PlanRequest{Goal: "g", Workspace: ws}, func(apitype.PlanEvent) error { return nil })
		},
		"POST /v1/agent/start": func(ctx context.Context) error {
			return ignore(c.AgentStart(ctx, apitype.AgentStartRequest{Agent: "nosuch", Workspace: ws}))
		},
		"GET /v1/agent/tools":             func(ctx context.Context) error { return ignore(c.AgentTools(ctx, ws, "")) },
		"GET /v1/models":                  func(ctx context.Context) error { return ignore(c.Models(ctx, "")) },
		"GET /v1/skills":                  func(ctx context.Context) error { return ignore(c.Skills(ctx, ws)) },
		"GET /v1/sessions":                func(ctx context.Context) error { return ignore(c.Sessions(ctx)) },
		"GET /v1/sessions/{name}":         func(ctx context.Context) error { return ignore(c.Session(ctx, "s")) },
		"DELETE /v1/sessions/{name}":      func(ctx context.Context) error { return ignore(c.SessionRemove(ctx, "nosuch")) },
		"GET /v1/sessions/{name}/journal": func(ctx context.Context) error { return c.SessionJournal(ctx, "s", io.Discard) },
		"POST /v1/sessions/{name}/fork": func(ctx context.Context) error {
			return ignore(c.SessionFork(ctx, "s", apitype.SessionForkRequest{To: "s2"}))
		},
		"POST /v1/tools":            func(ctx context.Context) error { return ignore(c.ToolInstall(ctx, ws)) },
		"GET /v1/tools":             func(ctx context.Context) error { return ignore(c.Tools(ctx)) },
		"GET /v1/tools/{name}":      func(ctx context.Context) error { return ignore(c.Tool(ctx, "nosuch")) },
		"POST /v1/tools/{name}/run": func(ctx context.Context) error { return ignore(c.ToolRun(ctx, "nosuch", apitype.ToolRunRequest{})) },
		"DELETE /v1/tools/{name}":   func(ctx context.Context) error { return ignore(c.ToolRemove(ctx, "nosuch")) },

		"POST /v1/apps":                func(ctx context.Context) error { return ignore(c.AppInstall(ctx, ws)) },
		"GET /v1/apps":                 func(ctx context.Context) error { return ignore(c.Apps(ctx)) },
		"GET /v1/apps/{name}":          func(ctx context.Context) error { return ignore(c.App(ctx, "nosuch")) },
		"POST /v1/apps/{name}/upgrade": func(ctx context.Context) error { return ignore(c.AppUpgrade(ctx, "nosuch", ws)) },
		"POST /v1/apps/{name}/start":   func(ctx context.Context) error { return ignore(c.AppStart(ctx, "nosuch")) },
		"POST /v1/apps/{name}/stop":    func(ctx context.Context) error { return ignore(c.AppStop(ctx, "nosuch")) },
		"DELETE /v1/apps/{name}":       func(ctx context.Context) error { return ignore(c.AppRemove(ctx, "nosuch")) },
		"GET /v1/apps/{name}/config":   func(ctx context.Context) error { return ignore(c.AppConfig(ctx, "nosuch")) },
		"POST /v1/apps/{name}/config": func(ctx context.Context) error {
			return ignore(c.AppConfigure(ctx, "nosuch", apitype.AppConfigRequest{Set: map[string]string{"k": "v"}}))
		},
		"GET /v1/publishers": func(ctx context.Context) error { return ignore(c.Publishers(ctx)) },
		"POST /v1/publishers": func(ctx context.Context) error {
			return ignore(c.TrustPublisher(ctx, apitype.PublisherTrustRequest{Key: "00"}))
		},
		"DELETE /v1/publishers/{id}": func(ctx context.Context) error { return ignore(c.DistrustPublisher(ctx, "0000000000000000")) },

		"POST /v1/mcp/sessions": func(ctx context.Context) error {
			return ignore(c.MCPSession(ctx, apitype.MCPSessionRequest{Workspace: ws}))
		},
		"POST /v1/mcp/sessions/{id}/call": func(ctx context.Context) error {
			return ignore(c.MCPCall(ctx, "nosuch", apitype.MCPCallRequest{Tool: "read_file"}))
		},
		"DELETE /v1/mcp/sessions/{id}": func(ctx context.Context) error { return ignore(c.MCPSessionEnd(ctx, "nosuch")) },

		"POST /v1/gateway/tokens": func(ctx context.Context) error {
			return ignore(c.GatewayTokenCreate(ctx, apitype.GatewayTokenCreateRequest{Agents: []string{"default"}}))
		},
		"GET /v1/gateway/tokens":            func(ctx context.Context) error { return ignore(c.GatewayTokens(ctx)) },
		"DELETE /v1/gateway/tokens/{id}":    func(ctx context.Context) error { return ignore(c.GatewayTokenRevoke(ctx, "nosuch")) },
		"GET /v1/channels":                  func(ctx context.Context) error { return ignore(c.Channels(ctx)) },
		"GET /v1/pairing":                   func(ctx context.Context) error { return ignore(c.Pairing(ctx)) },
		"POST /v1/pairing/{code}/{verdict}": func(ctx context.Context) error { return ignore(c.PairingResolve(ctx, "ABCDEFGH", true)) },
		"GET /v1/logs": func(ctx context.Context) error {
			if _, err := c.Logs(ctx, 5); err != nil {
				return err
			}
			return short(ctx, func(ctx context.Context) error {
				return c.FollowLogs(ctx, 1, func(apitype.LogLine) error { return nil })
			})
		},
		"GET /v1/doctor": func(ctx context.Context) error { return ignore(c.Doctor(ctx)) },

		"GET /v1/cluster":          func(ctx context.Context) error { return ignore(c.ClusterStatus(ctx)) },
		"GET /v1/cluster/peers":    func(ctx context.Context) error { return ignore(c.ClusterPeers(ctx)) },
		"POST /v1/cluster/leave":   func(ctx context.Context) error { return ignore(c.ClusterLeave(ctx)) },
		"POST /v1/cluster/invites": func(ctx context.Context) error { return ignore(c.ClusterInvite(ctx, apitype.ClusterInviteRequest{})) },
		"POST /v1/cluster/remove": func(ctx context.Context) error {
			return ignore(c.ClusterRemove(ctx, apitype.ClusterRemoveRequest{Node: "nffffffffffffffff"}))
		},
		"POST /v1/cluster/join": func(ctx context.Context) error {
			return ignore(c.ClusterJoin(ctx, apitype.ClusterJoinRequest{Token: "not a token"}))
		},
		"GET /v1/cluster/processes": func(ctx context.Context) error { return ignore(c.ClusterProcesses(ctx, false)) },
		"POST /v1/cluster/spawn": func(ctx context.Context) error {
			return ignore(c.ClusterSpawn(ctx, apitype.ClusterSpawnRequest{Node: "nffffffffffffffff", Spawn: apitype.SpawnRequest{Name: "m"}}))
		},
		"POST /v1/cluster/init": func(ctx context.Context) error {
			return ignore(c.ClusterInit(ctx, apitype.ClusterInitRequest{Name: "t", Listen: "127.0.0.1:0"}))
		},
		"POST /v1/ui/login": func(ctx context.Context) error { return ignore(c.UILogin(ctx)) },
	}
	patterns := d.apiHandler.Patterns()
	ctx := context.Background()
	for _, p := range patterns {
		f, ok := calls[p]
		if !ok {
			t.Errorf("%s has no typed client method in this test", p)
			continue
		}
		if f == nil {
			continue
		}
		err := f(ctx)
		var ae *client.APIError
		if err != nil && (!errors.As(err, &ae) || ae.Code == "" || ae.Code == "internal") {
			t.Errorf("%s: %v (%T)", p, err, err)
		}
	}
	for p := range calls {
		if !slices.Contains(patterns, p) {
			t.Errorf("the test names %s, which the daemon does not serve", p)
		}
	}

	// Errors keep their identity across the boundary (the node is in a
	// cluster whatever order the calls above ran in).
	_, _ = c.ClusterInit(ctx, apitype.ClusterInitRequest{Name: "t", Listen: "127.0.0.1:0"})
	// A call to a layer compiled out of the binary is layer_not_built.
	for _, tc := range []struct {
		layer string
		err   error
		want  error
	}{
		{"", ignore(c.Inspect(ctx, 99999)), kernel.ErrUnknownPID},
		{layers.Sandbox, ignore(c.Tool(ctx, "nosuch")), apitype.ErrUnknownTool},
		{layers.LLM, ignore(c.Session(ctx, "nosuch")), apitype.ErrUnknownSession},
		{"", ignore(c.GovResolve(ctx, "nosuch", true, apitype.ResolveRequest{})), apitype.ErrUnknownAction},
		{layers.Memory, ignore(c.MemorySearch(ctx, apitype.MemorySearchRequest{Query: "q", Filter: map[string]string{"scope": "bogus"}})), apitype.ErrInvalidArgument},
		{layers.Mesh, ignore(c.ClusterJoin(ctx, apitype.ClusterJoinRequest{Token: "not a token"})), apitype.ErrBadToken},
		{layers.Mesh, ignore(c.ClusterInit(ctx, apitype.ClusterInitRequest{Name: "again", Listen: "127.0.0.1:0"})), apitype.ErrInCluster},
		{layers.Memory, ignore(c.MemorySearch(ctx, apitype.MemorySearchRequest{Query: "q", Without: []string{"pagerank"}})), apitype.ErrInvalidArgument},
		{layers.Memory, ignore(c.MemorySearch(ctx, apitype.MemorySearchRequest{Query: "q", Fusion: "max"})), apitype.ErrInvalidArgument},
		{layers.Memory, ignore(c.MemorySearch(ctx, apitype.MemorySearchRequest{Query: "q", Only: []string{"bm25"}, Weights: map[string]float64{"bm25": 0}})), apitype.ErrInvalidArgument},
		{layers.Channels, ignore(c.GatewayTokenRevoke(ctx, "nosuch")), apitype.ErrUnknownToken},
		{layers.Channels, ignore(c.PairingResolve(ctx, "ABCDEFGH", false)), apitype.ErrUnknownPairing},
		{layers.Channels, ignore(c.GatewayTokenCreate(ctx, apitype.GatewayTokenCreateRequest{Agents: []string{"a"}, Scopes: []string{"admin"}})), apitype.ErrInvalidArgument},
	} {
		if tc.layer != "" && !layers.Built(tc.layer) {
			tc.want = apitype.ErrLayerNotBuilt
		}
		if !errors.Is(tc.err, tc.want) {
			t.Errorf("error %v is not %v", tc.err, tc.want)
		}
	}
	if err := c.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
}
