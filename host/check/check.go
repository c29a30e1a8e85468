// Package check answers, on a dom0, whether this host can start a given
// domain config: toolstack and daemons, capabilities, bridge, backend
// drivers, disks, the guest's LVM names, boot files and free memory.
// Each problem comes with the command or edit that fixes it.
//
// The host is read through Host: a root directory under which /proc,
// /sys, /etc, /dev and every path the config names are looked up, and
// two functions for what only the toolstack knows (free memory, the
// disks other domains hold). Tests run it on fake trees; the CLI and
// convert use Live.
package check

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/xenify/xenify/verify"
	"github.com/xenify/xenify/xen/caps"
	"github.com/xenify/xenify/xen/domain"
	"github.com/xenify/xenify/xen/kernelimage"
)

// Host is the dom0 being checked.
type Host struct {
	// Root is where the host's filesystem is seen: "/" on the dom0
	// itself, a fake tree in tests. /proc, /sys, /etc, /dev and the
	// config's paths (disk targets, kernels, pygrub) are read under it.
	Root string
	// FreeMemory returns the hypervisor's free memory in MiB (xl info's
	// free_memory). Nil or an error: the memory check is skipped.
	FreeMemory func(ctx context.Context, toolstack string) (int, error)
	// Attached returns the disks the running domains' block backends
	// hold: each backend's params (an image path or a device path) and
	// its physical-device ("major:minor", hex or decimal), with the
	// domain id. Nil: that part of the disk check is skipped.
	Attached func(ctx context.Context) ([]Attachment, error)
}

// Attachment is one block backend of a running domain.
type Attachment struct {
	DomID  int
	Params string // what xl/xm were given: an image file or a device
	Device string // "major:minor" of the backing device, if known
}

// Input is what to check the host against.
type Input struct {
	Domain *domain.Config
	// Toolstack is "xl" or "xm"; empty: xl when it is installed, else xm.
	Toolstack string
	// GuestVGs are the LVM volume group names inside the guest's disks
	// (a clash with dom0's stops one of them from activating).
	GuestVGs []string
	// InUseByUs skips the "not mounted / not open for writing" part of
	// the disk check: convert holds the guest's disks itself while it
	// runs.
	InUseByUs bool
}

// Report is the verdict: OK when no check failed.
type Report struct {
	OK        bool           `json:"ok"`
	Toolstack string         `json:"toolstack"`
	Checks    []verify.Check `json:"checks"`
}

func (r *Report) add(name string, st verify.Status, detail, fix string) {
	r.Checks = append(r.Checks, verify.Check{Name: name, Status: st, Detail: detail, Fix: fix})
	if st == verify.Fail {
		r.OK = false
	}
}

// p returns the host path of an absolute dom0 path.
func (h *Host) p(abs string) string {
	root := h.Root
	if root == "" {
		root = "/"
	}
	return filepath.Join(root, filepath.Clean("/"+abs))
}

func (h *Host) read(abs string) (string, error) {
	b, err := os.ReadFile(h.p(abs))
	return strings.TrimSpace(string(b)), err
}

func (h *Host) exists(abs string) bool {
	_, err := os.Stat(h.p(abs))
	return err == nil
}

// IsDom0 reports whether the host is a Xen control domain
// (/proc/xen/capabilities says control_d).
func (h *Host) IsDom0() bool {
	s, err := h.read("/proc/xen/capabilities")
	return err == nil && strings.Contains(s, "control_d")
}

// sbin are the directories the toolstack's programs live in.
var sbin = []string{"/usr/sbin", "/sbin", "/usr/bin", "/bin", "/usr/local/sbin", "/usr/local/bin"}

