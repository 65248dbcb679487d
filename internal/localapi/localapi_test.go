package localapi

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/weftos/weftos/internal/apitype"
	"github.com/weftos/weftos/internal/kernel"
	"github.com/weftos/weftos/internal/localhttp/localhttptest"
)

type backend struct{ k *kernel.Kernel }

func (b backend) Kernel() *kernel.Kernel { return b.k }
func (b backend) Status() apitype.Status { return apitype.Status{NodeID: "n1"} }
func (b backend) DefaultCaps() kernel.Capabilities {
	return kernel.Capabilities{CanIPC: true, IPCScope: kernel.ScopeAllowAll}
}
func (b backend) AddCron(context.Context, apitype.CronRequest) (kernel.CronJob, error) {
	return kernel.CronJob{}, kernel.ErrInvalid
}
func (b backend) RemoveCron(context.Context, string) error { return kernel.ErrUnknownJob }
func (b backend) Config() apitype.ConfigResponse           { return apitype.ConfigResponse{} }
func (b backend) Shutdown()                                {}

var _ Backend = backend{}

func TestHandlerErrorsAndAuth(t *testing.T) {
	k, err := kernel.New(kernel.Config{})
	if err != nil {
		t.Fatal(err)
	}
	k.RegisterKind(kernel.MailboxKind, kernel.NewMailbox)
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = k.Close(ctx)
	}()
	base := localhttptest.NewServer(t, NewHandler(Options{Backend: backend{k}, Token: "secret"}))
	call := func(method, path, body, token string) (int, apitype.ErrorResponse) {
		req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var er apitype.ErrorResponse
		_ = json.NewDecoder(resp.Body).Decode(&er)
		return resp.StatusCode, er
	}
	cases := []struct {
		method, path, body, token string
		status                    int
		code                      string
	}{
		{"GET", "/v1/status", "", "", 401, "unauthorized"},
		{"GET", "/v1/status", "", "wrong", 401, "unauthorized"},
		{"GET", "/v1/status", "", "secret", 200, ""},
		{"GET", "/v1/processes/77", "", "secret", 404, "unknown_pid"},
		{"GET", "/v1/processes/x", "", "secret", 400, "invalid_argument"},
		{"POST", "/v1/processes/0/kill", "", "secret", 400, "invalid_argument"},
		{"POST", "/v1/processes", `{"name":"a","bogus":1}`, "secret", 400, "invalid_argument"},
		{"POST", "/v1/processes", `{"name":"a","kind":"nope"}`, "secret", 404, "unknown_kind"},
		{"POST", "/v1/ipc/send", `{"target":{"kind":"remote","node":"n2","inner":{"kind":"process","pid":5}},"payload":{"kind":"text","text":"x"}}`, "secret", 502, "mesh_not_enabled"},
		{"POST", "/v1/ipc/send", `{"target":{"kind":"warp"},"payload":{"kind":"text"}}`, "secret", 400, "invalid_argument"},
		{"GET", "/v1/ipc/subscribe", "", "secret", 400, "invalid_argument"},
		{"POST", "/v1/cron", `{"schedule":"x"}`, "secret", 400, "invalid_argument"},
		{"DELETE", "/v1/cron/job-1", "", "secret", 404, "unknown_job"},
		{"POST", "/v1/services", `{"name":"a.b","pid":1}`, "secret", 400, "invalid_argument"},
		{"POST", "/v1/services", `{"name":"ab","pid":77}`, "secret", 404, "unknown_pid"},
		{"POST", "/v1/services", `{"name":"ab","pid":0}`, "secret", 400, "invalid_argument"},
		{"POST", "/v1/services", `{"name":"kernel","pid":1}`, "secret", 409, "service_exists"},
		{"POST", "/v1/services", `{"name":"ab","pid":1,"methods":["get"]}`, "secret", 200, ""},
		{"POST", "/v1/ipc/send", `{"target":{"kind":"service","service":"kernel"},"payload":{"kind":"text","text":"x"}}`, "secret", 400, "service_not_ipc"},
		{"POST", "/v1/ipc/send", `{"target":{"kind":"service_method","service":"ab","method":"put"},"payload":{"kind":"text","text":"x"}}`, "secret", 404, "unknown_method"},
		{"POST", "/v1/ipc/send", `{"target":{"kind":"service","service":"nope"},"payload":{"kind":"text","text":"x"}}`, "secret", 404, "unknown_service"},
		{"DELETE", "/v1/services/nope", "", "secret", 404, "unknown_service"},
		{"DELETE", "/v1/services/kernel", "", "secret", 400, "invalid_argument"},
		{"DELETE", "/v1/services/ab", "", "secret", 200, ""},
	}
	if err := k.RegisterService(kernel.ServiceSpec{Name: "kernel", Type: "builtin", Owner: kernel.KernelPID, Endpoint: "ipc:kernel"}); err != nil {
		t.Fatal(err)
	}
	if pid, err := k.Spawn(context.Background(), kernel.SpawnSpec{Name: "m", Kind: kernel.MailboxKind, InheritCaps: true}); err != nil || pid != 1 {
		t.Fatalf("spawn: %d, %v", pid, err)
	}
	for _, c := range cases {
		status, er := call(c.method, c.path, c.body, c.token)
		if status != c.status || er.Error.Code != c.code {
			t.Errorf("%s %s: %d %q, want %d %q (%s)", c.method, c.path, status, er.Error.Code, c.status, c.code, er.Error.Message)
		}
	}
}
