package e2e

// Variant is one native guest recipe and how its converted form must boot.
type Variant struct {
	Name     string // also the domain name
	Suite    string // Debian suite for mmdebstrap
	Layout   string // guest/build-guest.sh LAYOUT: plain | bootlvm
	Names    string // guest/build-guest.sh NAMES: dev | uuid
	Direct   bool   // convert with --boot direct instead of pygrub
	WantRoot string // findmnt SOURCE of / in the booted guest
}

// Password is the guest's root password, set by the recipe; the dom0
// driver logs in with it over the Xen console.
const Password = "xenify-e2e"

// Variants are the guests the tier boots.
var Variants = []Variant{
	{Name: "deb12-sda1", Suite: "bookworm", Layout: "plain", Names: "dev", WantRoot: "/dev/xvda1"},
	{Name: "deb12-bootlvm", Suite: "bookworm", Layout: "bootlvm", Names: "dev", WantRoot: "/dev/mapper/vg0-root"},
	{Name: "deb11-uuid", Suite: "bullseye", Layout: "plain", Names: "uuid", WantRoot: "/dev/xvda1"},
	{Name: "deb12-direct", Suite: "bookworm", Layout: "plain", Names: "dev", Direct: true, WantRoot: "/dev/xvda1"},
}
