package inspect

import (
	"regexp"
	"strconv"
	"strings"

	"github.com/xenify/xenify/conf/shellvars"
	"github.com/xenify/xenify/guest"
	"github.com/xenify/xenify/xerr"
)

// OS identifies the distribution.
type OS struct {
	Family  string `json:"family"` // redhat or debian
	Distro  string `json:"distro"` // centos, rhel, scientific, fedora, rocky, almalinux, debian, ubuntu
	Version string `json:"version"`
	Major   int    `json:"major"`
	Minor   int    `json:"minor"`
	Name    string `json:"name"`   // human-readable, from the release file
	Source  string `json:"source"` // the file it came from
}

// String is "CentOS 4.4".
func (o OS) String() string { return o.Name }

var releaseVersion = regexp.MustCompile(`release (\d+)(?:\.(\d+))?`)

// redhatFiles are checked in order; the most specific first.
var redhatFiles = []struct{ path, distro string }{
	{"/etc/centos-release", "centos"},
	{"/etc/rocky-release", "rocky"},
	{"/etc/almalinux-release", "almalinux"},
	{"/etc/fedora-release", "fedora"},
	{"/etc/redhat-release", ""},
}

// detectOS reads the sources in the order the distributions define
// them: os-release (/etc, then /usr/lib), then /etc/lsb-release (Ubuntu
// before 12.04 names itself only there; its debian_version says
// "squeeze/sid"), then the release files (/etc/*-release of the RHEL
// family, /etc/debian_version). A RHEL-family release file still refines
// the version os-release gives: CentOS 7's VERSION_ID is "7", its
// centos-release says 7.9.
func detectOS(root *guest.Root) (OS, error) {
	rel, err := redhatRelease(root)
	if err != nil {
		return OS{}, err
	}
	o, ok, err := fromOSRelease(root)
	if err != nil {
		return OS{}, err
	}
	if ok {
		if o.Family == "redhat" && rel != nil && rel.Major == o.Major {
			o.Version, o.Minor, o.Name, o.Source = rel.Version, rel.Minor, rel.Name, rel.Source
		}
		return o, nil
	}
	if o, ok, err := fromLSBRelease(root); err != nil || ok {
		return o, err
	}
	if rel != nil {
		return *rel, nil
	}
	dv, err := readOptional(root, "/etc/debian_version")
	if err != nil {
		return OS{}, err
	}
	if dv != nil {
		o := OS{Family: "debian", Distro: "debian", Version: strings.TrimSpace(string(dv)), Source: "/etc/debian_version"}
		o.Name = "Debian " + o.Version
		parseVersion(&o)
		return o, nil
	}
	return OS{}, xerr.Refuse("/etc", 0, "xenify converts RHEL-family (CentOS, RHEL, Scientific, Fedora, Rocky, Alma) and Debian-family (Debian, Ubuntu) guests; check that SOURCE is the guest's root filesystem", "unknown distribution: no /etc/os-release, /etc/lsb-release, /etc/redhat-release or /etc/debian_version")
}

// redhatRelease reads the most specific RHEL-family release file, nil
// when there is none.
func redhatRelease(root *guest.Root) (*OS, error) {
	for _, rf := range redhatFiles {
		data, err := readOptional(root, rf.path)
		if err != nil {
			return nil, err
		}
		if data == nil {
			continue
		}
		line := strings.TrimSpace(strings.SplitN(string(data), "\n", 2)[0])
		o := OS{Family: "redhat", Distro: rf.distro, Name: line, Source: rf.path}
		if o.Distro == "" {
			lower := strings.ToLower(line)
			switch {
			case strings.HasPrefix(lower, "centos"):
				o.Distro = "centos"
			case strings.HasPrefix(lower, "scientific"):
				o.Distro = "scientific"
			case strings.HasPrefix(lower, "red hat"):
				o.Distro = "rhel"
			case strings.HasPrefix(lower, "fedora"):
				o.Distro = "fedora"
			default:
				o.Distro = "rhel"
			}
		}
		m := releaseVersion.FindStringSubmatch(line)
		if m == nil {
			return nil, xerr.Refuse(rf.path, 1, "xenify supports RHEL-family releases that name their version as in \"CentOS release 4.4 (Final)\"", "cannot find the release version in %q", line)
		}
		o.Major, _ = strconv.Atoi(m[1])
		o.Minor, _ = strconv.Atoi(m[2])
		o.Version = m[1]
		if m[2] != "" {
			o.Version += "." + m[2]
		}
		// RHEL 4 names its updates "Update N" instead of a minor version.
		if u := updateRe.FindStringSubmatch(line); u != nil && m[2] == "" {
			o.Minor, _ = strconv.Atoi(u[1])
			o.Version = m[1] + "." + u[1]
		}
		return &o, nil
	}
	return nil, nil
}

