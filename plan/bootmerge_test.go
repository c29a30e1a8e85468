package plan_test

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/xenify/xenify/conf/grublegacy"
	"github.com/xenify/xenify/distro"
	"github.com/xenify/xenify/guest"
	"github.com/xenify/xenify/inspect"
	"github.com/xenify/xenify/plan"
	"github.com/xenify/xenify/xen/caps"
	"github.com/xenify/xenify/xerr"
)

// buildFixture plans the fixture name, or the guest tree at an absolute
// path.
func buildFixture(t *testing.T, name string, opts plan.Options) (*plan.Plan, error) {
	t.Helper()
	return buildWith(t, name, opts, nil)
}

// buildWith plans a fixture (or the guest tree at an absolute path)
// after edit (if any) changes its inspection, to stand for guests the
// fixtures do not have.
func buildWith(t *testing.T, name string, opts plan.Options, edit func(*inspect.Inspection)) (*plan.Plan, error) {
	t.Helper()
	dir := name
	if !filepath.IsAbs(dir) {
		dir = "../testdata/guests/" + name
	}
	root, err := guest.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { root.Close() })
	in, err := inspect.Inspect(root)
	if err != nil {
		t.Fatal(err)
	}
	if edit != nil {
		edit(in)
	}
	fam, err := distro.For(in)
	if err != nil {
		t.Fatal(err)
	}
	opts.Caps = caps.Parse("xen-3.0-x86_64 xen-3.0-x86_32p")
	opts.ConfigOut = "/etc/xen/test.cfg"
	return plan.Build(root, in, opts, fam, name)
}

func opWriting(p *plan.Plan, path string) (plan.Op, bool) {
	for _, op := range p.Ops {
		if op.Kind == plan.WriteFile && op.Path == path {
			return op, true
		}
	}
	return plan.Op{}, false
}

// TestBootMerge plans the classic CentOS 5 layout (/boot on its own
// partition, root on LVM) from a source that can reach the root
// filesystem alone: /boot is copied into it first, its fstab line is
// commented out, the guest gets no /boot disk, and the boot entry names
// its files below /boot.
func TestBootMerge(t *testing.T) {
	p, err := buildFixture(t, "centos5-x86_64", plan.Options{RootFS: &plan.RootFS{Free: 1 << 30, Size: 4 << 30}})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Ops) == 0 || p.Ops[0].Kind != plan.MergeBoot || p.Ops[0].Path != "/boot" {
		t.Fatalf("first op = %+v, want the /boot merge", p.Ops[0])
	}
	if _, sep := p.DevMap.Virtual("/boot"); sep {
		t.Errorf("device map still hands /boot to the guest: %+v", p.DevMap.Entries)
	}
	if root, _ := p.DevMap.Virtual("/"); root.Virtual != "sda1" {
		t.Errorf("root is %q, want sda1 (the first disk pygrub reads)", root.Virtual)
	}
	for _, d := range p.Domain.Disks {
		if strings.Contains(d.Target+d.Comment, "boot") {
			t.Errorf("domain config still has a /boot disk: %+v", d)
		}
	}
	fstab, ok := opWriting(p, "/etc/fstab")
	if !ok || !strings.Contains(fstab.Content, "#LABEL=/boot") || !strings.Contains(fstab.Content, "/boot merged into /") {
		t.Errorf("fstab does not comment out /boot as merged:\n%s", fstab.Content)
	}
	if e := defaultGrubEntry(t, p); e.Kernel != "/boot/vmlinuz-2.6.18-8.el5xen" || e.Initrd != "/boot/initrd-2.6.18-8.el5xen.img" {
		t.Errorf("default entry %q boots %q with %q, want the paths below /boot on the root filesystem", e.Title, e.Kernel, e.Initrd)
	}
}

func TestBootMergeNotChosen(t *testing.T) {
	for _, c := range []struct {
		name string
		opts plan.Options
		warn bool
	}{
		{"keep-boot", plan.Options{KeepBoot: true, RootFS: &plan.RootFS{Free: 1 << 30, Size: 4 << 30}}, false},
		{"layout disk", plan.Options{Layout: "disk", RootFS: &plan.RootFS{Free: 1 << 30, Size: 4 << 30}, Disks: []plan.HostDisk{{Mount: "/", Spec: "/dev/VolGroup00/LogVol00", Target: "/dev/sdb"}, {Mount: "/boot", Spec: "LABEL=/boot", Target: "/dev/sdb"}}}, false},
		{"directory source", plan.Options{}, true},
		{"root inside LVM the guest activates", plan.Options{Layout: "partition", RootFS: &plan.RootFS{Free: 1 << 30, Size: 4 << 30}, Disks: []plan.HostDisk{
			{Mount: "/", Spec: "/dev/VolGroup00/LogVol00", Target: "/dev/sdb2", Layered: true},
			{Mount: "/boot", Spec: "LABEL=/boot", Target: "/dev/sdb1"},
			{Mount: "swap", Spec: "/dev/VolGroup00/LogVol01", Target: "/dev/sdb2", Layered: true},
		}}, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			p, err := buildFixture(t, "centos5-x86_64", c.opts)
			if err != nil {
				t.Fatal(err)
			}
			for _, op := range p.Ops {
				if op.Kind == plan.MergeBoot {
					t.Errorf("plan merges /boot: %+v", op)
				}
			}
			if _, sep := p.DevMap.Virtual("/boot"); !sep {
				t.Errorf("/boot is not handed to the guest")
			}
			warned := strings.Contains(strings.Join(p.Warnings, "\n"), "--keep-boot")
			if warned != c.warn {
				t.Errorf("warns about keeping /boot: %v, want %v (%q)", warned, c.warn, p.Warnings)
			}
		})
	}
}

