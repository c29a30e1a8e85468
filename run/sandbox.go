package run

// The guest sandbox. A guest command (Cmd.Chroot set) does not run as a
// direct child of xenify. xenify starts itself again, as
// "xenify-guest-sandbox", in new mount, PID, IPC and UTS namespaces; that
// process (PID 1 of the new PID namespace) makes every mount private,
// gives the guest a /proc of its own PID namespace, a read-only /sys and a
// private /dev with only the devices such tools need, drops the
// capabilities that would undo that, and starts the guest command chrooted
// through SysProcAttr.Chroot. When the command exits it kills whatever the
// command left running, unmounts, and reports on a pipe.
//
// None of these mounts is ever visible on the host: they live and die with
// the namespace. After the sandbox exits, xenify still checks the host's
// mount table for anything new under the guest root, and fails the command
// if something leaked (a failed unmount there is an error the convert
// stops on, since it would leave a kernel filesystem inside the guest).

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/xenify/xenify/guest"
)

const (
	// sandboxArg0 is argv[0] of the sandbox process: the init function
	// below recognises it, in xenify and in every test binary that links
	// this package.
	sandboxArg0    = "xenify-guest-sandbox"
	sandboxSpecEnv = "XENIFY_SANDBOX_SPEC"
	// sandboxStatusFD is the descriptor the sandbox reports on
	// (Cmd.ExtraFiles[0]).
	sandboxStatusFD = 3
)

// sandboxFlags are the namespaces a guest command gets.
const sandboxFlags = unix.CLONE_NEWNS | unix.CLONE_NEWPID | unix.CLONE_NEWIPC | unix.CLONE_NEWUTS

// sandboxDev lists the device nodes of the guest's private /dev, each a
// bind of the host's node of that name (Host) with that number. The /dev
// tmpfs itself is nodev, as is every guest filesystem in the sandbox, so
// these are the only devices the guest command can open. console is the
// null device: guest output goes to xenify's capture, never to the host
// console. Besides these, /dev holds pts (a new devpts instance), shm (a
// tmpfs) and the links fd, stdin, stdout, stderr and ptmx.
var sandboxDev = []struct {
	Name, Host   string
	Major, Minor uint32
}{
	{"null", "null", 1, 3},
	{"zero", "zero", 1, 5},
	{"full", "full", 1, 7},
	{"random", "random", 1, 8},
	{"urandom", "urandom", 1, 9},
	{"tty", "tty", 5, 0},
	{"console", "null", 1, 3},
}

// droppedCaps are removed from the guest command's bounding set. Without
// CAP_SYS_ADMIN it cannot remount its /dev or mount devtmpfs or a host
// disk; without CAP_SYS_MODULE, CAP_SYS_RAWIO, CAP_SYS_TIME, CAP_SYS_BOOT
// and CAP_NET_ADMIN it cannot change the host kernel, clock or network.
// CAP_MKNOD stays (dracut and mkinitrd create nodes inside the image), but
// every filesystem the guest can write is nodev in the sandbox, so a node
// it creates cannot be opened.
var droppedCaps = []uintptr{
	unix.CAP_SYS_ADMIN, unix.CAP_SYS_MODULE, unix.CAP_SYS_RAWIO, unix.CAP_SYS_TIME,
	unix.CAP_SYS_BOOT, unix.CAP_NET_ADMIN, unix.CAP_SYSLOG, unix.CAP_SYS_PTRACE,
	unix.CAP_MAC_ADMIN, unix.CAP_MAC_OVERRIDE, unix.CAP_BPF, unix.CAP_PERFMON,
}

type sandboxSpec struct {
	Root string   `json:"root"`
	Argv []string `json:"argv"`
	Dir  string   `json:"dir"`
	Env  []string `json:"env"`
}

