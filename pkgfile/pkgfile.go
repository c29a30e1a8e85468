// Package pkgfile reads the metadata of a binary kernel package file (.rpm
// or .deb) without installing it: its name, version, architecture, file
// list, and the kernel release(s) (`uname -r` strings) it installs.
//
// xenify's --kernel-package option uses this to know, before touching the
// guest, which kernel a user-supplied package will put into /boot and
// whether it ships the matching /lib/modules/RELEASE directory.
//
// The input is untrusted: every count and size read from the file is
// bounded, and malformed input yields an error, never a panic.
package pkgfile

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"path"
	"sort"
	"strings"
)

// Limits on untrusted input.
const (
	// MaxFiles is the number of paths kept in Info.Files. A kernel package
	// has a few thousand; kernel releases and module directories are still
	// detected from every entry beyond the cap.
	MaxFiles = 200000

	// maxEntries bounds the number of file entries examined at all.
	maxEntries = 1 << 20

	// maxDataSize bounds the decompressed size of a .deb's data.tar
	// (Debian 12's linux-image-*-amd64 has about 400 MiB).
	maxDataSize = 2 << 30

	// maxControlSize bounds the decompressed size of a .deb's
	// control.tar, and of the control file in it.
	maxControlTarSize = 64 << 20
	maxControlSize    = 1 << 20
)

// ErrUnknownFormat is returned (wrapped) when the input is neither an rpm
// nor a deb (ar archive) file.
var ErrUnknownFormat = errors.New("not an rpm or deb package")

// Info describes a binary package file.
type Info struct {
	Format string // "rpm" or "deb"

	Name string
	// Version is the rpm VERSION tag, or the full Debian version
	// (with epoch and revision, e.g. "6.1.76-1") of a deb.
	Version string
	// Release is the rpm RELEASE tag; empty for a deb.
	Release string
	Arch    string // rpm ARCH tag ("i686", "x86_64") or deb Architecture ("amd64")

	// KernelReleases are the kernel releases (`uname -r`) whose image the
	// package installs, sorted: RELEASE from /boot/vmlinuz-RELEASE,
	// /boot/vmlinux-RELEASE or /lib/modules/RELEASE/vmlinuz (Fedora and
	// RHEL 8+ keep the image there and copy it to /boot on install).
	KernelReleases []string

	// ModuleReleases are the releases for which the package ships
	// /lib/modules/RELEASE (or /usr/lib/modules/RELEASE) or anything
	// below it, sorted.
	ModuleReleases []string

	// Files are the absolute, cleaned paths of all entries (files,
	// directories, symlinks) in package order, at most MaxFiles of them.
	Files []string
	// FilesTruncated reports that Files was cut at MaxFiles.
	FilesTruncated bool
}

// HasModules reports whether the package ships /lib/modules/release (or
// /usr/lib/modules/release).
func (i *Info) HasModules(release string) bool {
	for _, r := range i.ModuleReleases {
		if r == release {
			return true
		}
	}
	return false
}

// Read reads the package of size bytes in r. The format is detected from
// its magic number: the rpm lead (ed ab ee db) or the ar archive header of
// a deb ("!<arch>\n").
func Read(r io.ReaderAt, size int64) (*Info, error) {
	if size < 0 {
		return nil, fmt.Errorf("negative size %d", size)
	}
	sr := io.NewSectionReader(r, 0, size)
	magic := make([]byte, 8)
	n, err := sr.ReadAt(magic, 0)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("reading magic: %w", err)
	}
	magic = magic[:n]
	switch {
	case bytes.HasPrefix(magic, rpmLeadMagic):
		return readRPM(sr)
	case bytes.Equal(magic, []byte(arMagic)):
		return readDeb(sr)
	}
	return nil, fmt.Errorf("%w (magic % x)", ErrUnknownFormat, magic)
}

// collector gathers paths and derives kernel and module releases from them.
type collector struct {
	info    *Info
	n       int
	kernels map[string]bool
	modules map[string]bool
}

func newCollector(info *Info) *collector {
	return &collector{info: info, kernels: map[string]bool{}, modules: map[string]bool{}}
}

// add records one absolute, cleaned path.
func (c *collector) add(p string) error {
	c.n++
	if c.n > maxEntries {
		return fmt.Errorf("more than %d file entries", maxEntries)
	}
	if len(c.info.Files) < MaxFiles {
		c.info.Files = append(c.info.Files, p)
	} else {
		c.info.FilesTruncated = true
	}
	if r, ok := kernelRelease(p); ok {
		c.kernels[r] = true
	}
	if r, ok := moduleRelease(p); ok {
		c.modules[r] = true
	}
	return nil
}

func (c *collector) finish() {
	c.info.KernelReleases = sortedKeys(c.kernels)
	c.info.ModuleReleases = sortedKeys(c.modules)
}

func sortedKeys(m map[string]bool) []string {
	if len(m) == 0 {
		return nil
	}
	s := make([]string, 0, len(m))
	for k := range m {
		s = append(s, k)
	}
	sort.Strings(s)
	return s
}

// cleanPath turns a package path ("./boot/x", "boot/x", "/boot/x/") into
// an absolute, cleaned one ("/boot/x").
func cleanPath(p string) string {
	return path.Clean("/" + p)
}

// validRelease rejects strings that cannot be a kernel release.
func validRelease(r string) bool {
	if r == "" || r == "." || r == ".." || len(r) > 255 {
		return false
	}
	for i := 0; i < len(r); i++ {
		if c := r[i]; c <= ' ' || c == '/' || c >= 0x7f {
			return false
		}
	}
	return true
}

// kernelRelease returns RELEASE for a kernel image path: /boot/vmlinuz-R,
// /boot/vmlinux-R, /lib/modules/R/vmlinuz or /usr/lib/modules/R/vmlinuz.
func kernelRelease(p string) (string, bool) {
	dir, base := path.Split(p)
	if dir == "/boot/" {
		for _, prefix := range []string{"vmlinuz-", "vmlinux-"} {
			if r, ok := strings.CutPrefix(base, prefix); ok {
				return r, validRelease(r)
			}
		}
		return "", false
	}
	if base != "vmlinuz" {
		return "", false
	}
	for _, prefix := range []string{"/lib/modules/", "/usr/lib/modules/"} {
		if r, ok := strings.CutPrefix(dir, prefix); ok {
			r = strings.TrimSuffix(r, "/")
			return r, validRelease(r)
		}
	}
	return "", false
}

// moduleRelease returns RELEASE for /lib/modules/RELEASE or any path below
// it (also under /usr/lib/modules).
func moduleRelease(p string) (string, bool) {
	for _, prefix := range []string{"/lib/modules/", "/usr/lib/modules/"} {
		if rest, ok := strings.CutPrefix(p, prefix); ok {
			r, _, _ := strings.Cut(rest, "/")
			return r, validRelease(r)
		}
	}
	return "", false
}
