package initramfs

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/xenify/xenify/decompress"
	"github.com/xenify/xenify/internal/testenv"
)

// file describes one member of a test tree.
type file struct {
	path string
	mode uint32 // file type and permissions
	data string // contents, or link target
}

// newc builds a "newc" (or, with crc, "crc") archive in Go, independently
// of the cpio tool, so that the parser is also tested where cpio is
// missing and so that fuzz seeds need no tools.
func newc(files []file, crc bool) []byte {
	var b bytes.Buffer
	magic := "070701"
	if crc {
		magic = "070702"
	}
	add := func(ino int, f file) {
		var sum uint32
		for _, c := range []byte(f.data) {
			sum += uint32(c)
		}
		if !crc {
			sum = 0
		}
		fmt.Fprintf(&b, "%s%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x",
			magic, ino, f.mode, 0, 0, 1, 0, len(f.data), 0, 0, 0, 0, len(f.path)+1, sum)
		b.WriteString(f.path)
		b.WriteByte(0)
		for b.Len()%4 != 0 {
			b.WriteByte(0)
		}
		b.WriteString(f.data)
		for b.Len()%4 != 0 {
			b.WriteByte(0)
		}
	}
	for i, f := range files {
		add(i+1, f)
	}
	add(0, file{path: "TRAILER!!!"})
	return b.Bytes()
}

const (
	dir  = 0o040755
	reg  = 0o100644
	exe  = 0o100755
	link = 0o120777
)

// Trees resembling real images.
var (
	microcode = []file{
		{"kernel", dir, ""},
		{"kernel/x86", dir, ""},
		{"kernel/x86/microcode", dir, ""},
		{"kernel/x86/microcode/AuthenticAMD.bin", reg, strings.Repeat("\x01\x02microcode", 50)},
	}
	debianMain = []file{
		{".", dir, ""},
		{"bin", link, "usr/bin"},
		{"init", exe, "#!/bin/sh\n. /scripts/functions\n"},
		{"usr", dir, ""},
		{"usr/lib", dir, ""},
		{"usr/lib/modules", dir, ""},
		{"usr/lib/modules/6.1.0-56-amd64", dir, ""},
		{"usr/lib/modules/6.1.0-56-amd64/kernel", dir, ""},
		{"usr/lib/modules/6.1.0-56-amd64/kernel/drivers", dir, ""},
		{"usr/lib/modules/6.1.0-56-amd64/kernel/drivers/block", dir, ""},
		{"usr/lib/modules/6.1.0-56-amd64/kernel/drivers/block/xen-blkfront.ko", reg, strings.Repeat("\x7fELF module", 300)},
		{"usr/lib/modules/6.1.0-56-amd64/kernel/drivers/block/virtio_blk.ko.xz", reg, "\xfd7zXZ\x00 fake"},
		{"usr/lib/modules/6.1.0-56-amd64/modules.dep", reg, "kernel/drivers/block/xen-blkfront.ko:\n"},
	}
	centos5 = []file{
		{"bin", dir, ""},
		{"bin/nash", exe, "\x7fELF nash"},
		{"lib", dir, ""},
		{"lib/xenblk.ko", reg, "\x7fELF xenblk"},
		{"lib/ext3.ko", reg, "\x7fELF ext3"},
		{"init", exe, "#!/bin/nash\n\nmount -t proc /proc /proc\necho \"Loading xenblk.ko module\"\ninsmod /lib/xenblk.ko\nmkrootdev -t ext3 -o defaults,ro /dev/xvda1\n"},
	}
)

// entries returns the Entries a tree should list as.
func entries(files []file, part int, comp decompress.Format) []Entry {
	var out []Entry
	for _, f := range files {
		if f.path == "." {
			continue
		}
		e := Entry{Path: f.path, Mode: f.mode, Size: int64(len(f.data)), Part: part, Compression: comp}
		if f.mode&0o170000 == 0o120000 {
			e.Link = f.data
		}
		out = append(out, e)
	}
	return out
}

func compressWith(t testing.TB, f decompress.Format, data []byte) []byte {
	t.Helper()
	args := map[decompress.Format][]string{
		decompress.Gzip:  {"gzip", "-n", "-9"},
		decompress.Bzip2: {"bzip2", "-9"},
		decompress.XZ:    {"xz", "--check=crc32"}, // as the kernel's usr/Makefile and dracut
		decompress.LZMA:  {"lzma", "-9"},
		decompress.LZO:   {"lzop", "-9"},
		decompress.LZ4:   {"lz4", "-l", "-9"},
		decompress.Zstd:  {"zstd", "-q", "-1", "-T0"}, // as mkinitramfs
	}[f]
	return run(t, args, "", data)
}

