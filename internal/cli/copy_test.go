package cli

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/xenify/xenify/internal/testenv"
)

// smallDisk makes a 64 MiB MBR image with one ext4 partition, without
// root (sfdisk and mke2fs -E offset= work on files).
func smallDisk(t *testing.T) string {
	t.Helper()
	for _, tool := range []string{"sfdisk", "mke2fs"} {
		if _, err := exec.LookPath(tool); err != nil {
			testenv.Skipf(t, "needs %s", tool)
		}
	}
	img := filepath.Join(t.TempDir(), "src.img")
	f, err := os.Create(img)
	if err != nil {
		t.Fatal(err)
	}
	f.Truncate(64 << 20)
	f.Close()
	sf := exec.Command("sfdisk", "-q", img)
	sf.Stdin = strings.NewReader("label: dos\n,32M,83\n")
	if out, err := sf.CombinedOutput(); err != nil {
		t.Fatalf("sfdisk: %v\n%s", err, out)
	}
	if out, err := exec.Command("mke2fs", "-q", "-F", "-t", "ext4", "-E", "offset=1048576", img, "31M").CombinedOutput(); err != nil {
		t.Fatalf("mke2fs: %v\n%s", err, out)
	}
	return img
}

func TestCopyJSONAndRefusals(t *testing.T) {
	src := smallDisk(t)
	dst := filepath.Join(t.TempDir(), "dst.img")
	out, errOut, code := xenify(t, "copy", "--json", "--verify", src, dst)
	if code != 0 {
		t.Fatalf("copy = exit %d\n%s%s", code, out, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	var last struct {
		Summary struct {
			Verified  bool  `json:"verified"`
			Size      int64 `json:"size"`
			BytesRead int64 `json:"bytes_read"`
		} `json:"summary"`
	}
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &last); err != nil || !last.Summary.Verified || last.Summary.Size != 64<<20 || last.Summary.BytesRead >= last.Summary.Size {
		t.Errorf("copy --json summary = %s (%v); want verified, size 64 MiB, fewer bytes read than the disk", lines[len(lines)-1], err)
	}
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"existing destination", []string{"copy", src, dst}, "--overwrite"},
		{"destination is the source", []string{"copy", src, src}, "the same"},
	} {
		if _, errOut, code := xenify(t, tc.args...); code != 3 || !strings.Contains(errOut, tc.want) {
			t.Errorf("%s: exit %d, %q; want 3 mentioning %q", tc.name, code, errOut, tc.want)
		}
	}
	if _, errOut, code := xenify(t, "copy", "--overwrite", src, dst); code != 0 {
		t.Errorf("copy --overwrite = exit %d: %s", code, errOut)
	}
	if _, _, code := xenify(t, "copy", src); code != 2 {
		t.Errorf("copy with one argument = exit %d, want 2", code)
	}
}
