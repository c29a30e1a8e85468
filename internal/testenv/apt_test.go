package testenv

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeApt(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "sources.list.d"), 0o755); err != nil {
		t.Fatal(err)
	}
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestAptMirror(t *testing.T) {
	for _, tc := range []struct {
		name  string
		files map[string]string
		want  string
	}{
		{"one-line", map[string]string{
			"sources.list": "# main\ndeb-src http://src.example/debian bookworm main\ndeb http://sec.example/debian-security bookworm-security main\ndeb [arch=amd64 signed-by=/k.gpg] http://one.example/debian bookworm main contrib\n",
		}, "http://one.example/debian"},
		{"one-line options with spaces", map[string]string{
			"sources.list": "deb [ arch=amd64 ] http://spaced.example/debian bookworm main # trailing\n",
		}, "http://spaced.example/debian"},
		{"deb822", map[string]string{
			"sources.list.d/debian.sources": "Types: deb\n# http://snapshot.example/archive\nURIs: http://sec.example/debian-security\nSuites: bookworm-security\nComponents: main\n\nTypes: deb-src deb\nURIs: http://822.example/debian\n  http://second.example/debian\nSuites: bookworm\n bookworm-updates\nComponents: main\n",
		}, "http://822.example/debian"},
		{"deb822 disabled, then .list", map[string]string{
			"sources.list.d/a.sources":  "Enabled: no\nTypes: deb\nURIs: http://off.example/debian\nSuites: bookworm\n",
			"sources.list.d/b.list":     "deb http://list.example/debian bookworm main\n",
			"sources.list.d/c.disabled": "deb http://ignored.example/debian bookworm main\n",
		}, "http://list.example/debian"},
		{"sources.list first", map[string]string{
			"sources.list":          "deb http://first.example/debian bookworm main\n",
			"sources.list.d/a.list": "deb http://later.example/debian bookworm main\n",
		}, "http://first.example/debian"},
	} {
		got, err := aptMirror(writeApt(t, tc.files), "bookworm")
		if err != nil || got != tc.want {
			t.Errorf("%s: aptMirror(bookworm) = %q, %v; want %q", tc.name, got, err, tc.want)
		}
	}
	_, err := aptMirror(writeApt(t, map[string]string{"sources.list.d/x.disabled": "deb http://x.example/debian bookworm main\n"}), "bookworm")
	if err == nil || !strings.Contains(err.Error(), "no deb source for bookworm") {
		t.Errorf("aptMirror(no source) = %v, want an error naming the suite", err)
	}
}
