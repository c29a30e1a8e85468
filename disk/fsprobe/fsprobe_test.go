package fsprobe

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/xenify/xenify/disk/disktest"
)

const mib = 1 << 20

// blkid runs `blkid -p -o export` (low-level probe, no cache, no root).
func blkid(t *testing.T, path string) map[string]string {
	t.Helper()
	out := disktest.Run(t, nil, "blkid", "-p", "-o", "export", path)
	m := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), "="); ok {
			m[k] = v
		}
	}
	return m
}

func sparseFile(t *testing.T, size int64) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "fs.img")
	if err := os.WriteFile(p, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(p, size); err != nil {
		t.Fatal(err)
	}
	return p
}

func probeFile(t *testing.T, path string) Result {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	res, err := Probe(f, st.Size())
	if err != nil {
		t.Fatalf("Probe(%s) = %v", path, err)
	}
	return res
}

// TestIntegrationProbeVsBlkid makes real filesystems with the real tools
// and checks that Probe agrees with `blkid -p` on TYPE, UUID and LABEL.
func TestIntegrationProbeVsBlkid(t *testing.T) {
	disktest.RequireTools(t, "blkid")
	tests := []struct {
		name  string
		size  int64
		tools []string
		make  func(t *testing.T, path string)
		check func(t *testing.T, r Result)
	}{
		{"ext2", 16 * mib, []string{"mke2fs"}, func(t *testing.T, p string) {
			disktest.Run(t, nil, "mke2fs", "-q", "-F", "-t", "ext2", "-L", "boot", p)
		}, func(t *testing.T, r Result) {
			if r.Ext.Has("has_journal") || r.BlockSize != 1024 {
				t.Errorf("ext2: features %v block size %d, want no journal and 1024-byte blocks", r.Ext.Features, r.BlockSize)
			}
		}},
		{"ext3 rhel5-like", 32 * mib, []string{"mke2fs"}, func(t *testing.T, p string) {
			disktest.Run(t, nil, "mke2fs", "-q", "-F", "-t", "ext3", "-I", "128", "-b", "4096", "-L", "/", p)
		}, func(t *testing.T, r Result) {
			if !r.Ext.Has("has_journal") || r.Ext.Has("extent") || r.Ext.InodeSize != 128 || r.BlockSize != 4096 || r.Size != 32*mib {
				t.Errorf("ext3: %+v, want journal, no extents, 128-byte inodes, 4 KiB blocks, 32 MiB", r.Ext)
			}
		}},
		{"ext4", 64 * mib, []string{"mke2fs"}, func(t *testing.T, p string) {
			disktest.Run(t, nil, "mke2fs", "-q", "-F", "-t", "ext4", "-O", "64bit,metadata_csum", "-U", "0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0", p)
		}, func(t *testing.T, r Result) {
			for _, f := range []string{"has_journal", "extent", "64bit", "metadata_csum", "flex_bg"} {
				if !r.Ext.Has(f) {
					t.Errorf("ext4: features %v lack %s", r.Ext.Features, f)
				}
			}
			if r.UUID != "0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0" || r.Ext.FreeBlocks <= 0 || r.Ext.FreeBlocks >= r.Ext.BlocksCount {
				t.Errorf("ext4: uuid %s free %d of %d blocks", r.UUID, r.Ext.FreeBlocks, r.Ext.BlocksCount)
			}
		}},
		{"swap", 8 * mib, []string{"mkswap"}, func(t *testing.T, p string) {
			disktest.Run(t, nil, "mkswap", "-q", "-L", "SWAP-hda3", p)
		}, func(t *testing.T, r Result) {
			if r.Swap.Version != 1 || r.Size != 8*mib {
				t.Errorf("swap: %+v size %d, want version 1, 8 MiB", r.Swap, r.Size)
			}
		}},
		{"xfs v5", 300 * mib, []string{"mkfs.xfs"}, func(t *testing.T, p string) {
			disktest.Run(t, nil, "mkfs.xfs", "-q", "-f", "-L", "data", p)
		}, func(t *testing.T, r Result) {
			if r.XFS.Version != 5 {
				t.Errorf("xfs: version %d, want 5", r.XFS.Version)
			}
		}},
		{"xfs v4", 300 * mib, []string{"mkfs.xfs"}, func(t *testing.T, p string) {
			disktest.Run(t, nil, "mkfs.xfs", "-q", "-f", "-m", "crc=0", p)
		}, func(t *testing.T, r Result) {
			if r.XFS.Version != 4 {
				t.Errorf("xfs: version %d, want 4", r.XFS.Version)
			}
		}},
		{"vfat", 64 * mib, []string{"mkfs.vfat"}, func(t *testing.T, p string) {
			disktest.Run(t, nil, "mkfs.vfat", "-F", "32", "-n", "ESP", p)
		}, nil},
		{"vfat16", 16 * mib, []string{"mkfs.vfat"}, func(t *testing.T, p string) {
			disktest.Run(t, nil, "mkfs.vfat", "-F", "16", p)
		}, nil},
		{"md 1.2", 16 * mib, nil, func(t *testing.T, p string) {
			sb, off, _, _, err := disktest.MDSuperblock(disktest.MD{Version: "1.2", Name: "h:0"}, 16*mib)
			if err != nil {
				t.Fatal(err)
			}
			disktest.WriteAt(t, p, sb, off)
		}, nil},
		{"md 0.90", 16 * mib, nil, func(t *testing.T, p string) {
			sb, off, _, _, err := disktest.MDSuperblock(disktest.MD{Version: "0.90"}, 16*mib)
			if err != nil {
				t.Fatal(err)
			}
			disktest.WriteAt(t, p, sb, off)
		}, nil},
		{"lvm", 8 * mib, nil, func(t *testing.T, p string) {
			f, err := os.Open("../lvm/testdata/pv-volgroup00.img.gz")
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			zr, err := gzip.NewReader(f)
			if err != nil {
				t.Fatal(err)
			}
			d, err := io.ReadAll(zr)
			if err != nil {
				t.Fatal(err)
			}
			disktest.WriteAt(t, p, d, 0)
		}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			disktest.RequireTools(t, tc.tools...)
			p := sparseFile(t, tc.size)
			tc.make(t, p)
			got := probeFile(t, p)
			want := blkid(t, p)
			if got.Type != want["TYPE"] || got.UUID != want["UUID"] || got.Label != want["LABEL"] {
				t.Errorf("Probe() = type %q uuid %q label %q, blkid says %q %q %q",
					got.Type, got.UUID, got.Label, want["TYPE"], want["UUID"], want["LABEL"])
			}
			if tc.check != nil {
				tc.check(t, got)
			}
		})
	}
}

