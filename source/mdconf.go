package source

import (
	"strings"

	"github.com/xenify/xenify/guest"
)

// mdConfPaths are where guests keep mdadm's configuration: RHEL family
// and SUSE /etc/mdadm.conf, Debian and Ubuntu /etc/mdadm/mdadm.conf.
var mdConfPaths = []string{"/etc/mdadm.conf", "/etc/mdadm/mdadm.conf"}

// MDConfArray is one ARRAY line of the guest's mdadm.conf: the device
// name the guest gives an array, and what identifies the array.
type MDConfArray struct {
	Path string // the guest file
	Line int
	Dev  string // /dev/md0, /dev/md/0, /dev/md/boot
	UUID string // 32 lower-case hex digits (normUUID), or ""
	Name string // name= (the 1.x superblock name), or ""
}

// readMDConf reads the ARRAY lines of the guest's mdadm.conf files.
func readMDConf(root *guest.Root) []MDConfArray {
	var out []MDConfArray
	for _, p := range mdConfPaths {
		if !root.IsFile(p) {
			continue
		}
		data, err := root.ReadFile(p)
		if err != nil {
			continue
		}
		out = append(out, parseMDConf(p, data)...)
	}
	return out
}

// parseMDConf reads ARRAY lines as mdadm does: '#' starts a comment, a
// line starting with white space continues the previous one, keywords
// are case-insensitive and may be abbreviated to three letters ("ARR").
func parseMDConf(path string, data []byte) []MDConfArray {
	type logical struct {
		line int
		text string
	}
	var lines []logical
	for i, l := range strings.Split(string(data), "\n") {
		if c := strings.IndexByte(l, '#'); c >= 0 {
			l = l[:c]
		}
		if l != "" && (l[0] == ' ' || l[0] == '\t') && len(lines) > 0 {
			lines[len(lines)-1].text += " " + l
			continue
		}
		lines = append(lines, logical{i + 1, l})
	}
	var out []MDConfArray
	for _, l := range lines {
		f := strings.Fields(l.text)
		if len(f) < 2 || len(f[0]) < 3 || !strings.HasPrefix("array", strings.ToLower(f[0])) {
			continue
		}
		a := MDConfArray{Path: path, Line: l.line}
		for _, w := range f[1:] {
			k, v, ok := strings.Cut(w, "=")
			switch {
			case !ok && strings.HasPrefix(w, "/dev/"):
				a.Dev = w
			case ok && strings.EqualFold(k, "uuid"):
				a.UUID = normUUID(v)
			case ok && strings.EqualFold(k, "name"):
				a.Name = v
			}
		}
		if a.Dev != "" && (a.UUID != "" || a.Name != "") {
			out = append(out, a)
		}
	}
	return out
}

// normUUID keeps the hex digits of an md UUID, lower case: mdadm prints
// 8:8:8:8 and accepts any separators. 1.x UUIDs are the superblock's
// bytes in order; 0.90 ones are its four 32-bit words, each printed as a
// number (md.Superblock.UUID is in that same form).
func normUUID(s string) string {
	var b strings.Builder
	for _, c := range strings.ToLower(s) {
		if (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') {
			b.WriteRune(c)
		}
	}
	if b.Len() != 32 {
		return ""
	}
	return b.String()
}

// sameMDDev reports whether two md device names name the same array:
// /dev/md0 and /dev/md/0 do (udev links one to the other).
func sameMDDev(a, b string) bool {
	canon := func(s string) string {
		if g := mdDev.FindStringSubmatch(s); g != nil {
			return "/dev/md" + g[1]
		}
		return s
	}
	return canon(a) == canon(b)
}

// confArray returns the mdadm.conf entry naming dev, if any.
func (m *Map) confArray(dev string) (MDConfArray, bool) {
	for _, a := range m.MDConf {
		if sameMDDev(a.Dev, dev) {
			return a, true
		}
	}
	return MDConfArray{}, false
}

// matches reports whether volume v is the array a describes.
func (a MDConfArray) matches(v Volume) bool {
	if v.MD == "" {
		return false
	}
	if a.UUID != "" {
		return normUUID(v.MD) == a.UUID
	}
	return v.MDName == a.Name || mdShortName(v.MDName) == mdShortName(a.Name)
}

// mdShortName is an array name without its "homehost:" prefix.
func mdShortName(s string) string {
	if _, short, ok := strings.Cut(s, ":"); ok {
		return short
	}
	return s
}
