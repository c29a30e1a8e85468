package plan

import (
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/xenify/xenify/devmap"
	"github.com/xenify/xenify/inspect"
	"github.com/xenify/xenify/xerr"
)

// The device map's types live in package devmap, which package source
// reads too; these are their names in the planner.
type (
	DevMap  = devmap.Map
	Mapped  = devmap.Entry
	Dropped = devmap.Dropped
)

var (
	virtualName = regexp.MustCompile(`^(/dev/)?(xvd|sd|hd)([a-z]+)([0-9]*)$`)
	nativeDisk  = regexp.MustCompile(`^/dev/(hd|sd|vd|xvd)([a-z]+)([0-9]+)$`)
)

// removable reports whether an fstab entry is a removable device the
// guest will not have.
func removable(e inspect.FstabEntry) (bool, string) {
	s := e.Spec
	switch {
	case strings.HasPrefix(s, "/dev/fd"), strings.Contains(e.Mount, "floppy"):
		return true, "floppy drive: a Xen guest has none"
	case e.Type == "iso9660" || e.Type == "udf" || strings.Contains(s, "cdrom") || strings.HasPrefix(s, "/dev/sr") || strings.HasPrefix(s, "/dev/scd") || strings.Contains(e.Mount, "cdrom") || strings.Contains(e.Mount, "cdrecorder"):
		return true, "CD-ROM drive: a Xen guest has none (attach an ISO as a disk if needed)"
	case strings.Contains(e.Options, "managed") || (strings.Contains(e.Options, "noauto") && strings.Contains(e.Options, "pamconsole")):
		return true, "removable device managed by the desktop: the guest will not have it"
	case strings.HasPrefix(s, "/dev/usb") || strings.Contains(e.Mount, "usb"):
		return true, "USB device: the guest will not have it"
	}
	return false, ""
}

