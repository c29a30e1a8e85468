package caps

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/xenify/xenify/internal/testenv"
)

func TestReadShim(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	s, err := ReadShim(write("shim", "\x7fELF...xen-%d.%d-x86_64 \x00xen-%d.%d-x86_32p \x00"))
	if err != nil || !s.Runs("xen-3.0-x86_32p") || !s.Runs("xen-3.0-x86_64") {
		t.Errorf("ReadShim(shim with both ABIs) = %+v, %v", s, err)
	}
	// A hypervisor built without PV32 has only the 64-bit string (and
	// hvm-%d.%d-x86_32p, which is HVM, not PV).
	s, err = ReadShim(write("nopv32", "xen-%d.%d-x86_64 \x00hvm-%d.%d-x86_32p \x00"))
	if err != nil || s.Runs("xen-3.0-x86_32p") || !s.Runs("xen-3.0-x86_64") {
		t.Errorf("ReadShim(no PV32) = %+v, %v", s, err)
	}
	if _, err := ReadShim(write("other", "not a shim")); err == nil {
		t.Error("ReadShim(not a shim) = nil error")
	}
	var none *Shim
	if none.Runs("xen-3.0-x86_32p") {
		t.Error("nil shim runs something")
	}
}

// TestReadInstalledShim reads Debian's xen-shim where xen-utils is
// installed: it must run 32-bit PAE guests (the reason it is used).
func TestReadInstalledShim(t *testing.T) {
	s, err := FindShim()
	if err != nil {
		t.Fatal(err)
	}
	if s == nil {
		testenv.Skipf(t, "no Xen PV shim installed (xen-utils)")
	}
	if !s.Runs("xen-3.0-x86_32p") || !s.Default {
		t.Errorf("FindShim() = %+v, want the default shim running xen-3.0-x86_32p", s)
	}
}
