// Command ciskips keeps CI honest about skipped tests.
//
//	go run ./internal/ciskips run LOG -- go test -json ARGS...
//
// runs go test with -json, prints the output go test would have printed
// without -json (see printer), appends the JSON events to LOG and exits
// with go test's status.
//
//	go run ./internal/ciskips check ALLOWLIST LOG
//
// prints how many tests LOG records as skipped, each with the reason the
// test gave, and fails when any skip is not on ALLOWLIST. The allow-list
// has one "PACKAGE TEST REASON..." line per allowed skip (TEST may be a
// path.Match pattern such as TestX/*); blank lines and # comments are
// ignored, and an entry without a reason is an error.
package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"sort"
	"strings"
)

type event struct {
	Action  string
	Package string
	Test    string
	Output  string
}

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	switch os.Args[1] {
	case "run":
		if len(os.Args) < 5 || os.Args[3] != "--" {
			usage()
		}
		os.Exit(runTee(os.Args[2], os.Args[4:]))
	case "check":
		if len(os.Args) != 4 {
			usage()
		}
		if err := check(os.Args[2], os.Args[3], os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, "ciskips:", err)
			os.Exit(1)
		}
	default:
		usage()
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: ciskips run LOG -- go test -json ARGS... | ciskips check ALLOWLIST LOG")
	os.Exit(2)
}

// runTee runs argv, appending its JSON events to logPath and printing
// their Output fields, which are go test's ordinary output.
func runTee(logPath string, argv []string) int {
	log, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		fmt.Fprintln(os.Stderr, "ciskips:", err)
		return 1
	}
	defer log.Close()
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdin, cmd.Stderr = os.Stdin, os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		fmt.Fprintln(os.Stderr, "ciskips:", err)
		return 1
	}
	if err := cmd.Start(); err != nil {
		fmt.Fprintln(os.Stderr, "ciskips:", err)
		return 1
	}
	verbose := false
	for _, a := range argv {
		verbose = verbose || a == "-v" || a == "-test.v"
	}
	pr := newPrinter(os.Stdout, verbose)
	sc := bufio.NewScanner(out)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for sc.Scan() {
		line := sc.Bytes()
		log.Write(append(line, '\n'))
		var e event
		if json.Unmarshal(line, &e) != nil {
			// Not an event (a build failure printed by go itself).
			os.Stdout.Write(append(line, '\n'))
			continue
		}
		pr.event(e)
	}
	if err := cmd.Wait(); err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return ee.ExitCode()
		}
		fmt.Fprintln(os.Stderr, "ciskips:", err)
		return 1
	}
	return 0
}

// printer turns go test -json events back into go test's own output.
// With -v that is every output line. Without it, go test prints a test's
// output only when the test fails, and otherwise one line per package:
// the printer buffers each top-level test's output (its subtests'
// included, those that passed dropped) and prints it when the test fails.
type printer struct {
	w       io.Writer
	verbose bool
	buf     map[string][]bufLine // package -> lines of running tests
}

type bufLine struct{ test, text string }

func newPrinter(w io.Writer, verbose bool) *printer {
	return &printer{w: w, verbose: verbose, buf: map[string][]bufLine{}}
}

func topLevel(test string) string {
	top, _, _ := strings.Cut(test, "/")
	return top
}

