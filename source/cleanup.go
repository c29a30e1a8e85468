package source

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Released is what Cleanup released for one dead process.
type Released struct {
	PID     int      `json:"pid"`
	State   string   `json:"state"` // the state file
	Unmount []string `json:"unmounted,omitempty"`
	Detach  []string `json:"detached,omitempty"`
}

// Cleanup releases the mounts and loop devices recorded by xenify
// processes that no longer run (killed hard, or crashed), and removes
// their state files and mount directories. State of live processes is
// left alone. It is what 'xenify cleanup' runs, and every Open of disk
// sources runs it first.
func Cleanup() ([]Released, error) {
	files, err := filepath.Glob(filepath.Join(stateDir(), "*.json"))
	if err != nil {
		return nil, err
	}
	sort.Strings(files)
	var out []Released
	var errs []error
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			if !errors.Is(err, os.ErrNotExist) {
				errs = append(errs, err)
			}
			continue
		}
		var st State
		if err := json.Unmarshal(data, &st); err != nil {
			errs = append(errs, fmt.Errorf("state file %s: %w", f, err))
			continue
		}
		if st.PID == os.Getpid() || alive(st) {
			continue
		}
		r, err := releaseState(st)
		r.State = f
		if err != nil {
			errs = append(errs, fmt.Errorf("releasing what process %d left (%s): %w", st.PID, f, err))
			out = append(out, r)
			continue
		}
		if err := os.Remove(f); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
		out = append(out, r)
	}
	// Temp files of a state write interrupted by the kill.
	tmps, _ := filepath.Glob(filepath.Join(stateDir(), ".state-*"))
	for _, t := range tmps {
		if fi, err := os.Stat(t); err == nil && fi.Mode().IsRegular() {
			owner := ownerOfTemp(t)
			if owner == 0 {
				os.Remove(t)
			}
		}
	}
	return out, errors.Join(errs...)
}

// ownerOfTemp is 0 when no live process can be writing temp file t
// (temp files carry no PID, so any live xenify session keeps them).
func ownerOfTemp(t string) int {
	files, _ := filepath.Glob(filepath.Join(stateDir(), "*.json"))
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		var st State
		if json.Unmarshal(data, &st) == nil && alive(st) {
			return st.PID
		}
	}
	return 0
}

// releaseState unmounts everything under the dead process's mount
// directory (deepest first, lazily: nothing of a dead process can still
// be flushed by it), detaches its loop devices, and removes the mount
// directory.
func releaseState(st State) (Released, error) {
	r := Released{PID: st.PID}
	var errs []error
	if st.MountDir != "" && strings.HasPrefix(st.MountDir, mountBase()+"/") {
		points, err := mountsUnder(st.MountDir)
		if err != nil {
			errs = append(errs, err)
		}
		for _, p := range points {
			if err := unmount(p, false); err != nil {
				errs = append(errs, err)
				continue
			}
			r.Unmount = append(r.Unmount, p)
		}
	}
	// Mounts recorded outside the mount directory (none today) and those
	// already gone are both fine: unmount ignores EINVAL/ENOENT.
	for i := len(st.Items) - 1; i >= 0; i-- {
		it := st.Items[i]
		if it.Kind == "mount" && !strings.HasPrefix(it.Path, st.MountDir+"/") {
			if err := unmount(it.Path, false); err != nil {
				errs = append(errs, err)
			}
		}
	}
	loops, err := attachedLoops()
	if err != nil {
		errs = append(errs, err)
	}
	for i := len(st.Items) - 1; i >= 0; i-- {
		it := st.Items[i]
		if it.Kind != "loop" {
			continue
		}
		for _, l := range loops {
			// Identify by backing inode and offset; the recorded name alone
			// could meanwhile belong to someone else's attachment.
			if l.BDev == it.Dev && l.Ino == it.Ino && l.Offset == it.Offset && (it.Loop == "" || it.Loop == l.Dev) {
				if err := detachLoop(l.Dev); err != nil {
					errs = append(errs, err)
					continue
				}
				r.Detach = append(r.Detach, l.Dev)
			}
		}
	}
	if err := removeMountDir(st.MountDir); err != nil {
		errs = append(errs, err)
	}
	return r, errors.Join(errs...)
}
