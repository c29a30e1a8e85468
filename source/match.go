package source

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

var (
	nativePart = regexp.MustCompile(`^/dev/(hd|sd|vd|xvd)([a-z]{1,2})([0-9]*)$`)
	ccissPart  = regexp.MustCompile(`^/dev/(?:cciss|ida|rd)/c[0-9]+d([0-9]+)(?:p([0-9]+))?$`)
	nvmePart   = regexp.MustCompile(`^/dev/(?:nvme([0-9]+)n1|mmcblk([0-9]+))(?:p([0-9]+))?$`)
	mdDev      = regexp.MustCompile(`^/dev/md/?([0-9]+)$`)
)

// letterIndex turns "a" into 0, "z" into 25, "aa" into 26.
func letterIndex(s string) int {
	n := 0
	for _, c := range s {
		n = n*26 + int(c-'a') + 1
	}
	return n - 1
}

// lvFromPath returns the VG and LV named by /dev/VG/LV or
// /dev/mapper/VG-LV (where '-' inside names is doubled).
func lvFromPath(p string) (vg, lv string, ok bool) {
	if rest, found := strings.CutPrefix(p, "/dev/mapper/"); found {
		for i := 0; i < len(rest); i++ {
			if rest[i] != '-' {
				continue
			}
			if i+1 < len(rest) && rest[i+1] == '-' {
				i++
				continue
			}
			vg = strings.ReplaceAll(rest[:i], "--", "-")
			lv = strings.ReplaceAll(rest[i+1:], "--", "-")
			return vg, lv, vg != "" && lv != ""
		}
		return "", "", false
	}
	rest, found := strings.CutPrefix(p, "/dev/")
	if !found {
		return "", "", false
	}
	parts := strings.Split(rest, "/")
	if len(parts) != 2 || parts[0] == "" || parts[1] == "" {
		return "", "", false
	}
	switch parts[0] {
	case "disk", "md", "cciss", "ida", "rd", "mapper", "block", "by-id", "by-label", "by-uuid", "input", "pts", "shm", "snd", "net", "bus", "char", "cpu", "fd", "dri", "usb":
		return "", "", false
	}
	return parts[0], parts[1], true
}

// Resolve finds the volume an fstab spec names. It returns the index into
// m.Volumes, or -1 when nothing matches; u is set when the spec names an
// LV or array that exists but cannot be reached. canon canonicalises a
// host path (EvalSymlinks) for specs that name host devices given as
// SOURCE; it may be nil. More than one match is an error.
func (m *Map) Resolve(spec string, canon func(string) string) (idx int, u *Unreachable, err error) {
	var hits []int
	add := func(f func(v Volume) bool) {
		for i, v := range m.Volumes {
			if f(v) {
				hits = append(hits, i)
			}
		}
	}
	done := func(what string) (int, *Unreachable, error) {
		switch len(hits) {
		case 0:
			return -1, nil, nil
		case 1:
			return hits[0], nil, nil
		}
		var names []string
		for _, h := range hits {
			names = append(names, m.Volumes[h].Describe(m.Disks))
		}
		return -1, nil, fmt.Errorf("%s names %d filesystems (%s); give only the disks of one installation", what, len(hits), strings.Join(names, ", "))
	}
	key, val, _ := strings.Cut(spec, "=")
	switch key {
	case "LABEL":
		add(func(v Volume) bool { return v.Probe.Label == val })
		return done(spec)
	case "UUID":
		add(func(v Volume) bool { return v.Probe.UUID != "" && strings.EqualFold(v.Probe.UUID, val) })
		return done(spec)
	case "PARTUUID":
		add(func(v Volume) bool {
			return v.PartUUID != "" && v.LV == "" && v.MD == "" && strings.EqualFold(v.PartUUID, val)
		})
		return done(spec)
	case "PARTLABEL":
		add(func(v Volume) bool { return v.PartLabel != "" && v.LV == "" && v.MD == "" && v.PartLabel == val })
		return done(spec)
	}
	if !strings.HasPrefix(spec, "/") {
		return -1, nil, nil
	}
	// A host device given as SOURCE and named the same way in fstab (a
	// dom0 on the guest's own hardware, or an LV device passed directly).
	c := spec
	if canon != nil {
		c = canon(spec)
	}
	for di, dk := range m.Disks {
		for _, p := range dk.Paths {
			if p == spec || p == c {
				add(func(v Volume) bool { return v.Disk == di && v.Part == 0 && v.LV == "" && v.MD == "" })
			}
		}
	}
	if len(hits) > 0 {
		return done(spec)
	}
	if vg, lv, ok := lvFromPath(spec); ok {
		add(func(v Volume) bool { return v.VG == vg && v.LV == lv })
		if len(hits) == 0 {
			if un, ok := m.unreachableLV(vg, lv); ok {
				return -1, &un, nil
			}
		}
		if len(hits) == 0 {
			// An LV device given as SOURCE: its disk carries the name.
			for di, dk := range m.Disks {
				if dk.VG == vg && dk.LV == lv {
					add(func(v Volume) bool { return v.Disk == di && v.Part == 0 && v.LV == "" })
				}
			}
		}
		return done(spec)
	}
	if g := mdDev.FindStringSubmatch(spec); g != nil || strings.HasPrefix(spec, "/dev/md/") {
		// The guest's mdadm.conf names its arrays; it is what the
		// guest's initrd assembles them by.
		if a, ok := m.confArray(spec); ok {
			add(a.matches)
			if len(hits) > 0 {
				return done(spec + " (" + a.Path + " line " + strconv.Itoa(a.Line) + ")")
			}
		}
		minor := -1
		if g != nil {
			minor, _ = strconv.Atoi(g[1])
		}
		name := strings.TrimPrefix(spec, "/dev/md/")
		add(func(v Volume) bool {
			if v.MD == "" {
				return false
			}
			if minor >= 0 && v.MDMinor == minor {
				return true
			}
			_, short, _ := strings.Cut(v.MDName, ":")
			return g == nil && name != "" && (v.MDName == name || short == name)
		})
		if len(hits) == 0 {
			var arrays []int
			for i, v := range m.Volumes {
				if v.MD != "" {
					arrays = append(arrays, i)
				}
			}
			if len(arrays) == 1 && m.Volumes[arrays[0]].MDMinor < 0 {
				hits = arrays // the only array, of unknown number
			}
			for _, un := range m.Unreachable {
				if un.MD != "" && (un.MDMinor == minor || len(m.Unreachable) == 1) {
					return -1, &un, nil
				}
			}
		}
		return done(spec)
	}
	disk, num := -1, 0
	if g := nativePart.FindStringSubmatch(spec); g != nil {
		disk = letterIndex(g[2])
		num, _ = strconv.Atoi(g[3])
	} else if g := ccissPart.FindStringSubmatch(spec); g != nil {
		disk, _ = strconv.Atoi(g[1])
		num, _ = strconv.Atoi(g[2])
	} else if g := nvmePart.FindStringSubmatch(spec); g != nil {
		disk, _ = strconv.Atoi(g[1] + g[2])
		num, _ = strconv.Atoi(g[3])
	}
	if disk >= 0 && disk < len(m.Disks) {
		add(func(v Volume) bool { return v.Disk == disk && v.Part == num && v.LV == "" && v.MD == "" })
	}
	return done(spec)
}
