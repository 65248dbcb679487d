module github.com/weftos/weftos

go 1.26.8

require (
	github.com/cloudflare/circl v1.6.5
	github.com/pelletier/go-toml/v2 v2.4.3
	github.com/tetratelabs/wazero v1.12.0
	go.uber.org/goleak v1.3.0
	golang.org/x/sys v0.47.0
)

require github.com/stretchr/testify v1.11.1 // indirect
