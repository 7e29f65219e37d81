package jsonlogic

import (
	"testing"

	"go.uber.org/goleak"
)

// The package starts no goroutine; its concurrency test starts some and
// must end them.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
