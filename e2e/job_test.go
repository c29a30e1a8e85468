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
	guests := []Guest{
		{Label: "deb12-sda1", Config: []byte("name='g'\n"), Password: "pw", Timeout: 5 * time.Minute, Files: []string{kernel}},
		{Label: "deb12-bootmerge", Config: []byte("name='m'\n"), Password: "pw", Timeout: 5 * time.Minute, Attempts: 2,
			VGs: []string{"vg0"}, Files: []string{kernel}},
		// The control boots under the same domain name as deb12-sda1.
		{Label: "deb12-sda1-unconverted", Config: []byte("name='g'\n"), Password: "pw", Timeout: time.Minute},
	}
	var buf bytes.Buffer
	if err := WriteJob(&buf, guests); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	var names []string
	tr := tar.NewReader(&buf)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(tr)
		got[h.Name] = string(b)
		names = append(names, h.Name)
	}
	var job Job
	if err := json.Unmarshal([]byte(got["job.json"]), &job); err != nil {
		t.Fatalf("job.json: %v", err)
	}
	want := Job{Guests: []JobGuest{
		{Label: "deb12-sda1", Name: "g", Config: "/run/xenify-e2e/guests/deb12-sda1.cfg", Disk: "/dev/disk/by-id/virtio-xenify-guest-1",
			Password: "pw", Timeout: 300, Attempts: 1},
		{Label: "deb12-bootmerge", Name: "m", Config: "/run/xenify-e2e/guests/deb12-bootmerge.cfg", Disk: "/dev/disk/by-id/virtio-xenify-guest-2",
			Password: "pw", Timeout: 300, Attempts: 2, VGs: []string{"vg0"}},
		{Label: "deb12-sda1-unconverted", Name: "g", Config: "/run/xenify-e2e/guests/deb12-sda1-unconverted.cfg", Disk: "/dev/disk/by-id/virtio-xenify-guest-3",
			Password: "pw", Timeout: 60, Attempts: 1},
	}}
	if diff := cmp.Diff(want, job); diff != "" {
		t.Errorf("job.json mismatch (-want +got):\n%s", diff)
	}
	for _, g := range guests {
		if c := got["guests/"+g.Label+".cfg"]; c != string(g.Config) {
			t.Errorf("guests/%s.cfg = %q, want %q", g.Label, c, g.Config)
		}
	}
	if k := got[filepath.Join("files", kernel)]; k != "KERNEL" {
		t.Errorf("files%s = %q, want KERNEL (tar has %v)", kernel, k, names)
	}
	n := 0
	for _, name := range names {
		if name == filepath.Join("files", kernel) {
			n++
		}
	}
	if n != 1 {
		t.Errorf("job holds files%s %d times, want once (tar has %v)", kernel, n, names)
	}
	// The driver travels with the job: dom0's image only runs driver/run.
	for _, f := range []string{"driver/run", "driver/console-driver.py"} {
		want, err := os.ReadFile(filepath.Join("dom0", f))
		if err != nil {
			t.Fatal(err)
		}
		if got[f] != string(want) {
			t.Errorf("job %s differs from dom0/%s (tar has %v)", f, f, names)
		}
	}
}

func TestWriteJobRefuses(t *testing.T) {
	ok := Guest{Label: "a", Config: []byte("name='a'\n")}
	for _, tc := range []struct {
		name   string
		guests []Guest
	}{
		{"missing file", []Guest{{Label: "a", Config: []byte("name='a'\n"), Files: []string{"/does/not/exist"}}}},
		{"same label twice", []Guest{ok, ok}},
		{"label with a slash", []Guest{{Label: "a/b", Config: ok.Config}}},
		{"no label", []Guest{{Config: ok.Config}}},
		{"config without name", []Guest{{Label: "a", Config: []byte("memory = 512\n")}}},
	} {
		if err := WriteJob(io.Discard, tc.guests); err == nil {
			t.Errorf("%s: WriteJob = nil, want error", tc.name)
		}
	}
}