type sandboxStatus struct {
	Started bool   `json:"started"`
	Setup   string `json:"setup,omitempty"` // why the command could not start
	Exit    int    `json:"exit"`
	Signal  string `json:"signal,omitempty"`
	Release string `json:"release,omitempty"` // unmount failures after it ran
}

func init() {
	if len(os.Args) > 0 && os.Args[0] == sandboxArg0 {
		os.Exit(sandboxMain())
	}
}

// sandboxCmd returns the command that runs c in the sandbox, and the read
// end of its status pipe.
func sandboxCmd(c Cmd, env []string) (*exec.Cmd, *os.File, *os.File, error) {
	dir := c.Dir
	if dir == "" {
		dir = "/"
	}
	spec, err := json.Marshal(sandboxSpec{Root: c.Chroot, Argv: c.Argv, Dir: dir, Env: env})
	if err != nil {
		return nil, nil, nil, err
	}
	r, w, err := os.Pipe()
	if err != nil {
		return nil, nil, nil, err
	}
	cmd := &exec.Cmd{
		Path:       "/proc/self/exe",
		Args:       []string{sandboxArg0},
		Env:        []string{sandboxSpecEnv + "=" + string(spec)},
		ExtraFiles: []*os.File{w},
		SysProcAttr: &syscall.SysProcAttr{
			Cloneflags: sandboxFlags,
			// The namespace dies with its PID 1: if xenify dies, so
			// does every process the guest command started.
			Pdeathsig: syscall.SIGKILL,
		},
	}
	return cmd, r, w, nil
}

// sandboxResult turns the sandbox's report into an error, or nil.
func sandboxResult(status []byte, waitErr error) (exit int, err error) {
	var st sandboxStatus
	if jerr := json.Unmarshal(status, &st); jerr != nil {
		if waitErr == nil {
			waitErr = jerr
		}
		return -1, fmt.Errorf("guest sandbox ended without a report: %w", waitErr)
	}
	if st.Setup != "" {
		return -1, fmt.Errorf("setting up the guest sandbox: %s", st.Setup)
	}
	var errs []error
	switch {
	case st.Signal != "":
		errs = append(errs, fmt.Errorf("killed by signal %s", st.Signal))
		exit = -1
	case st.Exit != 0:
		errs = append(errs, fmt.Errorf("exit status %d", st.Exit))
		exit = st.Exit
	}
	if st.Release != "" {
		errs = append(errs, fmt.Errorf("releasing the guest sandbox: %s", st.Release))
	}
	return exit, errors.Join(errs...)
}

// sandboxMain is the sandbox process: PID 1 of new namespaces.
func sandboxMain() int {
	// Capabilities are per thread: drop them, and fork the guest
	// command, from this one.
	runtime.LockOSThread()
	unix.CloseOnExec(sandboxStatusFD)
	report := os.NewFile(sandboxStatusFD, "status")
	var st sandboxStatus
	var spec sandboxSpec
	if err := json.Unmarshal([]byte(os.Getenv(sandboxSpecEnv)), &spec); err != nil || len(spec.Argv) == 0 {
		st.Setup = fmt.Sprintf("bad sandbox spec: %v", err)
	} else {
		sandbox(spec, &st)
	}
	if err := json.NewEncoder(report).Encode(st); err != nil {
		return 125
	}
	return 0
}

