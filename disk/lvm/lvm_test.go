package lvm

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseConfig(t *testing.T) {
	text := `# comment
vg0 {
	id = "abc"   # trailing comment
	seqno = 7
	neg = -3
	ratio = 0.5
	status = ["READ", "WRITE"]
	empty = []
	esc = "a \"quoted\" \\ path"
	mixed = [ "pv0", 0, "pv1", 100 ]
	sub {
		deep { x = 1 }
	}
}
top = "level"
`
	got, err := ParseConfig([]byte(text))
	if err != nil {
		t.Fatalf("ParseConfig() = %v", err)
	}
	want := &Section{
		Fields: []Field{{Key: "top", Line: 15, Value: "level"}},
		Sections: []*Section{{
			Name: "vg0", Line: 2,
			Fields: []Field{
				{Key: "id", Line: 3, Value: "abc"},
				{Key: "seqno", Line: 4, Value: int64(7)},
				{Key: "neg", Line: 5, Value: int64(-3)},
				{Key: "ratio", Line: 6, Value: 0.5},
				{Key: "status", Line: 7, Value: []any{"READ", "WRITE"}},
				{Key: "empty", Line: 8, Value: []any{}},
				{Key: "esc", Line: 9, Value: `a "quoted" \ path`},
				{Key: "mixed", Line: 10, Value: []any{"pv0", int64(0), "pv1", int64(100)}},
			},
			Sections: []*Section{{Name: "sub", Line: 11, Sections: []*Section{{
				Name: "deep", Line: 12, Fields: []Field{{Key: "x", Line: 12, Value: int64(1)}},
			}}}},
		}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ParseConfig() mismatch (-want +got):\n%s", diff)
	}
}

func TestParseConfigErrors(t *testing.T) {
	tests := []struct {
		text string
		line int
	}{
		{"vg {\n a = 1\n", 3},
		{"a = \"unterminated\n\n", 1},
		{"a = [1, 2\n", 1},
		{"\n\nb = bare\n", 3},
		{"}", 1},
		{"a 1\n", 1},
		{"a = ;\n", 1},
		{strings.Repeat("a {", 100) + strings.Repeat("}", 100), 1},
	}
	for _, tc := range tests {
		_, err := ParseConfig([]byte(tc.text))
		var pe *ParseError
		if !errors.As(err, &pe) || pe.Line != tc.line {
			t.Errorf("ParseConfig(%q) = %v, want ParseError on line %d", tc.text, err, tc.line)
		}
	}
}

func goldenPV(t testing.TB) []byte {
	t.Helper()
	f, err := os.Open("testdata/pv-volgroup00.img.gz")
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
	return d
}

// TestReadPVGolden reads the first MiB of a real PV made by LVM 2.03.16:
// pvcreate; vgcreate -s 32M VolGroup00; lvcreate -L 96M -n LogVol00;
// lvcreate -L 32M -n LogVol01; lvextend -L +32M VolGroup00/LogVol00.
func TestReadPVGolden(t *testing.T) {
	d := goldenPV(t)
	pv, err := ReadPV(bytes.NewReader(d), int64(len(d)))
	if err != nil {
		t.Fatalf("ReadPV() = %v", err)
	}
	wantLabel := &Label{Sector: 1, Type: "LVM2 001", PVID: "u7zBNu-y5Ha-GbWA-1ofi-CVev-Eyjt-za6xFt", DeviceSize: 200 << 20,
		DataAreas: []Area{{Offset: 1 << 20}}, MetadataAreas: []Area{{Offset: 4096, Size: 1044480}}}
	if diff := cmp.Diff(wantLabel, pv.Label); diff != "" {
		t.Errorf("ReadPV().Label mismatch (-want +got):\n%s", diff)
	}
	vg := pv.VG
	if vg.Name != "VolGroup00" || vg.ExtentSize != 65536 || vg.Seqno != 4 || len(vg.LVs) != 2 {
		t.Errorf("ReadPV().VG = %s extent_size %d seqno %d with %d LVs, want VolGroup00 65536 4 2", vg.Name, vg.ExtentSize, vg.Seqno, len(vg.LVs))
	}
	if pv.Self == nil || pv.Self.Name != "pv0" || pv.Self.PEStart != 2048 || pv.Self.PECount != 6 {
		t.Errorf("ReadPV().Self = %+v, want pv0 pe_start 2048 pe_count 6", pv.Self)
	}
	loc, err := vg.Locate("LogVol01")
	want := Location{PVName: "pv0", PVID: pv.Label.PVID, Offset: 1<<20 + 3*32<<20, Size: 32 << 20}
	if err != nil || loc != want {
		t.Errorf("Locate(LogVol01) = %+v, %v, want %+v", loc, err, want)
	}
	if loc, err := vg.Locate("LogVol00"); !errors.Is(err, ErrNotLinear) {
		t.Errorf("Locate(LogVol00) = %+v, %v, want ErrNotLinear (segments at PE 0-2 and 4)", loc, err)
	}
	if lv := vg.LV("LogVol00"); lv == nil || !lv.Visible() || lv.Extents() != 4 || len(lv.Segments) != 2 {
		t.Errorf("LV(LogVol00) = %+v, want visible, 4 extents in 2 segments", lv)
	}

	t.Run("corrupt text", func(t *testing.T) {
		c := bytes.Clone(d)
		// Older metadata versions remain in the circular buffer; damage
		// the committed copy that raw_locn[0] points at.
		i := 4096 + binary.LittleEndian.Uint64(c[4096+40:])
		c[i] = 'X'
		if _, err := ReadPV(bytes.NewReader(c), int64(len(c))); !errors.Is(err, ErrChecksum) {
			t.Errorf("ReadPV(corrupt text) = %v, want ErrChecksum", err)
		}
	})
	t.Run("corrupt mda header", func(t *testing.T) {
		c := bytes.Clone(d)
		c[4096+41] ^= 1 // raw_locn offset
		if _, err := ReadPV(bytes.NewReader(c), int64(len(c))); !errors.Is(err, ErrChecksum) {
			t.Errorf("ReadPV(corrupt mda_header) = %v, want ErrChecksum", err)
		}
	})
	t.Run("corrupt label", func(t *testing.T) {
		c := bytes.Clone(d)
		c[512+40] ^= 1 // device size
		if _, err := ReadPV(bytes.NewReader(c), int64(len(c))); !errors.Is(err, ErrChecksum) {
			t.Errorf("ReadPV(corrupt label) = %v, want ErrChecksum", err)
		}
	})
	t.Run("no label", func(t *testing.T) {
		if _, err := ReadPV(bytes.NewReader(make([]byte, 8192)), 8192); !errors.Is(err, ErrNoLabel) {
			t.Errorf("ReadPV(zeros) = %v, want ErrNoLabel", err)
		}
	})
}

// buildPV makes a PV image with one metadata area of mdaSize bytes at 4096
// whose text starts at textOff (relative to the area) and may wrap.
func buildPV(text []byte, mdaSize, textOff int64) []byte {
	d := make([]byte, 4096+mdaSize+4096)
	le := binary.LittleEndian
	lab := d[512:1024]
	copy(lab, "LABELONE")
	le.PutUint64(lab[8:], 1)
	le.PutUint32(lab[20:], 32)
	copy(lab[24:], "LVM2 001")
	h := lab[32:]
	copy(h, "abcdefghijklmnopqrstuvwxyz012345")
	le.PutUint64(h[32:], uint64(len(d)))
	le.PutUint64(h[40:], uint64(4096+mdaSize)) // data area
	le.PutUint64(h[72:], 4096)                 // metadata area (after two zero words)
	le.PutUint64(h[80:], uint64(mdaSize))
	le.PutUint32(lab[16:], CRC(InitialCRC, lab[20:]))

	mda := d[4096 : 4096+mdaSize]
	copy(mda[4:], MDAMagic)
	le.PutUint32(mda[20:], 1)
	le.PutUint64(mda[24:], 4096)
	le.PutUint64(mda[32:], uint64(mdaSize))
	le.PutUint64(mda[40:], uint64(textOff))
	le.PutUint64(mda[48:], uint64(len(text)))
	le.PutUint32(mda[56:], CRC(InitialCRC, text))
	le.PutUint32(mda[0:], CRC(InitialCRC, mda[4:512]))
	n := copy(mda[textOff:], text)
	copy(mda[512:], text[n:])
	return d
}

const sampleVG = `vg1 {
id = "vgid"
seqno = 1
extent_size = 8192
physical_volumes {
pv0 { id = "abcdef-ghij-klmn-opqr-stuv-wxyz-012345" device = "/dev/sda2" pe_start = 2048 pe_count = 100 }
pv1 { id = "other" pe_start = 384 pe_count = 100 }
}
logical_volumes {
linear { id = "l1" status = ["READ", "WRITE", "VISIBLE"]
 segment1 { start_extent = 0 extent_count = 10 type = "striped" stripe_count = 1 stripes = ["pv0", 5] } }
contig { status = ["READ", "VISIBLE"]
 segment1 { start_extent = 0 extent_count = 10 type = "striped" stripe_count = 1 stripes = ["pv1", 20] }
 segment2 { start_extent = 10 extent_count = 5 type = "striped" stripe_count = 1 stripes = ["pv1", 30] } }
split {
 segment1 { start_extent = 0 extent_count = 10 type = "striped" stripe_count = 1 stripes = ["pv0", 20] }
 segment2 { start_extent = 10 extent_count = 5 type = "striped" stripe_count = 1 stripes = ["pv0", 40] } }
spans {
 segment1 { start_extent = 0 extent_count = 10 type = "striped" stripe_count = 1 stripes = ["pv0", 50] }
 segment2 { start_extent = 10 extent_count = 5 type = "striped" stripe_count = 1 stripes = ["pv1", 60] } }
striped {
 segment1 { start_extent = 0 extent_count = 10 type = "striped" stripe_count = 2 stripe_size = 128 stripes = ["pv0", 70, "pv1", 70] } }
mirrored {
 segment1 { start_extent = 0 extent_count = 10 type = "raid1" device_count = 2 raids = ["mirrored_rmeta_0", "mirrored_rimage_0", "mirrored_rmeta_1", "mirrored_rimage_1"] } }
beyond {
 segment1 { start_extent = 0 extent_count = 10 type = "striped" stripe_count = 1 stripes = ["pv0", 95] } }
}
}
`

func TestLocate(t *testing.T) {
	vg, err := ParseVG([]byte(sampleVG))
	if err != nil {
		t.Fatalf("ParseVG() = %v", err)
	}
	const ext = 8192 * 512
	tests := []struct {
		lv        string
		want      Location
		notLinear bool
		err       bool
	}{
		{lv: "linear", want: Location{PVName: "pv0", PVID: "abcdef-ghij-klmn-opqr-stuv-wxyz-012345", Offset: 2048*512 + 5*ext, Size: 10 * ext}},
		{lv: "contig", want: Location{PVName: "pv1", PVID: "other", Offset: 384*512 + 20*ext, Size: 15 * ext}},
		{lv: "split", notLinear: true},
		{lv: "spans", notLinear: true},
		{lv: "striped", notLinear: true},
		{lv: "mirrored", notLinear: true},
		{lv: "beyond", err: true},
		{lv: "missing", err: true},
	}
	for _, tc := range tests {
		got, err := vg.Locate(tc.lv)
		switch {
		case tc.notLinear:
			if !errors.Is(err, ErrNotLinear) {
				t.Errorf("Locate(%s) = %+v, %v, want ErrNotLinear", tc.lv, got, err)
			}
		case tc.err:
			if err == nil || errors.Is(err, ErrNotLinear) {
				t.Errorf("Locate(%s) = %+v, %v, want a non-ErrNotLinear error", tc.lv, got, err)
			}
		default:
			if err != nil || got != tc.want {
				t.Errorf("Locate(%s) = %+v, %v, want %+v", tc.lv, got, err, tc.want)
			}
		}
	}
	if s := vg.LV("striped").Segments[0]; s.StripeCount != 2 || s.StripeSize != 128 ||
		!cmp.Equal(s.Stripes, []Stripe{{"pv0", 70}, {"pv1", 70}}) {
		t.Errorf("striped segment = %+v, want 2 stripes of 128 sectors on pv0:70, pv1:70", s)
	}
	if s := vg.LV("mirrored").Segments[0]; s.Type != "raid1" || len(s.Areas) != 4 {
		t.Errorf("mirrored segment = %+v, want raid1 with 4 areas", s)
	}
}

func TestReadMetadataWrap(t *testing.T) {
	text := []byte(sampleVG + "\x00")
	const mdaSize = 8192
	for _, off := range []int64{512, mdaSize - 100, mdaSize - int64(len(text)), mdaSize - 1} {
		d := buildPV(text, mdaSize, off)
		pv, err := ReadPV(bytes.NewReader(d), int64(len(d)))
		if err != nil {
			t.Errorf("ReadPV(text at %d) = %v", off, err)
			continue
		}
		if pv.VG.Name != "vg1" || pv.Self == nil || pv.Self.Device != "/dev/sda2" {
			t.Errorf("ReadPV(text at %d) VG %s self %+v, want vg1 with pv0 on /dev/sda2", off, pv.VG.Name, pv.Self)
		}
	}
}

func TestParseVGErrors(t *testing.T) {
	for _, text := range []string{
		"",
		"a { extent_size = 0 }",
		"a { extent_size = 8192 } b { extent_size = 8192 }",
		"a { extent_size = 8192 logical_volumes { x { segment1 { start_extent = -1 } } } }",
		"a { extent_size = 8192 logical_volumes { x { segment1 { stripes = [1, 2] } } } }",
	} {
		if vg, err := ParseVG([]byte(text)); err == nil {
			t.Errorf("ParseVG(%q) = %+v, nil, want error", text, vg)
		}
	}
}

func FuzzParseVG(f *testing.F) {
	f.Add([]byte(sampleVG))
	f.Add([]byte("a { b = [\"x\", 1, 2.5] c { } } # x\n"))
	f.Fuzz(func(t *testing.T, text []byte) {
		vg, err := ParseVG(text)
		if err != nil {
			return
		}
		for _, lv := range vg.LVs {
			if loc, err := vg.Locate(lv.Name); err == nil && (loc.Offset < 0 || loc.Size <= 0) {
				t.Fatalf("Locate(%s) = %+v, want positive range", lv.Name, loc)
			}
		}
	})
}

func FuzzReadPV(f *testing.F) {
	d := goldenPV(f)
	f.Add(d[:16384])
	f.Add(buildPV([]byte(sampleVG), 4096, 4000)[:12288])
	f.Fuzz(func(t *testing.T, d []byte) {
		pv, err := ReadPV(bytes.NewReader(d), int64(len(d)))
		if err == nil && pv.VG == nil {
			t.Fatal("ReadPV() returned no VG and no error")
		}
	})
}
