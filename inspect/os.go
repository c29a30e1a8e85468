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

func detectOS(root *guest.Root) (OS, error) {
	for _, rf := range redhatFiles {
		data, err := readOptional(root, rf.path)
		if err != nil {
			return OS{}, err
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
			return OS{}, xerr.Refuse(rf.path, 1, "xenify supports RHEL-family releases that name their version as in \"CentOS release 4.4 (Final)\"", "cannot find the release version in %q", line)
		}
		o.Major, _ = strconv.Atoi(m[1])
		o.Minor, _ = strconv.Atoi(m[2])
		o.Version = m[1]
		if m[2] != "" {
			o.Version += "." + m[2]
		}
		// RHEL 4 names its updates "Update N" instead of a minor version.
		if u := regexp.MustCompile(`Update (\d+)`).FindStringSubmatch(line); u != nil && m[2] == "" {
			o.Minor, _ = strconv.Atoi(u[1])
			o.Version = m[1] + "." + u[1]
		}
		return o, nil
	}
	osr, err := readOptional(root, "/etc/os-release")
	if err != nil {
		return OS{}, err
	}
	if osr == nil {
		if osr, err = readOptional(root, "/usr/lib/os-release"); err != nil {
			return OS{}, err
		}
	}
	dv, err := readOptional(root, "/etc/debian_version")
	if err != nil {
		return OS{}, err
	}
	if osr != nil {
		f, err := shellvars.Parse("/etc/os-release", osr)
		if err == nil {
			id, _ := f.Get("ID")
			ver, _ := f.Get("VERSION_ID")
			name, _ := f.Get("PRETTY_NAME")
			like, _ := f.Get("ID_LIKE")
			o := OS{Distro: id, Version: ver, Name: name, Source: "/etc/os-release"}
			switch {
			case id == "debian" || id == "ubuntu" || strings.Contains(like, "debian"):
				o.Family = "debian"
			case id == "rhel" || id == "centos" || id == "fedora" || id == "rocky" || id == "almalinux" || strings.Contains(like, "rhel") || strings.Contains(like, "fedora"):
				o.Family = "redhat"
			}
			if o.Family != "" {
				parseVersion(&o)
				if o.Distro == "debian" && dv != nil && o.Version == "" {
					o.Version = strings.TrimSpace(string(dv))
					parseVersion(&o)
				}
				return o, nil
			}
		}
	}
	if dv != nil {
		o := OS{Family: "debian", Distro: "debian", Version: strings.TrimSpace(string(dv)), Source: "/etc/debian_version"}
		o.Name = "Debian " + o.Version
		parseVersion(&o)
		return o, nil
	}
	return OS{}, xerr.Refuse("/etc", 0, "xenify converts RHEL-family (CentOS, RHEL, Scientific, Fedora, Rocky, Alma) and Debian-family (Debian, Ubuntu) guests; check that SOURCE is the guest's root filesystem", "unknown distribution: no /etc/redhat-release, /etc/os-release or /etc/debian_version")
}

func parseVersion(o *OS) {
	parts := strings.SplitN(o.Version, ".", 3)
	o.Major, _ = strconv.Atoi(parts[0])
	if len(parts) > 1 {
		o.Minor, _ = strconv.Atoi(parts[1])
	}
}
