package client

import (
	"context"
	"encoding/json"
	"fmt"

	http "github.com/weftos/weftos/internal/localhttp"

	"github.com/weftos/weftos/internal/apitype"
)

// PlanRun asks the daemon to plan and run a goal (ECC's Generate mode)
// and hands each progress event to fn as it happens.
func (c *Client) PlanRun(ctx context.Context, req apitype.PlanRequest, fn func(apitype.PlanEvent) error) error {
	return c.stream(ctx, http.MethodPost, "/v1/plan/run", req, func(line []byte) error {
		var ev apitype.PlanEvent
		if err := json.Unmarshal(line, &ev); err != nil {
			return fmt.Errorf("client: bad event from the daemon: %w", err)
		}
		return fn(ev)
	})
}