// lookPath finds a program in the host's sbin directories.
func (h *Host) lookPath(name string) (string, bool) {
	if filepath.IsAbs(name) {
		return name, h.exists(name)
	}
	dirs := slices.Clone(sbin)
	// xl finds pygrub in Xen's own bin directory (Debian:
	// /usr/lib/xen-4.17/bin; EL: /usr/lib/xen/bin, /usr/libexec/xen/bin).
	if m, _ := filepath.Glob(h.p("/usr/lib/xen*/bin")); len(m) > 0 {
		for _, d := range m {
			rel, _ := filepath.Rel(h.p("/"), d)
			dirs = append(dirs, "/"+rel)
		}
	}
	dirs = append(dirs, "/usr/libexec/xen/bin")
	for _, d := range dirs {
		if st, err := os.Stat(h.p(d + "/" + name)); err == nil && !st.IsDir() && st.Mode()&0o111 != 0 {
			return d + "/" + name, true
		}
	}
	return "", false
}

// Check runs every check of the host against in.
func Check(ctx context.Context, h *Host, in Input) *Report {
	r := &Report{OK: true}
	d := in.Domain
	if d == nil {
		// Without a config: the host alone (toolstack, capabilities,
		// backends, the default bridge).
		d = &domain.Config{Vifs: []domain.Vif{{}}}
	}
	r.Toolstack = in.Toolstack
	if r.Toolstack == "" {
		r.Toolstack = "xm"
		if _, ok := h.lookPath("xl"); ok {
			r.Toolstack = "xl"
		}
	}
	procs := h.processes()
	h.checkToolstack(r, procs)
	xend := h.xendConfig()
	h.checkCaps(r, d)
	h.checkBridges(r, d, xend)
	h.checkBackends(r)
	h.checkDisks(ctx, r, d, in.InUseByUs)
	h.checkVGs(r, in.GuestVGs)
	if in.Domain != nil {
		h.checkBootFiles(r, d)
	}
	h.checkMemory(ctx, r, d)
	return r
}

// process is one running process: its comm and its argv.
type process struct {
	pid  string
	comm string
	argv []string
}

func (h *Host) processes() []process {
	ents, _ := os.ReadDir(h.p("/proc"))
	var out []process
	for _, e := range ents {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		comm, _ := h.read("/proc/" + e.Name() + "/comm")
		cl, _ := os.ReadFile(h.p("/proc/" + e.Name() + "/cmdline"))
		out = append(out, process{pid: e.Name(), comm: comm, argv: strings.Split(strings.TrimRight(string(cl), "\x00"), "\x00")})
	}
	return out
}

// running reports whether a process runs whose comm, or whose argv[0]
// or argv[1] (a Python daemon: "python /usr/sbin/xend"), has base name
// one of names.
func running(procs []process, names ...string) bool {
	for _, p := range procs {
		cands := []string{p.comm}
		for i := 0; i < 2 && i < len(p.argv); i++ {
			cands = append(cands, filepath.Base(p.argv[i]))
		}
		for _, c := range cands {
			if slices.Contains(names, c) {
				return true
			}
		}
	}
	return false
}

func (h *Host) checkToolstack(r *Report, procs []process) {
	if !h.IsDom0() {
		r.add("dom0", verify.Fail, "/proc/xen/capabilities does not say control_d: this is not a running Xen dom0",
			"boot this host into Xen (the hypervisor entry in GRUB, e.g. 'Debian GNU/Linux, with Xen hypervisor'), or run host-check on the dom0")
	} else {
		r.add("dom0", verify.Pass, "running as the Xen control domain", "")
	}
	if r.Toolstack == "xl" {
		if p, ok := h.lookPath("xl"); ok {
			r.add("toolstack", verify.Pass, "xl is installed ("+p+")", "")
		} else {
			r.add("toolstack", verify.Fail, "xl is not installed", "install the Xen tools (Debian: apt-get install xen-utils; EL: yum install xen)")
		}
		if running(procs, "xenstored", "oxenstored", "xenstored.real") {
			r.add("xenstored", verify.Pass, "xenstored is running", "")
		} else {
			r.add("xenstored", verify.Fail, "xenstored is not running: xl cannot create domains",
				"start it: systemctl start xenstored.service (or /etc/init.d/xencommons start)")
		}
		return
	}
	if p, ok := h.lookPath("xm"); ok {
		r.add("toolstack", verify.Pass, "xm is installed ("+p+")", "")
	} else {
		r.add("toolstack", verify.Fail, "xm is not installed", "install Xen 3's tools (EL5: yum install xen)")
	}
	if running(procs, "xend") {
		r.add("xend", verify.Pass, "xend is running", "")
	} else {
		r.add("xend", verify.Fail, "xend is not running: xm cannot create domains", "start it: service xend start (and chkconfig xend on)")
	}
}

