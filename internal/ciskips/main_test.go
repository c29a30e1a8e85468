package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const testLog = `{"Action":"run","Package":"x/a","Test":"TestOK"}
{"Action":"pass","Package":"x/a","Test":"TestOK"}
{"Action":"output","Package":"x/a","Test":"TestRoot","Output":"=== RUN   TestRoot\n"}
{"Action":"output","Package":"x/a","Test":"TestRoot","Output":"    a_test.go:9: needs root\n"}
{"Action":"output","Package":"x/a","Test":"TestRoot","Output":"--- SKIP: TestRoot (0.00s)\n"}
{"Action":"skip","Package":"x/a","Test":"TestRoot"}
{"Action":"output","Package":"x/b","Test":"TestTable/refused","Output":"    b_test.go:3: exit 3\n"}
{"Action":"skip","Package":"x/b","Test":"TestTable/refused"}
{"Action":"skip","Package":"x/b"}
`

func write(t *testing.T, name, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestCheck(t *testing.T) {
	log := write(t, "log", testLog)
	var out strings.Builder
	err := check(write(t, "allow", "# comment\nx/b TestTable/* refused fixtures are listed elsewhere\n"), log, &out)
	if err == nil || !strings.Contains(err.Error(), "1 skipped tests are not on") {
		t.Errorf("check(one skip not allowed) = %v, want an error counting 1", err)
	}
	for _, want := range []string{
		"SKIPPED, NOT ALLOWED: x/a TestRoot: a_test.go:9: needs root",
		"skipped (allowed: refused fixtures are listed elsewhere): x/b TestTable/refused",
		"skipped tests: 2 (1 on the allow-list",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("check output lacks %q:\n%s", want, out.String())
		}
	}
	out.Reset()
	if err := check(write(t, "allow", "x/b TestTable/* r\nx/a TestRoot needs root\n"), log, &out); err != nil {
		t.Errorf("check(all allowed) = %v\n%s", err, out.String())
	}
	if err := check(write(t, "allow", "x/a TestRoot\n"), log, &out); err == nil || !strings.Contains(err.Error(), "REASON") {
		t.Errorf("check(entry without a reason) = %v, want an error", err)
	}
}
