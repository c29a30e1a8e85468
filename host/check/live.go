package check

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"

	"github.com/xenify/xenify/run"
)

// Live is the host xenify runs on, asking the toolstack through r.
func Live(r run.Runner) *Host {
	return &Host{
		Root: "/",
		FreeMemory: func(ctx context.Context, toolstack string) (int, error) {
			if toolstack == "" {
				toolstack = "xl"
			}
			out, err := r.Run(ctx, run.Cmd{Argv: []string{toolstack, "info"}})
			if err != nil {
				return 0, err
			}
			return ParseFreeMemory(string(out))
		},
		Attached: func(ctx context.Context) ([]Attachment, error) {
			out, err := r.Run(ctx, run.Cmd{Argv: []string{"xenstore-ls", "-f", "/local/domain/0/backend"}})
			if NoBackends(err) {
				return nil, nil
			}
			if err != nil {
				return nil, err
			}
			return ParseBackends(string(out)), nil
		},
	}
}

// NoBackends reports whether xenstore-ls failed only because dom0 has
// no backend directory yet: before the first guest starts, xenstore has
// no /local/domain/0/backend, and xenstore-ls says "xs_directory
// (/local/domain/0/backend): No such file or directory" (seen in the
// boot tier). No backend means no disk is attached.
func NoBackends(err error) bool {
	var re *run.Error
	return errors.As(err, &re) && strings.Contains(re.Stderr, "xs_directory") && strings.Contains(re.Stderr, "No such file or directory")
}

// ParseFreeMemory reads free_memory (MiB) from `xl info` or `xm info`.
func ParseFreeMemory(info string) (int, error) {
	for _, line := range strings.Split(info, "\n") {
		k, v, ok := strings.Cut(line, ":")
		if ok && strings.TrimSpace(k) == "free_memory" {
			return strconv.Atoi(strings.TrimSpace(v))
		}
	}
	return 0, fmt.Errorf("no free_memory line in the toolstack's info")
}

// ParseBackends reads `xenstore-ls -f /local/domain/0/backend` output:
// lines "/local/domain/0/backend/vbd/DOMID/DEV/KEY = "VALUE"", for the
// block backends (vbd, qdisk, tap, vbd3).
func ParseBackends(out string) []Attachment {
	type key struct{ kind, dom, dev string }
	m := map[key]*Attachment{}
	var order []key
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		path, val, ok := strings.Cut(sc.Text(), " = ")
		if !ok {
			continue
		}
		val = strings.Trim(strings.TrimSpace(val), `"`)
		f := strings.Split(strings.TrimPrefix(strings.TrimSpace(path), "/local/domain/0/backend/"), "/")
		if len(f) != 4 {
			continue
		}
		switch f[0] {
		case "vbd", "qdisk", "tap", "vbd3":
		default:
			continue
		}
		k := key{f[0], f[1], f[2]}
		a := m[k]
		if a == nil {
			id, err := strconv.Atoi(f[1])
			if err != nil {
				continue
			}
			a = &Attachment{DomID: id}
			m[k] = a
			order = append(order, k)
		}
		switch f[3] {
		case "params":
			// xm writes "aio:/img" or "/img"; xl the path.
			if i := strings.LastIndex(val, ":/"); i >= 0 {
				val = val[i+1:]
			}
			a.Params = val
		case "physical-device":
			a.Device = val
		}
	}
	var res []Attachment
	for _, k := range order {
		res = append(res, *m[k])
	}
	return res
}

func rdevOf(st os.FileInfo) (uint64, bool) {
	s, ok := st.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, false
	}
	return uint64(s.Rdev), true
}