// xend is what xend-config.sxp says about the network.
type xend struct {
	found                    bool
	networkScript, vifScript string
}

// xendConfig reads the uncommented (network-script ...) and
// (vif-script ...) of /etc/xen/xend-config.sxp.
func (h *Host) xendConfig() xend {
	s, err := h.read("/etc/xen/xend-config.sxp")
	if err != nil {
		return xend{}
	}
	x := xend{found: true}
	for _, line := range strings.Split(s, "\n") {
		line = strings.TrimSpace(line)
		if strings.HasPrefix(line, "#") || !strings.HasPrefix(line, "(") {
			continue
		}
		f := strings.Fields(strings.Trim(line, "()"))
		if len(f) < 2 {
			continue
		}
		v := strings.Trim(strings.Join(f[1:], " "), "'\"")
		switch f[0] {
		case "network-script":
			x.networkScript = v
		case "vif-script":
			x.vifScript = v
		}
	}
	return x
}

func (h *Host) checkCaps(r *Report, d *domain.Config) {
	s, err := h.read(caps.SysfsPath)
	if err != nil || s == "" {
		r.add("capabilities", verify.Fail, caps.SysfsPath+" is missing: the hypervisor's capabilities are unknown", "run host-check on a running dom0 (xenfs and sysfs mounted)")
		return
	}
	hc := caps.Parse(s)
	typ := d.Type
	if typ == "" {
		typ = "pv"
	}
	hvm := slices.ContainsFunc(hc.List, func(c string) bool { return strings.HasPrefix(c, "hvm-") })
	switch {
	case typ == "pvh" || typ == "hvm":
		if !hvm {
			r.add("capabilities", verify.Fail, fmt.Sprintf("the config asks for type %q but the host offers no hvm capability (%s)", typ, s),
				"enable VT-x/AMD-V in the firmware, or boot the guest as PV with a PV kernel")
			return
		}
		r.add("capabilities", verify.Pass, "host offers hardware virtualization for type "+typ, "")
		return
	}
	if d.Kernel == "" {
		if !slices.ContainsFunc(hc.List, func(c string) bool { return strings.HasPrefix(c, "xen-3.0-") }) {
			r.add("capabilities", verify.Fail, "host offers no PV capability ("+s+")", "boot the guest as PVH or HVM")
			return
		}
		r.add("capabilities", verify.Pass, "host offers PV ("+s+"); the kernel pygrub picks is checked by 'xenify verify'", "")
		return
	}
	data, err := os.ReadFile(h.p(d.Kernel))
	if err != nil {
		r.add("capabilities", verify.Skip, "kernel "+d.Kernel+" unreadable: see the boot-files check", "")
		return
	}
	info, err := kernelimage.Inspect(data)
	if err != nil {
		r.add("capabilities", verify.Warn, fmt.Sprintf("kernel %s: %v; its ABI could not be checked against %s", d.Kernel, err, s), "")
		return
	}
	if ok, why := info.CompatibleWith(hc.List); !ok {
		r.add("capabilities", verify.Fail, "kernel "+d.Kernel+": "+why, "see the alternatives above; 'xenify convert --guest-type auto' picks the PV shim when it fits")
		return
	}
	r.add("capabilities", verify.Pass, "kernel "+d.Kernel+" fits: host offers "+info.GuestType(hc.List), "")
}

// ifUp is IFF_UP in /sys/class/net/X/flags.
const ifUp = 0x1

