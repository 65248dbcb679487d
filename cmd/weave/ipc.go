package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"strings"
	"time"

	"github.com/weftos/weftos/internal/apitype"
	"github.com/weftos/weftos/internal/client"
	"github.com/weftos/weftos/internal/cmdline"
	"github.com/weftos/weftos/internal/kernel"
)

func init() {
	register(func(e *env) *cmdline.Command {
		return &cmdline.Command{
			Name:    "ipc",
			Summary: "send, publish, subscribe; dlq lists dead letters",
			Subs: []*cmdline.Command{
				{Name: "send", Summary: "send a message to a target (--request: wait for the reply)", Args: "TARGET MSG", MinArgs: 2, MaxArgs: 2,
					Help:  "TARGET is a PID, kernel, broadcast, topic:NAME, service:NAME or service:NAME.METHOD. The kernel takes JSON requests, e.g. '{\"op\":\"ps\"}'.",
					Setup: e.leaf(ipcSend)},
				{Name: "publish", Summary: "publish a message on a topic", Args: "TOPIC MSG", MinArgs: 2, MaxArgs: 2, Setup: e.leaf(ipcPublish)},
				{Name: "subscribe", Summary: "print a topic's messages as they arrive", Args: "TOPIC", MinArgs: 1, MaxArgs: 1, Setup: e.leaf(ipcSubscribe)},
				{Name: "dlq", Summary: "list the messages that could not be delivered", Setup: e.leaf(ipcDLQ)},
			},
		}
	})
}

// parseTarget reads a target argument: a PID, "kernel", "broadcast",
// "topic:NAME", "service:NAME" or "service:NAME.METHOD".
func parseTarget(s string) (kernel.Target, error) {
	switch {
	case s == "kernel":
		return kernel.ToKernel(), nil
	case s == "broadcast":
		return kernel.ToBroadcast(), nil
	case strings.HasPrefix(s, "topic:"):
		return kernel.ToTopic(strings.TrimPrefix(s, "topic:")), nil
	case strings.HasPrefix(s, "service:"):
		svc, method, ok := strings.Cut(strings.TrimPrefix(s, "service:"), ".")
		if ok {
			return kernel.ToMethod(svc, method), nil
		}
		return kernel.ToService(svc), nil
	}
	pid, err := client.ParsePID(s)
	if err != nil {
		return kernel.Target{}, fmt.Errorf("target %q: want a PID, kernel, broadcast, topic:NAME or service:NAME[.METHOD]", s)
	}
	return kernel.ToProcess(pid), nil
}

// payloadFlag builds a payload from MSG and --payload.
func makePayload(kind, msg string) (kernel.Payload, error) {
	switch kind {
	case "text":
		return kernel.Text(msg), nil
	case "json":
		if !json.Valid([]byte(msg)) {
			return kernel.Payload{}, fmt.Errorf("message is not valid JSON")
		}
		return kernel.JSONPayload(json.RawMessage(msg)), nil
	case "signal":
		sig, err := kernel.ParseSignal(msg)
		if err != nil {
			return kernel.Payload{}, err
		}
		return kernel.SignalPayload(sig), nil
	}
	return kernel.Payload{}, fmt.Errorf("--payload must be text, json or signal")
}

func ipcSend(e *env, fs *flag.FlagSet) cmdline.Action {
	kind := fs.String("payload", "text", "payload kind: text, json or signal")
	request := fs.Bool("request", false, "wait for the reply and print it")
	timeout := fs.Duration("timeout", 5*time.Second, "how long to wait for delivery or the reply (positive)")
	from := fs.Uint64("from", 0, "sending PID (0: the operator, as the kernel)")
	return func(ctx context.Context, pos []string) error {
		if *timeout <= 0 {
			return cmdline.Usagef("--timeout must be positive, got %s", *timeout)
		}
		target, err := parseTarget(pos[0])
		if err != nil {
			return cmdline.Usagef("%v", err)
		}
		payload, err := makePayload(*kind, pos[1])
		if err != nil {
			return cmdline.Usagef("%v", err)
		}
		if target.Kind == kernel.TargetKernel && *kind == "text" {
			payload = kernel.JSONPayload(json.RawMessage(pos[1]))
			if !json.Valid([]byte(pos[1])) {
				return cmdline.Usagef(`the kernel takes JSON requests, e.g. '{"op":"ps"}'`)
			}
			*request = true
		}
		return e.withClient(func(c *client.Client) error {
			resp, err := c.Send(ctx, apitype.SendRequest{From: kernel.PID(*from), Target: target, Payload: payload, Request: *request, Timeout: kernel.Millis(*timeout)})
			if err != nil {
				return err
			}
			if e.json {
				if err := cmdline.PrintJSON(e.stdout, resp); err != nil {
					return err
				}
				return kernelRefusal(target, resp.Reply)
			}
			if resp.Reply != nil {
				if err := printPayload(e, resp.Reply.Payload); err != nil {
					return err
				}
				return kernelRefusal(target, resp.Reply)
			}
			fmt.Fprintf(e.stdout, "sent message %d to %s\n", resp.ID, target)
			return nil
		})
	}
}

