package fstab

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/xenify/xenify/conf/confutil"
)

func readTestdata(t testing.TB) map[string][]byte {
	t.Helper()
	paths, err := filepath.Glob("testdata/*.fstab")
	if err != nil || len(paths) == 0 {
		t.Fatalf("no testdata: %v", err)
	}
	m := map[string][]byte{}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		m[p] = b
	}
	return m
}

// variants returns data plus CRLF and no-final-newline versions.
func variants(data []byte) [][]byte {
	s := string(data)
	return [][]byte{
		data,
		[]byte(strings.ReplaceAll(s, "\n", "\r\n")),
		[]byte(strings.TrimSuffix(s, "\n")),
	}
}

func TestRoundTrip(t *testing.T) {
	for p, data := range readTestdata(t) {
		for _, v := range variants(data) {
			f, err := Parse(p, v)
			if err != nil {
				t.Fatalf("Parse(%s) = %v", p, err)
			}
			if got := f.Bytes(); string(got) != string(v) {
				t.Errorf("Parse(%s).Bytes() differs from input:\n%s", p, cmp.Diff(string(v), string(got)))
			}
		}
	}
}

type fields struct {
	Spec, MountPoint, Type, Options, Freq, Passno string
	Line                                          int
}

func TestEntries(t *testing.T) {
	data, err := os.ReadFile("testdata/debian12.fstab")
	if err != nil {
		t.Fatal(err)
	}
	f, err := Parse("fstab", data)
	if err != nil {
		t.Fatal(err)
	}
	var got []fields
	for _, e := range f.Entries() {
		got = append(got, fields{e.Spec, e.MountPoint, e.Type, e.Options, e.Freq, e.Passno, e.Line})
	}
	want := []fields{
		{"UUID=0f1e8f4a-6b3c-4f5e-9d2a-3c4b5a6d7e8f", "/", "ext4", "errors=remount-ro", "0", "1", 12},
		{"UUID=5a6b7c8d-1e2f-4a3b-8c9d-0e1f2a3b4c5d", "none", "swap", "sw", "0", "0", 14},
		{"/dev/sr0", "/media/cdrom0", "udf,iso9660", "user,noauto", "0", "0", 15},
		{"/dev/mapper/vg0-home", "/home", "xfs", "defaults", "", "", 16},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Entries() mismatch (-want +got):\n%s", diff)
	}
}

