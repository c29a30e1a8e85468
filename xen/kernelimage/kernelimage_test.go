package kernelimage

import (
	"debug/elf"
	"errors"
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/xenify/xenify/decompress"
	"github.com/xenify/xenify/internal/testenv"
)

// debianCaps is "xl info"'s xen_caps on Debian 12's Xen 4.17 (no 32-bit PV).
var debianCaps = []string{"xen-3.0-x86_64 hvm-3.0-x86_32 hvm-3.0-x86_32p hvm-3.0-x86_64"}

// summary is the part of Info the table tests compare.
type summary struct {
	Format      string
	Compression decompress.Format
	Class       int
	Machine     elf.Machine
	NoteSource  string
	GuestOS     string
	XenVersion  string
	Loader      string
	PAE         PAEMode
	Entry       uint64
	Hypercall   uint64
	PhysEntry   uint64
	PV, PVH     bool
	Required    []string
}

func summarize(i *Info) summary {
	return summary{i.Format, i.Compression, i.Class, i.Machine, i.NoteSource, i.GuestOS, i.XenVersion, i.Loader,
		i.PAE, i.Entry, i.HypercallPage, i.PhysEntry, i.PV, i.PVH, i.RequiredFeatures}
}

var want64 = summary{
	Class: 64, Machine: elf.EM_X86_64, NoteSource: "PT_NOTE", GuestOS: "linux", XenVersion: "xen-3.0", Loader: "generic",
	PAE: PAEExtCR3, Entry: 0xffffffff81001000, Hypercall: 0xffffffff81002000, PhysEntry: 0x1000100,
	PV: true, PVH: true, Required: []string{"writable_page_tables"},
}

var want32 = summary{
	Class: 32, Machine: elf.EM_386, NoteSource: "PT_NOTE", GuestOS: "linux", XenVersion: "xen-3.0", Loader: "generic",
	PAE: PAEExtCR3, Entry: 0xc1001000, Hypercall: 0xc1002000, PhysEntry: 0x1000100,
	PV: true, PVH: true, Required: []string{"writable_page_tables"},
}

func TestInspectBzImageEveryCompression(t *testing.T) {
	kernels := []struct {
		name string
		spec elfSpec
		want summary
	}{
		{"elf64", pvops64(), want64},
		{"elf32pae", pvops32PAE(), want32},
	}
	for _, k := range kernels {
		vmlinux := buildELF(k.spec)
		for _, f := range decompress.Formats() {
			t.Run(fmt.Sprintf("%s/%v", k.name, f), func(t *testing.T) {
				img := bzImage(kernelPayload(t, f, vmlinux), 0x020f)
				info, err := Inspect(img)
				if err != nil {
					t.Fatalf("Inspect(%v bzImage) error: %v", f, err)
				}
				want := k.want
				want.Format, want.Compression = FormatBzImage, f
				if diff := cmp.Diff(want, summarize(info)); diff != "" {
					t.Errorf("Inspect(%v bzImage) mismatch (-want +got):\n%s", f, diff)
				}
				if info.BootProtocol != 0x020f || info.KernelVersion != testKernelVersion {
					t.Errorf("Inspect(%v bzImage) protocol, version = %#x, %q; want 0x20f, %q", f, info.BootProtocol, info.KernelVersion, testKernelVersion)
				}
			})
		}
	}
}

func TestNotesDecoded(t *testing.T) {
	info, err := Inspect(buildELF(pvops64()))
	if err != nil {
		t.Fatalf("Inspect(pvops64 ELF) error: %v", err)
	}
	var got []string
	for _, n := range info.Notes {
		got = append(got, n.String())
	}
	want := []string{
		"GUEST_OS: linux",
		"GUEST_VERSION: 2.6",
		"XEN_VERSION: xen-3.0",
		"VIRT_BASE: 0xffffffff80000000",
		"INIT_P2M: 0x8000000000",
		"ENTRY: 0xffffffff81001000",
		"HYPERCALL_PAGE: 0xffffffff81002000",
		"FEATURES: !writable_page_tables|pae_pgdir_above_4gb",
		"SUPPORTED_FEATURES: 0x900",
		"PAE_MODE: yes",
		"LOADER: generic",
		"L1_MFN_VALID: mask=0x1 value=0x1",
		"SUSPEND_CANCEL: 0x1",
		"MOD_START_PFN: 0x1",
		"HV_START_LOW: 0xffff800000000000",
		"PADDR_OFFSET: 0",
		"PHYS32_ENTRY: 0x1000100",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Inspect(pvops64 ELF).Notes mismatch (-want +got):\n%s", diff)
	}
	wantFeat := []string{"writable_page_tables", "pae_pgdir_above_4gb", "hvm_callback_vector", "dom0"}
	if diff := cmp.Diff(wantFeat, info.Features); diff != "" {
		t.Errorf("Inspect(pvops64 ELF).Features mismatch (-want +got):\n%s", diff)
	}
}