func (h *Host) checkBridges(r *Report, d *domain.Config, x xend) {
	routed := x.found && strings.Contains(x.vifScript, "vif-route")
	if x.found {
		switch {
		case x.vifScript == "" || x.networkScript == "":
			r.add("xend-network", verify.Warn, "/etc/xen/xend-config.sxp sets no (network-script ...) or (vif-script ...): xend's defaults apply (network-bridge, vif-bridge)", "")
		case routed && !strings.Contains(x.networkScript, "network-route"):
			r.add("xend-network", verify.Fail, fmt.Sprintf("xend-config.sxp pairs vif-script %q with network-script %q: routed vifs need network-route", x.vifScript, x.networkScript),
				"set (network-script network-route) and (vif-script vif-route) in /etc/xen/xend-config.sxp, then: service xend restart")
		default:
			r.add("xend-network", verify.Pass, fmt.Sprintf("xend-config.sxp: network-script %s, vif-script %s", x.networkScript, x.vifScript), "")
		}
	}
	for i, v := range d.Vifs {
		name := fmt.Sprintf("bridge[%d]", i)
		br := v.Bridge
		if routed && br == "" {
			r.add(name, verify.Pass, "routed setup (vif-route): no bridge needed", "")
			continue
		}
		if br == "" {
			br = "xenbr0"
		}
		if err := ValidBridgeName(br); err != nil {
			r.add(name, verify.Fail, err.Error(), "name a bridge of this host in the config's vif")
			continue
		}
		base := "/sys/class/net/" + br
		if !h.exists(base) {
			r.add(name, verify.Fail, "bridge "+br+" does not exist",
				"create it: xenify host-setup bridge "+br+" --uplink IFACE --apply (or by hand: ip link add "+br+" type bridge && ip link set "+br+" up)")
			continue
		}
		if !h.exists(base + "/bridge") {
			r.add(name, verify.Fail, br+" exists but is not a bridge", "name a bridge in the config's vif, or create one with xenify host-setup bridge")
			continue
		}
		fl, _ := h.read(base + "/flags")
		n, err := strconv.ParseUint(strings.TrimPrefix(fl, "0x"), 16, 32)
		if err != nil || n&ifUp == 0 {
			r.add(name, verify.Fail, "bridge "+br+" is down", "ip link set "+br+" up (and bring it up at boot: xenify host-setup bridge "+br+")")
			continue
		}
		ports, _ := os.ReadDir(h.p(base + "/brif"))
		r.add(name, verify.Pass, fmt.Sprintf("bridge %s is up (%d ports)", br, len(ports)), "")
	}
}

// ValidBridgeName refuses names the kernel would refuse or that carry
// shell or path characters.
func ValidBridgeName(name string) error {
	if name == "" || len(name) > 15 {
		return fmt.Errorf("bridge name %q: want 1 to 15 characters", name)
	}
	for _, c := range name {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return fmt.Errorf("bridge name %q: only letters, digits, '-', '_' and '.' are allowed", name)
		}
	}
	if name == "." || name == ".." {
		return fmt.Errorf("bridge name %q is not an interface name", name)
	}
	return nil
}

func (h *Host) checkBackends(r *Report) {
	for _, b := range []struct{ name, mod, old, drv string }{
		{"blkback", "xen_blkback", "blkbk", "vbd"},
		{"netback", "xen_netback", "netbk", "vif"},
	} {
		if h.exists("/sys/module/"+b.mod) || h.exists("/sys/module/"+b.old) || h.exists("/sys/bus/xen-backend/drivers/"+b.drv) {
			r.add(b.name, verify.Pass, b.name+" is loaded", "")
			continue
		}
		r.add(b.name, verify.Fail, b.name+" is not loaded: guests get no "+map[string]string{"vbd": "disks", "vif": "network"}[b.drv],
			"modprobe "+strings.ReplaceAll(b.mod, "_", "-")+" (and list it in /etc/modules, or enable xencommons)")
	}
}

