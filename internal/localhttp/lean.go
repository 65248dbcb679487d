//go:build nonethttp

package localhttp

import impl "github.com/weftos/weftos/internal/minihttp"

// Impl names the HTTP implementation this build serves and calls
// the local API with.
const Impl = "minihttp"

// The types handlers, the server and the client use.
type (
	Handler            = impl.Handler
	HandlerFunc        = impl.HandlerFunc
	ResponseWriter     = impl.ResponseWriter
	Request            = impl.Request
	Response           = impl.Response
	Header             = impl.Header
	Flusher            = impl.Flusher
	ServeMux           = impl.ServeMux
	Server             = impl.Server
	Client             = impl.Client
	Transport          = impl.Transport
	ResponseController = impl.ResponseController
	MaxBytesError      = impl.MaxBytesError
)

// Functions.
var (
	NewServeMux           = impl.NewServeMux
	NewRequestWithContext = impl.NewRequestWithContext
	NewResponseController = impl.NewResponseController
	MaxBytesReader        = impl.MaxBytesReader
	Error                 = impl.Error
	StatusText            = impl.StatusText
	CanonicalHeaderKey    = impl.CanonicalHeaderKey
	ErrServerClosed       = impl.ErrServerClosed
	NoBody                = impl.NoBody
)

// Methods.
const (
	MethodGet    = impl.MethodGet
	MethodHead   = impl.MethodHead
	MethodPost   = impl.MethodPost
	MethodPut    = impl.MethodPut
	MethodDelete = impl.MethodDelete
)

// Status codes.
const (
	StatusOK                          = impl.StatusOK
	StatusBadRequest                  = impl.StatusBadRequest
	StatusUnauthorized                = impl.StatusUnauthorized
	StatusForbidden                   = impl.StatusForbidden
	StatusNotFound                    = impl.StatusNotFound
	StatusMethodNotAllowed            = impl.StatusMethodNotAllowed
	StatusConflict                    = impl.StatusConflict
	StatusGone                        = impl.StatusGone
	StatusLengthRequired              = impl.StatusLengthRequired
	StatusRequestEntityTooLarge       = impl.StatusRequestEntityTooLarge
	StatusUnprocessableEntity         = impl.StatusUnprocessableEntity
	StatusTooManyRequests             = impl.StatusTooManyRequests
	StatusRequestHeaderFieldsTooLarge = impl.StatusRequestHeaderFieldsTooLarge
	StatusInternalServerError         = impl.StatusInternalServerError
	StatusNotImplemented              = impl.StatusNotImplemented
	StatusBadGateway                  = impl.StatusBadGateway
	StatusServiceUnavailable          = impl.StatusServiceUnavailable
	StatusGatewayTimeout              = impl.StatusGatewayTimeout
)