func (p *printer) event(e event) {
	if e.Action == "build-output" {
		// Compiler errors: go test prints them on stderr either way.
		io.WriteString(p.w, e.Output)
		return
	}
	if p.verbose {
		if e.Action == "output" {
			io.WriteString(p.w, e.Output)
		}
		return
	}
	if e.Test == "" {
		// The test binary's own lines ("PASS", "testing: warning: no
		// tests to run") show only when the package fails; its "ok" line
		// always.
		key := "\x00" + e.Package
		switch e.Action {
		case "output":
			p.buf[key] = append(p.buf[key], bufLine{"", e.Output})
		case "fail":
			for _, l := range p.buf[key] {
				io.WriteString(p.w, l.text)
			}
			delete(p.buf, key)
		case "pass", "skip":
			for _, l := range p.buf[key] {
				if strings.HasPrefix(l.text, "ok  ") || strings.HasPrefix(l.text, "?   ") {
					io.WriteString(p.w, l.text)
				}
			}
			delete(p.buf, key)
		}
		return
	}
	lines := p.buf[e.Package]
	switch e.Action {
	case "output":
		if !strings.HasPrefix(strings.TrimSpace(e.Output), "=== ") {
			p.buf[e.Package] = append(lines, bufLine{e.Test, e.Output})
		}
	case "pass", "skip", "fail":
		top := topLevel(e.Test)
		keep := lines[:0]
		for _, l := range lines {
			mine := l.test == e.Test || strings.HasPrefix(l.test, e.Test+"/")
			switch {
			case e.Action == "fail" && e.Test == top && topLevel(l.test) == top:
				io.WriteString(p.w, l.text)
			case mine && e.Action != "fail":
			default:
				keep = append(keep, l)
			}
		}
		p.buf[e.Package] = keep
	}
}

type allowed struct{ pkg, test, reason string }

func readAllowList(p string) ([]allowed, error) {
	b, err := os.ReadFile(p)
	if err != nil {
		return nil, err
	}
	var out []allowed
	for i, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Fields(line)
		if len(f) < 3 {
			return nil, fmt.Errorf("%s:%d: want PACKAGE TEST REASON..., got %q", p, i+1, line)
		}
		if _, err := path.Match(f[1], ""); err != nil {
			return nil, fmt.Errorf("%s:%d: bad test pattern %q: %v", p, i+1, f[1], err)
		}
		out = append(out, allowed{f[0], f[1], strings.Join(f[2:], " ")})
	}
	return out, nil
}

// check reports the skips recorded in logPath.
func check(allowPath, logPath string, w io.Writer) error {
	allow, err := readAllowList(allowPath)
	if err != nil {
		return err
	}
	f, err := os.Open(logPath)
	if err != nil {
		return err
	}
	defer f.Close()
	type key struct{ pkg, test string }
	output := map[key][]string{}
	var skipped []key
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for sc.Scan() {
		var e event
		if json.Unmarshal(sc.Bytes(), &e) != nil || e.Test == "" {
			continue
		}
		k := key{e.Package, e.Test}
		switch e.Action {
		case "output":
			if s := strings.TrimSpace(e.Output); s != "" && !strings.HasPrefix(s, "=== ") && !strings.HasPrefix(s, "--- ") {
				output[k] = append(output[k], s)
			}
		case "skip":
			skipped = append(skipped, k)
		}
	}
	if err := sc.Err(); err != nil {
		return err
	}
	sort.Slice(skipped, func(i, j int) bool {
		if skipped[i].pkg != skipped[j].pkg {
			return skipped[i].pkg < skipped[j].pkg
		}
		return skipped[i].test < skipped[j].test
	})
	var bad []string
	nAllowed := 0
	for _, k := range skipped {
		reason := ""
		for _, a := range allow {
			if ok, _ := path.Match(a.test, k.test); ok && a.pkg == k.pkg {
				reason = a.reason
				break
			}
		}
		why := strings.Join(output[k], " | ")
		if reason != "" {
			nAllowed++
			fmt.Fprintf(w, "skipped (allowed: %s): %s %s: %s\n", reason, k.pkg, k.test, why)
			continue
		}
		bad = append(bad, fmt.Sprintf("%s %s: %s", k.pkg, k.test, why))
		fmt.Fprintf(w, "SKIPPED, NOT ALLOWED: %s %s: %s\n", k.pkg, k.test, why)
	}
	fmt.Fprintf(w, "skipped tests: %d (%d on the allow-list %s)\n", len(skipped), nAllowed, allowPath)
	if len(bad) > 0 {
		return fmt.Errorf("%d skipped tests are not on %s: make each run (install what it needs: scripts/install-deps.sh), or allow it there with a reason", len(bad), allowPath)
	}
	return nil
}
