package layer

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"

	"github.com/xenify/xenify/initramfs"
	"github.com/xenify/xenify/xerr"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

const fixtures = "../../testdata/guests"

func readFixture(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(fixtures, p))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	p := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("%v (run go test -update)", err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("%s mismatch (-want +got):\n%s", p, diff)
	}
}

// describe renders a layer and the final view's init for golden files.
func describe(l *Layer, final *initramfs.View) string {
	var b strings.Builder
	fmt.Fprintf(&b, "generator: %s\ncompression: %s\nload: %s\nbuiltin: %s\nmissing: %s\nkernel args: %s\nmembers:\n",
		l.Generator, l.Compression, strings.Join(l.Load, " "), strings.Join(l.Builtin, " "), strings.Join(l.Missing, " "), strings.Join(l.KernelArgs, " "))
	for _, m := range l.Members {
		e, _ := final.Lstat(m)
		fmt.Fprintf(&b, "  %s %s\n", e.FileMode(), m)
	}
	return b.String()
}

// appendAndCheck appends l to initrd and checks what every layer must
// give: the final view loads the modules, a second Build on the result
// adds nothing, and building again gives the same bytes.
func appendAndCheck(t *testing.T, in Input, l *Layer) *initramfs.View {
	t.Helper()
	if l.Bytes == nil {
		t.Fatalf("Build(%s) = no layer, want one", in.InitrdPath)
	}
	again, err := Build(in)
	if err != nil || !bytes.Equal(again.Bytes, l.Bytes) {
		t.Fatalf("second Build(%s) = %d bytes, %v; want the same %d bytes", in.InitrdPath, len(again.Bytes), err, len(l.Bytes))
	}
	in.Initrd = append(append([]byte(nil), in.Initrd...), l.Bytes...)
	final, err := initramfs.NewView(in.Initrd)
	if err != nil {
		t.Fatalf("NewView(initrd + layer): %v", err)
	}
	next, err := Build(in)
	if err != nil {
		t.Fatalf("Build(initrd + layer): %v", err)
	}
	if next.Bytes != nil {
		t.Errorf("Build(initrd + layer) = %d more bytes (%v), want nothing: a second convert must change nothing", len(next.Bytes), next.Members)
	}
	return final
}

func TestCentOS5Nash(t *testing.T) {
	const kver = "2.6.18-8.el5xen"
	in := Input{
		Initrd:     readFixture(t, "centos5-x86_64/boot/initrd-"+kver+".img"),
		InitrdPath: "/boot/initrd-" + kver + ".img",
		Kernel:     kver,
		Guest:      os.DirFS(filepath.Join(fixtures, "centos5-x86_64")),
		Modules:    []string{"xenblk", "xennet", "ext3"},
		Required:   []string{"xenblk"},
	}
	l, err := Build(in)
	if err != nil {
		t.Fatal(err)
	}
	final := appendAndCheck(t, in, l)
	init, ok := final.ReadFile("init")
	if !ok {
		t.Fatal("final view has no init")
	}
	golden(t, "centos5-el5xen.layer", describe(l, final))
	golden(t, "centos5-el5xen.init", string(init))
	for _, m := range []string{"lib/xenblk.ko", "lib/xennet.ko", "lib/ext3.ko", "lib/jbd.ko"} {
		data, ok := final.ReadFile(m)
		if !ok {
			t.Errorf("final view lacks %s", m)
			continue
		}
		if vm, err := initramfs.Vermagic(data); err != nil || vm != kver {
			t.Errorf("initramfs.Vermagic(%s) = %q, %v; want %s", m, vm, err, kver)
		}
	}
	// The insmod comes before the root device is made.
	s := string(init)
	if i, j := strings.Index(s, "insmod /lib/xenblk.ko"), strings.Index(s, "mkrootdev"); i < 0 || i > j {
		t.Errorf("init loads xenblk at %d, mkrootdev at %d; want the load first", i, j)
	}
}

func TestCentOS44NashInit(t *testing.T) {
	// The EL4 script (mkinitrd 4.2) loads modules then runs udevstart;
	// xenblk goes with the other insmods, before udevstart makes the
	// device nodes.
	data := readFixture(t, "centos44-i386/boot/initrd-2.6.9-42.EL.img")
	v, err := initramfs.NewView(data)
	if err != nil {
		t.Fatal(err)
	}
	init, _ := v.ReadFile("init")
	out, err := NashInit(init, []string{"xenblk", "xennet", "jbd"}, "/boot/initrd-2.6.9-42.EL.img")
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "centos44-el.init", string(out))
	if len(out) <= len(init) {
		t.Errorf("NashInit gave %d bytes from %d: it must only insert", len(out), len(init))
	}
}

