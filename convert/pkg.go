package convert

import (
	"fmt"
	"os"

	"github.com/xenify/xenify/pkgfile"
	"github.com/xenify/xenify/plan"
	"github.com/xenify/xenify/xerr"
)

// readPackage reads a kernel package's name and the kernel release it
// installs, so the plan can name the boot entry before installing it.
func readPackage(p string) (*plan.PackageInfo, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, xerr.Usagef("--kernel-package: %v", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	info, err := pkgfile.Read(f, st.Size())
	if err != nil {
		return nil, xerr.Usagef("--kernel-package %s: %v", p, err)
	}
	var rel string
	for _, r := range info.KernelReleases {
		if info.HasModules(r) {
			rel = r
			break
		}
	}
	switch {
	case len(info.KernelReleases) == 0:
		return nil, xerr.Usagef("--kernel-package %s: %s %s installs no /boot/vmlinuz-*: not a kernel package", p, info.Name, info.Version)
	case rel == "":
		rel = info.KernelReleases[0]
	}
	return &plan.PackageInfo{Format: info.Format, Name: info.Name, Version: rel, Arch: info.Arch, Summary: fmt.Sprintf("%s-%s %s", info.Name, info.Version, info.Arch)}, nil
}
