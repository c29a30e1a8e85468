package pkgfile

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"errors"
	"flag"
	"io"
	"math/rand"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/xenify/xenify/internal/testenv"
)

var update = flag.Bool("update", false, "rebuild the packages in testdata/ with rpmbuild and dpkg-deb")

const (
	xenU    = "2.6.9-42.0.3.ELxenU"
	el5xen  = "2.6.18-8.el5xen"
	debRel  = "6.1.0-18-amd64"
	debName = "linux-image-" + debRel
)

var (
	xenUSpec = rpmSpec{
		name: "kernel-xenU", version: "2.6.9", release: "42.0.3.EL", arch: "i686", kernel: xenU,
		files: []string{
			"/boot/vmlinuz-" + xenU,
			"/lib/modules/" + xenU + "/modules.dep",
			"/lib/modules/" + xenU + "/kernel/drivers/xen/blkfront/xenblk.ko",
		},
	}
	el5Spec = rpmSpec{
		name: "kernel-xen", version: "2.6.18", release: "8.el5", arch: "x86_64", kernel: el5xen,
		files: []string{
			"/boot/vmlinuz-" + el5xen,
			"/boot/System.map-" + el5xen,
			"/boot/xen.gz-2.6.18-8.el5",
			"/lib/modules/" + el5xen + "/modules.dep",
		},
	}
	debFiles = []string{
		"boot/vmlinuz-" + debRel,
		"boot/config-" + debRel,
		"lib/modules/" + debRel + "/kernel/drivers/block/xen-blkfront.ko",
		"lib/modules/" + debRel + "/modules.order",
		"usr/share/doc/" + debName + "/copyright",
	}
	// debWant is the Info of every deb built from debFiles, whatever
	// its compression.
	debWant = &Info{
		Format: "deb", Name: debName, Version: "6.1.76-1", Arch: "amd64",
		KernelReleases: []string{debRel},
		ModuleReleases: []string{debRel},
		Files: []string{
			"/boot",
			"/boot/config-" + debRel,
			"/boot/vmlinuz-" + debRel,
			"/lib",
			"/lib/modules",
			"/lib/modules/" + debRel,
			"/lib/modules/" + debRel + "/kernel",
			"/lib/modules/" + debRel + "/kernel/drivers",
			"/lib/modules/" + debRel + "/kernel/drivers/block",
			"/lib/modules/" + debRel + "/kernel/drivers/block/xen-blkfront.ko",
			"/lib/modules/" + debRel + "/modules.order",
			"/usr",
			"/usr/share",
			"/usr/share/doc",
			"/usr/share/doc/" + debName,
			"/usr/share/doc/" + debName + "/copyright",
		},
	}
	xenUWant = &Info{
		Format: "rpm", Name: "kernel-xenU", Version: "2.6.9", Release: "42.0.3.EL", Arch: "i686",
		KernelReleases: []string{xenU},
		ModuleReleases: []string{xenU},
		Files: []string{
			"/boot/vmlinuz-" + xenU,
			"/lib/modules/" + xenU,
			"/lib/modules/" + xenU + "/kernel",
			"/lib/modules/" + xenU + "/kernel/drivers",
			"/lib/modules/" + xenU + "/kernel/drivers/xen",
			"/lib/modules/" + xenU + "/kernel/drivers/xen/blkfront",
			"/lib/modules/" + xenU + "/kernel/drivers/xen/blkfront/xenblk.ko",
			"/lib/modules/" + xenU + "/modules.dep",
		},
	}
)

// sortedFiles returns a sorted copy of info.Files (dpkg-deb orders tar
// entries by readdir, which varies between file systems).
func sortedFiles(info *Info) *Info {
	c := *info
	c.Files = append([]string(nil), info.Files...)
	sort.Strings(c.Files)
	return &c
}