func TestInspectVariants(t *testing.T) {
	pvhOnly := pvops64()
	pvhOnly.notes = []testNote{{NoteGuestOS, str("linux")}, {NoteXenVersion, str("xen-3.0")}, {NotePhys32Entry, u32(0x1000100)}}
	sectOnly := pvops64()
	sectOnly.noPTNote = true
	dom0Only := pvops64()
	dom0Only.notes = append(dom0Only.notes, testNote{NoteFeatures, str("!dom0")})
	badEntry := pvops64()
	badEntry.notes = append(badEntry.notes, testNote{NoteEntry, u64(0xffffffff90000000)})
	oldXen := pvops64()
	oldXen.notes = []testNote{{NoteGuestOS, str("linux")}, {NoteXenVersion, str("xen-2.0")}, {NoteEntry, u64(0xffffffff81001000)}}
	bimodal := pvops32PAE()
	bimodal.notes = append(bimodal.notes, testNote{NotePAEMode, str("yes,bimodal")})
	arm := native64()
	arm.machine = elf.EM_AARCH64
	arm.notes = pvops64().notes

	tests := []struct {
		name    string
		img     []byte
		pv, pvh bool
		notPV   string // substring
		pae     PAEMode
		source  string
	}{
		{"gzip ELF with __xen_guest", gzipBytes(buildELF(xenLinux32())), true, false, "", PAEExtCR3, "__xen_guest"},
		{"plain ELF with __xen_guest", buildELF(xenLinux32()), true, false, "", PAEExtCR3, "__xen_guest"},
		{"no Xen support", buildELF(native64()), false, false, "no Xen ELF notes and no __xen_guest", PAENo, ""},
		{"no Xen support bzImage", bzImage(gzipBytes(buildELF(native64())), 0x020f), false, false, "no Xen ELF notes", PAENo, ""},
		{"PVH only", buildELF(pvhOnly), false, true, "no XEN_ELFNOTE_ENTRY", PAENo, "PT_NOTE"},
		{"notes in section only", buildELF(sectOnly), true, true, "", PAEExtCR3, "SHT_NOTE"},
		{"dom0 only", buildELF(dom0Only), false, true, "requires dom0", PAEExtCR3, "PT_NOTE"},
		{"entry outside kernel", buildELF(badEntry), false, true, "out of bounds", PAEExtCR3, "PT_NOTE"},
		{"xen-2.0", buildELF(oldXen), false, false, "xen-3.0", PAENo, "PT_NOTE"},
		{"bimodal", buildELF(bimodal), true, true, "", PAEBimodal, "PT_NOTE"},
		{"arm64", buildELF(arm), false, true, "not x86", PAEExtCR3, "PT_NOTE"},
		{"uncompressed bzImage payload", bzImage(buildELF(pvops64()), 0x020f), false, true, "uncompressed", PAEExtCR3, "PT_NOTE"},
		{"old boot protocol", bzImage(gzipBytes(buildELF(pvops64())), 0x0206), false, true, "older than 2.08", PAEExtCR3, "PT_NOTE"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			info, err := Inspect(tt.img)
			if err != nil {
				t.Fatalf("Inspect(%s) error: %v", tt.name, err)
			}
			if info.PV != tt.pv || info.PVH != tt.pvh || info.PAE != tt.pae || info.NoteSource != tt.source {
				t.Errorf("Inspect(%s) PV, PVH, PAE, source = %v, %v, %v, %q; want %v, %v, %v, %q (NotPV %q)",
					tt.name, info.PV, info.PVH, info.PAE, info.NoteSource, tt.pv, tt.pvh, tt.pae, tt.source, info.NotPV)
			}
			if tt.notPV != "" && !strings.Contains(info.NotPV, tt.notPV) {
				t.Errorf("Inspect(%s).NotPV = %q, want it to mention %q", tt.name, info.NotPV, tt.notPV)
			}
			if tt.pv && info.NotPV != "" {
				t.Errorf("Inspect(%s).NotPV = %q for a PV kernel", tt.name, info.NotPV)
			}
		})
	}
}