func run(t testing.TB, args []string, dir string, in []byte) []byte {
	t.Helper()
	if _, err := exec.LookPath(args[0]); err != nil {
		testenv.Skipf(t, "%s not installed: %v", args[0], err)
	}
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Dir = dir
	cmd.Stdin = bytes.NewReader(in)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("%q: %v: %s", args, err, errb.String())
	}
	return out.Bytes()
}

// cpioTool builds an archive of files with the real cpio, as mkinitramfs
// and dracut do ("find . | cpio -o -H newc").
func cpioTool(t *testing.T, files []file, format string) []byte {
	t.Helper()
	root := t.TempDir()
	var names []string
	for _, f := range files {
		p := filepath.Join(root, f.path)
		switch f.mode & 0o170000 {
		case 0o040000:
			if err := os.MkdirAll(p, 0o755); err != nil {
				t.Fatal(err)
			}
		case 0o120000:
			if err := os.Symlink(f.data, p); err != nil {
				t.Fatal(err)
			}
		default:
			if err := os.WriteFile(p, []byte(f.data), os.FileMode(f.mode&0o777)); err != nil {
				t.Fatal(err)
			}
			os.Chmod(p, os.FileMode(f.mode&0o777))
		}
		names = append(names, f.path)
	}
	return run(t, []string{"cpio", "--quiet", "-o", "-H", format, "--reproducible"}, root, []byte(strings.Join(names, "\n")+"\n"))
}

func TestListGoWriter(t *testing.T) {
	for _, crc := range []bool{false, true} {
		img := newc(debianMain, crc)
		got, err := List(img)
		if err != nil {
			t.Fatalf("List(newc crc=%v) error: %v", crc, err)
		}
		if diff := cmp.Diff(entries(debianMain, 0, decompress.None), got); diff != "" {
			t.Errorf("List(newc crc=%v) mismatch (-want +got):\n%s", crc, diff)
		}
	}
}

func TestListRealCpio(t *testing.T) {
	for _, format := range []string{"newc", "crc"} {
		img := cpioTool(t, debianMain, format)
		got, err := List(img)
		if err != nil {
			t.Fatalf("List(cpio -H %s) error: %v", format, err)
		}
		// cpio adds "." only if listed; compare without directories'
		// sizes (always 0) needing special care.
		if diff := cmp.Diff(entries(debianMain, 0, decompress.None), got); diff != "" {
			t.Errorf("List(cpio -H %s) mismatch (-want +got):\n%s", format, diff)
		}
	}
}

// TestListConcatenated covers the Debian/dracut layout (uncompressed early
// archive, then a compressed main archive) for every compression, plus a
// second compressed part, plus zero padding between parts.
func TestListConcatenated(t *testing.T) {
	early := newc(microcode, false)
	for _, f := range decompress.Formats() {
		t.Run(f.String(), func(t *testing.T) {
			main := compressWith(t, f, newc(debianMain, false))
			extra := compressWith(t, decompress.Gzip, newc(centos5[:2], false))
			var img []byte
			img = append(img, early...)
			img = append(img, main...)
			img = append(img, make([]byte, 512)...) // padding, as after an aligned part
			img = append(img, extra...)
			got, err := List(img)
			if err != nil {
				t.Fatalf("List(early + %v + gzip) error: %v", f, err)
			}
			var want []Entry
			want = append(want, entries(microcode, 0, decompress.None)...)
			want = append(want, entries(debianMain, 1, f)...)
			want = append(want, entries(centos5[:2], 2, decompress.Gzip)...)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("List(early + %v + gzip) mismatch (-want +got):\n%s", f, diff)
			}
			if e, ok := HasXenBlockFrontend(got); !ok || e.Part != 1 {
				t.Errorf("HasXenBlockFrontend(early + %v) = %+v, %v; want the module in part 1", f, e, ok)
			}
		})
	}
}

// TestListStreamWithSeveralArchives: one compressed stream holding two
// archives with zero padding between them (the kernel accepts this).
func TestListStreamWithSeveralArchives(t *testing.T) {
	inner := append(append(newc(microcode, false), make([]byte, 16)...), newc(centos5, true)...)
	img := compressWith(t, decompress.XZ, inner)
	got, err := List(img)
	if err != nil {
		t.Fatalf("List(xz of two archives) error: %v", err)
	}
	want := append(entries(microcode, 0, decompress.XZ), entries(centos5, 0, decompress.XZ)...)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("List(xz of two archives) mismatch (-want +got):\n%s", diff)
	}
}

