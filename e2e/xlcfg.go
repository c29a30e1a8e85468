package e2e

import (
	"errors"
	"fmt"
	"sort"
	"strings"
)

// xlString is one quoted string value in an xl domain config.
type xlString struct {
	key        string // the setting it belongs to, e.g. "disk"
	start, end int    // byte span of the contents, without quotes
	val        string
}

// xlStrings returns every quoted string value in an xl config (xl.cfg(5):
// KEY = "str" | 'str' | number | [ list ], # comments), with the key it is
// assigned to. It reports an error for an unterminated string or list.
func xlStrings(cfg []byte) ([]xlString, error) {
	var out []xlString
	s := string(cfg)
	key, depth, line := "", 0, 1
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\n':
			line++
		case c == '#':
			for i < len(s) && s[i] != '\n' {
				i++
			}
			i--
		case c == '"' || c == '\'':
			j := strings.IndexByte(s[i+1:], c)
			if j < 0 {
				return nil, fmt.Errorf("line %d: unterminated string", line)
			}
			val := s[i+1 : i+1+j]
			if strings.Contains(val, "\n") {
				return nil, fmt.Errorf("line %d: newline in string", line)
			}
			out = append(out, xlString{key: key, start: i + 1, end: i + 1 + j, val: val})
			i += j + 1
		case c == '[':
			depth++
		case c == ']':
			if depth == 0 {
				return nil, fmt.Errorf("line %d: unbalanced ]", line)
			}
			depth--
		case depth == 0 && (c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'):
			j := i
			for j < len(s) && (s[j] == '_' || s[j] >= 'a' && s[j] <= 'z' || s[j] >= 'A' && s[j] <= 'Z' || s[j] >= '0' && s[j] <= '9') {
				j++
			}
			key = s[i:j]
			i = j - 1
		}
	}
	if depth != 0 {
		return nil, errors.New("unterminated list")
	}
	return out, nil
}

// diskTarget returns the byte span of the target inside one xl disk spec
// (xl-disk-configuration(5)): either "target=..." (always the last item) or
// the first positional item, whose "phy:"/"file:"/"tap:...:" prefix is kept.
func diskTarget(spec string) (start, end int) {
	if i := strings.Index(spec, "target="); i >= 0 && (i == 0 || spec[i-1] == ',' || spec[i-1] == ' ') {
		return i + len("target="), len(spec)
	}
	off := 0
	for _, item := range strings.Split(spec, ",") {
		t := strings.TrimSpace(item)
		if t != "" && !strings.Contains(t, "=") {
			lead := strings.Index(item, t)
			p := off + lead
			if k := strings.LastIndex(t, ":"); k >= 0 && !strings.HasPrefix(t, "/") {
				p += k + 1
			}
			return p, off + lead + len(t)
		}
		off += len(item) + 1
	}
	return -1, -1
}

// RewriteDiskPath returns the xl config with every disk whose target is
// hostPath pointed at dom0Path instead. This is the one edit the e2e tier
// makes to xenify's domain config: the image sits at hostPath on the
// conversion host but reaches dom0 as a virtio disk. It fails if no disk
// names hostPath.
func RewriteDiskPath(cfg []byte, hostPath, dom0Path string) ([]byte, error) {
	strs, err := xlStrings(cfg)
	if err != nil {
		return nil, fmt.Errorf("parsing domain config: %w", err)
	}
	var b strings.Builder
	last, n := 0, 0
	for _, st := range strs {
		if st.key != "disk" {
			continue
		}
		ts, te := diskTarget(st.val)
		if ts < 0 || strings.TrimSpace(st.val[ts:te]) != hostPath {
			continue
		}
		b.Write(cfg[last : st.start+ts])
		b.WriteString(dom0Path)
		last = st.start + te
		n++
	}
	if n == 0 {
		return nil, fmt.Errorf("domain config has no disk with target %s", hostPath)
	}
	b.Write(cfg[last:])
	return []byte(b.String()), nil
}

// ConfigFiles returns the host files a domain config names by absolute path
// and dom0 must hold at the same path: kernel, ramdisk and device_tree (set
// for direct kernel boot).
func ConfigFiles(cfg []byte) ([]string, error) {
	strs, err := xlStrings(cfg)
	if err != nil {
		return nil, fmt.Errorf("parsing domain config: %w", err)
	}
	var files []string
	for _, st := range strs {
		switch st.key {
		case "kernel", "ramdisk", "device_tree":
			if strings.HasPrefix(st.val, "/") {
				files = append(files, st.val)
			}
		}
	}
	return files, nil
}

// ConfigName returns the name= setting of a domain config.
func ConfigName(cfg []byte) (string, error) {
	strs, err := xlStrings(cfg)
	if err != nil {
		return "", fmt.Errorf("parsing domain config: %w", err)
	}
	for _, st := range strs {
		if st.key == "name" {
			return st.val, nil
		}
	}
	return "", errors.New("domain config has no name")
}

// Disk is one disk of a domain config: the guest's virtual device and the
// dom0 path behind it.
type Disk struct{ Vdev, Target string }

func (d Disk) String() string { return d.Vdev + "=" + d.Target }