func TestFind(t *testing.T) {
	f, err := Parse("fstab", []byte("/dev/hda2 / ext3 defaults 1 1\n/dev/hda1 /boot ext3 defaults 1 2\n#/dev/hda3 /srv ext3 defaults 0 0\n"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ mp, want string }{{"/", "/dev/hda2"}, {"/boot/", "/dev/hda1"}, {"/srv", ""}, {"/nope", ""}} {
		got := ""
		if e := f.Find(tc.mp); e != nil {
			got = e.Spec
		}
		if got != tc.want {
			t.Errorf("Find(%q).Spec = %q, want %q", tc.mp, got, tc.want)
		}
	}
}

func TestEdits(t *testing.T) {
	centos, err := os.ReadFile("testdata/centos4.fstab")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		in   string
		edit func(t *testing.T, f *File)
		want string
	}{
		{
			name: "set spec keeps columns",
			in:   "LABEL=/boot             /boot                   ext3    defaults        1 2\n",
			edit: func(t *testing.T, f *File) { f.Find("/boot").Spec = "/dev/xvda1" },
			want: "/dev/xvda1              /boot                   ext3    defaults        1 2\n",
		},
		{
			name: "set long spec keeps one space",
			in:   "/dev/hda1 /boot ext3 defaults 1 2",
			edit: func(t *testing.T, f *File) { f.Find("/boot").Spec = "UUID=0f1e8f4a-6b3c-4f5e-9d2a-3c4b5a6d7e8f" },
			want: "UUID=0f1e8f4a-6b3c-4f5e-9d2a-3c4b5a6d7e8f /boot ext3 defaults 1 2",
		},
		{
			name: "tabs kept",
			in:   "/dev/hda1\t/boot\text3\tdefaults\t1\t2\r\n",
			edit: func(t *testing.T, f *File) { f.Find("/boot").Spec = "/dev/xvda1" },
			want: "/dev/xvda1\t/boot\text3\tdefaults\t1\t2\r\n",
		},
		{
			name: "escape space",
			in:   "/dev/hda1 /mnt/a\\040b ext3 defaults 0 0\n",
			edit: func(t *testing.T, f *File) {
				e := f.Find("/mnt/a b")
				if e == nil {
					t.Fatal(`Find("/mnt/a b") = nil, want entry`)
				}
				e.MountPoint = "/mnt/c d"
			},
			want: "/dev/hda1 /mnt/c\\040d ext3 defaults 0 0\n",
		},
		{
			name: "add missing freq and passno",
			in:   "/dev/hda1 /boot ext3\n",
			edit: func(t *testing.T, f *File) { f.Find("/boot").Passno = "2" },
			want: "/dev/hda1 /boot ext3 defaults 0 2\n",
		},
		{
			name: "comment out",
			in:   "/dev/hda2 / ext3 defaults 1 1\n/dev/hdc /media/cdrom auto noauto 0 0",
			edit: func(t *testing.T, f *File) { f.CommentOut(f.Find("/media/cdrom"), "no CD-ROM in the domU") },
			want: "/dev/hda2 / ext3 defaults 1 1\n# xenify: no CD-ROM in the domU\n#/dev/hdc /media/cdrom auto noauto 0 0",
		},
		{
			name: "append without final newline",
			in:   "/dev/hda2 / ext3 defaults 1 1",
			edit: func(t *testing.T, f *File) {
				f.Append(Entry{Spec: "/dev/xvdb", MountPoint: "swap", Type: "swap", Options: "defaults", Freq: "0", Passno: "0"})
			},
			want: "/dev/hda2 / ext3 defaults 1 1\n/dev/xvdb\tswap\tswap\tdefaults\t0\t0",
		},
		{
			name: "centos4",
			in:   string(centos),
			edit: func(t *testing.T, f *File) {
				f.Find("/").Spec = "/dev/xvda2"
				f.Find("/boot").Spec = "/dev/xvda1"
				f.CommentOut(f.Find("/media/cdrom"), "removed")
				f.CommentOut(f.Find("/media/floppy"), "removed")
				if got := f.Find("/media/cdrom"); got != nil {
					t.Errorf("Find(/media/cdrom) after CommentOut = %+v, want nil", got)
				}
			},
			want: `# This file is edited by fstab-sync - see 'man fstab-sync' for details
/dev/xvda2               /                       ext3    defaults        1 1
/dev/xvda1              /boot                   ext3    defaults        1 2
none                    /dev/pts                devpts  gid=5,mode=620  0 0
none                    /dev/shm                tmpfs   defaults        0 0
none                    /proc                   proc    defaults        0 0
none                    /sys                    sysfs   defaults        0 0
/dev/VolGroup00/LogVol01 swap                    swap    defaults        0 0
# xenify: removed
#/dev/hdc                /media/cdrom            auto    pamconsole,exec,noauto,managed 0 0
# xenify: removed
#/dev/fd0                /media/floppy           auto    pamconsole,exec,noauto,managed 0 0
`,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := Parse("fstab", []byte(tc.in))
			if err != nil {
				t.Fatal(err)
			}
			tc.edit(t, f)
			if diff := cmp.Diff(tc.want, string(f.Bytes())); diff != "" {
				t.Errorf("Bytes() after edit mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseError(t *testing.T) {
	_, err := Parse("/etc/fstab", []byte("# c\n/dev/hda1 /boot ext3\n/dev/hda2 /\n"))
	var pe *confutil.ParseError
	if !errors.As(err, &pe) || pe.Line != 3 || pe.File != "/etc/fstab" {
		t.Fatalf("Parse(two fields on line 3) error = %v, want *ParseError at /etc/fstab:3", err)
	}
	if want := "/etc/fstab:3: "; !strings.HasPrefix(err.Error(), want) {
		t.Errorf("error text = %q, want prefix %q", err.Error(), want)
	}
}

func TestUnescape(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`a\040b`, "a b"}, {`a\011b`, "a\tb"}, {`\134`, `\`}, {`a\04`, `a\04`}, {`a\999`, `a\999`}, {`a\`, `a\`},
	} {
		if got := Unescape(tc.in); got != tc.want {
			t.Errorf("Unescape(%q) = %q, want %q", tc.in, got, tc.want)
		}
		if got := Unescape(Escape(tc.want)); got != tc.want {
			t.Errorf("Unescape(Escape(%q)) = %q, want input", tc.want, got)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, data := range readTestdata(f) {
		for _, v := range variants(data) {
			f.Add(v, "/dev/xvda1")
		}
	}
	f.Add([]byte("a b c d e f g h\n\n#x"), "#a b")
	f.Fuzz(func(t *testing.T, data []byte, spec string) {
		fs, err := Parse("fuzz", data)
		if err != nil {
			var pe *confutil.ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("Parse error %v is not a *ParseError", err)
			}
			return
		}
		if got := fs.Bytes(); string(got) != string(data) {
			t.Fatalf("Parse(%q).Bytes() = %q, want input", data, got)
		}
		es := fs.Entries()
		if len(es) == 0 {
			return
		}
		es[0].Spec = spec
		fs.CommentOut(es[len(es)-1], "x")
		out := fs.Bytes()
		fs2, err := Parse("fuzz", out)
		if err != nil {
			t.Fatalf("re-Parse of edited %q = %v", out, err)
		}
		if len(es) > 1 {
			wantSpec := spec
			if wantSpec == "" {
				wantSpec = "none"
			}
			if got := fs2.Entries()[0].Spec; got != wantSpec {
				t.Fatalf("after setting Spec %q: re-parsed Spec = %q (file %q)", spec, got, out)
			}
		}
		if got, want := len(fs2.Entries()), len(es)-1; got != want {
			t.Fatalf("after CommentOut: %d entries, want %d (file %q)", got, want, out)
		}
	})
}
