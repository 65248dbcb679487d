package doctor

import "errors"

var errDiskUnsupported = errors.New("doctor: free space is not available on this platform")
