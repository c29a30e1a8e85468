package inspect

import (
	"fmt"
	"path"
	"strings"

	"github.com/xenify/xenify/conf/inittab"
	"github.com/xenify/xenify/guest"
	"github.com/xenify/xenify/xerr"
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
		f, err := inittab.Parse("/etc/inittab", data)
		if err != nil {
			return nil, &xerr.Refused{Path: "/etc/inittab", Msg: "cannot parse", Err: err}
		}
		for _, g := range f.Gettys() {
			if g.TTY != "" && (g.Action == "respawn" || g.Action == "once") {
				out = append(out, Getty{TTY: strings.TrimPrefix(g.TTY, "/dev/"), Source: fmt.Sprintf("/etc/inittab:%d", g.Line)})
			}
		}
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
					if g, ok := inittab.ParseGetty(strings.Join(f[1:], " ")); ok && g.TTY != "" {
						out = append(out, Getty{TTY: g.TTY, Source: j})
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