func TestXenGuestLegacy(t *testing.T) {
	info, err := Inspect(gzipBytes(buildELF(xenLinux32())))
	if err != nil {
		t.Fatalf("Inspect(gzip XenLinux) error: %v", err)
	}
	want := summary{
		Format: FormatCompressedELF, Compression: decompress.Gzip, Class: 32, Machine: elf.EM_386,
		NoteSource: "__xen_guest", GuestOS: "linux", XenVersion: "xen-3.0", Loader: "generic",
		PAE: PAEExtCR3, Hypercall: 0xc0002000, PV: true,
	}
	if diff := cmp.Diff(want, summarize(info)); diff != "" {
		t.Errorf("Inspect(gzip XenLinux) mismatch (-want +got):\n%s", diff)
	}
	if info.XenGuest != xenLinux32().xenGuest {
		t.Errorf("Inspect(gzip XenLinux).XenGuest = %q, want %q", info.XenGuest, xenLinux32().xenGuest)
	}
	// Xen only gunzips non-bzImage kernels.
	xzELF := run(t, []string{"xz", "-c"}, buildELF(xenLinux32()))
	info, err = Inspect(xzELF)
	if err != nil {
		t.Fatalf("Inspect(xz XenLinux) error: %v", err)
	}
	if info.PV || !strings.Contains(info.NotPV, "only decompresses gzip") {
		t.Errorf("Inspect(xz-compressed ELF) PV, NotPV = %v, %q; want false, a gzip-only reason", info.PV, info.NotPV)
	}
}

func TestCompatibleWith(t *testing.T) {
	mustInspect := func(s elfSpec) *Info {
		info, err := Inspect(buildELF(s))
		if err != nil {
			t.Fatalf("Inspect(%+v) error: %v", s, err)
		}
		return info
	}
	nonPAE := xenLinux32()
	nonPAE.xenGuest = "GUEST_OS=linux,XEN_VER=xen-3.0,VIRT_BASE=0xC0000000,ELF_PADDR_OFFSET=0xC0000000,LOADER=generic"
	bimodal := pvops32PAE()
	bimodal.notes = append(bimodal.notes, testNote{NotePAEMode, str("yes,bimodal")})
	pvhOnly := pvops64()
	pvhOnly.notes = []testNote{{NoteGuestOS, str("linux")}, {NoteXenVersion, str("xen-3.0")}, {NotePhys32Entry, u32(0x1000100)}}

	old32p := []string{"xen-3.0-x86_32p"}
	old32 := []string{"xen-3.0-x86_32"}
	old64 := []string{"xen-3.0-x86_64", "xen-3.0-x86_32p"}
	tests := []struct {
		name   string
		info   *Info
		caps   []string
		ok     bool
		reason string // substring
	}{
		{"64 on debian", mustInspect(pvops64()), debianCaps, true, "xen-3.0-x86_64"},
		{"32 PAE on debian", mustInspect(pvops32PAE()), debianCaps, false, "64-bit PV kernel"},
		{"32 PAE on debian mentions PVH", mustInspect(pvops32PAE()), debianCaps, false, "PVH"},
		{"legacy PAE on debian", mustInspect(xenLinux32()), debianCaps, false, "HVM"},
		{"legacy PAE on old 64-bit xen", mustInspect(xenLinux32()), old64, true, "xen-3.0-x86_32p"},
		{"legacy PAE on 32p", mustInspect(xenLinux32()), old32p, true, "xen-3.0-x86_32p"},
		{"legacy PAE on non-PAE", mustInspect(xenLinux32()), old32, false, "non-PAE 32-bit"},
		{"non-PAE on non-PAE", mustInspect(nonPAE), old32, true, "xen-3.0-x86_32"},
		{"non-PAE on 32p", mustInspect(nonPAE), old32p, false, "PAE 32-bit PV kernel"},
		{"bimodal on 32p", mustInspect(bimodal), old32p, true, "xen-3.0-x86_32p"},
		{"bimodal on non-PAE", mustInspect(bimodal), old32, true, "xen-3.0-x86_32"},
		{"64 on 32-bit xen", mustInspect(pvops64()), old32p, false, "32-bit PAE PV kernel"},
		{"no xen", mustInspect(native64()), debianCaps, false, "cannot boot as a PV guest"},
		{"PVH only", mustInspect(pvhOnly), debianCaps, false, "boot it as PVH"},
		{"caps one per element", mustInspect(pvops64()), strings.Fields(debianCaps[0]), true, "xen-3.0-x86_64"},
	}
	for _, tt := range tests {
		ok, reason := tt.info.CompatibleWith(tt.caps)
		if ok != tt.ok || !strings.Contains(reason, tt.reason) {
			t.Errorf("%s: CompatibleWith(%q) = %v, %q; want %v, reason mentioning %q", tt.name, tt.caps, ok, reason, tt.ok, tt.reason)
		}
	}
}