// mountedDevs returns the "major:minor" and source of each mount.
func (h *Host) mounts() (devs map[string]string, sources map[string]string) {
	devs, sources = map[string]string{}, map[string]string{}
	s, _ := h.read("/proc/self/mountinfo")
	for _, line := range strings.Split(s, "\n") {
		f := strings.Fields(line)
		if len(f) < 10 {
			continue
		}
		dash := slices.Index(f, "-")
		if dash < 0 || dash+2 >= len(f) {
			continue
		}
		devs[f[2]] = f[4]
		sources[f[dash+2]] = f[4]
	}
	return devs, sources
}

func (h *Host) checkDisks(ctx context.Context, r *Report, d *domain.Config, usedByUs bool) {
	devs, sources := h.mounts()
	var attached []Attachment
	var attErr error
	if h.Attached != nil && h.IsDom0() {
		attached, attErr = h.Attached(ctx)
	}
	writers := h.openForWriting()
	loops := h.loopBacking()
	for _, dk := range d.Disks {
		name := "disk " + dk.Vdev
		t := dk.Target
		if !filepath.IsAbs(t) {
			r.add(name, verify.Fail, fmt.Sprintf("target %q is not an absolute path", t), "give the disk's full path in the config")
			continue
		}
		st, err := os.Stat(h.p(t))
		if err != nil {
			r.add(name, verify.Fail, "target "+t+" does not exist", fixMissing(t))
			continue
		}
		var problems, fixes []string
		var mm string
		if st.Mode()&os.ModeDevice != 0 {
			mm = devNumber(st)
		}
		if !usedByUs {
			if mp, ok := sources[t]; ok {
				problems = append(problems, "mounted on "+mp)
				fixes = append(fixes, "umount "+mp)
			} else if mp, ok := devs[mm]; mm != "" && ok {
				problems = append(problems, "mounted on "+mp)
				fixes = append(fixes, "umount "+mp)
			}
			for _, l := range loops[t] {
				if mp, ok := devs[l.dev]; ok {
					problems = append(problems, "mounted through "+l.name+" on "+mp)
					fixes = append(fixes, "umount "+mp+" && losetup -d /dev/"+l.name)
				}
			}
			if ps := writers[t]; len(ps) > 0 {
				problems = append(problems, "open for writing by "+strings.Join(ps, ", "))
				fixes = append(fixes, "stop those processes (a guest's disk must have one writer: the guest)")
			}
			if mm != "" {
				if hs := h.holders(mm); len(hs) > 0 {
					problems = append(problems, "held by "+strings.Join(hs, ", ")+" (dom0 activated LVM or md on it)")
					fixes = append(fixes, "deactivate them on dom0 (vgchange -an VG, mdadm --stop /dev/mdN)")
				}
			}
		}
		for _, a := range attached {
			if a.Params == t || (mm != "" && sameDev(a.Device, mm)) || inLoops(loops[t], a.Device) {
				problems = append(problems, fmt.Sprintf("attached to domain %d", a.DomID))
				fixes = append(fixes, fmt.Sprintf("shut that domain down, or detach the disk (xl block-detach %d ...); never give one disk to two running domains", a.DomID))
			}
		}
		switch {
		case len(problems) > 0:
			r.add(name, verify.Fail, t+": "+strings.Join(problems, "; "), strings.Join(fixes, "; "))
		case attErr != nil:
			r.add(name, verify.Warn, t+" exists; could not list the disks of running domains: "+attErr.Error(), "")
		case usedByUs:
			r.add(name, verify.Pass, t+" exists (xenify holds it while converting)", "")
		default:
			r.add(name, verify.Pass, t+" exists, is not mounted, open for writing or attached to a domain", "")
		}
	}
}

func fixMissing(t string) string {
	if strings.HasPrefix(t, "/dev/") {
		return "activate or create it (vgchange -ay VG for an LV; check the device name with lsblk), or fix the target in the config"
	}
	return "copy or create the image there (xenify copy), or fix the target in the config"
}

