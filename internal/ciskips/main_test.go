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

// The printer shows what go test without -json shows: failing tests'
// output (subtests included, in order) and the package lines.
func TestPrinter(t *testing.T) {
	events := []event{
		{"output", "p", "TestA", "=== RUN   TestA\n"},
		{"output", "p", "TestA", "    a_test.go:1: log of a passing test\n"},
		{"output", "p", "TestA", "--- PASS: TestA (0.00s)\n"},
		{"pass", "p", "TestA", ""},
		{"output", "p", "TestB", "=== RUN   TestB\n"},
		{"output", "p", "TestB/ok", "=== RUN   TestB/ok\n"},
		{"output", "p", "TestB/ok", "    --- PASS: TestB/ok (0.00s)\n"},
		{"pass", "p", "TestB/ok", ""},
		{"output", "p", "TestB/bad", "=== RUN   TestB/bad\n"},
		{"output", "p", "TestB/bad", "    b_test.go:2: got 1, want 2\n"},
		{"output", "p", "TestB", "--- FAIL: TestB (0.00s)\n"},
		{"output", "p", "TestB/bad", "    --- FAIL: TestB/bad (0.00s)\n"},
		{"fail", "p", "TestB/bad", ""},
		{"fail", "p", "TestB", ""},
		{"output", "p", "", "FAIL\n"},
		{"output", "p", "", "FAIL\tp\t0.01s\n"},
		{"fail", "p", "", ""},
		{"output", "q", "", "testing: warning: no tests to run\n"},
		{"output", "q", "", "PASS\n"},
		{"output", "q", "", "ok  \tq\t0.01s [no tests to run]\n"},
		{"pass", "q", "", ""},
		{"build-output", "", "", "# r [r.test]\n"},
	}
	var quiet, verbose strings.Builder
	pq, pv := newPrinter(&quiet, false), newPrinter(&verbose, true)
	for _, e := range events {
		pq.event(e)
		pv.event(e)
	}
	want := "    b_test.go:2: got 1, want 2\n--- FAIL: TestB (0.00s)\n    --- FAIL: TestB/bad (0.00s)\nFAIL\nFAIL\tp\t0.01s\nok  \tq\t0.01s [no tests to run]\n# r [r.test]\n"
	if quiet.String() != want {
		t.Errorf("printer without -v printed:\n%s\nwant:\n%s", quiet.String(), want)
	}
	if !strings.Contains(verbose.String(), "=== RUN   TestA") || !strings.Contains(verbose.String(), "PASS\n") {
		t.Errorf("printer with -v dropped lines:\n%s", verbose.String())
	}
}
