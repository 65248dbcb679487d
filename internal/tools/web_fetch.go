//go:build !nonethttp

package tools

import (
	"context"
	"errors"
	"io"
	"mime"
	"net"
	"net/http"
	"strings"
)

func runWebFetch(ctx context.Context, env *Env, in *webFetchIn) (any, error) {
	const tool = "web_fetch"
	pol := env.policy.Network
	if !pol.Enabled {
		return nil, toolErr(tool, CodeDenied, nil, "web_fetch is disabled by the tool policy")
	}
	u, err := parseFetchURL(in.URL)
	if err != nil {
		return nil, err
	}
	if !hostAllowed(pol, u.Hostname()) {
		return nil, toolErr(tool, CodeDenied, nil, "host %s is not on the allow-list", u.Hostname())
	}
	ctx, cancel := context.WithTimeout(ctx, pol.Timeout)
	defer cancel()
	client, closeIdle := GuardedClient(tool, pol)
	defer closeIdle()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, toolErr(tool, CodeInvalidInput, err, "cannot build a request for %q", in.URL)
	}
	req.Header.Set("User-Agent", pol.UserAgent)
	req.Header.Set("Accept", "text/*, application/json, application/xml;q=0.9, */*;q=0.5")
	resp, err := client.Do(req)
	if err != nil {
		var te *ToolError
		var ne net.Error
		switch {
		case errors.As(err, &te):
			return nil, te
		case ctx.Err() != nil, errors.As(err, &ne) && ne.Timeout():
			// The context deadline and the transport's header timeout are
			// the same duration: either may fire first.
			return nil, toolErr(tool, CodeTimeout, err, "fetching %s did not finish within %s", u.Redacted(), pol.Timeout)
		}
		return nil, toolErr(tool, CodeFailed, err, "fetching %s failed: %v", u.Redacted(), err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, pol.MaxBytes+1))
	if err != nil {
		if ctx.Err() != nil {
			return nil, toolErr(tool, CodeTimeout, err, "reading %s did not finish within %s", u.Redacted(), pol.Timeout)
		}
		return nil, toolErr(tool, CodeFailed, err, "reading the response from %s failed: %v", u.Redacted(), err)
	}
	res := &WebFetchResult{URL: resp.Request.URL.Redacted(), Status: resp.StatusCode, ContentType: resp.Header.Get("Content-Type")}
	if int64(len(body)) > pol.MaxBytes {
		body, res.Truncated = body[:pol.MaxBytes], true
	}
	if isText(res.ContentType, body) {
		res.Body = strings.ToValidUTF8(string(body), "\uFFFD")
	} else {
		res.Binary = true
	}
	return res, nil
}

// GuardedClient returns an HTTP client that connects only to global
// unicast addresses (unless pol.AllowPrivate), checks the resolved address
// at connection time and on every redirect, honours pol's host allow-list
// and redirect limit, and uses no proxy. tool names the caller in errors.
// Call closeIdle when done.
func GuardedClient(tool string, pol NetworkPolicy) (client *http.Client, closeIdle func()) {
	pol = Policy{Network: pol}.withDefaults().Network
	tr := &http.Transport{
		Proxy:                 nil, // a proxy would connect on our behalf, bypassing the address check
		DialContext:           guardedDialer(pol),
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          1,
		DisableKeepAlives:     true,
		ResponseHeaderTimeout: pol.Timeout,
	}
	redirects := 0
	client = &http.Client{Transport: tr, CheckRedirect: func(req *http.Request, _ []*http.Request) error {
		redirects++
		if pol.MaxRedirects < 0 || redirects > pol.MaxRedirects {
			return toolErr(tool, CodeDenied, nil, "too many redirects (limit %d)", max(pol.MaxRedirects, 0))
		}
		if _, err := parseFetchURL(req.URL.String()); err != nil {
			return err
		}
		if !hostAllowed(pol, req.URL.Hostname()) {
			return toolErr(tool, CodeDenied, nil, "redirect to host %s, which is not on the allow-list", req.URL.Hostname())
		}
		return nil
	}}
	return client, tr.CloseIdleConnections
}

func isText(ct string, body []byte) bool {
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil || ct == "" {
		mt = http.DetectContentType(body)
		mt, _, _ = mime.ParseMediaType(mt)
	}
	switch {
	case strings.HasPrefix(mt, "text/"), strings.HasSuffix(mt, "+json"), strings.HasSuffix(mt, "+xml"):
		return true
	}
	switch mt {
	case "application/json", "application/xml", "application/javascript", "application/ecmascript",
		"application/x-www-form-urlencoded", "application/yaml", "application/toml", "image/svg+xml":
		return true
	}
	return false
}
