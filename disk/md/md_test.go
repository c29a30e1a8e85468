package md_test

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/xenify/xenify/disk/disktest"
	"github.com/xenify/xenify/disk/md"
)

const mib = 1 << 20

func member(t testing.TB, m disktest.MD, size int64) []byte {
	t.Helper()
	sb, off, _, _, err := disktest.MDSuperblock(m, size)
	if err != nil {
		t.Fatal(err)
	}
	d := make([]byte, size)
	copy(d[off:], sb)
	return d
}

func TestExamine(t *testing.T) {
	const size = 64*mib + 12345*512 // not 64 KiB aligned
	uuid := [16]byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}
	ignore := cmpopts.IgnoreFields(md.Superblock{}, "CTime", "UTime", "UUIDBytes")
	tests := []struct {
		m    disktest.MD
		want md.Superblock
	}{
		{
			disktest.MD{Version: "0.90", Level: 1, RaidDisks: 2, Role: 1, UUID: uuid},
			md.Superblock{Version: "0.90", Offset: md.Offset090(size), UUID: "04030201:08070605:0c0b0a09:100f0e0d",
				Level: 1, RaidDisks: 2, DevNumber: 1, Role: 1, DataSize: md.Offset090(size), ComponentSize: md.Offset090(size),
				Events: 20, Clean: true},
		},
		{
			disktest.MD{Version: "1.2", Level: 1, RaidDisks: 2, Role: 0, UUID: uuid, Name: "centos:0"},
			md.Superblock{Version: "1.2", Offset: 4096, UUID: "01020304:05060708:090a0b0c:0d0e0f10", Name: "centos:0",
				Level: 1, RaidDisks: 2, DataOffset: mib, DataSize: size - mib, ComponentSize: (size - mib) &^ (64*1024 - 1),
				Events: 20, Clean: true},
		},
		{
			disktest.MD{Version: "1.1", Level: 5, RaidDisks: 3, Role: 2, UUID: uuid},
			md.Superblock{Version: "1.1", Offset: 0, UUID: "01020304:05060708:090a0b0c:0d0e0f10",
				Level: 5, RaidDisks: 3, DevNumber: 2, Role: 2, DataOffset: mib, DataSize: size - mib, ComponentSize: (size - mib) &^ (64*1024 - 1),
				Events: 20, Clean: true},
		},
		{
			disktest.MD{Version: "1.0", Level: 1, RaidDisks: 2, UUID: uuid},
			md.Superblock{Version: "1.0", Offset: md.Offset10(size), UUID: "01020304:05060708:090a0b0c:0d0e0f10",
				Level: 1, RaidDisks: 2, DataSize: md.Offset10(size) - 4096, ComponentSize: (md.Offset10(size) - 4096) &^ (64*1024 - 1),
				Events: 20, Clean: true},
		},
	}
	for _, tc := range tests {
		t.Run(tc.m.Version, func(t *testing.T) {
			d := member(t, tc.m, size)
			got, err := md.Examine(bytes.NewReader(d), size)
			if err != nil {
				t.Fatalf("Examine() = %v", err)
			}
			if diff := cmp.Diff(&tc.want, got, ignore); diff != "" {
				t.Errorf("Examine() mismatch (-want +got):\n%s", diff)
			}
			if !got.UTime.Equal(got.CTime) || got.UTime.Year() != 2024 {
				t.Errorf("Examine() times = %v, %v, want 2024-01-02", got.CTime, got.UTime)
			}
			off, n, err := got.RAID1Range()
			if tc.m.Level != 1 {
				if err == nil {
					t.Errorf("RAID1Range() on level %d = %d, %d, nil, want error", tc.m.Level, off, n)
				}
				return
			}
			if err != nil || off != tc.want.DataOffset || n != tc.want.ComponentSize {
				t.Errorf("RAID1Range() = %d, %d, %v, want %d, %d, nil", off, n, err, tc.want.DataOffset, tc.want.ComponentSize)
			}
		})
	}
}

func TestExamineErrors(t *testing.T) {
	const size = 8 * mib
	if _, err := md.Examine(bytes.NewReader(make([]byte, size)), size); !errors.Is(err, md.ErrNotFound) {
		t.Errorf("Examine(zeros) = %v, want ErrNotFound", err)
	}
	for _, v := range []string{"0.90", "1.2"} {
		d := member(t, disktest.MD{Version: v}, size)
		// Flip a bit in the level field: the checksum no longer matches.
		if v == "0.90" {
			d[md.Offset090(size)+7*4] ^= 0x40
		} else {
			d[4096+72] ^= 0x40
		}
		got, err := md.Examine(bytes.NewReader(d), size)
		if err == nil || !strings.Contains(err.Error(), "checksum") {
			t.Errorf("Examine(%s with bad checksum) = %+v, %v, want checksum error", v, got, err)
		}
	}
}

