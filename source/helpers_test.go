package source_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/xenify/xenify/disk/disktest"
	"github.com/xenify/xenify/internal/cli"
	"github.com/xenify/xenify/source"
)

const mib = disktest.MiB

// fixture is the CentOS 5 guest tree the images are filled with.
var fixture = func() string {
	p, _ := filepath.Abs("../testdata/guests/centos5-x86_64")
	return p
}()

func requireDisks(t testing.TB) {
	t.Helper()
	disktest.RequireRoot(t)
	disktest.RequireTools(t, "losetup", "sfdisk", "mke2fs", "e2fsck", "mkswap", "cp")
}

// privateRunDir points source at a fresh state/mount directory for the
// test, so leak checks see only this test's leftovers.
func privateRunDir(t testing.TB) string {
	t.Helper()
	d, err := os.MkdirTemp("/run", "xenify-test-")
	if err != nil {
		d = t.TempDir()
	}
	old := source.RunDir
	source.RunDir = d
	t.Cleanup(func() {
		source.RunDir = old
		os.RemoveAll(d) // only empty directories remain when nothing leaked
	})
	return d
}

// tree copies the fixture into a temp dir with the given fstab. With
// splitBoot the contents of /boot go to a second directory (a separate
// /boot filesystem) and the root keeps an empty /boot.
func tree(t testing.TB, fstab string, splitBoot bool) (root, boot string) {
	t.Helper()
	root = filepath.Join(t.TempDir(), "root")
	disktest.Run(t, nil, "cp", "-a", fixture, root)
	if err := os.WriteFile(filepath.Join(root, "etc/fstab"), []byte(fstab), 0o644); err != nil {
		t.Fatal(err)
	}
	// Placeholders for the hold helper and kernel files are as in the
	// fixture; the owner is root as on a real system.
	disktest.Run(t, nil, "chown", "-R", "-h", "0:0", root)
	if splitBoot {
		boot = filepath.Join(t.TempDir(), "boot")
		if err := os.Rename(filepath.Join(root, "boot"), boot); err != nil {
			t.Fatal(err)
		}
		if err := os.Mkdir(filepath.Join(root, "boot"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return root, boot
}

// fsRange is a filesystem of a test image.
type fsRange struct {
	img          string
	offset, size int64
}

// mkext (re)creates an ext filesystem at v filled with dir.
func mkext(t testing.TB, img string, v disktest.Volume, typ, label, uuid, dir string) fsRange {
	t.Helper()
	args := []string{"mke2fs", "-q", "-F", "-t", typ, "-I", "128", "-E", fmt.Sprintf("offset=%d,nodiscard", v.Offset)}
	if label != "" {
		args = append(args, "-L", label)
	}
	if uuid != "" {
		args = append(args, "-U", uuid)
	}
	if dir != "" {
		args = append(args, "-d", dir)
	}
	args = append(args, img, fmt.Sprintf("%dk", v.Size/1024))
	disktest.Run(t, nil, args...)
	return fsRange{img, v.Offset, v.Size}
}

func sha(t testing.TB, path string) string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(h.Sum(nil))
}

func sums(t testing.TB, paths []string) []string {
	var out []string
	for _, p := range paths {
		out = append(out, sha(t, p))
	}
	return out
}

// runCLI drives xenify in-process.
func runCLI(t testing.TB, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := cli.Run(context.Background(), args, strings.NewReader(""), &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

// checkNoLeaks fails unless no loop device is backed by the images, no
// mount is below runDir, and no state file is left.
func checkNoLeaks(t testing.TB, runDir string, images []string) {
	t.Helper()
	for _, img := range images {
		out, err := exec.Command("losetup", "-j", img).CombinedOutput()
		if err != nil {
			t.Errorf("losetup -j %s: %v: %s", img, err, out)
		}
		if s := strings.TrimSpace(string(out)); s != "" {
			t.Errorf("losetup -j %s = %q, want no loop device", img, s)
		}
	}
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) > 4 && strings.HasPrefix(fields[4], runDir) {
			t.Errorf("mount %s left below %s", fields[4], runDir)
		}
	}
	states, _ := filepath.Glob(filepath.Join(runDir, "state", "*"))
	if len(states) > 0 {
		t.Errorf("state files left: %v", states)
	}
	mnts, _ := filepath.Glob(filepath.Join(runDir, "mnt", "*"))
	if len(mnts) > 0 {
		t.Errorf("mount directories left: %v", mnts)
	}
}

// listing describes every file of the guest's filesystems (opened
// read-only): type, mode, owner, and content hash or link target.
func listing(t testing.TB, paths []string) map[string]string {
	t.Helper()
	o, err := source.Open(context.Background(), paths, source.ReadOnly)
	if err != nil {
		t.Fatalf("source.Open(%v, ReadOnly) = %v", paths, err)
	}
	defer func() {
		if err := o.Close(); err != nil {
			t.Errorf("Close() = %v", err)
		}
	}()
	out := map[string]string{}
	walkListing(t, o.Root.Dir(), "", out)
	// The root filesystem alone too: its own /boot, hidden under a
	// separate /boot, is where a merged /boot goes.
	walkListing(t, o.RootOnly.Dir(), "rootfs:", out)
	return out
}

func walkListing(t testing.TB, dir, prefix string, out map[string]string) {
	t.Helper()
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel := prefix + strings.TrimPrefix(p, dir)
		if rel == prefix {
			rel += "/"
		}
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		st := fi.Sys().(*syscall.Stat_t)
		desc := fmt.Sprintf("%v %d:%d", fi.Mode(), st.Uid, st.Gid)
		switch {
		case fi.Mode()&fs.ModeSymlink != 0:
			l, _ := os.Readlink(p)
			desc += " -> " + l
		case fi.Mode().IsRegular():
			desc += " " + sha(t, p)
		}
		out[rel] = desc
		return nil
	})
	if err != nil {
		t.Fatalf("walking %s: %v", dir, err)
	}
}