// BuildDevMap computes the device map. prev is the map recorded by an
// earlier convert (nil on the first run); with it a second run maps
// already-converted entries to themselves.
func BuildDevMap(in *inspect.Inspection, opts Options, prefix string, prev *DevMap) (*DevMap, error) {
	dm := &DevMap{Prefix: prefix}
	var keep []inspect.FstabEntry
	for _, e := range in.Fstab.Entries {
		if !e.Local() {
			continue
		}
		if ok, why := removable(e); ok {
			dm.Dropped = append(dm.Dropped, Dropped{Line: e.Line, Spec: e.Spec, Mount: e.Mount, Why: why})
			continue
		}
		if e.Mount == "/boot" && opts.mergeBoot {
			dm.Dropped = append(dm.Dropped, Dropped{Line: e.Line, Spec: e.Spec, Mount: e.Mount, Why: mergedWhy})
			continue
		}
		keep = append(keep, e)
	}
	// Order: /boot first (pygrub reads only the first disk), then /, then
	// the other filesystems in fstab order, then swap.
	rank := func(e inspect.FstabEntry) int {
		switch {
		case e.Mount == "/boot":
			return 0
		case e.Mount == "/":
			return 1
		case e.Type == "swap":
			return 3
		}
		return 2
	}
	sort.SliceStable(keep, func(i, j int) bool { return rank(keep[i]) < rank(keep[j]) })

	user, err := userMaps(opts.Maps, keep, prefix)
	if err != nil {
		return nil, err
	}
	used := map[string]string{}
	claim := func(v, native string) error {
		if other, ok := used[v]; ok && other != native {
			return xerr.Usagef("--map: %s and %s would both become %s; give each its own virtual device", other, native, v)
		}
		used[v] = native
		return nil
	}
	for _, v := range user {
		if err := claim(v.Virtual, v.Native); err != nil {
			return nil, err
		}
	}

	// Entries an earlier run commented out are no longer in fstab; keep
	// them in the record so the state (and so a second run) is stable.
	if prev != nil {
		for _, d := range prev.Dropped {
			dup := false
			for _, x := range dm.Dropped {
				dup = dup || (x.Spec == d.Spec && x.Mount == d.Mount)
			}
			if !dup {
				// Its line is commented out now (and the record has no
				// line numbers): it must match no live entry.
				d.Line = 0
				dm.Dropped = append(dm.Dropped, d)
			}
		}
	}
	if opts.Layout == "disk" {
		return dm, wholeDisks(dm, keep, opts, prefix, prev)
	}
	next := 1
	alloc := func(owner string) (string, error) {
		for {
			cand := fmt.Sprintf("%sa%d", prefix, next)
			next++
			if _, taken := used[cand]; !taken {
				return cand, claim(cand, owner)
			}
		}
	}
	// Layered targets (a PV partition, an md array or member) by the
	// virtual device they became: the filesystems on one share it.
	shared := map[string]string{}
	// Bare targets by the virtual device they became.
	sameFS := map[string]string{}
	for _, e := range keep {
		native := e.Spec
		m := Mapped{Line: e.Line, Mount: e.Mount, Type: e.Type, Native: native}
		if host := hostFor(opts, e); host != nil && host.Layered {
			m.Spec, m.Target, m.File = native, host.Target, host.File
			vdev, ok := shared[host.Target]
			if !ok {
				p, hasPrev := prevFor(prev, e)
				switch {
				case hasPrev && p.Virtual == "" && p.Vdev != "":
					vdev = p.Vdev
				case user[e.Mount].Virtual != "":
					vdev = user[e.Mount].Virtual
				case user[native].Virtual != "":
					vdev = user[native].Virtual
				}
				if vdev == "" {
					if vdev, err = alloc(host.Target); err != nil {
						return nil, err
					}
				} else if err := claim(vdev, host.Target); err != nil {
					return nil, err
				}
				shared[host.Target] = vdev
			}
			m.Vdev = vdev
			dm.Entries = append(dm.Entries, m)
			for _, a := range host.Also {
				if _, ok := shared[a]; ok {
					continue
				}
				v, err := alloc(a)
				if err != nil {
					return nil, err
				}
				shared[a] = v
				dm.Extra = append(dm.Extra, Mapped{Mount: e.Mount, Type: "md member", Native: native, Spec: native, Target: a, File: host.File, Vdev: v})
			}
			continue
		}
		if p, ok := prevFor(prev, e); ok {
			// Converted before: keep the earlier decision.
			m = p
			m.Line = e.Line
			if err := claim(m.Virtual, m.Native); err != nil {
				return nil, err
			}
		} else if v, ok := user[e.Mount]; ok {
			m.Virtual = v.Virtual
		} else if v, ok := user[native]; ok {
			m.Virtual = v.Virtual
		} else if t, _ := hostTarget(opts, e); t != "" && sameFS[t] != "" {
			// One filesystem named twice (btrfs subvolumes: / and
			// /home on subvol=root and subvol=home) is one device.
			m.Virtual = sameFS[t]
		} else if m.Virtual, err = alloc(native); err != nil {
			return nil, err
		}
		if t, _ := hostTarget(opts, e); t != "" && sameFS[t] == "" {
			sameFS[t] = m.Virtual
		}
		m.Spec = "/dev/" + m.Virtual
		if byID(native) && m.Native == native {
			// LABEL=, UUID= and PARTUUID= name the filesystem, not the
			// disk: they stay valid in the guest and are kept.
			m.Spec = native
		}
		m.Vdev = m.Virtual
		if m.Target == "" {
			m.Target, m.File = hostTarget(opts, e)
		}
		dm.Entries = append(dm.Entries, m)
	}
	return dm, nil
}

func prevFor(prev *DevMap, e inspect.FstabEntry) (Mapped, bool) {
	if prev == nil {
		return Mapped{}, false
	}
	for _, p := range prev.Entries {
		if p.Mount == e.Mount && (p.Spec == e.Spec || p.Native == e.Spec) {
			return p, true
		}
	}
	return Mapped{}, false
}

func byID(spec string) bool {
	return strings.HasPrefix(spec, "LABEL=") || strings.HasPrefix(spec, "UUID=") || strings.HasPrefix(spec, "PARTUUID=")
}

// userMaps validates --map and indexes it by native spec and mount point.
func userMaps(maps []Mapping, keep []inspect.FstabEntry, prefix string) (map[string]Mapping, error) {
	out := map[string]Mapping{}
	for _, m := range maps {
		v := strings.TrimPrefix(m.Virtual, "/dev/")
		if !virtualName.MatchString(v) {
			return nil, xerr.Usagef("--map %s=%s: %q is not a virtual device name such as xvda1 or sda1", m.Native, m.Virtual, m.Virtual)
		}
		found := false
		for _, e := range keep {
			if e.Spec == m.Native || e.Mount == m.Native {
				found = true
			}
		}
		if !found {
			return nil, xerr.Usagef("--map %s=%s: no local filesystem in the guest's /etc/fstab is %s", m.Native, m.Virtual, m.Native)
		}
		if _, dup := out[m.Native]; dup {
			return nil, xerr.Usagef("--map %s given twice", m.Native)
		}
		out[m.Native] = Mapping{Native: m.Native, Virtual: v}
	}
	return out, nil
}