// rpmQueryList is the oracle for an rpm's file list: `rpm -qpl`.
func rpmQueryList(t *testing.T, p string) []string {
	rpm := needTool(t, "rpm")
	return strings.Fields(run(t, rpm, "-qpl", "--nosignature", "--nodigest", p))
}

func TestReadRPMBuild(t *testing.T) {
	for _, tc := range []struct {
		spec rpmSpec
		want *Info
	}{
		{xenUSpec, xenUWant},
		{el5Spec, &Info{
			Format: "rpm", Name: "kernel-xen", Version: "2.6.18", Release: "8.el5", Arch: "x86_64",
			KernelReleases: []string{el5xen},
			ModuleReleases: []string{el5xen},
			Files: []string{
				"/boot/System.map-" + el5xen,
				"/boot/vmlinuz-" + el5xen,
				"/boot/xen.gz-2.6.18-8.el5",
				"/lib/modules/" + el5xen,
				"/lib/modules/" + el5xen + "/modules.dep",
			},
		}},
	} {
		t.Run(tc.spec.name, func(t *testing.T) {
			spec := tc.spec
			p := buildRPM(t, spec)
			got, err := readFile(t, p)
			if err != nil {
				t.Fatalf("Read(%s) = %v", filepath.Base(p), err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Read(%s) mismatch (-want +got):\n%s", filepath.Base(p), diff)
			}
			if diff := cmp.Diff(rpmQueryList(t, p), got.Files); diff != "" {
				t.Errorf("Read(%s).Files differs from rpm -qpl (-rpm +got):\n%s", filepath.Base(p), diff)
			}
			if !got.HasModules(spec.kernel) || got.HasModules("2.6.9-1") {
				t.Errorf("HasModules(%q), HasModules(2.6.9-1) = %v, %v; want true, false", spec.kernel, got.HasModules(spec.kernel), got.HasModules("2.6.9-1"))
			}
			if *update && spec.name == "kernel-xenU" {
				copyFile(t, p, filepath.Join("testdata", filepath.Base(p)))
			}
		})
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestReadDebBuild(t *testing.T) {
	tree := debTree(t, debName, "6.1.76-1", "amd64", debFiles)
	for _, comp := range []string{"gzip", "xz", "zstd", "none"} {
		t.Run(comp, func(t *testing.T) {
			p := buildDeb(t, tree, comp)
			got, err := readFile(t, p)
			if err != nil {
				t.Fatalf("Read(%s) = %v", filepath.Base(p), err)
			}
			if diff := cmp.Diff(debWant, sortedFiles(got)); diff != "" {
				t.Errorf("Read(%s) mismatch (-want +got):\n%s", filepath.Base(p), diff)
			}
			if *update && (comp == "xz" || comp == "gzip") {
				copyFile(t, p, filepath.Join("testdata", debName+"_6.1.76-1_amd64-"+comp+".deb"))
			}
		})
	}
}

// TestReadDebRecompressed takes the members of a dpkg-deb -Znone package
// and recompresses data.tar with compressors dpkg-deb cannot build with
// (bzip2, lzma), as older packages used.
func TestReadDebRecompressed(t *testing.T) {
	tree := debTree(t, debName, "6.1.76-1", "amd64", debFiles)
	p := buildDeb(t, tree, "none")
	raw, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	members, err := readAr(io.NewSectionReader(bytes.NewReader(raw), 0, int64(len(raw))))
	if err != nil {
		t.Fatalf("readAr(%s) = %v", p, err)
	}
	get := func(name string) []byte {
		for _, m := range members {
			if m.name == name {
				return raw[m.off : m.off+m.size]
			}
		}
		t.Fatalf("no member %s in %s", name, p)
		return nil
	}
	for _, tc := range []struct{ suffix, tool string }{
		{".bz2", "bzip2"},
		{".lzma", "lzma"},
		{".xz", "xz"},
	} {
		t.Run(tc.tool, func(t *testing.T) {
			var args []string
			tool := tc.tool
			switch tool {
			case "lzma":
				tool, args = "xz", []string{"--format=lzma", "-c"}
			default:
				args = []string{"-c"}
			}
			if _, err := exec.LookPath(tool); err != nil {
				testenv.Skipf(t, "%s not installed: %v", tool, err)
			}
			cmd := exec.Command(tool, args...)
			cmd.Stdin = bytes.NewReader(get("data.tar"))
			data, err := cmd.Output()
			if err != nil {
				t.Fatalf("%s: %v", tool, err)
			}
			deb := makeAr(
				arMemberData{"debian-binary", []byte("2.0\n")},
				arMemberData{"_gpgorigin", []byte("ignored member")},
				arMemberData{"control.tar", get("control.tar")},
				arMemberData{"data.tar" + tc.suffix, data},
			)
			got, err := readBytes(deb)
			if err != nil {
				t.Fatalf("Read(data.tar%s deb) = %v", tc.suffix, err)
			}
			if diff := cmp.Diff(debWant, sortedFiles(got)); diff != "" {
				t.Errorf("Read(data.tar%s deb) mismatch (-want +got):\n%s", tc.suffix, diff)
			}
		})
	}
}

// TestReadTestdata reads the packages kept in testdata/ (built by
// go test -run 'Build' -update), so that the parser is covered on
// machines without rpmbuild and dpkg-deb.
func TestReadTestdata(t *testing.T) {
	for name, want := range map[string]*Info{
		"kernel-xenU-2.6.9-42.0.3.EL.i686.rpm": xenUWant,
		debName + "_6.1.76-1_amd64-xz.deb":     debWant,
		debName + "_6.1.76-1_amd64-gzip.deb":   debWant,
	} {
		got, err := readFile(t, filepath.Join("testdata", name))
		if err != nil {
			t.Errorf("Read(%s) = %v", name, err)
			continue
		}
		if diff := cmp.Diff(want, sortedFiles(got)); diff != "" {
			t.Errorf("Read(%s) mismatch (-want +got):\n%s", name, diff)
		}
	}
}

// TestReadOldFilenames checks the rpm < 4.1 file list (OLDFILENAMES),
// as CentOS 4-era packages may carry, and RPMTAG_ARCH etc. in a
// hand-made header.
func TestReadOldFilenames(t *testing.T) {
	b := makeRPM([]fakeTag{
		str(tagName, "kernel-xenU"),
		str(tagVersion, "2.6.9"),
		str(tagRelease, "42.0.3.EL"),
		str(tagArch, "i686"),
		strs(tagOldFilenames,
			"/boot/System.map-"+xenU,
			"/boot/vmlinuz-"+xenU,
			"/lib/modules/"+xenU,
			"/lib/modules/"+xenU+"/kernel/fs/ext3/ext3.ko"),
	})
	got, err := readBytes(b)
	if err != nil {
		t.Fatalf("Read(OLDFILENAMES rpm) = %v", err)
	}
	want := &Info{
		Format: "rpm", Name: "kernel-xenU", Version: "2.6.9", Release: "42.0.3.EL", Arch: "i686",
		KernelReleases: []string{xenU},
		ModuleReleases: []string{xenU},
		Files: []string{
			"/boot/System.map-" + xenU,
			"/boot/vmlinuz-" + xenU,
			"/lib/modules/" + xenU,
			"/lib/modules/" + xenU + "/kernel/fs/ext3/ext3.ko",
		},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Read(OLDFILENAMES rpm) mismatch (-want +got):\n%s", diff)
	}
}

// TestReadMultiKernel: a package with two images, one of them in the
// Fedora/RHEL 8+ place (/lib/modules/R/vmlinuz), and no modules for the
// other.
func TestReadMultiKernel(t *testing.T) {
	b := makeRPM([]fakeTag{
		str(tagName, "kernel-core"),
		str(tagVersion, "5.14.0"),
		str(tagRelease, "362.el9"),
		str(tagArch, "x86_64"),
		strs(tagBasenames, "vmlinuz-5.14.0-362.el9.x86_64", ".vmlinuz-5.14.0-362.el9.x86_64.hmac", "vmlinuz", ".vmlinuz.hmac", "vmlinuz-2.6.32-1xen"),
		{tag: tagDirIndexes, typ: rpmTypeInt32, ints: []uint32{0, 0, 1, 1, 0}},
		strs(tagDirNames, "/boot/", "/lib/modules/5.14.0-362.el9.x86_64/"),
	})
	got, err := readBytes(b)
	if err != nil {
		t.Fatalf("Read = %v", err)
	}
	if diff := cmp.Diff([]string{"2.6.32-1xen", "5.14.0-362.el9.x86_64"}, got.KernelReleases); diff != "" {
		t.Errorf("KernelReleases mismatch (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"5.14.0-362.el9.x86_64"}, got.ModuleReleases); diff != "" {
		t.Errorf("ModuleReleases mismatch (-want +got):\n%s", diff)
	}
	if got.HasModules("2.6.32-1xen") {
		t.Errorf("HasModules(2.6.32-1xen) = true, want false")
	}
}

func TestKernelRelease(t *testing.T) {
	for _, tc := range []struct {
		path string
		want string // "" = not a kernel image
	}{
		{"/boot/vmlinuz-" + xenU, xenU},
		{"/boot/vmlinux-2.6.16.60-0.21-xen", "2.6.16.60-0.21-xen"},
		{"/boot/vmlinuz-" + debRel, debRel},
		{"/lib/modules/5.14.0-362.el9.x86_64/vmlinuz", "5.14.0-362.el9.x86_64"},
		{"/usr/lib/modules/6.12.9-amd64/vmlinuz", "6.12.9-amd64"},
		{"/boot/vmlinuz", ""},
		{"/boot/vmlinuz-", ""},
		{"/boot/.vmlinuz-5.14.0.hmac", ""},
		{"/boot/System.map-" + xenU, ""},
		{"/boot/xen.gz-2.6.18-8.el5", ""},
		{"/boot/efi/vmlinuz-1", ""},
		{"/lib/modules/5.14.0/.vmlinuz.hmac", ""},
		{"/lib/modules/vmlinuz", ""},
		{"/lib/modules/a/b/vmlinuz", ""},
		{"/usr/share/doc/vmlinuz-1", ""},
		{"/boot/vmlinuz-with space", ""},
	} {
		got, ok := kernelRelease(tc.path)
		if !ok {
			got = ""
		}
		if got != tc.want {
			t.Errorf("kernelRelease(%q) = %q, %v, want %q", tc.path, got, ok, tc.want)
		}
	}
}

func TestModuleRelease(t *testing.T) {
	for _, tc := range []struct{ path, want string }{
		{"/lib/modules/" + xenU, xenU},
		{"/lib/modules/" + xenU + "/modules.dep", xenU},
		{"/usr/lib/modules/6.12.9-amd64/kernel", "6.12.9-amd64"},
		{"/lib/modules", ""},
		{"/lib/firmware/x", ""},
		{"/usr/share/lib/modules/x", ""},
	} {
		got, ok := moduleRelease(tc.path)
		if !ok {
			got = ""
		}
		if got != tc.want {
			t.Errorf("moduleRelease(%q) = %q, %v, want %q", tc.path, got, ok, tc.want)
		}
	}
}

// TestReadRealDebianKernel reads a real Debian linux-image package (cached
// by testenv.DebianKernelDeb, fetched on first use), and checks it against its file name and against
// `dpkg-deb --fsys-tarfile | tar -t`.
func TestReadRealDebianKernel(t *testing.T) {
	if testing.Short() {
		t.Skip("skipping in -short mode: decompressing a real kernel package takes seconds")
	}
	// Fetched with apt-get download on a fresh machine; never a skip.
	picked := testenv.DebianKernelDeb(t)
	// linux-image-RELEASE_VERSION_ARCH.deb
	base := strings.TrimSuffix(filepath.Base(picked), ".deb")
	parts := strings.Split(base, "_")
	if len(parts) != 3 {
		t.Fatalf("cannot parse package file name %s", base)
	}
	version, err := url.PathUnescape(parts[1]) // epochs are stored as %3a
	if err != nil {
		t.Fatal(err)
	}
	release := strings.TrimPrefix(parts[0], "linux-image-")
	got, err := readFile(t, picked)
	if err != nil {
		t.Fatalf("Read(%s) = %v", base, err)
	}
	if got.Format != "deb" || got.Name != parts[0] || got.Version != version || got.Arch != parts[2] {
		t.Errorf("Read(%s) = Format %q Name %q Version %q Arch %q, want deb %q %q %q",
			base, got.Format, got.Name, got.Version, got.Arch, parts[0], version, parts[2])
	}
	if diff := cmp.Diff([]string{release}, got.KernelReleases); diff != "" {
		t.Errorf("Read(%s).KernelReleases mismatch (-want +got):\n%s", base, diff)
	}
	if !got.HasModules(release) {
		t.Errorf("Read(%s).HasModules(%q) = false, want true (ModuleReleases %q)", base, release, got.ModuleReleases)
	}
	if got.FilesTruncated || len(got.Files) < 100 {
		t.Errorf("Read(%s): %d files, truncated %v; want a full list of a kernel package", base, len(got.Files), got.FilesTruncated)
	}

	// Oracle: dpkg-deb extracts the data tar, GNU tar lists it.
	dpkgDeb := needTool(t, "dpkg-deb")
	tarTool := needTool(t, "tar")
	extract := exec.Command(dpkgDeb, "--fsys-tarfile", picked)
	list := exec.Command(tarTool, "-t")
	pipe, err := extract.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	list.Stdin = pipe
	var out bytes.Buffer
	list.Stdout = &out
	if err := extract.Start(); err != nil {
		t.Fatal(err)
	}
	if err := list.Run(); err != nil {
		t.Fatalf("tar -t: %v", err)
	}
	if err := extract.Wait(); err != nil {
		t.Fatalf("dpkg-deb --fsys-tarfile: %v", err)
	}
	var want []string
	for _, l := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		if p := cleanPath(l); p != "/" {
			want = append(want, p)
		}
	}
	if diff := cmp.Diff(want, got.Files); diff != "" {
		t.Errorf("Read(%s).Files differs from dpkg-deb --fsys-tarfile | tar -t (-tar +got):\n%s", base, diff)
	}
	t.Logf("%s: %s %s %s, kernels %q, %d files", base, got.Name, got.Version, got.Arch, got.KernelReleases, len(got.Files))
}

func TestReadUnknown(t *testing.T) {
	for _, b := range [][]byte{nil, []byte("x"), []byte("\x7fELF\x02\x01\x01\x00"), []byte("!<arch>"), bytes.Repeat([]byte{0}, 200)} {
		_, err := readBytes(b)
		if !errors.Is(err, ErrUnknownFormat) {
			t.Errorf("Read(%q) = %v, want ErrUnknownFormat", b, err)
		}
	}
	if _, err := Read(bytes.NewReader(nil), -1); err == nil {
		t.Errorf("Read(size -1) = nil error, want error")
	}
}

// TestReadCorruptRPM feeds hand-made headers that break one rule each.
func TestReadCorruptRPM(t *testing.T) {
	good := []fakeTag{
		str(tagName, "kernel-xenU"), str(tagVersion, "2.6.9"), str(tagRelease, "1"), str(tagArch, "i686"),
		strs(tagBasenames, "vmlinuz-2.6.9-1xenU"),
		{tag: tagDirIndexes, typ: rpmTypeInt32, ints: []uint32{0}},
		strs(tagDirNames, "/boot/"),
	}
	if _, err := readBytes(makeRPM(good)); err != nil {
		t.Fatalf("Read(good rpm) = %v", err)
	}
	with := func(i int, ft fakeTag) []fakeTag {
		tags := append([]fakeTag(nil), good...)
		tags[i] = ft
		return tags
	}
	setLead := func(off int, v byte) []byte {
		b := makeRPM(good)
		b[off] = v
		return b
	}
	mainIntro := func(nindex, hsize uint32) []byte {
		b := makeRPM(good)
		i := bytes.LastIndex(b, rpmHeaderMagic)
		b[i+8], b[i+9], b[i+10], b[i+11] = byte(nindex>>24), byte(nindex>>16), byte(nindex>>8), byte(nindex)
		b[i+12], b[i+13], b[i+14], b[i+15] = byte(hsize>>24), byte(hsize>>16), byte(hsize>>8), byte(hsize)
		return b
	}
	for _, tc := range []struct {
		name string
		b    []byte
		want string
	}{
		{"source rpm", setLead(7, 1), "source rpm"},
		{"signature type", setLead(79, 0), "signature type"},
		{"sig magic", setLead(96, 0), "signature header at offset 96: bad magic"},
		{"no name", makeRPM(good[1:]), "no NAME"},
		{"name type", makeRPM(with(0, fakeTag{tag: tagName, typ: rpmTypeInt32, ints: []uint32{1}})), "want a string type"},
		{"string offset", makeRPM(with(0, fakeTag{tag: tagName, typ: rpmTypeString, strs: []string{"x"}, raw: &[2]uint32{1 << 30, 1}})), "outside data"},
		{"unterminated", makeRPM(with(6, fakeTag{tag: tagDirNames, typ: rpmTypeStrArray, strs: []string{"/boot/"}, forceCount: 3})), "not terminated"},
		{"string count huge", makeRPM(with(4, fakeTag{tag: tagBasenames, typ: rpmTypeStrArray, strs: []string{"a"}, raw: &[2]uint32{0, 0xffffffff}})), "cannot fit"},
		{"int count huge", makeRPM(with(5, fakeTag{tag: tagDirIndexes, typ: rpmTypeInt32, ints: []uint32{0}, raw: &[2]uint32{0, 0x40000000}})), "exceed limit"},
		{"int outside", makeRPM(with(5, fakeTag{tag: tagDirIndexes, typ: rpmTypeInt32, ints: []uint32{0}, raw: &[2]uint32{0xfffffff0, 4}})), "outside data"},
		{"dir index", makeRPM(with(5, fakeTag{tag: tagDirIndexes, typ: rpmTypeInt32, ints: []uint32{7}})), "dir index 7 out of range"},
		{"count mismatch", makeRPM(with(5, fakeTag{tag: tagDirIndexes, typ: rpmTypeInt32, ints: []uint32{0, 0}})), "2 DIRINDEXES for 1 BASENAMES"},
		{"no dirnames", makeRPM(good[:6]), "without DIRNAMES"},
		{"no dirindexes", makeRPM(append(good[:5:5], good[6])), "without DIRINDEXES"},
		{"zero index", mainIntro(0, 10), "index count 0 out of range"},
		{"huge index", mainIntro(0x7fffffff, 10), "out of range"},
		{"huge data", mainIntro(7, 0xffffffff), "exceeds limit"},
		{"past end", mainIntro(7, 0x0ffffff0), "past end of file"},
		{"truncated lead", makeRPM(good)[:50], "unexpected EOF"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			info, err := readBytes(tc.b)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Read(%s) = %+v, %v; want error containing %q", tc.name, info, err, tc.want)
			}
		})
	}
}

func gzipBytes(t *testing.T, b []byte) []byte {
	var out bytes.Buffer
	w := gzip.NewWriter(&out)
	w.Write(b)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

func tarBytes(t *testing.T, files ...arMemberData) []byte {
	var out bytes.Buffer
	w := tar.NewWriter(&out)
	for _, f := range files {
		if err := w.WriteHeader(&tar.Header{Name: f.name, Mode: 0o644, Size: int64(len(f.data)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		w.Write(f.data)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

func TestReadCorruptDeb(t *testing.T) {
	control := tarBytes(t, arMemberData{"./control", []byte("Package: linux-image-x\nVersion: 1\nArchitecture: amd64\n")})
	data := tarBytes(t, arMemberData{"./boot/vmlinuz-x", []byte("k")})
	good := []arMemberData{{"debian-binary", []byte("2.0\n")}, {"control.tar", control}, {"data.tar", data}}
	if info, err := readBytes(makeAr(good...)); err != nil || cmp.Diff([]string{"x"}, info.KernelReleases) != "" {
		t.Fatalf("Read(good deb) = %+v, %v", info, err)
	}
	bomb := tarBytes(t,
		arMemberData{"./md5sums", make([]byte, maxControlTarSize+1<<20)},
		arMemberData{"./control", []byte("Package: x\n")})
	withMember := func(i int, m arMemberData) []byte {
		ms := append([]arMemberData(nil), good...)
		ms[i] = m
		return makeAr(ms...)
	}
	badSize := makeAr(good...)
	copy(badSize[8+48:], "99999999  ")
	badTerm := makeAr(good...)
	badTerm[8+58] = 'x'
	for _, tc := range []struct {
		name string
		b    []byte
		want string
	}{
		{"no debian-binary", makeAr(good[1:]...), "no debian-binary"},
		{"version 3", withMember(0, arMemberData{"debian-binary", []byte("3.0\n")}), "unsupported format version"},
		{"no control", makeAr(good[0], good[2]), "no control.tar"},
		{"no data", makeAr(good[:2]...), "no data.tar"},
		{"no control file", withMember(1, arMemberData{"control.tar", tarBytes(t, arMemberData{"./md5sums", nil})}), "no control file"},
		{"no Package", withMember(1, arMemberData{"control.tar", tarBytes(t, arMemberData{"./control", []byte("Version: 1\n")})}), "no Package field"},
		{"bad control line", withMember(1, arMemberData{"control.tar", tarBytes(t, arMemberData{"./control", []byte("Package: x\ngarbage\n")})}), "control line 2"},
		{"unknown compression", withMember(2, arMemberData{"data.tar.lz4", data}), "unsupported compression"},
		{"not gzip", withMember(2, arMemberData{"data.tar.gz", data}), "gzip"},
		{"not xz", withMember(2, arMemberData{"data.tar.xz", data}), "xz"},
		{"not zstd", withMember(2, arMemberData{"data.tar.zst", data}), "zstd"},
		{"not bzip2", withMember(2, arMemberData{"data.tar.bz2", data}), "bzip2"},
		{"truncated gzip", withMember(2, arMemberData{"data.tar.gz", gzipBytes(t, data)[:40]}), "unexpected EOF"},
		{"control bomb", withMember(1, arMemberData{"control.tar.gz", gzipBytes(t, bomb)}), errTooLarge.Error()},
		{"member size", badSize, "past end of file"},
		{"member terminator", badTerm, "bad terminator"},
		{"too many members", makeAr(append(good, make([]arMemberData, arMaxMembers)...)...), "more than 64 members"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			info, err := readBytes(tc.b)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Read(%s) = %+v, %v; want error containing %q", tc.name, info, err, tc.want)
			}
		})
	}
}

func TestLimitReader(t *testing.T) {
	for _, tc := range []struct {
		n, limit int
		wantErr  error
	}{
		{10, 10, nil},
		{9, 10, nil},
		{11, 10, errTooLarge},
	} {
		got, err := io.ReadAll(&limitReader{r: bytes.NewReader(make([]byte, tc.n)), n: int64(tc.limit)})
		if !errors.Is(err, tc.wantErr) || (err == nil && len(got) != tc.n) {
			t.Errorf("ReadAll(limitReader(%d bytes, limit %d)) = %d bytes, %v; want %d bytes, %v", tc.n, tc.limit, len(got), err, tc.n, tc.wantErr)
		}
	}
}

// rpmHeaderEnd returns where the main header of the rpm b ends.
func rpmHeaderEnd(b []byte) int {
	be := func(i int) int { return int(b[i])<<24 | int(b[i+1])<<16 | int(b[i+2])<<8 | int(b[i+3]) }
	sig := 16 + 16*be(96+8) + be(96+12)
	main := 96 + sig + (8-sig%8)%8
	return main + 16 + 16*be(main+8) + be(main+12)
}

// TestReadTruncated cuts the testdata packages at every length: before
// the end of the rpm header or the deb's last member, Read must fail;
// it must never panic.
func TestReadTruncated(t *testing.T) {
	files, _ := filepath.Glob("testdata/*.*")
	files = append(files, "synthetic.rpm")
	for _, name := range files {
		var b []byte
		var err error
		if name == "synthetic.rpm" {
			b = makeRPM([]fakeTag{str(tagName, "k"), strs(tagOldFilenames, "/boot/vmlinuz-1")})
		} else if b, err = os.ReadFile(name); err != nil {
			t.Fatal(err)
		}
		mustFail := len(b) - 1 // a deb may lose its final padding byte
		if bytes.HasPrefix(b, rpmLeadMagic) {
			mustFail = rpmHeaderEnd(b)
		}
		for n := 0; n < len(b); n++ {
			_, err := readBytes(b[:n])
			if n < mustFail && err == nil {
				t.Errorf("Read(%s cut to %d of %d bytes) = nil error, want error", name, n, len(b))
			}
		}
	}
}

// TestReadBitFlips flips random bytes of the testdata packages: any
// result is fine as long as Read does not panic and keeps its bounds.
func TestReadBitFlips(t *testing.T) {
	files, _ := filepath.Glob("testdata/*.*")
	rng := rand.New(rand.NewSource(1))
	for _, name := range files {
		orig, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 300; i++ {
			b := append([]byte(nil), orig...)
			for j := 0; j < 1+rng.Intn(4); j++ {
				b[rng.Intn(len(b))] ^= byte(1 + rng.Intn(255))
			}
			if info, err := readBytes(b); err == nil && len(info.Files) > MaxFiles {
				t.Errorf("Read(%s with flips) = %d files, want <= %d", name, len(info.Files), MaxFiles)
			}
		}
	}
}

func FuzzRead(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.*")
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add(makeRPM([]fakeTag{str(tagName, "k"), strs(tagOldFilenames, "/boot/vmlinuz-1", "/lib/modules/1/x")}))
	f.Add(makeRPM([]fakeTag{
		str(tagName, "k"),
		strs(tagBasenames, "vmlinuz-1", "vmlinuz"),
		{tag: tagDirIndexes, typ: rpmTypeInt32, ints: []uint32{0, 1}},
		strs(tagDirNames, "/boot/", "/lib/modules/1/"),
	}))
	f.Add(makeAr(arMemberData{"debian-binary", []byte("2.0\n")}))
	f.Add([]byte(arMagic))
	f.Fuzz(func(t *testing.T, b []byte) {
		info, err := readBytes(b)
		if err != nil {
			return
		}
		if info.Format != "rpm" && info.Format != "deb" {
			t.Errorf("Read = Format %q, want rpm or deb", info.Format)
		}
		if len(info.Files) > MaxFiles {
			t.Errorf("Read = %d files, want <= %d", len(info.Files), MaxFiles)
		}
		for _, r := range info.KernelReleases {
			if !validRelease(r) {
				t.Errorf("Read = kernel release %q, not valid", r)
			}
		}
	})
}
