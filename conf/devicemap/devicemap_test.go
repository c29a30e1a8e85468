package devicemap

import (
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestRoundTripAndEntries(t *testing.T) {
	for _, tc := range []struct {
		file string
		want []Entry
	}{
		{"testdata/centos4.map", []Entry{{"hd0", "/dev/hda", 2}}},
		{"testdata/debian.map", []Entry{{"hd0", "/dev/disk/by-id/ata-VBOX_HARDDISK_VB1234-5678", 1}, {"fd0", "/dev/fd0", 2}}},
	} {
		data, err := os.ReadFile(tc.file)
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range []string{string(data), strings.ReplaceAll(string(data), "\n", "\r\n"), strings.TrimSuffix(string(data), "\n")} {
			f, _ := Parse(tc.file, []byte(v))
			if got := string(f.Bytes()); got != v {
				t.Errorf("Parse(%q).Bytes() = %q, want input", v, got)
			}
			if diff := cmp.Diff(tc.want, f.Entries()); diff != "" {
				t.Errorf("Parse(%s).Entries() mismatch (-want +got):\n%s", tc.file, diff)
			}
		}
	}
}

func TestEdits(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		edit     func(f *File)
		want     string
	}{
		{"set keeps column", "# c\n(hd0)     /dev/hda   # x\n", func(f *File) { f.SetDevice("(hd0)", "/dev/xvda") }, "# c\n(hd0)     /dev/xvda  # x\n"},
		{"set tab", "(hd0)\t/dev/sda\n(fd0)\t/dev/fd0\n", func(f *File) { f.SetDevice("hd0", "/dev/xvda") }, "(hd0)\t/dev/xvda\n(fd0)\t/dev/fd0\n"},
		{"append no final newline", "(hd0)     /dev/hda", func(f *File) { f.SetDevice("hd1", "/dev/xvdb") }, "(hd0)     /dev/hda\n(hd1)     /dev/xvdb"},
		{"append to empty", "", func(f *File) { f.SetDevice("hd0", "/dev/xvda") }, "(hd0)\t/dev/xvda\n"},
		{"remove", "(hd0) /dev/hda\r\n(fd0) /dev/fd0\r\n", func(f *File) { f.Remove("fd0") }, "(hd0) /dev/hda\r\n"},
		{"malformed kept", "hd0 /dev/hda\n(hd0\n", func(f *File) { f.SetDevice("hd0", "/dev/xvda") }, "hd0 /dev/hda\n(hd0\n(hd0)\t/dev/xvda\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, _ := Parse("device.map", []byte(tc.in))
			tc.edit(f)
			if got := string(f.Bytes()); got != tc.want {
				t.Errorf("Bytes() after edit of %q = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
	f, _ := Parse("device.map", []byte("(hd0) /dev/hda\n"))
	if got, ok := f.Device("hd0"); got != "/dev/hda" || !ok {
		t.Errorf("Device(hd0) = %q, %v, want /dev/hda, true", got, ok)
	}
}

func FuzzParse(f *testing.F) {
	for _, p := range []string{"testdata/centos4.map", "testdata/debian.map"} {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, "hd0", "/dev/xvda")
	}
	f.Add([]byte("(a)\n(b) \n() x\n"), "(x)", "y")
	f.Fuzz(func(t *testing.T, data []byte, drv, dev string) {
		m, err := Parse("fuzz", data)
		if err != nil {
			t.Fatal(err)
		}
		if got := m.Bytes(); string(got) != string(data) {
			t.Fatalf("Bytes() = %q, want input %q", got, data)
		}
		d := drive(drv)
		if d == "" || strings.ContainsAny(drv+dev, "() \t\r\n#") || dev == "" {
			return
		}
		m.SetDevice(drv, dev)
		m2, _ := Parse("fuzz", m.Bytes())
		if got, ok := m2.Device(d); got != dev || !ok {
			t.Fatalf("after SetDevice(%q, %q) on %q: Device = %q, %v (file %q)", drv, dev, data, got, ok, m.Bytes())
		}
	})
}
