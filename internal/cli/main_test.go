package cli

import (
	"fmt"
	"os"
	"testing"

	"github.com/xenify/xenify/host/cache"
)

// TestMain gives the tests their own host cache (host/cache), so they
// neither read nor fill the machine's.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "xenify-cli-test-cache-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Setenv(cache.EnvDir, dir)
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}
