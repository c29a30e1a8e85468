package fsprobe

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/xenify/xenify/disk/disktest"
)

// TestProbeLUKS formats image files with the real cryptsetup (which
// needs no device-mapper to format) and compares with its own reading.
// cryptsetup comes from scripts/install-deps.sh; without it this fails.
func TestProbeLUKS(t *testing.T) {
	for _, tc := range []struct {
		typ  string
		size int64
		args []string
	}{
		{"luks1", 8 * mib, []string{"--pbkdf-force-iterations", "1000"}},
		{"luks2", 20 * mib, []string{"--pbkdf", "pbkdf2", "--pbkdf-force-iterations", "1000", "--label", "cryptroot"}},
	} {
		t.Run(tc.typ, func(t *testing.T) {
			img := filepath.Join(t.TempDir(), tc.typ+".img")
			if err := os.WriteFile(img, nil, 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.Truncate(img, tc.size); err != nil {
				t.Fatal(err)
			}
			args := append([]string{"cryptsetup", "luksFormat", "--batch-mode", "--type", tc.typ, "--key-file=-"}, tc.args...)
			disktest.Run(t, []byte("secret"), append(args, img)...)
			uuid := strings.TrimSpace(disktest.Run(t, nil, "cryptsetup", "luksUUID", img))
			f, err := os.Open(img)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			res, err := Probe(f, tc.size)
			if err != nil {
				t.Fatal(err)
			}
			wantLabel := ""
			if tc.typ == "luks2" {
				wantLabel = "cryptroot"
			}
			if res.Type != LUKS || res.UUID != uuid || res.LUKS == nil || "luks"+res.Version != tc.typ || res.Label != wantLabel {
				t.Errorf("Probe(%s) = %s %s version %s label %q, want %s %s %s label %q", tc.typ, res.Type, res.UUID, res.Version, res.Label, LUKS, uuid, tc.typ, wantLabel)
			}
		})
	}
}
