package initramfs

import (
	"bytes"
	"testing"
)

func TestWriteNewcRoundTrip(t *testing.T) {
	ms := []Member{Dir("lib", 0o755), File("lib/a.ko", []byte("abc"), 0o644), Symlink("bin", "usr/bin")}
	b, err := WriteNewc(ms)
	if err != nil {
		t.Fatal(err)
	}
	again, _ := WriteNewc(ms)
	if !bytes.Equal(b, again) {
		t.Errorf("WriteNewc is not deterministic")
	}
	ents, err := List(b)
	if err != nil || len(ents) != 3 || ents[1].Path != "lib/a.ko" || ents[2].Link != "usr/bin" {
		t.Fatalf("List(WriteNewc(...)) = %+v, %v", ents, err)
	}
	if got, err := ReadFile(b, "lib/a.ko"); err != nil || string(got) != "abc" {
		t.Errorf("ReadFile = %q, %v", got, err)
	}
	for _, bad := range []Member{File("/abs", nil, 0o644), File("a/../b", nil, 0o644), {Path: "dev/null", Mode: 0o020666}} {
		if _, err := WriteNewc([]Member{bad}); err == nil {
			t.Errorf("WriteNewc(%+v) = nil error, want a refusal", bad)
		}
	}
}

// TestViewKernelSemantics checks the kernel's unpacking rules the layer
// relies on: parents resolve through links, and a member of another type
// replaces (clean_path) what was there.
func TestViewKernelSemantics(t *testing.T) {
	first, _ := WriteNewc([]Member{Symlink("lib", "usr/lib"), Dir("usr", 0o755), Dir("usr/lib", 0o755), File("usr/lib/x", []byte("old"), 0o644), File("init", []byte("1"), 0o755)})
	second, _ := WriteNewc([]Member{File("lib/x", []byte("new"), 0o644), File("lib/y", []byte("y"), 0o644)})
	v, err := NewView(append(append(first, 0, 0, 0, 0), second...))
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := v.ReadFile("usr/lib/x"); string(got) != "new" {
		t.Errorf("usr/lib/x = %q, want the later member through the lib link", got)
	}
	if e, ok := v.Lstat("usr/lib/y"); !ok || !e.IsRegular() {
		t.Errorf("usr/lib/y = %+v, %v", e, ok)
	}
	// A directory member over the link removes the link, as the kernel
	// does: this is why the layer must never write "lib" as a directory.
	third, _ := WriteNewc([]Member{Dir("lib", 0o755), File("lib/z", nil, 0o644)})
	v, err = NewView(append(append(first, 0, 0, 0, 0), third...))
	if err != nil {
		t.Fatal(err)
	}
	if e, _ := v.Lstat("lib"); !e.IsDir() {
		t.Errorf("lib = %v after a directory member, want a directory", e.FileMode())
	}
	if _, ok := v.ReadFile("lib/x"); ok {
		t.Errorf("lib/x still visible after lib became a directory")
	}
}
