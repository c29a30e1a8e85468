package e2e

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestWriteJob(t *testing.T) {
	kernel := filepath.Join(t.TempDir(), "vmlinuz")
	if err := os.WriteFile(kernel, []byte("KERNEL"), 0o644); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := WriteJob(&buf, "g", "pw", 5*time.Minute, []byte("name='g'\n"), []string{kernel}, []string{"vg0"}); err != nil {
		t.Fatal(err)
	}
	got := readTar(t, &buf)
	var job Job
	if err := json.Unmarshal([]byte(got["job.json"]), &job); err != nil {
		t.Fatalf("job.json: %v", err)
	}
	if diff := cmp.Diff(Job{Name: "g", Config: "/run/xenify-e2e/domain.cfg", Password: "pw", Timeout: 300, VGs: []string{"vg0"}}, job); diff != "" {
		t.Errorf("job.json mismatch (-want +got):\n%s", diff)
	}
	if got["domain.cfg"] != "name='g'\n" {
		t.Errorf("domain.cfg = %q", got["domain.cfg"])
	}
	if k := got[filepath.Join("files", kernel)]; k != "KERNEL" {
		t.Errorf("files%s = %q, want KERNEL (tar has %v)", kernel, k, keys(got))
	}
	// The driver travels with the job: dom0's image only runs driver/run.
	for _, f := range []string{"driver/run", "driver/console-driver.py"} {
		want, err := os.ReadFile(filepath.Join("dom0", f))
		if err != nil {
			t.Fatal(err)
		}
		if got[f] != string(want) {
			t.Errorf("job %s differs from dom0/%s (tar has %v)", f, f, keys(got))
		}
	}
	if err := WriteJob(io.Discard, "g", "pw", time.Minute, nil, []string{"/does/not/exist"}, nil); err == nil {
		t.Errorf("WriteJob(missing file) = nil, want error")
	}
}

// readTar returns a job's files by name.
func readTar(t *testing.T, r io.Reader) map[string]string {
	t.Helper()
	got := map[string]string{}
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return got
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(tr)
		got[h.Name] = string(b)
	}
}

func keys(m map[string]string) []string {
	var k []string
	for n := range m {
		k = append(k, n)
	}
	return k
}