// sandbox mounts, runs and unmounts, recording what happened in st.
func sandbox(spec sandboxSpec, st *sandboxStatus) {
	m, err := setupMounts(spec.Root)
	if err != nil {
		st.Setup = err.Error()
		if rerr := m.release(); rerr != nil {
			st.Release = rerr.Error()
		}
		return
	}
	for _, c := range droppedCaps {
		if err := unix.Prctl(unix.PR_CAPBSET_DROP, c, 0, 0, 0); err != nil && err != unix.EINVAL {
			st.Setup = fmt.Sprintf("dropping capability %d: %v", c, err)
			m.release()
			return
		}
	}
	cmd := &exec.Cmd{
		Path:   spec.Argv[0],
		Args:   spec.Argv,
		Env:    spec.Env,
		Dir:    spec.Dir,
		Stdin:  os.Stdin,
		Stdout: os.Stdout,
		Stderr: os.Stderr,
		// The handle of the guest root, resolved once.
		SysProcAttr: &syscall.SysProcAttr{Chroot: fmt.Sprintf("/proc/self/fd/%d", m.root.Fd())},
	}
	if err := cmd.Start(); err != nil {
		st.Setup = fmt.Sprintf("starting %s in the guest: %v", spec.Argv[0], err)
	} else {
		st.Started = true
		err := cmd.Wait()
		if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			st.Signal = ws.Signal().String()
		} else if err != nil {
			st.Exit = cmd.ProcessState.ExitCode()
		}
	}
	// Whatever the command left behind (daemons, stray children) dies
	// with it: as PID 1, kill(-1) reaches every other process of the
	// namespace.
	unix.Kill(-1, unix.SIGKILL)
	for {
		if _, err := unix.Wait4(-1, nil, 0, nil); err == unix.ECHILD {
			break
		}
	}
	if err := m.release(); err != nil {
		st.Release = err.Error()
	}
}

// mounts are the sandbox's mounts, innermost last.
type mounts struct {
	root   *os.File // the guest root, after the nodev bind
	paths  []string // mount points, in mount order
	closes []*os.File
}

// release closes every handle and unmounts in reverse order. Unmounts
// name the mount point by the path its handle resolved to, and never
// follow a symlink there.
func (m *mounts) release() error {
	for _, f := range m.closes {
		f.Close()
	}
	m.closes = nil
	if m.root != nil {
		m.root.Close()
		m.root = nil
	}
	var errs []error
	for i := len(m.paths) - 1; i >= 0; i-- {
		flags := unix.UMOUNT_NOFOLLOW
		if i == 0 {
			// The recursive bind of the root carries the guest's own
			// mounts (a separate /boot) with it.
			flags |= unix.MNT_DETACH
		}
		if err := unix.Unmount(m.paths[i], flags); err != nil {
			errs = append(errs, fmt.Errorf("unmounting %s: %w", m.paths[i], err))
		}
	}
	m.paths = nil
	return errors.Join(errs...)
}

// mountOn mounts onto the directory handle f and records the mount point.
func (m *mounts) mountOn(f *os.File, src, fstype string, flags uintptr, data string) error {
	target := fmt.Sprintf("/proc/self/fd/%d", f.Fd())
	real, err := os.Readlink(target)
	if err != nil {
		return err
	}
	if err := unix.Mount(src, target, fstype, flags, data); err != nil {
		what := fstype
		if what == "" {
			what = "a bind of " + src
		}
		return fmt.Errorf("mounting %s on %s: %w", what, real, err)
	}
	m.paths = append(m.paths, real)
	return nil
}

