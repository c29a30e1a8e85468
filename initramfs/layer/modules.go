package layer

import (
	"fmt"
	"path"
	"strings"
)

// depTable is a kernel's modules.dep: each module's path (relative to
// the modules directory) and the modules it needs, by name.
type depTable struct {
	path map[string]string   // normalized name -> relative path
	deps map[string][]string // normalized name -> normalized names
}

// moduleName is a module's name from its file name, normalized as
// modprobe does ('-' and '_' alike).
func moduleName(p string) string {
	base := path.Base(p)
	for _, s := range []string{".ko.gz", ".ko.xz", ".ko.zst", ".ko.bz2", ".ko"} {
		if strings.HasSuffix(base, s) {
			return norm(strings.TrimSuffix(base, s))
		}
	}
	return ""
}

func norm(s string) string { return strings.ReplaceAll(s, "-", "_") }

// parseModulesDep reads modules.dep. Kernels before 2.6.32
// (module-init-tools < 3.9) wrote absolute paths (/lib/modules/VER/...);
// later ones write paths relative to the modules directory.
func parseModulesDep(data []byte, kver string) (*depTable, error) {
	t := &depTable{path: map[string]string{}, deps: map[string][]string{}}
	abs := "/lib/modules/" + kver + "/"
	rel := func(p string) string {
		p = strings.TrimPrefix(p, "/usr")
		return strings.TrimPrefix(p, abs)
	}
	for i, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		mod, deps, ok := strings.Cut(line, ":")
		name := moduleName(mod)
		if !ok || name == "" {
			return nil, fmt.Errorf("line %d: %q is not \"module.ko: dependencies\"", i+1, line)
		}
		r := rel(mod)
		if strings.HasPrefix(r, "/") || strings.Contains(r, "..") {
			return nil, fmt.Errorf("line %d: %s is outside the modules directory", i+1, mod)
		}
		t.path[name] = r
		for _, d := range strings.Fields(deps) {
			dn := moduleName(d)
			if dn == "" {
				return nil, fmt.Errorf("line %d: dependency %q is not a module", i+1, d)
			}
			t.deps[name] = append(t.deps[name], dn)
		}
	}
	return t, nil
}

// closure returns name and every module it needs, dependencies first
// (the order insmod must load them in).
func (t *depTable) closure(name string) ([]string, error) {
	var out []string
	state := map[string]int{} // 1 visiting, 2 done
	var visit func(n string, chain []string) error
	visit = func(n string, chain []string) error {
		switch state[n] {
		case 1:
			return fmt.Errorf("modules.dep has a dependency loop: %s", strings.Join(append(chain, n), " -> "))
		case 2:
			return nil
		}
		if _, ok := t.path[n]; !ok {
			return fmt.Errorf("%s needs %s, which modules.dep does not list", chain[len(chain)-1], n)
		}
		state[n] = 1
		for _, d := range t.deps[n] {
			if err := visit(d, append(chain, n)); err != nil {
				return err
			}
		}
		state[n] = 2
		out = append(out, n)
		return nil
	}
	if err := visit(norm(name), nil); err != nil {
		return nil, err
	}
	return out, nil
}

// compression is the compression of a module file from its name: "",
// "gzip", "xz", "zstd" or "bzip2".
func compression(p string) string {
	switch {
	case strings.HasSuffix(p, ".ko.gz"):
		return "gzip"
	case strings.HasSuffix(p, ".ko.xz"):
		return "xz"
	case strings.HasSuffix(p, ".ko.zst"):
		return "zstd"
	case strings.HasSuffix(p, ".ko.bz2"):
		return "bzip2"
	}
	return ""
}