// devNumber is "major:minor" of a device node.
func devNumber(st os.FileInfo) string {
	rdev, ok := rdevOf(st)
	if !ok {
		return ""
	}
	return fmt.Sprintf("%d:%d", (rdev>>8)&0xfff|(rdev>>32)&^0xfff, rdev&0xff|(rdev>>12)&^0xff)
}

// sameDev compares a xenstore physical-device (hex "ca:0" from Xen, or
// decimal) with a decimal "major:minor".
func sameDev(xs, mm string) bool {
	if xs == "" {
		return false
	}
	if xs == mm {
		return true
	}
	a, b, ok := strings.Cut(xs, ":")
	if !ok {
		return false
	}
	ma, err1 := strconv.ParseUint(a, 16, 32)
	mi, err2 := strconv.ParseUint(b, 16, 32)
	return err1 == nil && err2 == nil && fmt.Sprintf("%d:%d", ma, mi) == mm
}

// holders lists what the kernel stacks on a block device (dm, md).
func (h *Host) holders(mm string) []string {
	link, err := os.Readlink(h.p("/sys/dev/block/" + mm))
	if err != nil {
		return nil
	}
	ents, _ := os.ReadDir(h.p(filepath.Join("/sys/dev/block", link, "holders")))
	var out []string
	for _, e := range ents {
		out = append(out, e.Name())
	}
	return out
}

type loop struct{ name, dev string }

// loopBacking maps each image file to the loop devices backing it.
func (h *Host) loopBacking() map[string][]loop {
	out := map[string][]loop{}
	ents, _ := os.ReadDir(h.p("/sys/block"))
	for _, e := range ents {
		if !strings.HasPrefix(e.Name(), "loop") {
			continue
		}
		bf, err := h.read("/sys/block/" + e.Name() + "/loop/backing_file")
		if err != nil || bf == "" {
			continue
		}
		dev, _ := h.read("/sys/block/" + e.Name() + "/dev")
		out[bf] = append(out[bf], loop{name: e.Name(), dev: dev})
	}
	return out
}

func inLoops(ls []loop, xs string) bool {
	for _, l := range ls {
		if sameDev(xs, l.dev) {
			return true
		}
	}
	return false
}

// openForWriting maps each path some process holds open for writing
// to those processes ("pid 42 (qemu)").
func (h *Host) openForWriting() map[string][]string {
	out := map[string][]string{}
	self := strconv.Itoa(os.Getpid())
	for _, p := range h.processes() {
		if p.pid == self && (h.Root == "" || h.Root == "/") {
			continue
		}
		fdDir := "/proc/" + p.pid + "/fd"
		fds, _ := os.ReadDir(h.p(fdDir))
		for _, fd := range fds {
			target, err := os.Readlink(h.p(fdDir + "/" + fd.Name()))
			if err != nil || !strings.HasPrefix(target, "/") {
				continue
			}
			info, err := h.read("/proc/" + p.pid + "/fdinfo/" + fd.Name())
			if err != nil || !writable(info) {
				continue
			}
			who := "pid " + p.pid
			if p.comm != "" {
				who += " (" + p.comm + ")"
			}
			if !slices.Contains(out[target], who) {
				out[target] = append(out[target], who)
			}
		}
	}
	return out
}

// writable reads the flags line of an fdinfo file: O_WRONLY or O_RDWR.
func writable(fdinfo string) bool {
	for _, line := range strings.Split(fdinfo, "\n") {
		if v, ok := strings.CutPrefix(line, "flags:"); ok {
			n, err := strconv.ParseUint(strings.TrimSpace(v), 8, 64)
			return err == nil && n&3 != 0
		}
	}
	return false
}

