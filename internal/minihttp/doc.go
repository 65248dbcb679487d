// Package minihttp is the small HTTP/1.1 subset the local API speaks when a
// build links no net/http (the edge build, tag nonethttp; see
// internal/localhttp, which picks it or net/http).
//
// It provides only what the API over its Unix socket needs: a server
// (request line and headers with size limits, Content-Length request bodies,
// keep-alive, header/idle timeouts, chunked responses with Flush and
// trailers, graceful Shutdown), a mux for "METHOD /path/{name}" patterns and
// a client (one dialer, Content-Length, chunked and close-delimited bodies,
// streaming, context cancellation). Not supported, and refused with a clear
// error: chunked or otherwise encoded request bodies, Expect: 100-continue,
// protocol upgrades, HTTP/2, TLS, proxies, compression, redirects, cookies,
// multipart forms, content sniffing. Bad input is answered with 400/413/431/
// 501 and the connection is closed; parsers return errors, never panic.
//
// Names and semantics follow net/http so handlers compile against either.
package minihttp
