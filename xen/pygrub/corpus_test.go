package pygrub

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/xenify/xenify/disk/fsprobe"
)

var update = flag.Bool("update", false, "rewrite testdata/corpus/*.json from the real pygrub")

// Filesystem kinds a corpus partition can have.
const (
	fsExt4  = "ext4"
	fsXFS5  = "xfs5" // mkfs.xfs default: v5, unreadable for pygrub
	fsXFS4  = "xfs4" // -m crc=0 -n ftype=0, what RHEL 5/6 made
	fsXFS4F = "xfs4ftype"
	fsNone  = "none" // no filesystem (zeros)
)

type corpusPart struct {
	fs    string
	mbr   string // sfdisk type (83, 82, 5, ...) or GPT type GUID alias
	files map[string]string
	sizeM int
}

type variant struct {
	name  string
	table string // "dos", "gpt" or "" (whole-disk filesystem)
	parts []corpusPart
	// logical: index of a partition to put in an extended partition
	wantTitle string // chosen entry title we expect ("" when not bootable)
}

func kernelFiles(paths ...string) map[string]string {
	m := map[string]string{}
	for _, p := range paths {
		m[p] = ""
	}
	return m
}

func with(m map[string]string, kv ...string) map[string]string {
	out := map[string]string{}
	for k, v := range m {
		out[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		out[kv[i]] = kv[i+1]
	}
	return out
}

func cfgFile(t testing.TB, name string) string { return string(mustRead(t, name)) }

func corpus(t testing.TB) []variant {
	centosBoot := with(kernelFiles("/vmlinuz-2.6.9-103.ELxenU", "/initrd-2.6.9-103.ELxenU.img", "/vmlinuz-2.6.9-103.EL", "/initrd-2.6.9-103.EL.img"),
		"/grub/grub.conf", cfgFile(t, "centos4.grub.conf"))
	rootOnly := with(nil, "/etc/fstab", "/dev/xvda1 / ext4 defaults 0 1\n")
	debBoot := kernelFiles("/boot/vmlinuz-6.1.0-13-amd64", "/boot/initrd.img-6.1.0-13-amd64", "/boot/vmlinuz-5.10.0-26-amd64", "/boot/initrd.img-5.10.0-26-amd64")
	debRoot := with(debBoot, "/boot/grub/grub.cfg", cfgFile(t, "debian12.grub.cfg"), "/etc/fstab", "UUID=x / ext4 defaults 0 1\n")
	simple2 := func(head string) map[string]string {
		return with(kernelFiles("/vmlinuz-a", "/initrd-a", "/vmlinuz-b", "/initrd-b", "/vmlinuz-c", "/initrd-c"), "/grub2/grub.cfg", head+`
menuentry 'Entry A' --class rocky {
	linux16 /vmlinuz-a root=/dev/xvda2 ro
	initrd16 /initrd-a
}
submenu 'Advanced options' {
	menuentry 'Entry B' {
		linux /vmlinuz-b root=/dev/xvda2 ro single
		initrd /initrd-b
	}
	menuentry 'Entry C' {
		linux /vmlinuz-c root=/dev/xvda2 ro quiet
		initrd /initrd-c
	}
}
`)
	}
	blsBoot := with(kernelFiles("/vmlinuz-5.14.0-362.8.1.el9_3.x86_64", "/initramfs-5.14.0-362.8.1.el9_3.x86_64.img"),
		"/grub2/grub.cfg", cfgFile(t, "rocky9.grub.cfg"),
		"/loader/entries/0123456789abcdef-5.14.0-362.8.1.el9_3.x86_64.conf", cfgFile(t, "bls-entry.conf"))
	blsNoFW := with(blsBoot, "/grub2/grub.cfg", strings.Replace(cfgFile(t, "rocky9.grub.cfg"), "fwsetup --is-supported", "", 1))
	{
		// Drop the firmware-setup menuentry entirely.
		s := blsNoFW["/grub2/grub.cfg"]
		i := strings.Index(s, "### BEGIN /etc/grub.d/30_uefi-firmware ###")
		j := strings.Index(s, "### END /etc/grub.d/30_uefi-firmware ###")
		blsNoFW["/grub2/grub.cfg"] = s[:i] + s[j:]
	}
	return []variant{
		{name: "centos4-legacy-boot-partition", table: "dos", parts: []corpusPart{{fs: fsExt4, mbr: "83", files: centosBoot}, {fs: fsNone, mbr: "82"}, {fs: fsExt4, mbr: "83", files: rootOnly}}, wantTitle: "CentOS (2.6.9-103.ELxenU)"},
		{name: "legacy-default-saved", table: "dos", parts: []corpusPart{{fs: fsExt4, mbr: "83", files: with(centosBoot, "/grub/grub.conf", strings.Replace(cfgFile(t, "centos4.grub.conf"), "default=0", "default=saved", 1))}}, wantTitle: "CentOS (2.6.9-103.ELxenU)"},
		{name: "legacy-default-1-boot-active-second", table: "dos", parts: []corpusPart{{fs: fsExt4, mbr: "83", files: rootOnly}, {fs: fsExt4, mbr: "83,*", files: with(centosBoot, "/grub/grub.conf", strings.Replace(cfgFile(t, "centos4.grub.conf"), "default=0", "default=1", 1))}}, wantTitle: "CentOS (2.6.9-103.EL)"},
		{name: "debian12-grub2-submenu", table: "dos", parts: []corpusPart{{fs: fsExt4, mbr: "83", files: debRoot}}, wantTitle: "Debian GNU/Linux"},
		{name: "grub2-saved-entry", table: "dos", parts: []corpusPart{{fs: fsExt4, mbr: "83", files: simple2(`load_env
set default="${saved_entry}"`)}}, wantTitle: "Entry A"},
		{name: "grub2-default-submenu-path", table: "dos", parts: []corpusPart{{fs: fsExt4, mbr: "83", files: simple2(`set default="1>1"`)}}, wantTitle: "Entry A"},
		{name: "grub2-default-2-flattened", table: "dos", parts: []corpusPart{{fs: fsExt4, mbr: "83", files: simple2(`set default="2"`)}}, wantTitle: "Entry C"},
		{name: "extlinux", table: "dos", parts: []corpusPart{{fs: fsExt4, mbr: "83", files: with(kernelFiles("/boot/vmlinuz-new", "/boot/initrd-new.img", "/boot/vmlinuz-old", "/boot/initrd-old.img"),
			"/boot/extlinux/extlinux.conf", cfgFile(t, "extlinux.conf"))}}, wantTitle: "old"},
		{name: "bls-rocky9", table: "dos", parts: []corpusPart{{fs: fsExt4, mbr: "83", files: blsBoot}, {fs: fsNone, mbr: "8e"}}},
		{name: "bls-rocky9-without-firmware-entry", table: "dos", parts: []corpusPart{{fs: fsExt4, mbr: "83", files: blsNoFW}, {fs: fsNone, mbr: "8e"}}},
		{name: "boot-on-xfs-v5", table: "dos", parts: []corpusPart{{fs: fsXFS5, mbr: "83", files: simple2(`set default=0`), sizeM: 320}, {fs: fsExt4, mbr: "83", files: rootOnly}}},
		{name: "boot-on-xfs-v4", table: "dos", parts: []corpusPart{{fs: fsXFS4, mbr: "83", files: simple2(`set default=0`), sizeM: 320}}, wantTitle: "Entry A"},
		{name: "boot-on-xfs-v4-ftype", table: "dos", parts: []corpusPart{{fs: fsXFS4F, mbr: "83", files: simple2(`set default=0`), sizeM: 320}}},
		{name: "kernel-missing", table: "dos", parts: []corpusPart{{fs: fsExt4, mbr: "83", files: with(debRoot, "/boot/vmlinuz-6.1.0-13-amd64", "\x00delete")}}, wantTitle: "Debian GNU/Linux"},
		{name: "no-boot-root-only", table: "dos", parts: []corpusPart{{fs: fsExt4, mbr: "83", files: rootOnly}}},
		{name: "whole-disk-ext4", table: "", parts: []corpusPart{{fs: fsExt4, files: debRoot}}, wantTitle: "Debian GNU/Linux"},
		{name: "gpt-bios-boot-then-root", table: "gpt", parts: []corpusPart{{fs: fsNone, mbr: "21686148-6449-6E6F-744E-656564454649", sizeM: 1}, {fs: fsExt4, mbr: "0FC63DAF-8483-4772-8E79-3D69D8477DE4", files: debRoot}}, wantTitle: "Debian GNU/Linux"},
		{name: "boot-in-logical-partition", table: "dos", parts: []corpusPart{{fs: fsExt4, mbr: "83", files: rootOnly}, {fs: fsNone, mbr: "5"}, {fs: fsExt4, mbr: "83", files: centosBoot}}},
	}
}

// golden is what the real pygrub did with a variant's image.
type golden struct {
	ListExit   int    `json:"list_exit"`
	ListStdout string `json:"list_stdout"`
	CheckExit  int    `json:"check_exit"`  // pygrub -q -n
	CheckError string `json:"check_error"` // its last stderr line
	BootExit   int    `json:"boot_exit"`   // pygrub -q --output-format=simple
	Kernel     string `json:"kernel"`      // content of the extracted kernel
	Ramdisk    string `json:"ramdisk"`
	Args       string `json:"args"`
}

func goldenPath(name string) string { return filepath.Join("testdata", "corpus", name+".json") }

// writeTree writes a variant partition's files; each file's content is
// "FILE:<path>" unless given.
func writeTree(t testing.TB, dir string, files map[string]string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for p, content := range files {
		if content == "\x00delete" {
			continue
		}
		if content == "" {
			content = "FILE:" + p
		}
		full := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// probeFor is the fsprobe result a corpus filesystem kind produces.
func probeFor(kind string) fsprobe.Result {
	switch kind {
	case fsExt4:
		return fsprobe.Result{Type: fsprobe.Ext4}
	case fsXFS5:
		return fsprobe.Result{Type: fsprobe.XFS, XFS: &fsprobe.XFSInfo{Version: 5}}
	case fsXFS4:
		return fsprobe.Result{Type: fsprobe.XFS, XFS: &fsprobe.XFSInfo{Version: 4}}
	case fsXFS4F:
		return fsprobe.Result{Type: fsprobe.XFS, XFS: &fsprobe.XFSInfo{Version: 4, VersionNum: 0xb4a4, Features2: 0x28a}}
	}
	return fsprobe.Result{}
}

// pureFilesystems builds the Filesystem list for a variant without any
// image: the partitions in pygrub's order (table order; logical ones
// and the extended container are not filesystems pygrub reads).
func pureFilesystems(t *testing.T, v variant) []Filesystem {
	var out []Filesystem
	for i, p := range v.parts {
		dir := filepath.Join(t.TempDir(), fmt.Sprint(i))
		if v.name == "boot-in-logical-partition" && i == 2 {
			continue // inside the extended partition: never tried
		}
		f := Filesystem{Offset: int64(i), Type: probeFor(p.fs).Type}
		if ok, why := CanRead(probeFor(p.fs)); ok {
			writeTree(t, dir, p.files)
			f.FS = os.DirFS(dir)
		} else {
			f.Unreadable = why
		}
		out = append(out, f)
	}
	return out
}

// compareGolden checks an emulation against what pygrub did.
func compareGolden(t *testing.T, v variant, res *Result, g golden) {
	t.Helper()
	if res.Bootable != (g.BootExit == 0) {
		t.Errorf("%s: Emulate().Bootable = %v, want %v (pygrub exit %d); problems: %q", v.name, res.Bootable, g.BootExit == 0, g.BootExit, res.Problems)
	}
	if res.Bootable != (g.CheckExit == 0) {
		t.Errorf("%s: Emulate().Bootable = %v, but pygrub -n exit %d", v.name, res.Bootable, g.CheckExit)
	}
	if !res.Bootable && res.Failure != g.CheckError {
		t.Errorf("%s: Emulate().Failure = %q, want pygrub's %q", v.name, res.Failure, g.CheckError)
	}
	if diff := cmp.Diff(g.ListStdout, res.ListOutput); diff != "" {
		t.Errorf("%s: Emulate().ListOutput differs from `pygrub -q -n -l` (-pygrub +emulation):\n%s", v.name, diff)
	}
	if res.Bootable {
		got := golden{Kernel: "FILE:" + cleanGuest(res.Kernel), Args: res.Args}
		if res.Ramdisk != "" {
			got.Ramdisk = "FILE:" + cleanGuest(res.Ramdisk)
		}
		want := golden{Kernel: g.Kernel, Ramdisk: g.Ramdisk, Args: g.Args}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s: Emulate() boots differently from pygrub (-pygrub +emulation):\n%s", v.name, diff)
		}
	}
	if res.Chosen.Title != v.wantTitle && res.Bootable {
		t.Errorf("%s: Emulate().Chosen.Title = %q, want %q", v.name, res.Chosen.Title, v.wantTitle)
	}
}

func cleanGuest(p string) string {
	return "/" + strings.TrimLeft(filepath.Clean("/"+p), "/")
}

// TestPygrubCorpusGolden runs the emulation on the corpus trees and
// compares with the recorded behaviour of the real pygrub.
func TestPygrubCorpusGolden(t *testing.T) {
	for _, v := range corpus(t) {
		b, err := os.ReadFile(goldenPath(v.name))
		if err != nil {
			t.Errorf("%s: no golden file (run TestIntegrationPygrubCorpus -update as root): %v", v.name, err)
			continue
		}
		var g golden
		if err := json.Unmarshal(b, &g); err != nil {
			t.Fatalf("%s: %v", goldenPath(v.name), err)
		}
		res := Emulate(pureFilesystems(t, v), Options{})
		compareGolden(t, v, res, g)
		t.Logf("%s: bootable=%v title=%q kernel=%q problems=%q", v.name, res.Bootable, res.Chosen.Title, res.Kernel, res.Problems)
	}
}