// TestIntegrationMdadmExamine writes superblocks for every version and
// checks that `mdadm --examine` (run on the image file, no md driver
// needed) agrees with Examine.
func TestIntegrationMdadmExamine(t *testing.T) {
	disktest.RequireTools(t, "mdadm")
	for _, v := range []string{"0.90", "1.0", "1.1", "1.2"} {
		t.Run(v, func(t *testing.T) {
			m := disktest.MD{Version: v, Level: 1, RaidDisks: 2, Role: 1, Name: "xenify:0",
				Content: disktest.Ext{Type: "ext3", Label: "mirror"}}
			if v == "0.90" {
				m.Name = ""
			}
			l := disktest.Build(t, disktest.Spec{Size: 40*mib + 7*512, Content: m})
			f, err := os.Open(l.Path)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			sb, err := md.Examine(f, l.Size)
			if err != nil {
				t.Fatalf("Examine() = %v", err)
			}
			out := disktest.Run(t, nil, "mdadm", "--examine", l.Path)
			field := func(name string) string {
				re := regexp.MustCompile(`(?m)^\s*` + regexp.QuoteMeta(name) + ` : (.*)$`)
				m := re.FindStringSubmatch(out)
				if m == nil {
					t.Fatalf("mdadm --examine has no %q:\n%s", name, out)
				}
				return strings.TrimSpace(m[1])
			}
			if got := field("Version"); got != v && got != v+".00" {
				t.Errorf("mdadm Version = %q, want %q", got, v)
			}
			uuidField := "Array UUID"
			if v == "0.90" {
				uuidField = "UUID"
			}
			if got := field(uuidField); got != sb.UUID {
				t.Errorf("mdadm UUID = %q, Examine().UUID = %q", got, sb.UUID)
			}
			if got := field("Raid Level"); got != "raid1" {
				t.Errorf("mdadm Raid Level = %q, want raid1", got)
			}
			if got := field("Raid Devices"); got != fmt.Sprint(sb.RaidDisks) {
				t.Errorf("mdadm Raid Devices = %q, Examine() = %d", got, sb.RaidDisks)
			}
			if v == "0.90" {
				// "Used Dev Size : 40896 (39.94 MiB 41.88 MB)" is in KiB.
				if got := strings.Fields(field("Used Dev Size"))[0]; got != fmt.Sprint(sb.ComponentSize/1024) {
					t.Errorf("mdadm Used Dev Size = %s KiB, Examine() = %d bytes", got, sb.ComponentSize)
				}
				return
			}
			sectors := func(name string) int64 {
				var n int64
				if _, err := fmt.Sscanf(field(name), "%d sectors", &n); err != nil {
					t.Fatalf("mdadm %s = %q: %v", name, field(name), err)
				}
				return n * 512
			}
			if v == "1.0" {
				// mdadm omits "Data Offset" when it is 0.
				if strings.Contains(out, "Data Offset") || sb.DataOffset != 0 {
					t.Errorf("1.0: mdadm shows Data Offset %v, Examine().DataOffset = %d, want 0", strings.Contains(out, "Data Offset"), sb.DataOffset)
				}
			} else if got := sectors("Data Offset"); got != sb.DataOffset {
				t.Errorf("mdadm Data Offset = %d bytes, Examine() = %d", got, sb.DataOffset)
			}
			if got := strings.Fields(field("Avail Dev Size"))[0]; got != fmt.Sprint(sb.DataSize/512) {
				t.Errorf("mdadm Avail Dev Size = %s sectors, Examine().DataSize = %d bytes", got, sb.DataSize)
			}
			if got := sectors("Super Offset"); got != sb.Offset {
				t.Errorf("mdadm Super Offset = %d bytes, Examine() = %d", got, sb.Offset)
			}
			if got := strings.Fields(field("Used Dev Size"))[0]; got != fmt.Sprint(sb.ComponentSize/512) {
				t.Errorf("mdadm Used Dev Size = %s sectors, Examine() = %d bytes", got, sb.ComponentSize)
			}
			if got := field("Name"); !strings.HasPrefix(got, "xenify:0") || sb.Name != "xenify:0" {
				t.Errorf("mdadm Name = %q, Examine().Name = %q, want xenify:0", got, sb.Name)
			}
			if got := field("Device Role"); got != "Active device 1" || sb.Role != 1 {
				t.Errorf("mdadm Device Role = %q, Examine().Role = %d, want 1", got, sb.Role)
			}
			off, n, err := sb.RAID1Range()
			if data := l.Volume(t, "disk/md/data"); err != nil || off != data.Offset || n != data.Size {
				t.Errorf("RAID1Range() = %d, %d, %v, want %d, %d (where the filesystem was made)", off, n, err, data.Offset, data.Size)
			}
		})
	}
}

func FuzzExamine(f *testing.F) {
	for _, v := range []string{"0.90", "1.0", "1.2"} {
		sb, off, _, _, _ := disktest.MDSuperblock(disktest.MD{Version: v}, 256*1024)
		f.Add(sb, off)
	}
	f.Fuzz(func(t *testing.T, sb []byte, off int64) {
		const size = 256 * 1024
		d := make([]byte, size)
		if off >= 0 && off < size {
			copy(d[off:], sb)
		}
		s, err := md.Examine(bytes.NewReader(d), size)
		if err != nil {
			return
		}
		if s.DataOffset < 0 || s.DataSize < 0 || s.DataOffset+s.DataSize > size {
			t.Fatalf("Examine() data range %d+%d outside %d-byte member", s.DataOffset, s.DataSize, size)
		}
	})
}