// hostTarget is the dom0 side of a filesystem: from the source's disks
// when known, else the native device as the dom0 that runs on the same
// hardware sees it.
func hostTarget(opts Options, e inspect.FstabEntry) (string, bool) {
	if d := hostFor(opts, e); d != nil {
		return d.Target, d.File
	}
	switch {
	case strings.HasPrefix(e.Spec, "LABEL="):
		// udev escapes '/' in labels as \x2f (LABEL=/boot).
		return "/dev/disk/by-label/" + strings.ReplaceAll(strings.TrimPrefix(e.Spec, "LABEL="), "/", `\x2f`), false
	case strings.HasPrefix(e.Spec, "UUID="):
		return "/dev/disk/by-uuid/" + strings.TrimPrefix(e.Spec, "UUID="), false
	case strings.HasPrefix(e.Spec, "PARTUUID="):
		return "/dev/disk/by-partuuid/" + strings.TrimPrefix(e.Spec, "PARTUUID="), false
	}
	return e.Spec, false
}

// hostFor returns the source's disk for a filesystem, nil if unknown.
func hostFor(opts Options, e inspect.FstabEntry) *HostDisk {
	for i, d := range opts.Disks {
		if d.Mount == e.Mount || d.Spec == e.Spec {
			return &opts.Disks[i]
		}
	}
	return nil
}

// wholeDisks implements --layout disk: the guest gets the native disks
// whole and keeps its partitions, RAID and LVM inside. Partition device
// names are renamed to the virtual disk; LVM, md, LABEL= and UUID= specs
// stay valid inside the guest and are kept.
//
// prev is the map of an earlier convert: an entry it converted (fstab
// now names the virtual partition) keeps the native disk it recorded.
func wholeDisks(dm *DevMap, keep []inspect.FstabEntry, opts Options, prefix string, prev *DevMap) error {
	letters := map[string]string{}
	var order []string
	letter := func(key string) string {
		if _, ok := letters[key]; !ok {
			letters[key] = string(rune('a' + len(order)))
			order = append(order, key)
		}
		return letters[key]
	}
	for _, e := range keep {
		m := Mapped{Line: e.Line, Mount: e.Mount, Type: e.Type, Native: e.Spec, Spec: e.Spec}
		// The host side from the source's disks, when known: the disk
		// letter follows the host disk, so every filesystem on one image
		// (partitions, LVs, md, LABEL=/UUID=) shares one virtual disk.
		var host *HostDisk
		for i, d := range opts.Disks {
			if d.Target != "" && (d.Spec == e.Spec || d.Mount == e.Mount) {
				host = &opts.Disks[i]
			}
		}
		g := nativeDisk.FindStringSubmatch(e.Spec)
		switch {
		case g != nil:
			disk := "/dev/" + g[1] + g[2]
			if p, ok := prevFor(prev, e); ok && host == nil && p.Target != "" {
				disk, m.Native = p.Target, p.Native
			}
			key := disk
			if host != nil {
				key = host.Target
			}
			l := letter(key)
			m.Virtual = prefix + l + g[3]
			m.Spec = "/dev/" + m.Virtual
			m.Vdev = prefix + l
			m.Target = disk
			if host != nil {
				m.Target, m.File = host.Target, host.File
			}
		case host != nil:
			// LVM, md, LABEL=, UUID=: the spec stays valid inside the
			// guest; the disk holding it is handed over whole.
			m.Vdev = prefix + letter(host.Target)
			m.Target, m.File = host.Target, host.File
		}
		dm.Entries = append(dm.Entries, m)
	}
	if len(order) == 0 && len(opts.Disks) == 0 {
		return xerr.Usagef("--layout disk needs the guest's disks: its fstab names no /dev/hdX or /dev/sdX partitions, so give the source as disk images or devices")
	}
	return nil
}