// TestBootMergeNoSpace: a /boot that does not fit is refused before
// anything is written, naming --keep-boot.
func TestBootMergeNoSpace(t *testing.T) {
	_, err := buildFixture(t, "centos5-x86_64", plan.Options{RootFS: &plan.RootFS{Free: 200 << 10, Size: 4 << 30}})
	var r *xerr.Refused
	if !errors.As(err, &r) || !strings.Contains(err.Error(), "do not fit") || !strings.Contains(r.Fix, "--keep-boot") {
		t.Errorf("Build() = %v, want a refusal that /boot does not fit, pointing to --keep-boot", err)
	}
}

// TestLayeredDevMap: with --layout partition the LVs stay in the guest:
// both share the PV partition's virtual device and keep their names; an
// md array's second member becomes a further disk.
func TestLayeredDevMap(t *testing.T) {
	p, err := buildFixture(t, "centos5-x86_64", plan.Options{Layout: "partition", KeepBoot: true, Disks: []plan.HostDisk{
		{Mount: "/", Spec: "/dev/VolGroup00/LogVol00", Target: "/dev/sdb2", Layered: true, Also: []string{"/dev/sdc2"}},
		{Mount: "/boot", Spec: "LABEL=/boot", Target: "/dev/sdb1"},
		{Mount: "swap", Spec: "/dev/VolGroup00/LogVol01", Target: "/dev/sdb2", Layered: true},
	}})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, d := range p.Domain.Disks {
		got = append(got, d.Vdev+"="+d.Target)
	}
	want := []string{"sda1=/dev/sdb1", "sda2=/dev/sdb2", "sda3=/dev/sdc2"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("domain disks = %v, want %v", got, want)
	}
	// Every spec stays as it is, so fstab needs no change at all.
	if fstab, ok := opWriting(p, "/etc/fstab"); ok {
		t.Errorf("fstab rewritten, want the native specs kept:\n%s", fstab.Content)
	}
	for _, spec := range []string{"/dev/VolGroup00/LogVol00", "LABEL=/boot", "/dev/VolGroup00/LogVol01"} {
		if m, ok := p.DevMap.ByNative(spec); !ok || m.Spec != spec {
			t.Errorf("device map turns %s into %+v, want it kept", spec, m)
		}
	}
}

// TestBootEntryNamesBuiltInitrd plans a guest whose Xen kernel was
// installed without an initrd (a kernel package whose scriptlets build
// none): the plan builds one, and the boot entry must name it, or the
// kernel boots without the block frontend and cannot find its root.
func TestBootEntryNamesBuiltInitrd(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "guest")
	if out, err := exec.Command("cp", "-a", "../testdata/guests/centos5-x86_64", dir).CombinedOutput(); err != nil {
		t.Fatalf("copying the fixture: %v\n%s", err, out)
	}
	if err := os.Remove(filepath.Join(dir, "boot/initrd-2.6.18-8.el5xen.img")); err != nil {
		t.Fatal(err)
	}
	p, err := buildFixture(t, dir, plan.Options{RootFS: &plan.RootFS{Free: 1 << 30, Size: 4 << 30}})
	if err != nil {
		t.Fatal(err)
	}
	built := false
	for _, op := range p.Ops {
		built = built || (op.Kind == plan.RunInGuest && op.Step == "initrd" && slices.Contains(op.Touches, "/boot/initrd-2.6.18-8.el5xen.img"))
	}
	if !built {
		t.Fatalf("plan builds no /boot/initrd-2.6.18-8.el5xen.img:\n%+v", p.Ops)
	}
	if e := defaultGrubEntry(t, p); e.Kernel != "/boot/vmlinuz-2.6.18-8.el5xen" || e.Initrd != "/boot/initrd-2.6.18-8.el5xen.img" {
		t.Errorf("default entry %q boots %q with initrd %q, want the initrd the plan builds", e.Title, e.Kernel, e.Initrd)
	}
}

// defaultGrubEntry is the default entry of the grub.conf the plan writes.
func defaultGrubEntry(t *testing.T, p *plan.Plan) grublegacy.Entry {
	t.Helper()
	grub, ok := opWriting(p, "/boot/grub/grub.conf")
	if !ok {
		t.Fatal("no boot entry written")
	}
	f, err := grublegacy.Parse("grub.conf", []byte(grub.Content))
	if err != nil {
		t.Fatal(err)
	}
	n, _ := f.DefaultIndex()
	return f.Entries()[n]
}