func TestNashInitWithoutInsmod(t *testing.T) {
	init := "#!/bin/nash\n\nmount -t proc /proc /proc\necho Creating block device nodes.\nmkblkdevs\necho Creating root device.\nmkrootdev -t ext3 -o defaults,ro sda1\necho Mounting root filesystem.\nmount /sysroot\nswitchroot\n"
	out, err := NashInit([]byte(init), []string{"xenblk"}, "initrd")
	if err != nil {
		t.Fatal(err)
	}
	want := "#!/bin/nash\n\nmount -t proc /proc /proc\necho \"Loading xenblk.ko module\"\ninsmod /lib/xenblk.ko \necho Creating block device nodes.\nmkblkdevs\necho Creating root device.\nmkrootdev -t ext3 -o defaults,ro sda1\necho Mounting root filesystem.\nmount /sysroot\nswitchroot\n"
	if diff := cmp.Diff(want, string(out)); diff != "" {
		t.Errorf("NashInit (-want +got):\n%s", diff)
	}
}

func TestNashInitRefusesUnknownScripts(t *testing.T) {
	for name, init := range map[string]string{
		"no mkrootdev":  "#!/bin/nash\nmount /sysroot\nswitchroot\n",
		"no switchroot": "#!/bin/nash\nmkrootdev /dev/root\nmount /sysroot\n",
		"not nash":      "#!/bin/sh\nmkrootdev\nswitchroot\n",
	} {
		_, err := NashInit([]byte(init), []string{"xenblk"}, "initrd")
		var r *xerr.Refused
		if !errors.As(err, &r) || !errors.Is(err, ErrNotNash) {
			t.Errorf("NashInit(%s) = %v, want a refusal", name, err)
		}
	}
}

func TestDebian12InitramfsTools(t *testing.T) {
	const kver = "6.1.0-56-amd64"
	// The fixture's initrd (MODULES=most) has the frontends but no
	// conf/modules: the layer adds only the hook.
	in := Input{
		Initrd:     readFixture(t, "debian12/boot/initrd.img-"+kver),
		InitrdPath: "/boot/initrd.img-" + kver,
		Kernel:     kver,
		Guest:      os.DirFS(filepath.Join(fixtures, "debian12")),
		Modules:    []string{"xen-blkfront", "xen-netfront", "ext4"},
		Required:   []string{"xen-blkfront"},
	}
	l, err := Build(in)
	if err != nil {
		t.Fatal(err)
	}
	final := appendAndCheck(t, in, l)
	golden(t, "debian12.layer", describe(l, final))
	conf, _ := final.ReadFile("conf/modules")
	if want := "xen-blkfront\nxen-netfront\next4\n"; string(conf) != want {
		t.Errorf("conf/modules = %q, want %q", conf, want)
	}
	if e, ok := final.Lstat("lib"); !ok || !e.IsSymlink() {
		t.Errorf("final view's lib = %+v, want the initrd's link to usr/lib kept", e)
	}
}

