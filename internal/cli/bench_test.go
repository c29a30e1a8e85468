package cli

import (
	"context"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// BenchmarkBaselineReadTree reads every regular file of the fixture: the
// I/O floor that plan and convert are compared against (make bench
// prints the ratios).
func BenchmarkBaselineReadTree(b *testing.B) {
	dir := filepath.Join(fixtures, "centos5-x86_64")
	for i := 0; i < b.N; i++ {
		filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err == nil && d.Type().IsRegular() {
				os.ReadFile(p)
			}
			return nil
		})
	}
}

// BenchmarkPlan is `xenify plan` on the CentOS 5 fixture (target: under
// 100 ms).
func BenchmarkPlan(b *testing.B) {
	dir := filepath.Join(fixtures, "centos5-x86_64")
	for i := 0; i < b.N; i++ {
		if code := Run(context.Background(), []string{"plan", "--hypervisor-caps", hostCaps, dir}, strings.NewReader(""), io.Discard, io.Discard); code != 0 {
			b.Fatalf("plan exit %d", code)
		}
	}
}

// BenchmarkConvertOwnTime is xenify's own time in convert (no guest
// commands: they are left to the user) plus rollback, on a fresh copy of
// the CentOS 5 fixture each time (target: convert under 1 s).
func BenchmarkConvertOwnTime(b *testing.B) {
	src := filepath.Join(fixtures, "centos5-x86_64")
	cfg := filepath.Join(b.TempDir(), "c5.cfg")
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		guest := copyTree(b, src)
		b.StartTimer()
		if code := Run(context.Background(), []string{"convert", "--skip-guest-commands", "--hypervisor-caps", hostCaps, "--config-out", cfg, guest}, strings.NewReader(""), io.Discard, io.Discard); code != 0 {
			b.Fatalf("convert exit %d", code)
		}
		b.StopTimer()
		os.RemoveAll(filepath.Dir(guest))
		b.StartTimer()
	}
}
