package tools

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strings"
	"syscall"
)

type webFetchIn struct {
	URL string `json:"url"`
}

// WebFetchResult is the output of web_fetch.
type WebFetchResult struct {
	URL         string `json:"url"` // final URL after redirects
	Status      int    `json:"status"`
	ContentType string `json:"content_type"`
	Body        string `json:"body"`
	Truncated   bool   `json:"truncated"`
	Binary      bool   `json:"binary,omitempty"` // body omitted: not text
}

func webFetchTool() Tool {
	s := object([]string{"url"}, map[string]*Schema{
		"url": {Type: "string", Description: "http:// or https:// URL to GET.", MinLength: ptr(1), MaxLength: ptr(8192)},
	})
	return newBuiltin("web_fetch",
		"Fetch a public web page or API response with HTTP GET. Returns the status, content type and body text (cut at the size cap, then truncated=true). Private, loopback and link-local addresses are refused unless the policy allows them.",
		s, webAction, runWebFetch)
}

func parseFetchURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, toolErr("web_fetch", CodeInvalidInput, err, "cannot parse URL %q", raw)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, toolErr("web_fetch", CodeInvalidInput, nil, "only http and https URLs can be fetched, not %q", u.Scheme)
	}
	if u.Hostname() == "" {
		return nil, toolErr("web_fetch", CodeInvalidInput, nil, "URL %q has no host", raw)
	}
	if u.User != nil {
		return nil, toolErr("web_fetch", CodeInvalidInput, nil, "URLs with credentials are not fetched")
	}
	return u, nil
}

func webAction(_ *Env, in *webFetchIn) (Action, error) {
	u, err := parseFetchURL(in.URL)
	if err != nil {
		return Action{}, err
	}
	return Action{Name: "net.egress", Tool: "web_fetch", Host: strings.ToLower(u.Hostname()),
		Extra: map[string]string{"url": u.Redacted(), "method": "GET"}}, nil
}

func hostAllowed(pol NetworkPolicy, host string) bool {
	if len(pol.AllowHosts) == 0 {
		return true
	}
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	for _, h := range pol.AllowHosts {
		h = strings.ToLower(h)
		if h == host || (strings.HasPrefix(h, "*.") && strings.HasSuffix(host, h[1:])) {
			return true
		}
	}
	return false
}

// errAddressRefused is the cause of a refusal by the address check.
var errAddressRefused = errors.New("address refused")

// guardedDialer resolves the host itself, refuses disallowed addresses and
// dials the checked IP (never the name), so a DNS answer cannot change
// between check and use. The default dialer's Control hook checks once more
// the address actually being connected.
func guardedDialer(pol NetworkPolicy) func(ctx context.Context, network, addr string) (net.Conn, error) {
	resolver := pol.Resolver
	if resolver == nil {
		resolver = net.DefaultResolver
	}
	dial := pol.Dial
	if dial == nil {
		d := &net.Dialer{Control: dialControl(pol.AllowPrivate)}
		dial = d.DialContext
	}
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		host, port, err := net.SplitHostPort(addr)
		if err != nil {
			return nil, err
		}
		var ips []netip.Addr
		if ip, err := netip.ParseAddr(host); err == nil {
			ips = []netip.Addr{ip.Unmap()}
		} else {
			ias, err := resolver.LookupIPAddr(ctx, host)
			if err != nil {
				return nil, toolErr("web_fetch", CodeFailed, err, "cannot resolve %s", host)
			}
			for _, ia := range ias {
				if ip, ok := netip.AddrFromSlice(ia.IP); ok {
					ips = append(ips, ip.Unmap()) // net.IP is often 16-byte IPv4
				}
			}
		}
		if len(ips) == 0 {
			return nil, toolErr("web_fetch", CodeFailed, nil, "%s has no addresses", host)
		}
		// Refuse if any address is disallowed: a name that mixes public and
		// private answers is a rebinding attempt or a misconfiguration.
		for _, ip := range ips {
			if err := checkAddr(ip, pol.AllowPrivate); err != nil {
				return nil, toolErr("web_fetch", CodeDenied, err, "%s resolves to %s, a private or special-purpose address; it is not fetched", host, ip)
			}
		}
		var last error
		for _, ip := range ips {
			c, err := dial(ctx, network, net.JoinHostPort(ip.String(), port))
			if err == nil {
				return c, nil
			}
			last = err
		}
		return nil, last
	}
}

// dialControl is the net.Dialer Control hook: it checks the address the
// socket is about to connect to.
func dialControl(allowPrivate bool) func(network, address string, c syscall.RawConn) error {
	return func(_, address string, _ syscall.RawConn) error {
		ap, err := netip.ParseAddrPort(address)
		if err != nil {
			return fmt.Errorf("%w: cannot parse %q", errAddressRefused, address)
		}
		return checkAddr(ap.Addr(), allowPrivate)
	}
}

// special lists non-global ranges beyond what netip's predicates cover.
var special = func() []netip.Prefix {
	var out []netip.Prefix
	for _, s := range []string{
		"0.0.0.0/8",       // "this network"
		"100.64.0.0/10",   // CGNAT shared address space
		"192.0.0.0/24",    // IETF protocol assignments
		"192.0.2.0/24",    // TEST-NET-1
		"198.18.0.0/15",   // benchmarking
		"198.51.100.0/24", // TEST-NET-2
		"203.0.113.0/24",  // TEST-NET-3
		"240.0.0.0/4",     // reserved, includes broadcast
		"64:ff9b::/96",    // NAT64: may embed a private IPv4 address
		"64:ff9b:1::/48",  // local-use NAT64
		"100::/64",        // discard-only
		"2001::/23",       // IETF protocol assignments (incl. Teredo)
		"2001:db8::/32",   // documentation
		"2002::/16",       // 6to4: embeds an IPv4 address
		"fec0::/10",       // deprecated site-local
	} {
		out = append(out, netip.MustParsePrefix(s))
	}
	return out
}()

// checkAddr refuses addresses a fetch must not reach: always unspecified,
// multicast and broadcast; unless allowPrivate, also loopback, private,
// link-local, and the special-purpose ranges above.
func checkAddr(ip netip.Addr, allowPrivate bool) error {
	ip = ip.Unmap()
	if !ip.IsValid() || ip.IsUnspecified() || ip.IsMulticast() || ip == netip.AddrFrom4([4]byte{255, 255, 255, 255}) {
		return fmt.Errorf("%w: %s is not a unicast address", errAddressRefused, ip)
	}
	if allowPrivate {
		return nil
	}
	if ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.Zone() != "" {
		return fmt.Errorf("%w: %s is loopback, private or link-local", errAddressRefused, ip)
	}
	for _, p := range special {
		if p.Contains(ip) {
			return fmt.Errorf("%w: %s is in the special-purpose range %s", errAddressRefused, ip, p)
		}
	}
	return nil
}
