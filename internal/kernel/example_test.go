package kernel_test

import (
	"context"
	"fmt"
	"time"

	"github.com/weftos/weftos/internal/kernel"
)

// A native process receives a message and answers a request.
func Example() {
	k, _ := kernel.New(kernel.Config{NodeID: "example"})
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_ = k.Close(ctx)
	}()
	ctx := context.Background()
	greeter, _ := k.Spawn(ctx, kernel.SpawnSpec{Name: "greeter", InheritCaps: true,
		Handler: kernel.HandlerFunc(func(ctx context.Context, p *kernel.Process) error {
			for {
				env, err := p.Receive(ctx)
				if err != nil {
					return err
				}
				if env.Payload.Kind == kernel.PayloadSignal && env.Payload.Signal == kernel.SignalShutdown {
					return nil
				}
				if env.ReplyTo {
					_ = p.Reply(ctx, env, kernel.Text("hello, "+env.Payload.Text))
				}
			}
		})})
	reply, err := k.Request(ctx, &kernel.Envelope{From: kernel.KernelPID, Target: kernel.ToProcess(greeter), Payload: kernel.Text("weft")})
	fmt.Println(reply.Payload.Text, err)
	_, err = k.Send(ctx, &kernel.Envelope{From: kernel.KernelPID, Target: kernel.ToRemote("n2", kernel.ToProcess(1)), Payload: kernel.Text("x")})
	fmt.Println(kernel.Code(err))
	// Output:
	// hello, weft <nil>
	// mesh_not_enabled
}

// A child asks for more than its parent holds and is refused.
func ExampleAttenuate() {
	parent := kernel.Capabilities{CanIPC: true, IPCScope: kernel.TopicsOnly("news")}
	_, err := kernel.Attenuate(parent, kernel.Capabilities{CanIPC: true, IPCScope: kernel.ScopeAllowAll}, 1, 0)
	fmt.Println(err)
	child, err := kernel.Attenuate(parent, kernel.Capabilities{CanIPC: true, IPCScope: kernel.TopicsOnly("news")}, 1, 0)
	fmt.Println(child.IPCScope, err)
	// Output:
	// kernel: requested capabilities exceed the parent's: ipc scope all: the parent's scope is topic(news)
	// topic(news) <nil>
}
