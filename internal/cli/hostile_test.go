package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"

	"github.com/xenify/xenify/internal/testenv"
)

// A FIFO where the debian12 fixture has /etc/fstab: inspect, plan and
// convert used to block in openat2 forever (the test hung). Now each is
// a clean refusal naming the file, and nothing changes.
func TestFIFOInGuestIsRefused(t *testing.T) {
	guest := copyTree(t, filepath.Join(fixtures, "debian12"))
	fstab := filepath.Join(guest, "etc/fstab")
	if err := os.Remove(fstab); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mkfifo(fstab, 0o644); err != nil {
		t.Fatal(err)
	}
	before := treeState(t, guest)
	for _, args := range [][]string{
		{"inspect", guest},
		{"plan", "--hypervisor-caps", hostCaps, guest},
		{"convert", "--skip-guest-commands", "--hypervisor-caps", hostCaps, "--config-out", filepath.Join(t.TempDir(), "c.cfg"), guest},
	} {
		_, errOut, code := xenify(t, args...)
		if code != 3 || !strings.Contains(errOut, "/etc/fstab") || !strings.Contains(errOut, "FIFO") {
			t.Errorf("xenify %s with /etc/fstab a FIFO = exit %d, %q; want 3 naming /etc/fstab and the FIFO", args[0], code, errOut)
		}
	}
	if diff := cmp.Diff(before, treeState(t, guest)); diff != "" {
		t.Errorf("refused convert changed the guest:\n%s", diff)
	}
}

// hostileCase is a convertible fixture with one hostile item planted in
// it, and the exit code convert must end in: 0 (converted, confined to
// the guest) or 3 (refused before anything was written).
type hostileCase struct {
	fixture string
	args    []string
	plant   func(t *testing.T, guest, host string)
	code    int
	// reached, for a link, is the name in host of the file convert must
	// have changed through it (in the guest's copy).
	reached string
}

func mustRel(t *testing.T, base, p string) string {
	t.Helper()
	rel, err := filepath.Rel(base, p)
	if err != nil {
		t.Fatal(err)
	}
	return rel
}

// The files a conversion of centos5-x86_64 reads and writes, by guest
// path, as planted links, FIFOs and device nodes replace them.
var centos5Targets = map[string]string{
	"fstab":         "etc/fstab",
	"grub.conf":     "boot/grub/grub.conf",
	"menu.lst":      "boot/grub/menu.lst",
	"inittab":       "etc/inittab",
	"modprobe.conf": "etc/modprobe.conf",
	"ifcfg":         "etc/sysconfig/network-scripts/ifcfg-eth0",
	"kernel":        "boot/vmlinuz-2.6.18-8.el5xen",
	"initrd":        "boot/initrd-2.6.18-8.el5xen.img",
}

// centos5Written are the targets convert rewrites: through a planted
// link, it must change the guest's copy.
var centos5Written = map[string]bool{"fstab": true, "grub.conf": true, "inittab": true, "modprobe.conf": true}

// centos5Special is the exit code of convert when a target is a FIFO or
// a device node: a configuration file convert must parse is refused
// (3); the others are passed over as unreadable, and the guest is
// converted around them (the kernel, then, is to be installed).
var centos5Special = map[string]int{"fstab": 3, "grub.conf": 3, "inittab": 3, "modprobe.conf": 3, "menu.lst": 0, "ifcfg": 0, "kernel": 0, "initrd": 0}