// kernelRefusal turns the kernel's answer {"ok": false, …} into an error,
// so a failed kernel operation exits non-zero after printing its answer.
func kernelRefusal(target kernel.Target, reply *kernel.Envelope) error {
	if target.Kind != kernel.TargetKernel || reply == nil || reply.Payload.Kind != kernel.PayloadJSON {
		return nil
	}
	var kr kernel.KernelReply
	if json.Unmarshal(reply.Payload.JSON, &kr) != nil || kr.OK {
		return nil
	}
	return fmt.Errorf("the kernel refused: %s (%s)", kr.Error, kr.Code)
}

func printPayload(e *env, p kernel.Payload) error {
	switch p.Kind {
	case kernel.PayloadText:
		fmt.Fprintln(e.stdout, p.Text)
	case kernel.PayloadJSON:
		var v any
		if json.Unmarshal(p.JSON, &v) == nil {
			return cmdline.PrintJSON(e.stdout, v)
		}
		fmt.Fprintln(e.stdout, string(p.JSON))
	case kernel.PayloadSignal:
		fmt.Fprintln(e.stdout, p.Signal)
	default:
		return cmdline.PrintJSON(e.stdout, p)
	}
	return nil
}

func ipcPublish(e *env, fs *flag.FlagSet) cmdline.Action {
	kind := fs.String("payload", "text", "payload kind: text or json")
	return func(ctx context.Context, pos []string) error {
		if strings.TrimSpace(pos[0]) == "" {
			return cmdline.Usagef("ipc publish: the topic is empty")
		}
		payload, err := makePayload(*kind, pos[1])
		if err != nil {
			return cmdline.Usagef("%v", err)
		}
		return e.withClient(func(c *client.Client) error {
			resp, err := c.Send(ctx, apitype.SendRequest{Target: kernel.ToTopic(pos[0]), Payload: payload})
			if err != nil {
				return err
			}
			return cmdline.Reply(e.stdout, e.json, resp, "published message %d to topic %s\n", resp.ID, pos[0])
		})
	}
}

// errEnough ends a subscription after --count messages.
var errEnough = errors.New("enough")

func ipcSubscribe(e *env, fs *flag.FlagSet) cmdline.Action {
	count := cmdline.Count(fs, "count", 0, "exit after N messages (0: until interrupted)")
	return func(ctx context.Context, pos []string) error {
		if strings.TrimSpace(pos[0]) == "" {
			return cmdline.Usagef("ipc subscribe: the topic is empty")
		}
		return e.withClient(func(c *client.Client) error {
			n := 0
			err := c.Subscribe(ctx, pos[0], func(env kernel.Envelope) error {
				if e.json {
					b, _ := json.Marshal(env)
					fmt.Fprintln(e.stdout, string(b))
				} else {
					body := env.Payload.Text
					if env.Payload.Kind != kernel.PayloadText {
						b, _ := json.Marshal(env.Payload)
						body = string(b)
					}
					fmt.Fprintf(e.stdout, "%s from %s: %s\n", env.Timestamp.Format(time.RFC3339), env.From, body)
				}
				n++
				if *count > 0 && n >= *count {
					return errEnough
				}
				return nil
			})
			if errors.Is(err, errEnough) || errors.Is(err, context.Canceled) {
				return nil
			}
			return err
		})
	}
}

func ipcDLQ(e *env, fs *flag.FlagSet) cmdline.Action {
	return func(ctx context.Context, _ []string) error {
		return e.withClient(func(c *client.Client) error {
			dl, err := c.DeadLetters(ctx)
			if err != nil {
				return err
			}
			if e.json {
				return cmdline.PrintJSON(e.stdout, dl)
			}
			rows := make([][]string, len(dl))
			for i, d := range dl {
				rows[i] = []string{d.Time.Format(time.RFC3339), fmt.Sprint(d.Envelope.ID), d.Envelope.From.String(), d.Envelope.Target.String(), d.Envelope.Payload.Kind.String(), d.Reason}
			}
			return cmdline.Table(e.stdout, []string{"TIME", "ID", "FROM", "TARGET", "PAYLOAD", "REASON"}, rows)
		})
	}
}
