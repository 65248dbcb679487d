package client

import (
	"context"
	"net/http"
	"net/url"
	"strconv"

	"github.com/weftos/weftos/internal/apitype"
)

// Xref returns what is linked to id (a universal id, a unique hex prefix
// or a key such as "seq:42" or "session:NAME"), to depth hops.
func (c *Client) Xref(ctx context.Context, id string, depth int) (apitype.XrefResponse, error) {
	var out apitype.XrefResponse
	v := url.Values{"depth": {strconv.Itoa(depth)}}
	return out, c.do(ctx, http.MethodGet, "/v1/xref/"+url.PathEscape(id)+"?"+v.Encode(), nil, &out)
}