// usrMerged is a minimal initramfs-tools initrd of a usrmerged guest
// whose initrd lacks the frontends (MODULES=dep on a native machine).
func usrMerged(t *testing.T, confModules string) []byte {
	t.Helper()
	ms := []initramfs.Member{
		initramfs.Symlink("lib", "usr/lib"),
		initramfs.Dir("usr", 0o755), initramfs.Dir("usr/lib", 0o755), initramfs.Dir("usr/lib/modules", 0o755),
		initramfs.Dir("usr/lib/modules/6.1.0-9-amd64", 0o755),
		initramfs.File("usr/lib/modules/6.1.0-9-amd64/modules.dep", []byte("kernel/fs/ext4/ext4.ko: kernel/fs/jbd2/jbd2.ko\nkernel/fs/jbd2/jbd2.ko:\n"), 0o644),
		initramfs.Dir("conf", 0o755), initramfs.File("conf/initramfs.conf", []byte("MODULES=dep\n"), 0o644),
		initramfs.Dir("scripts", 0o755), initramfs.File("scripts/functions", []byte("#\n"), 0o644),
		initramfs.File("init", []byte("#!/bin/sh\n"), 0o755),
	}
	if confModules != "" {
		ms = append(ms, initramfs.File("conf/modules", []byte(confModules), 0o644))
	}
	b, err := initramfs.WriteNewc(ms)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func ko(name, vermagic string) []byte {
	return []byte("\x7fELF\x02\x01\x01\x00license=GPL\x00vermagic=" + vermagic + " SMP mod_unload \x00name=" + name + "\x00")
}

func guestFS(kver string, extra map[string]string) fstest.MapFS {
	m := fstest.MapFS{
		"usr/lib/modules/" + kver + "/modules.dep":                          {Data: []byte("kernel/drivers/block/xen-blkfront.ko:\nkernel/drivers/net/xen-netfront.ko:\nkernel/fs/ext4/ext4.ko: kernel/fs/jbd2/jbd2.ko kernel/lib/crc16.ko\nkernel/fs/jbd2/jbd2.ko:\nkernel/lib/crc16.ko:\n")},
		"usr/lib/modules/" + kver + "/modules.alias":                        {Data: []byte("alias xen:vbd xen_blkfront\nalias xen:vif xen_netfront\n")},
		"usr/lib/modules/" + kver + "/modules.alias.bin":                    {Data: []byte("\xb0\x07\xf4\x57binary")},
		"usr/lib/modules/" + kver + "/modules.builtin":                      {Data: []byte("kernel/drivers/tty/hvc/hvc_xen.ko\n")},
		"usr/lib/modules/" + kver + "/kernel/drivers/block/xen-blkfront.ko": {Data: ko("xen_blkfront", kver)},
		"usr/lib/modules/" + kver + "/kernel/drivers/net/xen-netfront.ko":   {Data: ko("xen_netfront", kver)},
		"usr/lib/modules/" + kver + "/kernel/fs/ext4/ext4.ko":               {Data: ko("ext4", kver)},
		"usr/lib/modules/" + kver + "/kernel/fs/jbd2/jbd2.ko":               {Data: ko("jbd2", kver)},
		"usr/lib/modules/" + kver + "/kernel/lib/crc16.ko":                  {Data: ko("crc16", kver)},
		"boot/config-" + kver:                                               {Data: []byte("CONFIG_RD_GZIP=y\n")},
	}
	for p, s := range extra {
		if s == "" {
			delete(m, p)
		} else {
			m[p] = &fstest.MapFile{Data: []byte(s)}
		}
	}
	// fstest.MapFS has no symlinks: the guest's /lib is its usr/lib.
	for p, f := range m {
		if strings.HasPrefix(p, "usr/lib/") {
			m[strings.TrimPrefix(p, "usr/")] = f
		}
	}
	return m
}

func TestUsrMergedLayerFollowsTheInitrdLinks(t *testing.T) {
	const kver = "6.1.0-9-amd64"
	in := Input{Initrd: usrMerged(t, "# local\nvirtio_blk\n"), InitrdPath: "/boot/initrd.img", Kernel: kver, Guest: guestFS(kver, nil),
		Modules: []string{"xen-blkfront", "xen-netfront", "ext4"}, Required: []string{"xen-blkfront"}}
	l, err := Build(in)
	if err != nil {
		t.Fatal(err)
	}
	final := appendAndCheck(t, in, l)
	golden(t, "usrmerged.layer", describe(l, final))
	for _, m := range l.Members {
		if strings.HasPrefix(m, "lib/") || m == "lib" {
			t.Errorf("layer member %s: want it under usr/lib, where the initrd's lib link leads", m)
		}
	}
	if e, ok := final.Lstat("lib"); !ok || !e.IsSymlink() {
		t.Errorf("final lib = %+v, want the link kept", e)
	}
	for _, m := range []string{"xen-blkfront", "xen-netfront", "ext4", "jbd2", "crc16"} {
		if !initramfs.HasModule(final.Entries(), m) {
			t.Errorf("final view lacks %s", m)
		}
	}
	conf, _ := final.ReadFile("conf/modules")
	if want := "# local\nvirtio_blk\nxen-blkfront\nxen-netfront\next4\n"; string(conf) != want {
		t.Errorf("conf/modules = %q, want %q", conf, want)
	}
	if alias, _ := final.ReadFile("lib/modules/" + kver + "/modules.alias.bin"); string(alias) != "\xb0\x07\xf4\x57binary" {
		t.Errorf("modules.alias.bin = %q, want the guest's", alias)
	}
}

func TestDracutGetsKernelArgs(t *testing.T) {
	const kver = "6.1.0-9-amd64"
	ms := []initramfs.Member{
		initramfs.Symlink("lib", "usr/lib"), initramfs.Dir("usr", 0o755), initramfs.Dir("usr/lib", 0o755),
		initramfs.Dir("usr/lib/dracut", 0o755), initramfs.File("usr/lib/dracut/modules.txt", []byte("base\n"), 0o644),
		initramfs.File("usr/lib/dracut-lib.sh", []byte("#!/bin/sh\n"), 0o755),
		initramfs.Symlink("init", "usr/lib/systemd/systemd"),
	}
	initrd, err := initramfs.WriteNewc(ms)
	if err != nil {
		t.Fatal(err)
	}
	in := Input{Initrd: initrd, InitrdPath: "/boot/initrd.img", Kernel: kver, Guest: guestFS(kver, nil),
		Modules: []string{"xen-blkfront", "xen-netfront"}, Required: []string{"xen-blkfront"}}
	l, err := Build(in)
	if err != nil {
		t.Fatal(err)
	}
	appendAndCheck(t, in, l)
	if want := []string{"rd.driver.pre=xen_blkfront,xen_netfront"}; !cmp.Equal(l.KernelArgs, want) {
		t.Errorf("KernelArgs = %q, want %q", l.KernelArgs, want)
	}
}

func TestRefusals(t *testing.T) {
	const kver = "6.1.0-9-amd64"
	md := "usr/lib/modules/" + kver + "/"
	cases := []struct {
		name   string
		initrd []byte
		guest  map[string]string
		want   string
	}{
		{"no frontend", usrMerged(t, ""), map[string]string{md + "modules.dep": "kernel/fs/ext4/ext4.ko:\n"}, "has no xen-blkfront module and does not build it in"},
		{"vermagic", usrMerged(t, ""), map[string]string{md + "kernel/drivers/block/xen-blkfront.ko": string(ko("xen_blkfront", "6.1.0-8-amd64"))}, "built for kernel 6.1.0-8-amd64 (vermagic), not " + kver},
		{"compressed", usrMerged(t, ""), map[string]string{md + "modules.dep": "kernel/drivers/block/xen-blkfront.ko.zst:\n", md + "kernel/drivers/block/xen-blkfront.ko.zst": "x"}, "zstd-compressed"},
		{"unknown init", func() []byte {
			b, _ := initramfs.WriteNewc([]initramfs.Member{initramfs.File("init", []byte("#!/bin/busybox sh\n"), 0o755)})
			return b
		}(), nil, `unrecognised initrd (init: "#!/bin/busybox sh")`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Build(Input{Initrd: c.initrd, InitrdPath: "/boot/initrd.img", Kernel: kver, Guest: guestFS(kver, c.guest),
				Modules: []string{"xen-blkfront", "xen-netfront"}, Required: []string{"xen-blkfront"}})
			var r *xerr.Refused
			if !errors.As(err, &r) || !strings.Contains(err.Error(), c.want) {
				t.Errorf("Build = %v, want a refusal saying %q", err, c.want)
			}
		})
	}
}

func TestBuiltinFrontendsNeedNothing(t *testing.T) {
	// Ubuntu 12.04's kernel builds both frontends in.
	const kver = "3.2.0-23-generic"
	in := Input{Initrd: readFixture(t, "ubuntu1204/boot/initrd.img-"+kver), InitrdPath: "/boot/initrd.img-" + kver, Kernel: kver,
		Guest: os.DirFS(filepath.Join(fixtures, "ubuntu1204")), Modules: []string{"xen-blkfront", "xen-netfront"}, Required: []string{"xen-blkfront"}}
	l, err := Build(in)
	if err != nil {
		t.Fatal(err)
	}
	if l.Bytes != nil || len(l.Builtin) != 2 {
		t.Errorf("Build = %d bytes, builtin %v; want nothing to append, both built in", len(l.Bytes), l.Builtin)
	}
}

var _ fs.FS = fstest.MapFS{}
