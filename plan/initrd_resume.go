package plan

import (
	"strings"

	"github.com/xenify/xenify/conf/shellvars"
	"github.com/xenify/xenify/xerr"
)

const (
	resumeFile    = "/etc/initramfs-tools/conf.d/resume"
	initramfsConf = "/etc/initramfs-tools/initramfs.conf"
)

// initramfsResume makes the initramfs resume from a device the guest has. The
// initramfs waits about 30 s at every boot for a RESUME device that does
// not appear ("Gave up waiting for suspend/resume device"): a native
// /dev/sda5 or /dev/mapper/vg0-swap after the device map renamed it, or,
// when RESUME is unset and the initramfs is rebuilt in a chroot, the
// swap initramfs-tools picks from /proc/swaps, which is the conversion
// host's. rebuild says the initramfs is rebuilt anyway; resume reports
// whether it changed RESUME (and so the initramfs must be rebuilt).
func initramfsResume(c *Context, rebuild bool) (bool, error) {
	cur := ""
	for _, p := range []string{resumeFile, initramfsConf} { // conf.d wins
		f, ok, err := readVars(c, p)
		if err != nil {
			return false, err
		}
		if v, set := f.Get("RESUME"); ok && set {
			cur = v
			break
		}
	}
	want := cur
	switch {
	case cur == "none":
	case cur == "" || cur == "auto":
		if !rebuild {
			return false, nil // the initramfs built on the native system stays
		}
		want = guestSwap(c)
	case strings.HasPrefix(cur, "UUID=") || strings.HasPrefix(cur, "LABEL=") || strings.HasPrefix(cur, "PARTUUID="):
		// Names the swap area itself: valid in the guest too.
	default:
		if m, ok := c.DevMap.ByNative(cur); ok {
			want = m.Spec
		} else {
			want = guestSwap(c)
		}
	}
	if want == cur {
		return false, nil
	}
	f, existed, err := readVars(c, resumeFile)
	if err != nil {
		return false, err
	}
	if !existed {
		f, _ = shellvars.Parse(resumeFile, []byte("# Written by xenify: the swap area the initramfs resumes from.\n"))
	}
	if err := f.Set("RESUME", want); err != nil {
		return false, err
	}
	reason := "resume from the guest's swap (" + want + ")"
	switch {
	case want == "none":
		reason = "the guest has no swap area to resume from"
	case cur != "" && cur != "auto":
		reason += ", not " + cur + ", which the guest does not have: the initramfs would wait for it at every boot"
	default:
		reason += " explicitly: unset, initramfs-tools would pick the conversion host's swap from /proc/swaps"
	}
	return true, c.Write("initrd", resumeFile, string(f.Bytes()), reason, nil)
}

// guestSwap is the guest's first swap area as its fstab names it after
// conversion, or "none".
func guestSwap(c *Context) string {
	for _, m := range c.DevMap.Entries {
		if m.Type == "swap" {
			return m.Spec
		}
	}
	return "none"
}

// readVars parses a shell variable file of the guest (an empty one when
// it does not exist).
func readVars(c *Context, p string) (*shellvars.File, bool, error) {
	data, ok, err := c.Read(p)
	if err != nil {
		return nil, false, err
	}
	f, err := shellvars.Parse(p, []byte(data))
	if err != nil {
		return nil, false, &xerr.Refused{Path: p, Msg: "cannot parse", Err: err, Fix: "correct the file in the guest, then run xenify again"}
	}
	return f, ok, nil
}
