package inspect

import (
	"path"
	"strings"

	"github.com/xenify/xenify/guest"
)

// Getty is a login prompt the guest starts.
type Getty struct {
	TTY    string `json:"tty"`
	Source string `json:"source"` // file:line or unit
}

func readGettys(root *guest.Root, init string) ([]Getty, error) {
	var out []Getty
	if data, err := readOptional(root, "/etc/inittab"); err != nil {
		return nil, err
	} else if data != nil {
		out = append(out, inittabGettys(data)...)
	}
	if init == "upstart" {
		jobs, _ := root.Glob("/etc/init/*.conf")
		for _, j := range jobs {
			data, err := readOptional(root, j)
			if err != nil || data == nil {
				continue
			}
			for _, line := range strings.Split(string(data), "\n") {
				f := strings.Fields(line)
				if len(f) >= 2 && f[0] == "exec" && strings.HasSuffix(f[1], "getty") {
					if tty := gettyTTY(f[1:]); tty != "" {
						out = append(out, Getty{TTY: tty, Source: j})
					}
				}
			}
		}
	}
	if init == "systemd" {
		for _, dir := range []string{"/etc/systemd/system/getty.target.wants", "/etc/systemd/system/multi-user.target.wants"} {
			ents, _ := root.ReadDir(dir)
			for _, e := range ents {
				n := e.Name()
				for _, pre := range []string{"getty@", "serial-getty@"} {
					if strings.HasPrefix(n, pre) && strings.HasSuffix(n, ".service") {
						out = append(out, Getty{TTY: strings.TrimSuffix(strings.TrimPrefix(n, pre), ".service"), Source: path.Join(dir, n)})
					}
				}
			}
		}
	}
	return out, nil
}

// inittabGettys finds "id:runlevels:respawn:/sbin/mingetty tty1" lines.
func inittabGettys(data []byte) []Getty {
	var out []Getty
	for i, line := range strings.Split(string(data), "\n") {
		t := strings.TrimSpace(line)
		if t == "" || t[0] == '#' {
			continue
		}
		parts := strings.SplitN(t, ":", 4)
		if len(parts) != 4 || (parts[2] != "respawn" && parts[2] != "once") {
			continue
		}
		f := strings.Fields(parts[3])
		if len(f) == 0 || !strings.HasSuffix(f[0], "getty") {
			continue
		}
		if tty := gettyTTY(f); tty != "" {
			out = append(out, Getty{TTY: tty, Source: "/etc/inittab:" + itoa(i+1)})
		}
	}
	return out
}

// gettyTTY picks the port from a getty command line: the first argument
// that is not an option or a baud rate or terminal type.
func gettyTTY(argv []string) string {
	for i := 1; i < len(argv); i++ {
		a := argv[i]
		if strings.HasPrefix(a, "-") {
			if a == "-t" || a == "-I" || a == "-l" || a == "-f" || a == "-H" {
				i++
			}
			continue
		}
		a = strings.TrimPrefix(a, "/dev/")
		if a == "" || (a[0] >= '0' && a[0] <= '9') {
			continue
		}
		if strings.HasPrefix(a, "tty") || strings.HasPrefix(a, "hvc") || strings.HasPrefix(a, "xvc") || a == "console" || strings.HasPrefix(a, "ttyS") {
			return a
		}
	}
	return ""
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	s := ""
	for n > 0 {
		s = string(rune('0'+n%10)) + s
		n /= 10
	}
	return s
}
