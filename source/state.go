package source

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
)

// RunDir holds xenify's private mount directories (RunDir/mnt/ID) and
// the state files (RunDir/state/PID.json) that let 'xenify cleanup'
// release what a killed process left behind.
// XENIFY_RUN_DIR overrides it (tests; hosts without /run).
var RunDir = "/run/xenify"

func init() {
	if d := os.Getenv("XENIFY_RUN_DIR"); d != "" {
		RunDir = d
	}
}

func stateDir() string  { return filepath.Join(RunDir, "state") }
func mountBase() string { return filepath.Join(RunDir, "mnt") }

// State is the content of a state file: what one xenify process holds.
// Every acquisition is recorded (and fsync'ed) before it is made, so a
// state file may list a loop device or mount that was never completed;
// cleanup copes with that.
type State struct {
	PID int `json:"pid"`
	// Start is the process start time (field 22 of /proc/PID/stat), so
	// a reused PID is not taken for the owner.
	Start    uint64 `json:"start"`
	MountDir string `json:"mount_dir"`
	Items    []Item `json:"items"`
}

// Item is one acquisition.
type Item struct {
	ID   int    `json:"id"`
	Kind string `json:"kind"` // "loop" or "mount"
	// Loop: the device once known, and the backing file's identity and
	// offset, by which an attachment whose name was never learnt is found.
	Loop    string `json:"loop,omitempty"`
	Backing string `json:"backing,omitempty"`
	Dev     uint64 `json:"dev,omitempty"`
	Ino     uint64 `json:"ino,omitempty"`
	Offset  int64  `json:"offset,omitempty"`
	// Mount: the mount point on the host.
	Path string `json:"path,omitempty"`
}

// session is the live state file of this process.
type session struct {
	mu   sync.Mutex
	path string
	st   State
	next int
}

func newSession() (*session, error) {
	start, err := procStart(os.Getpid())
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(stateDir(), 0o700); err != nil {
		return nil, fmt.Errorf("creating state directory: %w", err)
	}
	if err := os.MkdirAll(mountBase(), 0o700); err != nil {
		return nil, fmt.Errorf("creating mount directory: %w", err)
	}
	dir, err := os.MkdirTemp(mountBase(), strconv.Itoa(os.Getpid())+"-")
	if err != nil {
		return nil, fmt.Errorf("creating mount directory: %w", err)
	}
	s := &session{
		path: filepath.Join(stateDir(), filepath.Base(dir)+".json"),
		st:   State{PID: os.Getpid(), Start: start, MountDir: dir},
	}
	if err := s.save(); err != nil {
		os.Remove(dir)
		return nil, err
	}
	return s, nil
}

// begin records an acquisition about to be made and returns its id.
func (s *session) begin(it Item) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.next++
	it.ID = s.next
	s.st.Items = append(s.st.Items, it)
	return it.ID, s.saveLocked()
}

// update changes a recorded item (the loop device name once known).
func (s *session) update(id int, f func(*Item)) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range s.st.Items {
		if s.st.Items[i].ID == id {
			f(&s.st.Items[i])
		}
	}
	return s.saveLocked()
}

// end forgets a released item.
func (s *session) end(id int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range s.st.Items {
		if s.st.Items[i].ID == id {
			s.st.Items = append(s.st.Items[:i], s.st.Items[i+1:]...)
			break
		}
	}
	return s.saveLocked()
}

// finish removes the mount directory and the state file once everything
// is released; with items left it keeps both for 'xenify cleanup'.
func (s *session) finish() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.st.Items) > 0 {
		return fmt.Errorf("%d mounts or loop devices could not be released; 'xenify cleanup' retries (state in %s)", len(s.st.Items), s.path)
	}
	var errs []error
	if err := removeMountDir(s.st.MountDir); err != nil {
		errs = append(errs, err)
	}
	if err := os.Remove(s.path); err != nil && !errors.Is(err, os.ErrNotExist) {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func (s *session) save() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.saveLocked()
}

// saveLocked writes the state atomically and durably: temp file, fsync,
// rename, fsync of the directory.
func (s *session) saveLocked() error {
	data, err := json.MarshalIndent(s.st, "", "  ")
	if err != nil {
		return err
	}
	if err := writeDurable(s.path, data); err != nil {
		return fmt.Errorf("writing state file: %w", err)
	}
	return nil
}

func writeDurable(path string, data []byte) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, ".state-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// removeMountDir removes the (empty) mount point directories below a
// session's mount directory and the directory itself. It never removes
// anything that is still a mount point or holds files.
func removeMountDir(dir string) error {
	if dir == "" || !strings.HasPrefix(dir, mountBase()+"/") {
		return nil
	}
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	var errs []error
	for _, e := range entries {
		if err := os.Remove(filepath.Join(dir, e.Name())); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	if err := os.Remove(dir); err != nil && !errors.Is(err, os.ErrNotExist) {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// procStart returns field 22 (starttime) of /proc/PID/stat.
func procStart(pid int) (uint64, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name (field 2) is in parentheses and may contain spaces.
	i := strings.LastIndexByte(string(data), ')')
	if i < 0 {
		return 0, fmt.Errorf("parsing /proc/%d/stat", pid)
	}
	f := strings.Fields(string(data[i+1:]))
	// f[0] is field 3 (state); starttime is field 22.
	if len(f) < 20 {
		return 0, fmt.Errorf("parsing /proc/%d/stat: %d fields", pid, len(f)+2)
	}
	return strconv.ParseUint(f[19], 10, 64)
}

// alive reports whether the process that wrote st still runs.
func alive(st State) bool {
	start, err := procStart(st.PID)
	return err == nil && start == st.Start
}
