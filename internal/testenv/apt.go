package testenv

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// AptMirror returns the URI this machine's apt sources give for suite
// (the first "deb" source listing it), the way apt itself picks its
// sources: /etc/apt/sources.list, then sources.list.d/*.list (one-line
// format) and *.sources (deb822) in name order. Test guests are built from
// the machine's own mirror, so the repository never names one.
func AptMirror(suite string) (string, error) {
	return aptMirror("/etc/apt", suite)
}

func aptMirror(etcApt, suite string) (string, error) {
	files := []string{filepath.Join(etcApt, "sources.list")}
	d, _ := filepath.Glob(filepath.Join(etcApt, "sources.list.d", "*"))
	sort.Strings(d)
	files = append(files, d...)
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		var uri string
		switch {
		case strings.HasSuffix(f, ".sources"):
			uri = deb822Mirror(string(b), suite)
		case strings.HasSuffix(f, ".list") || f == files[0]:
			uri = oneLineMirror(string(b), suite)
		}
		if uri != "" {
			return uri, nil
		}
	}
	return "", fmt.Errorf("no deb source for %s in %s/sources.list or sources.list.d: add one, as apt needs it too", suite, etcApt)
}

// oneLineMirror reads "deb [options] URI SUITE COMPONENT..." lines.
func oneLineMirror(text, suite string) string {
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		line, _, _ := strings.Cut(sc.Text(), "#")
		f := strings.Fields(line)
		if len(f) < 3 || f[0] != "deb" {
			continue
		}
		f = f[1:]
		if strings.HasPrefix(f[0], "[") {
			// Options: "[arch=amd64 signed-by=...]", possibly several fields.
			for len(f) > 0 && !strings.HasSuffix(f[0], "]") {
				f = f[1:]
			}
			if len(f) == 0 {
				continue
			}
			f = f[1:]
		}
		if len(f) >= 2 && f[1] == suite {
			return f[0]
		}
	}
	return ""
}

// deb822Mirror reads stanzas with Types, URIs, Suites and Enabled fields.
func deb822Mirror(text, suite string) string {
	for _, stanza := range deb822Stanzas(text) {
		if strings.EqualFold(stanza["enabled"], "no") || !hasWord(stanza["types"], "deb") || !hasWord(stanza["suites"], suite) {
			continue
		}
		if uris := strings.Fields(stanza["uris"]); len(uris) > 0 {
			return uris[0]
		}
	}
	return ""
}

func hasWord(s, w string) bool {
	for _, f := range strings.Fields(s) {
		if f == w {
			return true
		}
	}
	return false
}

// deb822Stanzas splits deb822 text into stanzas of lower-cased field names;
// continuation lines (starting with a space or tab) extend the previous
// field; comment lines are dropped.
func deb822Stanzas(text string) []map[string]string {
	var out []map[string]string
	cur := map[string]string{}
	last := ""
	flush := func() {
		if len(cur) > 0 {
			out = append(out, cur)
		}
		cur, last = map[string]string{}, ""
	}
	for _, line := range strings.Split(text, "\n") {
		switch {
		case strings.HasPrefix(line, "#"):
		case strings.TrimSpace(line) == "":
			flush()
		case line[0] == ' ' || line[0] == '\t':
			if last != "" {
				cur[last] += " " + strings.TrimSpace(line)
			}
		default:
			k, v, ok := strings.Cut(line, ":")
			if !ok {
				continue
			}
			last = strings.ToLower(strings.TrimSpace(k))
			cur[last] = strings.TrimSpace(v)
		}
	}
	flush()
	return out
}