func TestProbeSynthetic(t *testing.T) {
	tests := []struct {
		name                string
		disk                []byte
		typ, uuid, label, v string
	}{
		{"empty", make([]byte, mib), "", "", "", ""},
		{"tiny", make([]byte, 10), "", "", "", ""},
		{"btrfs", func() []byte {
			d := make([]byte, mib)
			sb := d[64*1024:]
			copy(sb[0x20:], []byte{0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0, 0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef})
			copy(sb[0x40:], "_BHRfS_M")
			binary.LittleEndian.PutUint32(sb[0x90:], 4096)
			copy(sb[0x12b:], "fedora")
			return d
		}(), "btrfs", "12345678-9abc-def0-0123-456789abcdef", "fedora", ""},
		{"old swap", func() []byte {
			d := make([]byte, mib)
			copy(d[4096-10:], "SWAP-SPACE")
			return d
		}(), "swap", "", "", "0"},
		{"iso9660", func() []byte {
			d := make([]byte, mib)
			pvd := d[16*2048:]
			pvd[0] = 1
			copy(pvd[1:], "CD001")
			copy(pvd[40:], "CentOS_5.11_Final               ")
			binary.LittleEndian.PutUint16(pvd[128:], 2048)
			copy(pvd[813:], "2014093017121300")
			return d
		}(), "iso9660", "2014-09-30-17-12-13-00", "CentOS_5.11_Final", ""},
		{"xfs v5", func() []byte {
			d := make([]byte, mib)
			copy(d, "XFSB")
			binary.BigEndian.PutUint32(d[4:], 4096)
			binary.BigEndian.PutUint16(d[100:], 0xb4a5)
			copy(d[108:], "root")
			return d
		}(), "xfs", "00000000-0000-0000-0000-000000000000", "root", "5"},
	}
	for _, tc := range tests {
		got, err := Probe(bytes.NewReader(tc.disk), int64(len(tc.disk)))
		if err != nil || got.Type != tc.typ || got.UUID != tc.uuid || got.Label != tc.label || got.Version != tc.v {
			t.Errorf("%s: Probe() = %q %q %q %q, %v, want %q %q %q %q", tc.name, got.Type, got.UUID, got.Label, got.Version, err, tc.typ, tc.uuid, tc.label, tc.v)
		}
	}
}

func FuzzProbe(f *testing.F) {
	ext := make([]byte, 4096)
	binary.LittleEndian.PutUint16(ext[1024+0x38:], 0xef53)
	binary.LittleEndian.PutUint32(ext[1024+0x4c:], 1)
	f.Add(ext)
	fat := make([]byte, 1024)
	copy(fat[11:], []byte{0, 2, 8, 32, 0, 2})
	fat[21], fat[510], fat[511] = 0xf8, 0x55, 0xaa
	f.Add(fat)
	sw := make([]byte, 4096)
	copy(sw[4086:], "SWAPSPACE2")
	f.Add(sw)
	f.Fuzz(func(t *testing.T, d []byte) {
		// Place the input at the start and also at 64 KiB so that btrfs
		// and iso9660 superblocks are reachable.
		img := make([]byte, 128*1024)
		copy(img, d)
		copy(img[64*1024:], d)
		if _, err := Probe(bytes.NewReader(img), int64(len(img))); err != nil {
			t.Fatalf("Probe() = %v on an in-memory image", err)
		}
	})
}
