package source

import (
	"context"

	"github.com/xenify/xenify/xerr"
)

// openDisks opens disk images and block devices.
func openDisks(ctx context.Context, paths []string, mode Mode) (*Opened, error) {
	return nil, xerr.Usagef("SOURCE %s is not a directory: disk images and block devices are not supported yet; mount the guest's root filesystem and pass its directory", paths[0])
}