func TestCentOS5Initrd(t *testing.T) {
	img := compressWith(t, decompress.Gzip, cpioTool(t, centos5, "newc"))
	got, err := List(img)
	if err != nil {
		t.Fatalf("List(CentOS 5 initrd) error: %v", err)
	}
	e, ok := HasXenBlockFrontend(got)
	if !ok || e.Path != "lib/xenblk.ko" {
		t.Errorf("HasXenBlockFrontend(CentOS 5 initrd) = %q, %v; want lib/xenblk.ko", e.Path, ok)
	}
	if HasModule(got, "xen-blkfront") {
		t.Errorf("HasModule(CentOS 5 initrd, xen-blkfront) = true, want false")
	}
	init, err := ReadFile(img, "/init")
	if err != nil {
		t.Fatalf("ReadFile(CentOS 5 initrd, /init) error: %v", err)
	}
	if !strings.Contains(string(init), "insmod /lib/xenblk.ko") {
		t.Errorf("ReadFile(CentOS 5 initrd, /init) = %q, want the insmod line", init)
	}
	if _, err := ReadFile(img, "etc/fstab"); !errors.Is(err, ErrNotExist) {
		t.Errorf("ReadFile(CentOS 5 initrd, etc/fstab) error = %v, want ErrNotExist", err)
	}
}

// TestListFiles: one pass gives the listing List gives and the members
// ReadFile reads, keyed by the names asked for; missing names are absent.
func TestListFiles(t *testing.T) {
	img := compressWith(t, decompress.Gzip, cpioTool(t, centos5, "newc"))
	ents, files, err := ListFiles(img, "/init", "etc/fstab")
	if err != nil {
		t.Fatalf("ListFiles(CentOS 5 initrd) error: %v", err)
	}
	want, _ := List(img)
	if diff := cmp.Diff(want, ents); diff != "" {
		t.Errorf("ListFiles(CentOS 5 initrd) entries differ from List (-want +got):\n%s", diff)
	}
	init, _ := ReadFile(img, "/init")
	if diff := cmp.Diff(map[string][]byte{"/init": init}, files); diff != "" {
		t.Errorf("ListFiles(CentOS 5 initrd, /init, etc/fstab) files mismatch (-want +got):\n%s", diff)
	}
}

func TestFindModule(t *testing.T) {
	es := func(paths ...string) []Entry {
		var out []Entry
		for _, p := range paths {
			out = append(out, Entry{Path: p, Mode: reg})
		}
		return out
	}
	tests := []struct {
		entries []Entry
		name    string
		want    string
	}{
		{es("lib/modules/6.1.0/kernel/drivers/block/xen-blkfront.ko"), "xen-blkfront", "lib/modules/6.1.0/kernel/drivers/block/xen-blkfront.ko"},
		{es("lib/modules/6.1.0/kernel/drivers/block/xen-blkfront.ko"), "xen_blkfront", "lib/modules/6.1.0/kernel/drivers/block/xen-blkfront.ko"},
		{es("usr/lib/modules/6.5/kernel/drivers/block/xen-blkfront.ko.zst"), "xen-blkfront", "usr/lib/modules/6.5/kernel/drivers/block/xen-blkfront.ko.zst"},
		{es("lib/modules/5.14.0-362.el9.x86_64/kernel/drivers/block/xen-blkfront.ko.xz"), "xen-blkfront", "lib/modules/5.14.0-362.el9.x86_64/kernel/drivers/block/xen-blkfront.ko.xz"},
		{es("lib/modules/4.18/kernel/drivers/block/xen_blkfront.ko.gz"), "xen-blkfront", "lib/modules/4.18/kernel/drivers/block/xen_blkfront.ko.gz"},
		{es("lib/xenblk.ko"), "xenblk", "lib/xenblk.ko"},
		{es("lib/modules/2.6.18-8.el5xen/xenblk.ko"), "xenblk", "lib/modules/2.6.18-8.el5xen/xenblk.ko"},
		{es("lib/modules/6.1/kernel/drivers/block/xen-blkback.ko"), "xen-blkfront", ""},
		{es("lib/modules/6.1/kernel/drivers/block/xen-blkfront.ko.sig"), "xen-blkfront", ""},
		{es("etc/xen-blkfront.ko"), "xen-blkfront", ""},
		{es("lib/modules/xen-blkfront.ko"), "xen-blkfront", ""},
		{[]Entry{{Path: "lib/modules/6.1/xen-blkfront.ko", Mode: dir}}, "xen-blkfront", ""},
	}
	for _, tt := range tests {
		e, ok := FindModule(tt.entries, tt.name)
		if e.Path != tt.want || ok != (tt.want != "") {
			t.Errorf("FindModule(%q, %q) = %q, %v; want %q", tt.entries[0].Path, tt.name, e.Path, ok, tt.want)
		}
	}
}

