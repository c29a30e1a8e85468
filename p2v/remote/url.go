// Package remote reads a disk of another machine over SSH, agentless:
// nothing is installed or written on the remote side. Every request is one
// POSIX sh command line, built here from validated pieces, that runs only
// dd (bs=, skip=, count=), md5sum or cksum, and optionally gzip, through
// one multiplexed connection of the system's OpenSSH client.
//
// A Device is an io.ReaderAt (small reads are cached in windows and can be
// prefetched in one request), streams many extents with one command, and
// hashes ranges remotely, which is what p2v.Copy needs for a used-block copy,
// a --verify and a --sync pass.
package remote

import (
	"errors"
	"fmt"
	"net/url"
	"path"
	"strconv"
	"strings"
)

// ErrBadURL is wrapped by ParseURL's errors.
var ErrBadURL = errors.New("invalid ssh:// source")

// Target is a parsed ssh://[user@]host[:port]/dev/... source.
type Target struct {
	User   string // "" : ssh's default or config
	Host   string // name or IP address (IPv6 without brackets)
	Port   int    // 0 : ssh's default or config
	Device string // absolute path under /dev
}

// IsURL tells whether s names a remote disk.
func IsURL(s string) bool { return strings.HasPrefix(s, "ssh://") }

// ParseURL parses and validates an ssh:// source. Only these pieces ever
// reach a command line, so they are restricted to characters that need no
// quoting: a user name and host of letters, digits, '.', '_' and '-' (not
// first), and a clean device path under /dev.
func ParseURL(s string) (Target, error) {
	bad := func(format string, args ...any) (Target, error) {
		return Target{}, fmt.Errorf("%w %q: %s", ErrBadURL, s, fmt.Sprintf(format, args...))
	}
	if !IsURL(s) {
		return bad("want ssh://[user@]host[:port]/dev/DEVICE")
	}
	u, err := url.Parse(s)
	if err != nil {
		return bad("%v", err)
	}
	if u.RawQuery != "" || u.Fragment != "" || u.Opaque != "" {
		return bad("no query or fragment allowed")
	}
	var t Target
	if u.User != nil {
		if _, has := u.User.Password(); has {
			return bad("no password in the URL: ssh authenticates with keys (BatchMode)")
		}
		t.User = u.User.Username()
		if !validName(t.User, false) {
			return bad("user %q: use letters, digits, '.', '_' and '-'", t.User)
		}
	}
	t.Host = u.Hostname()
	if !validName(t.Host, true) {
		return bad("host %q: use a name or an IP address", t.Host)
	}
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return bad("port %q: want 1-65535", p)
		}
		t.Port = n
	}
	t.Device = u.Path
	if err := ValidDevicePath(t.Device); err != nil {
		return bad("%v", err)
	}
	return t, nil
}

// ValidDevicePath accepts a clean absolute path under /dev made of
// letters, digits and ._+-:@/ (which need no quoting on any shell).
func ValidDevicePath(p string) error {
	if !strings.HasPrefix(p, "/dev/") || path.Clean(p) != p || len(p) > 255 {
		return fmt.Errorf("device %q: want a clean path under /dev, such as /dev/sda", p)
	}
	for _, r := range p {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("._+-:@/", r)) {
			return fmt.Errorf("device %q: character %q not allowed", p, r)
		}
	}
	for _, el := range strings.Split(p, "/") {
		if el == ".." || strings.HasPrefix(el, "-") {
			return fmt.Errorf("device %q: %q not allowed", p, el)
		}
	}
	return nil
}

func validName(s string, host bool) bool {
	if s == "" || len(s) > 253 || s[0] == '-' {
		return false
	}
	for _, r := range s {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '-' || r == '_'
		if host && r == ':' { // IPv6 literal
			ok = true
		}
		if !ok {
			return false
		}
	}
	return true
}

// String is the canonical URL; it names the source in checkpoints.
func (t Target) String() string {
	host := t.Host
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	if t.Port != 0 {
		host += ":" + strconv.Itoa(t.Port)
	}
	if t.User != "" {
		host = t.User + "@" + host
	}
	return "ssh://" + host + t.Device
}

// SameHost tells whether two targets reach the same account, so that they
// can share one connection.
func (t Target) SameHost(o Target) bool {
	return t.User == o.User && t.Host == o.Host && t.Port == o.Port
}
