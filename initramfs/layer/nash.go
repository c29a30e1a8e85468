package layer

import (
	"fmt"
	"strings"

	"github.com/xenify/xenify/xerr"
)

// NashInit returns a copy of an EL4/EL5 mkinitrd nash init script that
// also loads the modules (file names without .ko, dependencies first)
// from /lib, before the root device is made. The lines are those
// mkinitrd itself emits for a module:
//
//	echo "Loading xenblk.ko module"
//	insmod /lib/xenblk.ko
//
// (with the trailing blank mkinitrd leaves for empty module options).
// They go after the script's last insmod before mkrootdev, so the
// frontends are in place before the script waits for drivers
// (stabilized), scans LVM, resumes or makes the root device; in a script
// that loads no module, before the first of those. Modules the script
// already loads are not loaded twice. A script without mkrootdev and
// switchroot is not one mkinitrd wrote, and is refused.
//
// The result only inserts lines, so it is longer than the original:
// 2.6.9 and 2.6.18 kernels open an existing file without O_TRUNC when
// a later archive replaces it, and a shorter init would keep the old
// tail.
func NashInit(init []byte, modules []string, initrdPath string) ([]byte, error) {
	lines := strings.SplitAfter(string(init), "\n")
	refuse := func(why string) error {
		return &xerr.Refused{Path: initrdPath, Msg: "init is a nash script, but " + why, Fix: "use --initrd rebuild, which runs the guest's mkinitrd", Err: ErrNotNash}
	}
	if len(lines) == 0 || !strings.HasPrefix(lines[0], "#!/bin/nash") {
		return nil, refuse("does not start with #!/bin/nash")
	}
	root, switchroot := -1, -1
	loaded := map[string]bool{}
	lastInsmod := -1
	for i, l := range lines {
		f := strings.Fields(l)
		if len(f) == 0 {
			continue
		}
		switch f[0] {
		case "mkrootdev":
			if root < 0 {
				root = i
			}
		case "switchroot":
			switchroot = i
		case "insmod":
			if len(f) > 1 {
				loaded[norm(strings.TrimSuffix(lastElem(f[1]), ".ko"))] = true
			}
			if root < 0 {
				lastInsmod = i
			}
		}
	}
	if root < 0 {
		return nil, refuse("it has no mkrootdev line (xenify recognises the scripts of EL4/EL5 mkinitrd)")
	}
	if switchroot < root {
		return nil, refuse("it has no switchroot after mkrootdev")
	}
	at := lastInsmod + 1
	if lastInsmod < 0 {
		at = root
		for i := 1; i < root; i++ {
			if needsDisks(lines[i]) {
				at = i
				break
			}
		}
		// Keep an "echo ..." that announces the command with it.
		if at > 1 && strings.HasPrefix(strings.TrimSpace(lines[at-1]), "echo ") {
			at--
		}
	}
	var add strings.Builder
	for _, m := range modules {
		if loaded[norm(m)] {
			continue
		}
		loaded[norm(m)] = true
		fmt.Fprintf(&add, "echo \"Loading %s.ko module\"\ninsmod /lib/%s.ko \n", m, m)
	}
	if add.Len() == 0 {
		return init, nil
	}
	if at > 0 && !strings.HasSuffix(lines[at-1], "\n") {
		lines[at-1] += "\n"
	}
	out := strings.Join(lines[:at], "") + add.String() + strings.Join(lines[at:], "")
	return []byte(out), nil
}

// needsDisks: nash commands that need the block devices in place.
func needsDisks(l string) bool {
	f := strings.Fields(l)
	if len(f) == 0 {
		return false
	}
	switch f[0] {
	case "stabilized", "mkdmnod", "lvm", "raidautorun", "dmraid", "resume", "mkrootdev", "mkblkdevs":
		return true
	}
	return false
}

func lastElem(p string) string {
	if i := strings.LastIndexByte(p, '/'); i >= 0 {
		return p[i+1:]
	}
	return p
}