func TestErrors(t *testing.T) {
	good := newc(centos5, true)
	badSum := bytes.Replace(append([]byte(nil), good...), []byte("insmod"), []byte("INSMOD"), 1)
	odc := []byte("070707" + strings.Repeat("0", 70))
	tests := map[string][]byte{
		"empty":              nil,
		"zeros only":         make([]byte, 64),
		"junk":               []byte("this is not an initramfs"),
		"truncated header":   good[:60],
		"truncated data":     good[:200],
		"bad crc checksum":   badSum,
		"odc format":         odc,
		"bad hex in header":  append([]byte("070701zzzzzzzz"), make([]byte, 120)...),
		"misaligned archive": append([]byte{0, 0}, good...),
		"corrupt gzip":       append([]byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3}, bytes.Repeat([]byte{0xff}, 40)...),
	}
	for name, img := range tests {
		if got, err := List(img); err == nil {
			t.Errorf("List(%s) = %d entries, nil error; want an error", name, len(got))
		}
	}
	// A compressed part inside a compressed part is rejected, as by the
	// kernel.
	nested := compressWith(t, decompress.Gzip, compressWith(t, decompress.Gzip, good))
	if _, err := List(nested); err == nil || !strings.Contains(err.Error(), "compressed data inside") {
		t.Errorf("List(gzip of gzip) error = %v, want a nested compression error", err)
	}
	// The output cap applies across parts.
	big := compressWith(t, decompress.Zstd, newc([]file{{"big", reg, strings.Repeat("x", 3<<20)}}, false))
	if _, err := ListLimit(append(append([]byte(nil), big...), big...), 4<<20); !errors.Is(err, decompress.ErrTooLarge) {
		t.Errorf("ListLimit(2 x 3 MiB, 4 MiB) error = %v, want ErrTooLarge", err)
	}
}

func TestArchiveWithoutTrailer(t *testing.T) {
	img := newc(microcode, false)
	trailer := bytes.LastIndex(img, []byte("070701"))
	got, err := List(img[:trailer])
	if err != nil {
		t.Fatalf("List(archive without trailer) error: %v", err)
	}
	if len(got) != len(microcode) {
		t.Errorf("List(archive without trailer) = %d entries, want %d", len(got), len(microcode))
	}
}

func TestBuiltinAndConfig(t *testing.T) {
	builtin := []byte("kernel/drivers/block/loop.ko\nkernel/drivers/block/xen-blkfront.ko\nkernel/fs/ext4/ext4.ko\n")
	for name, want := range map[string]bool{"xen-blkfront": true, "xen_blkfront": true, "ext4": true, "xenblk": false, "blkfront": false, "xen-netfront": false} {
		if got := BuiltinFromModulesBuiltin(builtin, name); got != want {
			t.Errorf("BuiltinFromModulesBuiltin(%q) = %v, want %v", name, got, want)
		}
	}
	config := []byte("#\n# Automatically generated file; DO NOT EDIT.\nCONFIG_XEN_BLKDEV_FRONTEND=m\nCONFIG_XEN_PV=y\n# CONFIG_XEN_PVH is not set\nCONFIG_LOCALVERSION=\"\"\nCONFIG_NR_CPUS=8192\nCONFIG_XEN_PVHVM=y\n")
	for sym, want := range map[string]string{
		"CONFIG_XEN_BLKDEV_FRONTEND": "m",
		"XEN_BLKDEV_FRONTEND":        "m",
		"CONFIG_XEN_PV":              "y",
		"XEN_PVH":                    "",
		"XEN_PVHVM":                  "y",
		"CONFIG_LOCALVERSION":        `""`,
		"NR_CPUS":                    "8192",
		"XEN":                        "",
	} {
		if got := ConfigHas(config, sym); got != want {
			t.Errorf("ConfigHas(%q) = %q, want %q", sym, got, want)
		}
	}
}

func FuzzList(f *testing.F) {
	f.Add(newc(microcode, false))
	f.Add(newc(centos5, true))
	f.Add(append(append(newc(microcode, false), 0, 0, 0, 0), newc(centos5[:2], false)...))
	f.Add([]byte("070701"))
	f.Add(append([]byte("0707020000000100008124"), make([]byte, 100)...))
	f.Fuzz(func(t *testing.T, data []byte) {
		es, err := ListLimit(data, 1<<20)
		if err != nil {
			return
		}
		for _, e := range es {
			_ = e.FileMode()
		}
		HasXenBlockFrontend(es)
		sort.Slice(es, func(i, j int) bool { return es[i].Path < es[j].Path })
	})
}
