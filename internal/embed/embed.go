package embed

import (
	"context"
	"errors"
	"fmt"
	"github.com/weftos/weftos/internal/apikey"
	"net/http"
	"strings"
	"time"
)

// Embedder turns texts into fixed-dimension vectors.
type Embedder interface {
	// Name identifies the embedder and its dimension, e.g. "lexical-v1/384"
	// or "openai:text-embedding-3-small/1536". Vectors from embedders with
	// different names are not comparable.
	Name() string
	// Dim is the length of every vector Embed returns.
	Dim() int
	// Embed returns one vector per text, in order.
	Embed(ctx context.Context, texts []string) ([][]float32, error)
}

// Sentinel errors. *APIError values match the first four with errors.Is.
var (
	// ErrRateLimited reports an HTTP 429 that persisted through the retries.
	ErrRateLimited = errors.New("embed: rate limited")
	// ErrAuth reports a rejected or missing API key (HTTP 401/403).
	ErrAuth = errors.New("embed: authentication failed")
	// ErrBadRequest reports a request the server refused (HTTP 400, 404,
	// 413, 422: unknown model, input too long, …). It is not retried.
	ErrBadRequest = errors.New("embed: request rejected")
	// ErrUnavailable reports a 5xx answer or a connection failure that
	// persisted through the retries.
	ErrUnavailable = errors.New("embed: server unavailable")
	// ErrBadResponse reports a response that does not follow the wire
	// format (bad JSON, wrong count or dimension, non-finite numbers).
	ErrBadResponse = errors.New("embed: malformed response")
	// ErrKeyFile reports an API key file that cannot be used.
	ErrKeyFile = apikey.ErrKeyFile
	// ErrConfig reports an invalid configuration.
	ErrConfig = errors.New("embed: invalid config")
)

// APIError is an error answer from an embeddings server.
type APIError struct {
	// Provider is "openai" or "ollama" (the client kind).
	Provider string
	// Status is the HTTP status code.
	Status int
	// Code and Type are the vendor's error code and type, when given.
	Code, Type string
	// Message is the vendor's error message, with the API key redacted.
	Message string
	// RetryAfter is the delay the server asked for, if any.
	RetryAfter time.Duration
}

func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "embed: %s: HTTP %d", e.Provider, e.Status)
	if e.Code != "" {
		fmt.Fprintf(&b, " (%s)", e.Code)
	}
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	return b.String()
}

// Is matches the sentinel that corresponds to the status code.
func (e *APIError) Is(target error) bool {
	switch target {
	case ErrRateLimited:
		return e.Status == http.StatusTooManyRequests
	case ErrAuth:
		return e.Status == http.StatusUnauthorized || e.Status == http.StatusForbidden
	case ErrUnavailable:
		return e.Status >= 500
	case ErrBadRequest:
		return e.Status >= 400 && e.Status < 500 && e.Status != http.StatusTooManyRequests &&
			e.Status != http.StatusUnauthorized && e.Status != http.StatusForbidden
	}
	return false
}

// retryable reports whether a status is worth retrying.
func retryableStatus(status int) bool {
	return status == http.StatusTooManyRequests || status == http.StatusRequestTimeout ||
		status == http.StatusConflict || status >= 500
}