func setupMounts(rootDir string) (*mounts, error) {
	m := &mounts{}
	// Nothing mounted here may propagate back to the host.
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return m, fmt.Errorf("making mounts private: %w", err)
	}
	// A recursive bind of the root (the guest's own mounts included),
	// made nodev: a device node the guest creates cannot be opened, only
	// those in the private /dev below.
	if err := unix.Mount(rootDir, rootDir, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
		return m, fmt.Errorf("binding the guest root %s: %w", rootDir, err)
	}
	m.paths = append(m.paths, rootDir)
	rootFD, err := unix.Open(rootDir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return m, fmt.Errorf("opening the guest root %s: %w", rootDir, err)
	}
	m.root = os.NewFile(uintptr(rootFD), rootDir)
	err = unix.MountSetattr(rootFD, "", unix.AT_EMPTY_PATH|unix.AT_RECURSIVE, &unix.MountAttr{Attr_set: unix.MOUNT_ATTR_NODEV})
	if err != nil && err != unix.ENOSYS {
		return m, fmt.Errorf("making the guest root nodev: %w", err)
	}
	root, err := guest.Open(fmt.Sprintf("/proc/self/fd/%d", rootFD))
	if err != nil {
		return m, err
	}
	defer root.Close()

	for _, k := range []struct {
		path, fstype string
		flags        uintptr
		data         string
	}{
		{"/proc", "proc", unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC, ""},
		{"/sys", "sysfs", unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC | unix.MS_RDONLY, ""},
		{"/dev", "tmpfs", unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC, "mode=755,size=4m"},
	} {
		// A guest without the directory (or with a link there) does
		// not get the mount.
		f, err := root.OpenDir(k.path)
		if err != nil {
			continue
		}
		m.closes = append(m.closes, f)
		if err := m.mountOn(f, k.fstype, k.fstype, k.flags, k.data); err != nil {
			return m, err
		}
		// The handle still names the directory under the new mount;
		// open the mount itself (nobody else has seen it yet).
		mounted, err := root.OpenDir(k.path)
		if err != nil {
			return m, err
		}
		m.closes = append(m.closes, mounted)
		switch k.path {
		case "/proc":
			err = m.readOnlyProc(mounted)
		case "/dev":
			err = m.populateDev(mounted)
		}
		if err != nil {
			return m, err
		}
	}
	return m, nil
}

// procReadOnly are the parts of /proc through which root changes the host
// kernel itself (sysctls such as kernel.core_pattern, the SysRq trigger):
// read-only in the sandbox, as container runtimes make them.
var procReadOnly = []string{"sys", "sysrq-trigger", "irq", "bus", "fs"}

