//go:build windows

package client

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"

	"github.com/weftos/weftos/internal/localapi"
)

var errNoAddrFile = errors.New("client: no address file")

// dialer reads weave.addr (address and token) written by the daemon.
func dialer(home string) (func(ctx context.Context, _, _ string) (net.Conn, error), string, error) {
	data, err := os.ReadFile(filepath.Join(home, localapi.AddrName))
	if err != nil {
		return func(context.Context, string, string) (net.Conn, error) { return nil, errNoAddrFile }, "", nil
	}
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	if len(lines) != 2 {
		return nil, "", fmt.Errorf("client: %s is malformed", localapi.AddrName)
	}
	addr, token := strings.TrimSpace(lines[0]), strings.TrimSpace(lines[1])
	var d net.Dialer
	return func(ctx context.Context, _, _ string) (net.Conn, error) {
		return d.DialContext(ctx, "tcp", addr)
	}, token, nil
}
