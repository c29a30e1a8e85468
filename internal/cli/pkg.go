package cli

import (
	"github.com/xenify/xenify/plan"
	"github.com/xenify/xenify/xerr"
)

// readPackage reads a kernel package's name and version.
func readPackage(p string) (*plan.PackageInfo, error) {
	return nil, xerr.Usagef("--kernel-package %s: reading package headers is not available in this build", p)
}