// readOnlyProc binds each of procReadOnly onto itself, read-only.
func (m *mounts) readOnlyProc(proc *os.File) error {
	for _, name := range procReadOnly {
		fd, err := unix.Openat(int(proc.Fd()), name, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if err != nil {
			continue // not in this kernel
		}
		f := os.NewFile(uintptr(fd), name)
		m.closes = append(m.closes, f)
		self := fmt.Sprintf("/proc/self/fd/%d", fd)
		if err := m.mountOn(f, self, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
			return err
		}
		// Remount the bind itself, through a handle opened on it.
		fd, err = unix.Openat(int(proc.Fd()), name, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if err != nil {
			return err
		}
		b := os.NewFile(uintptr(fd), name)
		m.closes = append(m.closes, b)
		flags := uintptr(unix.MS_REMOUNT | unix.MS_BIND | unix.MS_RDONLY | unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC)
		if err := unix.Mount("", fmt.Sprintf("/proc/self/fd/%d", fd), "", flags, ""); err != nil {
			return fmt.Errorf("making /proc/%s read-only: %w", name, err)
		}
	}
	return nil
}

// populateDev fills the private /dev (a fresh tmpfs nobody else has seen).
func (m *mounts) populateDev(dev *os.File) error {
	dfd := int(dev.Fd())
	old := unix.Umask(0)
	defer unix.Umask(old)
	for _, d := range sandboxDev {
		if err := m.bindDev(dfd, d.Name, d.Host, d.Major, d.Minor); err != nil {
			return fmt.Errorf("creating /dev/%s: %w", d.Name, err)
		}
	}
	for name, target := range map[string]string{
		"fd": "/proc/self/fd", "stdin": "/proc/self/fd/0", "stdout": "/proc/self/fd/1",
		"stderr": "/proc/self/fd/2", "ptmx": "pts/ptmx",
	} {
		if err := unix.Symlinkat(target, dfd, name); err != nil {
			return fmt.Errorf("creating /dev/%s: %w", name, err)
		}
	}
	for _, s := range []struct {
		name, fstype string
		mode         uint32
		flags        uintptr
		data         string
	}{
		{"pts", "devpts", 0o755, unix.MS_NOSUID | unix.MS_NOEXEC, "newinstance,ptmxmode=0666,mode=0620"},
		{"shm", "tmpfs", 0o1777, unix.MS_NOSUID | unix.MS_NODEV, "mode=1777"},
	} {
		if err := unix.Mkdirat(dfd, s.name, s.mode); err != nil {
			return fmt.Errorf("creating /dev/%s: %w", s.name, err)
		}
		fd, err := unix.Openat(dfd, s.name, unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if err != nil {
			return fmt.Errorf("opening /dev/%s: %w", s.name, err)
		}
		f := os.NewFile(uintptr(fd), s.name)
		m.closes = append(m.closes, f)
		if err := m.mountOn(f, s.fstype, s.fstype, s.flags, s.data); err != nil {
			return err
		}
	}
	return nil
}

// bindDev binds the host's /dev/host (checked to be the character device
// major:minor) onto a new empty file /dev/name in the guest's /dev.
func (m *mounts) bindDev(dfd int, name, host string, major, minor uint32) error {
	hfd, err := unix.Open("/dev/"+host, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("opening the host's /dev/%s: %w", host, err)
	}
	hf := os.NewFile(uintptr(hfd), "/dev/"+host)
	defer hf.Close()
	var st unix.Stat_t
	if err := unix.Fstat(hfd, &st); err != nil {
		return err
	}
	if st.Mode&unix.S_IFMT != unix.S_IFCHR || st.Rdev != unix.Mkdev(major, minor) {
		return fmt.Errorf("the host's /dev/%s is not the character device %d:%d", host, major, minor)
	}
	tfd, err := unix.Openat(dfd, name, unix.O_CREAT|unix.O_EXCL|unix.O_WRONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return err
	}
	unix.Close(tfd)
	if tfd, err = unix.Openat(dfd, name, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0); err != nil {
		return err
	}
	t := os.NewFile(uintptr(tfd), name)
	m.closes = append(m.closes, t)
	return m.mountOn(t, fmt.Sprintf("/proc/self/fd/%d", hfd), "", unix.MS_BIND, "")
}

// mountsUnder counts the host's mounts at or below dir by mount point
// (mounts stack), from /proc/self/mountinfo.
func mountsUnder(dir string) (map[string]int, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return parseMountsUnder(f, dir)
}

func parseMountsUnder(r io.Reader, dir string) (map[string]int, error) {
	dir = path.Clean(dir)
	out := map[string]int{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 5 {
			continue
		}
		mp := unescapeMountinfo(fields[4])
		if mp == dir || strings.HasPrefix(mp, dir+"/") {
			out[mp]++
		}
	}
	return out, sc.Err()
}

// unescapeMountinfo undoes the kernel's octal escapes (\040 for a space).
func unescapeMountinfo(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// unmountLeaked is the host-side check after a guest command: any mount
// under the guest root that was not there before the command leaked out of
// the sandbox. Each is unmounted (deepest first, never following a
// symlink), and the command fails either way, naming what to do when the
// unmount failed.
func unmountLeaked(before, after map[string]int, unmount func(string, int) error) error {
	var leaked []string
	for p, n := range after {
		for i := before[p]; i < n; i++ {
			leaked = append(leaked, p)
		}
	}
	if len(leaked) == 0 {
		return nil
	}
	sort.Sort(sort.Reverse(sort.StringSlice(leaked)))
	var errs []error
	for _, p := range leaked {
		if err := unmount(p, unix.UMOUNT_NOFOLLOW|unix.MNT_DETACH); err != nil {
			errs = append(errs, fmt.Errorf("%s is still mounted on the host and unmounting it failed: %w; run `umount -l %s` before anything else touches the guest", p, err, Quote(p)))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("mounts made for the guest command leaked onto the host: %w", errors.Join(errs...))
	}
	return fmt.Errorf("mounts made for the guest command leaked onto the host (%s); they were unmounted, but the sandbox did not hold", strings.Join(leaked, ", "))
}