func TestCorruptImages(t *testing.T) {
	vmlinux := buildELF(pvops64())
	gz := gzipBytes(vmlinux)
	truncELF := vmlinux[:100]
	trunc := bzImage(gz[:len(gz)/2], 0x020f)
	corrupt := bzImage(gz, 0x020f)
	for i := 5*512 + 0x3a0 + 20; i < len(corrupt)-64-20; i += 50 {
		corrupt[i] ^= 0xff
	}
	overflow := bzImage(gz, 0x020f)
	overflow[0x24c] = 0xff
	overflow[0x24f] = 0x7f
	notELF := bzImage(gzipBytes([]byte("raw binary, not ELF")), 0x020f)
	for name, img := range map[string][]byte{
		"truncated ELF":            truncELF,
		"truncated payload":        trunc,
		"corrupt payload":          corrupt,
		"payload length overflow":  overflow,
		"payload not ELF":          notELF,
		"garbage":                  []byte("hello, world"),
		"empty":                    nil,
		"gzip of garbage":          gzipBytes([]byte("not a kernel")),
		"truncated gzip ELF":       gz[:len(gz)-20],
		"ELF with no phdrs/shdrs":  vmlinux[:64],
		"bzImage header only":      bzImage(nil, 0x020f)[:0x260],
		"bzImage, zero-length pay": bzImage(nil, 0x020f),
	} {
		if info, err := Inspect(img); err == nil {
			t.Errorf("Inspect(%s) = %+v, nil error; want an error", name, summarize(info))
		}
	}
}

// TestStopsAtNotes: Inspect decodes a compressed kernel only as far as
// its Xen notes, so damage after them goes unseen (and costs no time):
// here a gzip stream whose last part, long after the notes, is corrupt.
// Decoding the whole payload, as verify did, fails on it.
func TestStopsAtNotes(t *testing.T) {
	spec := pvops64()
	spec.text = make([]byte, 4<<20)
	rand.New(rand.NewSource(1)).Read(spec.text) // incompressible: offsets map through
	vmlinux := buildELF(spec)
	gz := gzipBytes(vmlinux)
	for i := len(gz) - 64<<10; i < len(gz)-16; i += 97 {
		gz[i] ^= 0x5a
	}
	if _, _, err := decompress.All(gz, decompress.DefaultMax); err == nil {
		t.Fatalf("decompress.All(corrupted gzip) = nil error; the test cannot tell whether Inspect stops early")
	}
	for name, img := range map[string][]byte{"bzImage": bzImage(gz, 0x020f), "compressed ELF": gz} {
		info, err := Inspect(img)
		if err != nil {
			t.Errorf("Inspect(%s, corrupt after the notes) error: %v; want the notes read before the damage", name, err)
			continue
		}
		if !info.PV || !info.PVH {
			t.Errorf("Inspect(%s, corrupt after the notes) PV, PVH = %v, %v; want true, true", name, info.PV, info.PVH)
		}
	}
	// Without Xen notes in the note segments, the section headers at the
	// end are needed, and the damage is reached.
	spec = native64()
	spec.text = make([]byte, 4<<20)
	rand.New(rand.NewSource(1)).Read(spec.text)
	gz = gzipBytes(buildELF(spec))
	for i := len(gz) - 64<<10; i < len(gz)-16; i += 97 {
		gz[i] ^= 0x5a
	}
	if info, err := Inspect(gz); err == nil {
		t.Errorf("Inspect(native kernel, corrupt at the end) = %+v, nil error; want the damage found", summarize(info))
	}
}

