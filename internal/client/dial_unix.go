//go:build !windows

package client

import (
	"context"
	"errors"
	"net"
	"path/filepath"

	"github.com/weftos/weftos/internal/localapi"
)

var errNoAddrFile = errors.New("client: no address file")

func dialer(home string) (func(ctx context.Context, _, _ string) (net.Conn, error), string, error) {
	path := filepath.Join(home, localapi.SocketName)
	var d net.Dialer
	return func(ctx context.Context, _, _ string) (net.Conn, error) {
		return d.DialContext(ctx, "unix", path)
	}, "", nil
}