// escapeLink replaces the guest file rel with a symlink that, resolved on
// the host, leads to a file of the same content in host (outside the
// guest); resolved as chroot would, it leads to a copy inside the guest,
// so the conversion goes on and really follows it. A write that escaped
// would change the host file; a confined one changes the guest's copy.
func escapeLink(absolute bool) func(rel string) func(t *testing.T, guest, host string) {
	return func(rel string) func(t *testing.T, guest, host string) {
		return func(t *testing.T, guest, host string) {
			t.Helper()
			data, err := os.ReadFile(filepath.Join(guest, rel))
			if err != nil {
				t.Fatal(err)
			}
			name := strings.ReplaceAll(rel, "/", "_")
			hostFile := filepath.Join(host, name)
			inGuest := filepath.Join(guest, hostFile)
			for _, p := range []string{hostFile, inGuest} {
				if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(p, data, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			target := hostFile
			if !absolute {
				target = strings.Repeat("../", 30) + strings.TrimPrefix(hostFile, "/")
			}
			replace(t, filepath.Join(guest, rel), func(p string) error { return os.Symlink(target, p) })
		}
	}
}

func fifoAt(rel string) func(t *testing.T, guest, host string) {
	return func(t *testing.T, guest, host string) {
		replace(t, filepath.Join(guest, rel), func(p string) error { return unix.Mkfifo(p, 0o644) })
	}
}

// deviceAt plants a device node (root only): /dev/zero's numbers for a
// character device, loop0's for a block device.
func deviceAt(mode uint32, major, minor uint32) func(rel string) func(t *testing.T, guest, host string) {
	return func(rel string) func(t *testing.T, guest, host string) {
		return func(t *testing.T, guest, host string) {
			replace(t, filepath.Join(guest, rel), func(p string) error { return unix.Mknod(p, mode|0o644, int(unix.Mkdev(major, minor))) })
		}
	}
}

func replace(t *testing.T, p string, create func(string) error) {
	t.Helper()
	if err := os.Remove(p); err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	if err := create(p); err != nil {
		t.Fatal(err)
	}
}

// hostileCases plants one item per case. Each plant is reached: the
// fixtures are otherwise convertible.
func hostileCases() map[string]hostileCase {
	c5 := []string{"--hypervisor-caps", hostCaps}
	cases := map[string]hostileCase{}
	for what, rel := range centos5Targets {
		reached := ""
		if centos5Written[what] {
			reached = strings.ReplaceAll(rel, "/", "_")
		}
		cases["link-relative-"+what] = hostileCase{"centos5-x86_64", c5, escapeLink(false)(rel), 0, reached}
		cases["link-absolute-"+what] = hostileCase{"centos5-x86_64", c5, escapeLink(true)(rel), 0, reached}
		cases["fifo-"+what] = hostileCase{"centos5-x86_64", c5, fifoAt(rel), centos5Special[what], ""}
	}
	cases["sparse-10GiB-grub.cfg"] = hostileCase{"debian12", c5, func(t *testing.T, guest, host string) {
		if err := os.Truncate(filepath.Join(guest, "boot/grub/grub.cfg"), 10<<30); err != nil {
			t.Fatal(err)
		}
	}, 3, ""}
	cases["journal-dir-link-escape"] = hostileCase{"centos5-x86_64", c5, func(t *testing.T, guest, host string) {
		if err := os.Symlink(strings.Repeat("../", 30)+strings.TrimPrefix(host, "/"), filepath.Join(guest, "var/lib/xenify")); err != nil {
			t.Fatal(err)
		}
	}, 3, ""}
	cases["var-lib-link-escape"] = hostileCase{"centos5-x86_64", c5, func(t *testing.T, guest, host string) {
		p := filepath.Join(guest, "var/lib")
		if err := os.RemoveAll(p); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(strings.Repeat("../", 30)+strings.TrimPrefix(host, "/"), p); err != nil {
			t.Fatal(err)
		}
	}, 0, ""}
	cases["boot-entry-dotdot"] = hostileCase{"centos5-x86_64", c5, func(t *testing.T, guest, host string) {
		p := filepath.Join(guest, "boot/grub/grub.conf")
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		b = []byte(strings.ReplaceAll(string(b), "module /vmlinuz-2.6.18-8.el5xen", "module /../../.."))
		b = []byte(strings.ReplaceAll(string(b), "kernel /vmlinuz-2.6.18-8.el5 ", "kernel ../../.. "))
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}, 0, ""}
	return cases
}

// TestHostileGuests converts each hostile case and checks it ends in a
// clean refusal or a confined conversion: the exit code of its case, the
// host's files outside the guest unchanged (the directory every planted
// link leads to on the host), a refusal that changed nothing, and a
// conversion that rollback undoes exactly.
func TestHostileGuests(t *testing.T) {
	runHostile(t, hostileCases())
}

func runHostile(t *testing.T, cases map[string]hostileCase) {
	for _, name := range sortedKeys(cases) {
		c := cases[name]
		t.Run(name, func(t *testing.T) {
			guest := copyTree(t, filepath.Join(fixtures, c.fixture))
			host := filepath.Join(t.TempDir(), "host")
			if err := os.MkdirAll(host, 0o755); err != nil {
				t.Fatal(err)
			}
			c.plant(t, guest, host)
			hostBefore := treeState(t, host)
			before := treeState(t, guest)
			cfg := filepath.Join(t.TempDir(), "h.cfg")
			// --initrd rebuild leaves the initrd to the user as a guest
			// command, so convert stops before verify: these cases are
			// about where writes land, not whether the guest boots.
			args := append(append([]string{"convert", "--skip-guest-commands", "--initrd", "rebuild", "--config-out", cfg}, c.args...), guest)
			out, errOut, code := xenify(t, args...)
			if code != c.code {
				t.Errorf("xenify convert = exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, c.code, out, errOut)
			}
			if c.reached != "" {
				// The planted link was followed, inside the guest.
				in := filepath.Join(guest, host, c.reached)
				if treeState(t, filepath.Dir(in))[c.reached] == before[mustRel(t, guest, in)] {
					t.Errorf("convert did not change %s, the guest's copy the planted link leads to", in)
				}
			}
			if code == 0 {
				if out, errOut, code := xenify(t, "rollback", guest); code != 0 {
					t.Errorf("rollback = exit %d\n%s%s", code, out, errOut)
				}
			}
			if diff := cmp.Diff(before, treeState(t, guest)); diff != "" {
				t.Errorf("the guest is not as before (refused, or converted and rolled back) (-before +after):\n%s", diff)
			}
			if diff := cmp.Diff(hostBefore, treeState(t, host)); diff != "" {
				t.Errorf("files outside the guest changed (-before +after):\n%s", diff)
			}
		})
	}
}

// Device nodes where convert reads (made with mknod: root): refused or
// passed over like FIFOs, never opened.
func TestIntegrationHostileDeviceNodes(t *testing.T) {
	testenv.RequireRoot(t)
	c5 := []string{"--hypervisor-caps", hostCaps}
	cases := map[string]hostileCase{}
	for what, rel := range centos5Targets {
		cases["char-"+what] = hostileCase{"centos5-x86_64", c5, deviceAt(unix.S_IFCHR, 1, 5)(rel), centos5Special[what], ""}
		cases["block-"+what] = hostileCase{"centos5-x86_64", c5, deviceAt(unix.S_IFBLK, 7, 0)(rel), centos5Special[what], ""}
	}
	runHostile(t, cases)
}