// ConfigDisks returns the disks of a domain config in order. The target is
// read as RewriteDiskPath reads it; the vdev is the "vdev=" item, or ""
// for the positional (legacy) forms.
func ConfigDisks(cfg []byte) ([]Disk, error) {
	strs, err := xlStrings(cfg)
	if err != nil {
		return nil, fmt.Errorf("parsing domain config: %w", err)
	}
	var out []Disk
	for _, st := range strs {
		if st.key != "disk" {
			continue
		}
		var d Disk
		if ts, te := diskTarget(st.val); ts >= 0 {
			d.Target = strings.TrimSpace(st.val[ts:te])
		}
		for _, item := range strings.Split(st.val, ",") {
			if k, v, ok := strings.Cut(strings.TrimSpace(item), "="); ok && strings.TrimSpace(k) == "vdev" {
				d.Vdev = strings.TrimSpace(v)
			}
		}
		out = append(out, d)
	}
	return out, nil
}

// VolumeGroups returns, once each and in order, the LVM volume groups
// whose logical volumes the disks name by their /dev/VG/LV path: dom0 must
// activate them before xl create. Other /dev/X/Y paths (disk/by-id,
// mapper, md, ...) are not volume groups.
func VolumeGroups(disks []Disk) []string {
	notVG := map[string]bool{"disk": true, "mapper": true, "md": true, "block": true, "char": true,
		"loop": true, "xen": true, "shm": true, "pts": true, "net": true, "bus": true, "input": true, "cpu": true}
	var out []string
	seen := map[string]bool{}
	for _, d := range disks {
		rest, ok := strings.CutPrefix(d.Target, "/dev/")
		if !ok {
			continue
		}
		vg, lv, ok := strings.Cut(rest, "/")
		if !ok || vg == "" || lv == "" || strings.Contains(lv, "/") || notVG[vg] || seen[vg] {
			continue
		}
		seen[vg] = true
		out = append(out, vg)
	}
	return out
}

// DiffDisks returns "" when got and want are the same disks in the same
// order, else a one-line reason naming both.
func DiffDisks(got, want []Disk) string {
	same := len(got) == len(want)
	for i := 0; same && i < len(got); i++ {
		same = got[i] == want[i]
	}
	if same {
		return ""
	}
	list := func(ds []Disk) string {
		s := make([]string, len(ds))
		for i, d := range ds {
			s[i] = d.String()
		}
		return "[" + strings.Join(s, " ") + "]"
	}
	return "disks are " + list(got) + ", want " + list(want)
}

// ConfigSettings returns the scalar settings of a domain config (xl.cfg(5)
// KEY = "str" | 'str' | number), strings without their quotes. Lists are
// left out. It reports an error for a malformed line or string.
func ConfigSettings(cfg []byte) (map[string]string, error) {
	strs, err := xlStrings(cfg)
	if err != nil {
		return nil, fmt.Errorf("parsing domain config: %w", err)
	}
	// Quoted values by where they start; bare values are read here.
	quoted := map[int]string{}
	for _, st := range strs {
		quoted[st.start-1] = st.val
	}
	out := map[string]string{}
	s := string(cfg)
	depth := 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '#':
			for i < len(s) && s[i] != '\n' {
				i++
			}
		case c == '"' || c == '\'':
			i = strings.IndexByte(s[i+1:], c) + i + 1
		case c == '[':
			depth++
		case c == ']':
			depth--
		case depth == 0 && isKeyByte(c, true):
			j := i
			for j < len(s) && isKeyByte(s[j], false) {
				j++
			}
			key := s[i:j]
			k := j
			for k < len(s) && (s[k] == ' ' || s[k] == '\t') {
				k++
			}
			if k >= len(s) || s[k] != '=' {
				return nil, fmt.Errorf("domain config: %q is not followed by =", key)
			}
			k++
			for k < len(s) && (s[k] == ' ' || s[k] == '\t') {
				k++
			}
			switch {
			case k < len(s) && (s[k] == '"' || s[k] == '\''):
				out[key] = quoted[k]
				i = k + len(quoted[k]) + 1
			case k < len(s) && s[k] == '[':
				i = k - 1 // the list is skipped by the cases above
			default:
				e := k
				for e < len(s) && !strings.ContainsRune(" \t\r\n;#", rune(s[e])) {
					e++
				}
				if e == k {
					return nil, fmt.Errorf("domain config: %s has no value", key)
				}
				out[key] = s[k:e]
				i = e - 1
			}
		}
	}
	return out, nil
}

func isKeyByte(c byte, first bool) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || !first && c >= '0' && c <= '9'
}

// DiffSettings returns "" when the settings have every value in want, else
// a one-line reason naming each that differs, in key order.
func DiffSettings(got, want map[string]string) string {
	keys := make([]string, 0, len(want))
	for k := range want {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var bad []string
	for _, k := range keys {
		v, ok := got[k]
		switch {
		case !ok:
			bad = append(bad, fmt.Sprintf("no %s (want %q)", k, want[k]))
		case v != want[k]:
			bad = append(bad, fmt.Sprintf("%s is %q, want %q", k, v, want[k]))
		}
	}
	return strings.Join(bad, "; ")
}

// TypeAndBoot names a domain config's guest type (pv, pvh, pvh+shim)
// and boot path (pygrub, pvgrub, direct) from its settings
// (ConfigSettings), for the results table.
func TypeAndBoot(set map[string]string) (typ, boot string) {
	typ = set["type"]
	if typ == "" {
		typ = "pv"
	}
	if set["pvshim"] == "1" {
		typ += "+shim"
	}
	switch k := set["kernel"]; {
	case strings.Contains(set["bootloader"], "pygrub"):
		boot = "pygrub"
	case strings.Contains(k, "/grub-xen/"):
		boot = "pvgrub"
	case k != "":
		boot = "direct"
	case typ == "hvm":
		boot = "mbr"
	}
	return typ, boot
}