// fsck checks a filesystem with e2fsck -fn through a read-only loop.
func fsck(t testing.TB, r fsRange) {
	t.Helper()
	dev := strings.TrimSpace(disktest.Run(t, nil, "losetup", "--find", "--show", "--read-only",
		"--offset", strconv.FormatInt(r.offset, 10), "--sizelimit", strconv.FormatInt(r.size, 10), r.img))
	defer exec.Command("losetup", "-d", dev).Run()
	if out, err := exec.Command("e2fsck", "-fn", dev).CombinedOutput(); err != nil {
		t.Errorf("e2fsck -fn %s (offset %d) = %v:\n%s", r.img, r.offset, err, out)
	}
}

// copyImage copies the images to new files: disktest keeps the loop
// device it made LVM with attached to the original until the test ends,
// and xenify rightly refuses an image attached elsewhere.
func copyImage(t testing.TB, img image) image {
	t.Helper()
	out := image{}
	dir := t.TempDir()
	for i, p := range img.paths {
		q := filepath.Join(dir, fmt.Sprintf("disk%d.img", i))
		disktest.Run(t, nil, "cp", "--sparse=always", p, q)
		out.paths = append(out.paths, q)
		for _, e := range img.exts {
			if e.img == p {
				out.exts = append(out.exts, fsRange{q, e.offset, e.size})
			}
		}
	}
	return out
}

// caseNamed returns the image case called name.
func caseNamed(t testing.TB, name string) imageCase {
	t.Helper()
	for _, c := range cases {
		if c.name == name {
			return c
		}
	}
	t.Fatalf("no image case %q", name)
	return imageCase{}
}

// attachWhole attaches an image as a whole-disk loop block device for the
// test's duration: a block device SOURCE, as a physical disk would be.
func attachWhole(t testing.TB, img string) string {
	t.Helper()
	st, err := os.Stat(img)
	if err != nil {
		t.Fatal(err)
	}
	return disktest.Losetup(t, img, 0, st.Size())
}
