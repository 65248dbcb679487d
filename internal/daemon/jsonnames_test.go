package daemon

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/weftos/weftos/chain"
	"github.com/weftos/weftos/internal/agenthost"
	"github.com/weftos/weftos/internal/apitype"
	"github.com/weftos/weftos/internal/kernel"
	"github.com/weftos/weftos/internal/memory"
)

var snake = regexp.MustCompile(`^[a-z0-9]+(_[a-z0-9]+)*$`)

// TestJSONIsSnakeCase: every type the local API answers with names its
// fields in snake_case — no field reaches the wire under its Go name.
func TestJSONIsSnakeCase(t *testing.T) {
	wire := []any{
		// Every type of internal/apitype (TestEveryAPITypeChecked keeps
		// this list complete) ...
		apitype.Status{}, apitype.Provider{}, apitype.SpawnRequest{}, apitype.SpawnResponse{}, apitype.SendRequest{}, apitype.SendResponse{},
		apitype.CronRequest{}, apitype.ConfigResponse{}, apitype.OK{}, apitype.Error{}, apitype.ErrorResponse{},
		apitype.RunRequest{}, apitype.RunEvent{}, apitype.Usage{}, apitype.Model{}, apitype.ProviderProblem{}, apitype.ModelsResponse{},
		apitype.Skill{}, apitype.SkillsResponse{}, apitype.AgentTool{}, apitype.SessionsResponse{}, apitype.SessionRemoveResponse{}, apitype.SessionForkRequest{},
		apitype.ChainEventsQuery{}, apitype.RulesResponse{}, apitype.CheckRequest{}, apitype.EnvRequest{}, apitype.EnvResponse{},
		apitype.AmendRequest{}, apitype.AmendResponse{}, apitype.ResolveRequest{}, apitype.ResolveResponse{},
		apitype.MemoryIngestRequest{}, apitype.MemoryIngestEvent{}, apitype.MemorySearchRequest{}, apitype.MemoryRemoveResponse{},
		apitype.MemoryReembedResponse{}, apitype.ToolInstallRequest{}, apitype.InstalledTool{}, apitype.ToolMount{}, apitype.ToolRunRequest{},
		apitype.ToolRunResult{}, apitype.ToolRemoveResponse{}, apitype.ToolFailure{},
		apitype.GatewayTokenCreateRequest{}, apitype.GatewayToken{}, apitype.GatewayTokenCreated{}, apitype.GatewayTokensResponse{},
		apitype.GatewayInfo{}, apitype.ChannelStatus{}, apitype.ChannelsResponse{}, apitype.PairingRequest{}, apitype.PairedSender{},
		apitype.PairingResponse{}, apitype.PairingResolveResponse{},
		apitype.ServiceRegisterRequest{}, apitype.AgentStartRequest{}, apitype.AgentStartResponse{},
		apitype.AppInstallRequest{}, apitype.App{}, apitype.AppRemoveResponse{},
		apitype.AppConfigRequest{}, apitype.AppConfigSetting{}, apitype.AppConfig{},
		apitype.PublisherTrustRequest{}, apitype.PublisherKey{}, apitype.PublisherList{},
		apitype.MCPSessionRequest{}, apitype.MCPTool{}, apitype.MCPSession{}, apitype.MCPCallRequest{}, apitype.MCPCallResult{}, apitype.MCPSessionEnded{},
		apitype.LogsResponse{}, apitype.LogLine{}, apitype.DoctorReport{}, apitype.DoctorCheck{},
		apitype.ClusterInitRequest{}, apitype.ClusterInviteRequest{}, apitype.ClusterInvite{}, apitype.ClusterJoinRequest{},
		apitype.ClusterRemoveRequest{}, apitype.ClusterStatus{}, apitype.ClusterConsensus{}, apitype.ChainWitness{}, apitype.ClusterPeer{}, apitype.ClusterSpawnRequest{}, apitype.ClusterSpawnResponse{}, apitype.ClusterNodeProcesses{},
		apitype.UILoginResponse{},
		apitype.XrefNode{}, apitype.XrefLink{}, apitype.XrefResponse{}, apitype.EccEdgeRequest{}, apitype.EccEdgeResponse{}, apitype.EccNode{},
		apitype.EccStep{}, apitype.EccWalkQuery{}, apitype.EccWalkResponse{}, apitype.EccQueue{}, apitype.EccGraph{}, apitype.EccXref{},
		apitype.EccSalient{}, apitype.EccStatus{},
		apitype.PlanRequest{}, apitype.PlanTask{}, apitype.PlanEvent{},
		apitype.EccSalient{}, apitype.EccStatus{}, apitype.EccAnalyzeRequest{}, apitype.EccAnalyzeProgress{}, apitype.EccAnalyzeResult{},
		apitype.EccAnalyzeEvent{},
		// ... and the lower layers' types it names.
		apitype.ChainStatus{}, apitype.ChainKeys{}, apitype.ChainEvent{}, apitype.ChainProof{}, apitype.ChainConsistency{},
		apitype.Decision{}, apitype.PendingItem{}, apitype.AuditReport{}, apitype.MemoryHit{}, apitype.MemoryContribution{}, apitype.MemoryStats{}, memory.Weights{},
		apitype.SessionSummary{}, apitype.SessionSnapshot{},
		kernel.Info{}, kernel.Capabilities{}, kernel.ServiceInfo{}, kernel.CronJob{}, kernel.Status{}, kernel.KernelReply{},
		kernel.DeadLetter{}, kernel.Envelope{}, memory.IngestResult{}, memory.IngestProgress{}, chain.Report{},
		kernel.ServiceEvent{}, kernel.SupervisorChildEvent{}, kernel.SupervisorChild{},
		// The payloads an agent process takes and answers over IPC
		// (`weave ipc send` shows them too).
		agenthost.Request{}, agenthost.Reply{},
	}
	for _, v := range wire {
		checkSnake(t, reflect.TypeOf(v), reflect.TypeOf(v).Name(), map[reflect.Type]bool{})
	}
	listed := map[string]bool{}
	for _, v := range wire {
		ty := reflect.TypeOf(v)
		if ty.PkgPath() == reflect.TypeOf(apitype.Status{}).PkgPath() {
			listed[ty.Name()] = true
		}
	}
	// Every struct type declared in apitype is checked (aliases are
	// checked through what they name).
	fset := token.NewFileSet()
	pkgs, err := parser.ParseDir(fset, "../apitype", func(fi fs.FileInfo) bool { return !strings.HasSuffix(fi.Name(), "_test.go") }, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, pkg := range pkgs {
		for _, f := range pkg.Files {
			for _, d := range f.Decls {
				gd, ok := d.(*ast.GenDecl)
				if !ok || gd.Tok != token.TYPE {
					continue
				}
				for _, sp := range gd.Specs {
					ts := sp.(*ast.TypeSpec)
					if _, isStruct := ts.Type.(*ast.StructType); isStruct && ts.Assign == 0 && ts.Name.IsExported() && !listed[ts.Name.Name] {
						t.Errorf("apitype.%s is not in this test's list", ts.Name.Name)
					}
				}
			}
		}
	}
}

func checkSnake(t *testing.T, ty reflect.Type, path string, seen map[reflect.Type]bool) {
	t.Helper()
	for ty.Kind() == reflect.Pointer || ty.Kind() == reflect.Slice || ty.Kind() == reflect.Array || ty.Kind() == reflect.Map {
		ty = ty.Elem()
	}
	if ty.Kind() != reflect.Struct || seen[ty] || ty.PkgPath() == "time" {
		return
	}
	seen[ty] = true
	if _, custom := reflect.New(ty).Interface().(interface{ MarshalJSON() ([]byte, error) }); custom {
		return
	}
	if _, custom := reflect.New(ty).Interface().(interface{ MarshalText() ([]byte, error) }); custom {
		return
	}
	for i := range ty.NumField() {
		f := ty.Field(i)
		if !f.IsExported() {
			continue
		}
		tag := f.Tag.Get("json")
		name, _, _ := strings.Cut(tag, ",")
		switch {
		case name == "-":
			continue
		case f.Anonymous && name == "":
			checkSnake(t, f.Type, path, seen)
			continue
		case name == "" || !snake.MatchString(name):
			t.Errorf("%s.%s is on the wire as %q", path, f.Name, orGoName(name, f.Name))
		}
		checkSnake(t, f.Type, path+"."+f.Name, seen)
	}
}

func orGoName(tag, name string) string {
	if tag == "" {
		return name
	}
	return tag
}