// readnotes runs Xen's readnotes on an ELF file and returns its lines as
// name -> value, with numeric values normalised to uint64.
func readnotes(t *testing.T, path string) map[string]string {
	t.Helper()
	tool := "/usr/lib/xen-4.17/bin/readnotes"
	if p, err := exec.LookPath("readnotes"); err == nil {
		tool = p
	}
	if _, err := os.Stat(tool); err != nil {
		testenv.Skipf(t, "Xen's readnotes not installed (xen-utils): %v", err)
	}
	out, err := exec.Command(tool, path).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", tool, path, err, out)
	}
	num := regexp.MustCompile(`^(0x[0-9a-f]+|0) \(\d+ bytes\)$`)
	m := map[string]string{}
	for _, line := range strings.Split(string(out), "\n") {
		name, val, ok := strings.Cut(line, ": ")
		if !ok || strings.HasPrefix(line, "unknown") {
			continue
		}
		val = strings.TrimSpace(val)
		if sm := num.FindStringSubmatch(val); sm != nil {
			v, _ := strconv.ParseUint(sm[1], 0, 64)
			val = fmt.Sprintf("%#x", v)
		}
		m[name] = val
	}
	return m
}

// checkAgainstReadnotes compares every note readnotes reports with ours.
func checkAgainstReadnotes(t *testing.T, elfPath string, info *Info) {
	t.Helper()
	theirs := readnotes(t, elfPath)
	if len(theirs) == 0 {
		t.Fatalf("readnotes %s printed no notes", elfPath)
	}
	ours := map[string]string{}
	for _, n := range info.Notes {
		_, v, _ := strings.Cut(n.String(), ": ")
		if !n.IsString && n.Type != NoteL1MFNValid {
			v = fmt.Sprintf("%#x", n.Value)
		}
		ours[n.Name] = v
	}
	if info.XenGuest != "" {
		ours["__xen_guest"] = info.XenGuest
	}
	t.Logf("readnotes %s reported %d notes", elfPath, len(theirs))
	for name, want := range theirs {
		if got, ok := ours[name]; !ok || got != want {
			t.Errorf("note %s = %q (present %v), readnotes says %q", name, got, ok, want)
		}
	}
}

func TestReadnotesAgrees(t *testing.T) {
	for name, spec := range map[string]elfSpec{"pvops64": pvops64(), "pvops32": pvops32PAE(), "xenlinux32": xenLinux32()} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "vmlinux")
			img := buildELF(spec)
			if err := os.WriteFile(path, img, 0o644); err != nil {
				t.Fatal(err)
			}
			info, err := Inspect(img)
			if err != nil {
				t.Fatalf("Inspect(%s) error: %v", name, err)
			}
			checkAgainstReadnotes(t, path, info)
		})
	}
}

func FuzzInspect(f *testing.F) {
	f.Add(buildELF(pvops64()))
	f.Add(buildELF(xenLinux32()))
	f.Add(buildELF(pvops32PAE())[:300])
	f.Add(gzipBytes(buildELF(xenLinux32())))
	f.Add(bzImage(gzipBytes(buildELF(pvops64())), 0x020f))
	f.Add(bzImage(gzipBytes(buildELF(pvops64())), 0x0206))
	f.Fuzz(func(t *testing.T, data []byte) {
		info, err := InspectLimit(data, 4<<20)
		if err != nil {
			return
		}
		info.CompatibleWith(debianCaps)
		for _, n := range info.Notes {
			_ = n.String()
		}
	})
}

// TestIKConfig: the configuration a kernel embeds (CONFIG_IKCONFIG) is
// found inside the compressed payload, as scripts/extract-ikconfig
// finds it; a kernel without one says so.
func TestIKConfig(t *testing.T) {
	cfg := "CONFIG_XEN_BLKDEV_FRONTEND=y\nCONFIG_XEN_NETDEV_FRONTEND=y\n"
	spec := pvops64()
	spec.text = append(append([]byte("\x90\x90IKCFG_ST"), gzipBytes([]byte(cfg))...), "IKCFG_ED\x90"...)
	img := bzImage(gzipBytes(buildELF(spec)), 0x020f)
	got, err := IKConfig(img)
	if err != nil || string(got) != cfg {
		t.Errorf("IKConfig(bzImage with IKCONFIG) = %q, %v; want %q", got, err, cfg)
	}
	if _, err := IKConfig(bzImage(gzipBytes(buildELF(pvops64())), 0x020f)); !errors.Is(err, ErrNoIKConfig) {
		t.Errorf("IKConfig(bzImage without IKCONFIG) error = %v, want ErrNoIKConfig", err)
	}
}
