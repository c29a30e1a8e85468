package pkgfile

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/xenify/xenify/internal/testenv"
)

// readFile runs Read on the file at p.
func readFile(t *testing.T, p string) (*Info, error) {
	t.Helper()
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	return Read(f, st.Size())
}

func readBytes(b []byte) (*Info, error) {
	return Read(bytes.NewReader(b), int64(len(b)))
}

func needTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		testenv.Skipf(t, "%s not installed (Debian package %s): %v", name, map[string]string{"rpmbuild": "rpm", "rpm": "rpm", "dpkg-deb": "dpkg"}[name], err)
	}
	return p
}

func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\n%s%s", name, strings.Join(args, " "), err, out.String(), errb.String())
	}
	return out.String()
}

// rpmSpec describes a minimal kernel package built with rpmbuild.
type rpmSpec struct {
	name, version, release, arch string
	kernel                       string // uname -r
	files                        []string
}

// buildRPM builds s with rpmbuild and returns the .rpm path.
func buildRPM(t *testing.T, s rpmSpec) string {
	t.Helper()
	needTool(t, "rpmbuild")
	dir := t.TempDir()
	var install, files strings.Builder
	for _, f := range s.files {
		fmt.Fprintf(&install, "mkdir -p %%{buildroot}%s\necho %s > %%{buildroot}%s\n", filepath.Dir(f), filepath.Base(f), f)
	}
	for _, f := range s.files {
		if !strings.HasPrefix(f, "/lib/modules/") {
			fmt.Fprintln(&files, f)
		}
	}
	fmt.Fprintf(&files, "/lib/modules/%s\n", s.kernel)
	spec := fmt.Sprintf(`%%define debug_package %%{nil}
%%define __os_install_post %%{nil}
%%define _build_id_links none
Name: %s
Version: %s
Release: %s
Summary: test kernel package
License: GPL
%%description
test kernel package for xenify's pkgfile
%%install
%s
%%files
%s`, s.name, s.version, s.release, install.String(), files.String())
	p, err := testenv.RPMBuild(dir, spec, s.arch)
	if err != nil {
		t.Fatal(err)
	}
	if want := fmt.Sprintf("%s-%s-%s.%s.rpm", s.name, s.version, s.release, s.arch); filepath.Base(p) != want {
		t.Fatalf("rpmbuild produced %s, want %s", p, want)
	}
	return p
}

// debTree writes a package tree for dpkg-deb: DEBIAN/control plus the
// given files.
func debTree(t *testing.T, name, version, arch string, files []string) string {
	t.Helper()
	root := filepath.Join(t.TempDir(), "tree")
	control := fmt.Sprintf("Package: %s\nVersion: %s\nArchitecture: %s\nMaintainer: Test <test@example.org>\nDescription: test kernel\n multi-line description\n", name, version, arch)
	for p, data := range map[string]string{"DEBIAN/control": control} {
		writeFile(t, filepath.Join(root, p), data)
	}
	for _, f := range files {
		writeFile(t, filepath.Join(root, f), filepath.Base(f)+"\n")
	}
	return root
}

func writeFile(t *testing.T, p, data string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

// buildDeb runs dpkg-deb --build with compression comp (gzip, xz, zstd,
// none) on tree and returns the .deb path.
func buildDeb(t *testing.T, tree, comp string) string {
	t.Helper()
	dpkgDeb := needTool(t, "dpkg-deb")
	out := filepath.Join(t.TempDir(), "pkg-"+comp+".deb")
	cmd := exec.Command(dpkgDeb, "--root-owner-group", "-Z"+comp, "--build", tree, out)
	if b, err := cmd.CombinedOutput(); err != nil {
		if comp == "zstd" && strings.Contains(string(b), "unknown compression") {
			testenv.Skipf(t, "dpkg-deb does not support -Zzstd: %s", b)
		}
		t.Fatalf("dpkg-deb -Z%s --build: %v\n%s", comp, err, b)
	}
	return out
}

// arMemberData is one member of a hand-made ar archive.
type arMemberData struct {
	name string
	data []byte
}

// makeAr builds an ar archive the way dpkg-deb does.
func makeAr(members ...arMemberData) []byte {
	var b bytes.Buffer
	b.WriteString(arMagic)
	for _, m := range members {
		fmt.Fprintf(&b, "%-16s%-12d%-6d%-6d%-8s%-10d`\n", m.name, 0, 0, 0, "100644", len(m.data))
		b.Write(m.data)
		if len(m.data)%2 == 1 {
			b.WriteByte('\n')
		}
	}
	return b.Bytes()
}

// fakeTag is one index entry of a hand-made rpm header.
type fakeTag struct {
	tag, typ uint32
	strs     []string // STRING / STRING_ARRAY
	ints     []uint32 // INT32
	// raw overrides offset/count when set (for corrupt headers).
	raw *[2]uint32
	// forceCount overrides only the count when non-zero.
	forceCount uint32
}

// makeRPMHeader builds an rpm header structure.
func makeRPMHeader(tags []fakeTag) []byte {
	var index, data bytes.Buffer
	for _, tg := range tags {
		if tg.typ == rpmTypeInt32 {
			for data.Len()%4 != 0 {
				data.WriteByte(0)
			}
		}
		off, count := uint32(data.Len()), uint32(0)
		switch tg.typ {
		case rpmTypeInt32:
			count = uint32(len(tg.ints))
			for _, v := range tg.ints {
				binary.Write(&data, binary.BigEndian, v)
			}
		default:
			count = uint32(len(tg.strs))
			for _, s := range tg.strs {
				data.WriteString(s)
				data.WriteByte(0)
			}
		}
		if tg.forceCount != 0 {
			count = tg.forceCount
		}
		if tg.raw != nil {
			off, count = tg.raw[0], tg.raw[1]
		}
		binary.Write(&index, binary.BigEndian, [4]uint32{tg.tag, tg.typ, off, count})
	}
	var h bytes.Buffer
	h.Write(rpmHeaderMagic)
	h.Write(make([]byte, 4))
	binary.Write(&h, binary.BigEndian, uint32(len(tags)))
	binary.Write(&h, binary.BigEndian, uint32(data.Len()))
	h.Write(index.Bytes())
	h.Write(data.Bytes())
	return h.Bytes()
}

// makeRPM builds an rpm file (lead, signature header with one tag, main
// header with tags, a dummy payload).
func makeRPM(tags []fakeTag) []byte {
	var b bytes.Buffer
	lead := make([]byte, rpmLeadSize)
	copy(lead, rpmLeadMagic)
	lead[4], lead[5] = 3, 0 // rpm 3.0 lead, as rpm 4 writes
	copy(lead[10:], "kernel-xenU-2.6.9-42.0.3.EL")
	binary.BigEndian.PutUint16(lead[78:], rpmSigTypeHdr)
	b.Write(lead)
	// Signature: SIZE (1000, INT32) -- gives a 16+16+4 = 36 byte header,
	// so the main header needs 4 bytes of padding.
	b.Write(makeRPMHeader([]fakeTag{{tag: 1000, typ: rpmTypeInt32, ints: []uint32{1234}}}))
	for b.Len()%8 != 0 {
		b.WriteByte(0)
	}
	b.Write(makeRPMHeader(tags))
	b.WriteString("\x1f\x8b payload not read")
	return b.Bytes()
}

func str(tag uint32, s string) fakeTag {
	return fakeTag{tag: tag, typ: rpmTypeString, strs: []string{s}}
}
func strs(tag uint32, s ...string) fakeTag {
	return fakeTag{tag: tag, typ: rpmTypeStrArray, strs: s}
}
