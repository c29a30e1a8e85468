package kernelimage

import (
	"bytes"
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/xenify/xenify/decompress"
	"github.com/xenify/xenify/internal/testenv"
)

// debianKernel is the extracted Debian 12 kernel package (see
// testenv.DebianKernel for how CI pre-fetches it).
func debianKernel(tb testing.TB) string { return testenv.DebianKernel(tb) }

func debianVmlinuz(tb testing.TB) (string, []byte) {
	root := debianKernel(tb)
	m, _ := filepath.Glob(filepath.Join(root, "boot", "vmlinuz-*"))
	if len(m) != 1 {
		tb.Fatalf("want one vmlinuz in %s/boot, found %q", root, m)
	}
	data, err := os.ReadFile(m[0])
	if err != nil {
		tb.Fatal(err)
	}
	return m[0], data
}

func TestIntegrationDebianKernel(t *testing.T) {
	path, data := debianVmlinuz(t)
	info, err := Inspect(data)
	if err != nil {
		t.Fatalf("Inspect(%s) error: %v", path, err)
	}
	// A cache gives the same Info, cold and warm.
	c := &memCache{}
	for _, state := range []string{"cold", "warm"} {
		got, err := InspectWith(data, Options{Cache: c})
		if err != nil {
			t.Fatalf("InspectWith(%s, %s cache) error: %v", path, state, err)
		}
		if diff := cmp.Diff(info, got); diff != "" {
			t.Errorf("InspectWith(%s, %s cache) differs from Inspect (-want +got):\n%s", path, state, diff)
		}
	}
	if c.hits != 1 {
		t.Errorf("cache hits after two looks at %s = %d, want 1", path, c.hits)
	}
	t.Logf("%s: %s, protocol %s, %v payload, %q", path, info.Format, protoString(info.BootProtocol), info.Compression, info.KernelVersion)
	if info.Format != FormatBzImage || info.Compression != decompress.XZ || info.Class != 64 || info.Machine != elf.EM_X86_64 {
		t.Errorf("Inspect(%s) format, compression, class, machine = %s, %v, %d, %v; want bzImage, xz, 64, EM_X86_64",
			path, info.Format, info.Compression, info.Class, info.Machine)
	}
	if !info.PV || !info.PVH || !info.HasEntry || !info.HasPhysEntry {
		t.Errorf("Inspect(%s) PV, PVH, ENTRY, PHYS32_ENTRY = %v, %v, %v, %v; want all true (NotPV %q)",
			path, info.PV, info.PVH, info.HasEntry, info.HasPhysEntry, info.NotPV)
	}
	if !strings.HasPrefix(info.KernelVersion, filepath.Base(path)[len("vmlinuz-"):]) {
		t.Errorf("Inspect(%s).KernelVersion = %q, want the file's version first", path, info.KernelVersion)
	}
	if ok, reason := info.CompatibleWith(debianCaps); !ok {
		t.Errorf("Inspect(%s).CompatibleWith(%q) = false, %q; want true", path, debianCaps, reason)
	}
	if ok, _ := info.CompatibleWith([]string{"xen-3.0-x86_32p"}); ok {
		t.Errorf("Inspect(%s).CompatibleWith(32-bit host) = true, want false", path)
	}

	// Xen's readnotes reads the ELF (it cannot decompress an xz bzImage).
	vmlinux, _, err := decompress.All(data[(int(data[0x1f1])+1)*512+int(leUint32(data[0x248:])):], decompress.DefaultMax)
	if err != nil {
		t.Fatalf("extracting vmlinux: %v", err)
	}
	elfPath := filepath.Join(t.TempDir(), "vmlinux")
	if err := os.WriteFile(elfPath, vmlinux, 0o644); err != nil {
		t.Fatal(err)
	}
	checkAgainstReadnotes(t, elfPath, info)

	// Cross-check against the xz tool too: the payload decompresses to the
	// same bytes with the x86 BCJ filter applied by liblzma.
	if _, err := exec.LookPath("xz"); err == nil {
		off, f := decompress.Find(data, 0)
		if f != decompress.XZ {
			t.Fatalf("decompress.Find(%s) = %d, %v; want xz", path, off, f)
		}
		cmd := exec.Command("xz", "-dc", "--single-stream")
		cmd.Stdin = bytes.NewReader(data[off:])
		want, err := cmd.Output()
		if err != nil {
			t.Fatalf("xz -dc: %v", err)
		}
		if !bytes.Equal(vmlinux, want) {
			t.Errorf("decompressed vmlinux differs from xz's output (%d vs %d bytes)", len(vmlinux), len(want))
		}
	}
}

func leUint32(b []byte) uint32 {
	return uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16 | uint32(b[3])<<24
}

func BenchmarkInspectDebianKernel(b *testing.B) {
	_, data := debianVmlinuz(b)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := Inspect(data); err != nil {
			b.Fatal(err)
		}
	}
}
