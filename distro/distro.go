// Package distro picks the family implementation for a guest. Each family
// (redhat, debian) answers the planner's questions in its own package.
package distro

import (
	"github.com/xenify/xenify/distro/debian"
	"github.com/xenify/xenify/distro/redhat"
	"github.com/xenify/xenify/inspect"
	"github.com/xenify/xenify/plan"
	"github.com/xenify/xenify/xerr"
)

// For returns the family of an inspected guest.
func For(in *inspect.Inspection) (plan.Family, error) {
	switch in.OS.Family {
	case "redhat":
		return redhat.Family{}, nil
	case "debian":
		return debian.Family{}, nil
	}
	return nil, xerr.Refuse(in.OS.Source, 0, "xenify converts RHEL-family and Debian-family guests", "unsupported distribution %q", in.OS.Distro)
}
