package source

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/xenify/xenify/disk/disktest"
)

var (
	bootMDUUID = [16]byte{0x3a, 0x3b, 0x0b, 0x5e, 0x1d, 0x6e, 0x4f, 0x2a, 0x9c, 0x8b, 0x7a, 0x6d, 0x5e, 0x4f, 0x3a, 0x2b}
	rootMDUUID = [16]byte{0xc1, 0x7e, 0x52, 0x08, 0x94, 0x1f, 0x4b, 0x3d, 0xa6, 0x02, 0x7d, 0x11, 0x8e, 0x90, 0x44, 0x5f}
)

// anacondaMDConf is what anaconda (CentOS 6/7) writes for /boot on md0
// and / on md1; the arrays' 1.2 superblocks name them "boot" and
// "root", so their names say nothing about /dev/mdN.
const anacondaMDConf = `# mdadm.conf written out by anaconda
MAILADDR root
AUTO +imsm +1.x -all
ARRAY /dev/md0 level=raid1 num-devices=2 UUID=3a3b0b5e:1d6e4f2a:9c8b7a6d:5e4f3a2b
ARRAY /dev/md1 level=raid1 num-devices=2 UUID=c17e5208:941f4b3d:a6027d11:8e90445f
`

// debianMDConf is mkconf's form (Debian installer): /dev/md/N names,
// name= and UUID=; here md1 is given by name only.
const debianMDConf = `# mdadm.conf
#
# !NB! Run update-initramfs -u after updating this file.
# !NB! This will ensure that initramfs has an uptodate copy.
#
# Please refer to mdadm.conf(5) for information about this file.
#

# by default (built-in), scan all partitions (/proc/partitions) and all
# containers for MD superblocks. alternatively, specify devices to scan, using
# wildcards if desired.
#DEVICE partitions containers

# automatically tag new arrays as belonging to the local system
HOMEHOST <system>

# instruct the monitoring daemon where to send mail alerts
MAILADDR root

# definitions of existing MD arrays
ARRAY /dev/md/0  metadata=1.2 UUID=3a3b0b5e:1d6e4f2a:9c8b7a6d:5e4f3a2b name=srv01:boot
arr /dev/md/1  metadata=1.2
   name=srv01:root

# This configuration was auto-generated on Tue, 02 Jan 2024 03:04:05 +0000 by mkconf
`

func TestParseMDConf(t *testing.T) {
	got := parseMDConf("/etc/mdadm/mdadm.conf", []byte(debianMDConf))
	want := []MDConfArray{
		{Path: "/etc/mdadm/mdadm.conf", Line: 21, Dev: "/dev/md/0", UUID: "3a3b0b5e1d6e4f2a9c8b7a6d5e4f3a2b", Name: "srv01:boot"},
		{Path: "/etc/mdadm/mdadm.conf", Line: 22, Dev: "/dev/md/1", Name: "srv01:root"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("parseMDConf(debian) (-want +got):\n%s", diff)
	}
	if got := normUUID("3A3B0B5E-1D6E-4F2A-9C8B-7A6D5E4F3A2B"); got != "3a3b0b5e1d6e4f2a9c8b7a6d5e4f3a2b" {
		t.Errorf("normUUID(dashed) = %q", got)
	}
}

// twoArrays is one disk with two RAID1 arrays (1.2 metadata, one member
// each of two): /boot (ext3) and / (ext4), named boot and root.
func twoArrays(t *testing.T) *Map {
	l := disktest.Build(t, disktest.Spec{Size: 64 * disktest.MiB, Label: "dos", Parts: []disktest.Part{
		{Size: 16 * disktest.MiB, Type: "fd", Content: disktest.MD{Version: "1.2", Name: "boot", UUID: bootMDUUID, Content: disktest.Ext{Type: "ext3", Label: "boot"}}},
		{Type: "fd", Content: disktest.MD{Version: "1.2", Name: "root", UUID: rootMDUUID, Content: disktest.Ext{Type: "ext4"}}},
	}})
	m, err := Discover([]Disk{diskOf(t, l)})
	if err != nil {
		t.Fatalf("Discover() = %v", err)
	}
	return m
}

// TestResolveMDConf: with two 1.2 arrays whose names carry no number,
// /dev/md0 and /dev/md1 are found only through the guest's mdadm.conf,
// in both its UUID= and name= forms.
func TestResolveMDConf(t *testing.T) {
	m := twoArrays(t)
	resolve := func(spec string) string {
		idx, _, err := m.Resolve(spec, nil)
		if err != nil {
			return "error: " + err.Error()
		}
		if idx < 0 {
			return ""
		}
		return m.Volumes[idx].Probe.Type
	}
	for _, conf := range []struct{ name, text string }{{"anaconda", anacondaMDConf}, {"debian", debianMDConf}} {
		m.MDConf = parseMDConf("/etc/mdadm.conf", []byte(conf.text))
		for spec, want := range map[string]string{"/dev/md0": "ext3", "/dev/md/0": "ext3", "/dev/md1": "ext4", "/dev/md2": ""} {
			if got := resolve(spec); got != want {
				t.Errorf("%s mdadm.conf: Resolve(%s) = %q, want %q", conf.name, spec, got, want)
			}
		}
	}
	m.MDConf = nil
	if got := resolve("/dev/md0"); got != "" {
		t.Errorf("without mdadm.conf: Resolve(/dev/md0) = %q, want no match (nothing says which array is md0)", got)
	}
}

// TestHalfMirrorWarns: one member of a two-way mirror is a warning that
// names the array and what to do.
func TestHalfMirrorWarns(t *testing.T) {
	m := twoArrays(t)
	var got []string
	for _, w := range m.Warnings {
		if strings.Contains(w, "incomplete") {
			got = append(got, w)
		}
	}
	if len(got) != 2 || !strings.Contains(got[0], "1 of its 2 members") || !strings.Contains(got[0], "--disk") {
		t.Errorf("Discover(half of two mirrors).Warnings = %q, want one per array saying 1 of its 2 members and naming --disk", m.Warnings)
	}
}