// dom0VGs are the volume groups dom0 knows: its LVM backups and the
// device-mapper names of active LVs ("VG-LV", dashes in names doubled).
func (h *Host) dom0VGs() []string {
	var out []string
	add := func(v string) {
		if v != "" && !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	ents, _ := os.ReadDir(h.p("/etc/lvm/backup"))
	for _, e := range ents {
		add(e.Name())
	}
	dms, _ := os.ReadDir(h.p("/sys/block"))
	for _, e := range dms {
		n, err := h.read("/sys/block/" + e.Name() + "/dm/name")
		if err != nil {
			continue
		}
		add(dmVG(n))
	}
	slices.Sort(out)
	return out
}

// dmVG is the VG part of a device-mapper LV name: up to the first
// single dash; "--" stands for a dash in a name.
func dmVG(n string) string {
	for i := 0; i < len(n); i++ {
		if n[i] != '-' {
			continue
		}
		if i+1 < len(n) && n[i+1] == '-' {
			i++
			continue
		}
		return strings.ReplaceAll(n[:i], "--", "-")
	}
	return ""
}

func (h *Host) checkVGs(r *Report, guest []string) {
	if len(guest) == 0 {
		return
	}
	dom0 := h.dom0VGs()
	var clash []string
	for _, g := range guest {
		if slices.Contains(dom0, g) {
			clash = append(clash, g)
		}
	}
	if len(clash) > 0 {
		r.add("lvm-names", verify.Fail, "the guest's volume group "+strings.Join(clash, ", ")+" has the name of one of dom0's: dom0 cannot activate both, and an 'lvm' scan on dom0 may pick the guest's",
			"rename the guest's VG (on dom0, by UUID: vgrename <guest-vg-uuid> "+clash[0]+"_guest) and update the guest's fstab, GRUB root= and initrd (xenify convert does), or hand the guest whole LVs (--layout lv)")
		return
	}
	r.add("lvm-names", verify.Pass, "the guest's volume groups ("+strings.Join(guest, ", ")+") clash with none of dom0's", "")
}

func (h *Host) checkBootFiles(r *Report, d *domain.Config) {
	if d.Bootloader != "" {
		if p, ok := h.lookPath(d.Bootloader); ok {
			r.add("bootloader", verify.Pass, "boot loader "+p+" exists", "")
		} else {
			r.add("bootloader", verify.Fail, "boot loader "+d.Bootloader+" not found on dom0",
				"install pygrub (Debian: apt-get install xen-utils; EL: yum install xen), or give its full path in the config")
		}
		return
	}
	if d.Kernel == "" {
		if d.Type != "hvm" {
			r.add("kernel", verify.Fail, "the config names neither a bootloader nor a kernel", "add bootloader = \"pygrub\" or kernel = ...")
		}
		return
	}
	for _, f := range []struct{ key, path string }{{"kernel", d.Kernel}, {"ramdisk", d.Ramdisk}} {
		if f.path == "" {
			continue
		}
		if _, err := os.Stat(h.p(f.path)); err != nil {
			fix := "copy the guest's " + f.key + " there (xenify convert --boot direct does), or fix the path in the config"
			if strings.Contains(filepath.Base(f.path), "grub") {
				fix = "install the PV-GRUB image (Debian: apt-get install grub-xen-host; EL: the pv-grub package), or fix the path in the config"
			}
			r.add(f.key, verify.Fail, f.key+" "+f.path+" does not exist", fix)
			continue
		}
		r.add(f.key, verify.Pass, f.key+" "+f.path+" exists", "")
	}
}

func (h *Host) checkMemory(ctx context.Context, r *Report, d *domain.Config) {
	if h.FreeMemory == nil || d.Memory == 0 {
		return
	}
	free, err := h.FreeMemory(ctx, r.Toolstack)
	if err != nil {
		r.add("memory", verify.Warn, "could not read the hypervisor's free memory: "+err.Error(), "")
		return
	}
	if free < d.Memory {
		r.add("memory", verify.Fail, fmt.Sprintf("the guest wants %d MiB; the hypervisor has %d MiB free", d.Memory, free),
			"lower memory in the config, stop another guest, or shrink dom0 (xl mem-set 0 ...; dom0_mem= on Xen's command line)")
		return
	}
	r.add("memory", verify.Pass, fmt.Sprintf("the guest wants %d MiB; %d MiB free", d.Memory, free), "")
}