var updateRe = regexp.MustCompile(`Update (\d+)`)

// fromOSRelease identifies the guest from /etc/os-release (or
// /usr/lib/os-release); ok is false when neither names a family xenify
// knows.
func fromOSRelease(root *guest.Root) (OS, bool, error) {
	src := "/etc/os-release"
	osr, err := readOptional(root, src)
	if err != nil {
		return OS{}, false, err
	}
	if osr == nil {
		src = "/usr/lib/os-release"
		if osr, err = readOptional(root, src); err != nil || osr == nil {
			return OS{}, false, err
		}
	}
	f, err := shellvars.Parse(src, osr)
	if err != nil {
		return OS{}, false, nil
	}
	id, _ := f.Get("ID")
	ver, _ := f.Get("VERSION_ID")
	name, _ := f.Get("PRETTY_NAME")
	like, _ := f.Get("ID_LIKE")
	o := OS{Distro: id, Version: ver, Name: name, Source: src}
	switch {
	case id == "debian" || id == "ubuntu" || strings.Contains(like, "debian"):
		o.Family = "debian"
	case id == "rhel" || id == "centos" || id == "fedora" || id == "rocky" || id == "almalinux" || strings.Contains(like, "rhel") || strings.Contains(like, "fedora"):
		o.Family = "redhat"
	default:
		return OS{}, false, nil
	}
	parseVersion(&o)
	if o.Distro == "debian" && o.Version == "" {
		// Debian testing and unstable have no VERSION_ID.
		dv, err := readOptional(root, "/etc/debian_version")
		if err != nil {
			return OS{}, false, err
		}
		if dv != nil {
			o.Version = strings.TrimSpace(string(dv))
			parseVersion(&o)
		}
	}
	return o, true, nil
}

// lsbPath is where Ubuntu (and derivatives) name the release; before
// 12.04 Ubuntu had no os-release.
const lsbPath = "/etc/lsb-release"

// fromLSBRelease identifies a Debian-family guest from /etc/lsb-release
// (DISTRIB_ID=Ubuntu, DISTRIB_RELEASE=10.04); ok is false when the file
// is missing or names another distribution.
func fromLSBRelease(root *guest.Root) (OS, bool, error) {
	data, err := readOptional(root, lsbPath)
	if err != nil || data == nil {
		return OS{}, false, err
	}
	f, err := shellvars.Parse(lsbPath, data)
	if err != nil {
		return OS{}, false, nil
	}
	id, _ := f.Get("DISTRIB_ID")
	ver, _ := f.Get("DISTRIB_RELEASE")
	desc, _ := f.Get("DISTRIB_DESCRIPTION")
	id = strings.ToLower(strings.TrimSpace(id))
	if id != "ubuntu" && id != "debian" {
		return OS{}, false, nil
	}
	o := OS{Family: "debian", Distro: id, Version: strings.TrimSpace(ver), Name: strings.TrimSpace(desc), Source: lsbPath}
	if o.Name == "" {
		o.Name = f0(id) + " " + o.Version
	}
	parseVersion(&o)
	return o, true, nil
}

// f0 capitalises the first letter of an ASCII id.
func f0(s string) string {
	if s == "" || s[0] < 'a' || s[0] > 'z' {
		return s
	}
	return string(s[0]-'a'+'A') + s[1:]
}

func parseVersion(o *OS) {
	parts := strings.SplitN(o.Version, ".", 3)
	o.Major, _ = strconv.Atoi(parts[0])
	if len(parts) > 1 {
		o.Minor, _ = strconv.Atoi(parts[1])
	}
}
