// Package layer builds the cpio archive xenify appends to a guest's
// initrd so that it loads the Xen block and network frontends, without
// running anything of the guest.
//
// The kernel unpacks every archive concatenated to an initrd, in order,
// a later member replacing an earlier one (early microcode ships this
// way). The layer holds the frontend modules and their dependencies from
// the guest's own /lib/modules/VERSION, the guest's module index files,
// and the generator's own hook that loads them:
//
//   - initramfs-tools: conf/modules, the original plus the frontends
//     (init's load_modules modprobes every line);
//   - dracut: nothing beyond modules and indexes: udev loads the
//     frontends by modalias, and the boot entry gets rd.driver.pre= so
//     dracut loads them explicitly too (KernelArgs);
//   - mkinitrd/nash (EL4/EL5): a copy of the nash init with the insmod
//     lines inserted before the root device is made, and the modules in
//     /lib as mkinitrd puts them.
//
// Every member is written where the existing initrd's own symbolic links
// lead (lib -> usr/lib), never as a directory over a link: the kernel
// removes whatever has another type than the member that replaces it.
// The output depends only on its inputs, so building twice gives the same
// bytes. Build refuses (*xerr.Refused) what it cannot prove will work.
package layer

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"

	"github.com/xenify/xenify/decompress"
	"github.com/xenify/xenify/initramfs"
	"github.com/xenify/xenify/xerr"
)

// Generator is the tool that built an initrd, as recognised from its
// contents.
type Generator string

const (
	InitramfsTools Generator = "initramfs-tools"
	Dracut         Generator = "dracut"
	Nash           Generator = "mkinitrd/nash"
)

// Input is what a layer is built from.
type Input struct {
	// Initrd is the current initrd and InitrdPath its guest path.
	Initrd     []byte
	InitrdPath string
	// Kernel is the kernel release the initrd belongs to.
	Kernel string
	// Guest is the guest's root filesystem (read only).
	Guest fs.FS
	// Modules are the modules the initrd must load before the root
	// filesystem is mounted, in order; Required are those without which
	// the guest cannot boot (the block frontend). A module built into
	// the kernel needs nothing.
	Modules  []string
	Required []string
	// Replace are further members (initramfs paths) the layer must
	// carry with this content, e.g. conf/conf.d/resume.
	Replace map[string][]byte
}

// Layer is the result of Build.
type Layer struct {
	Generator Generator
	// Bytes is what to append to the initrd (nil: it already loads every
	// module and holds every member; nothing to do). It starts with the
	// zero padding that aligns it to 4 bytes after the initrd.
	Bytes []byte
	// Members lists the layer's files (canonical paths; the new
	// directories that hold them are not listed).
	Members []string
	// Load are the modules the initrd loads explicitly, dependencies
	// first; Builtin those built into the kernel; Missing the wanted
	// modules the kernel has not at all (never a required one).
	Load, Builtin, Missing []string
	// KernelArgs are arguments the boot entry needs (dracut:
	// rd.driver.pre=...).
	KernelArgs []string
	// Compression of the layer: gzip or none.
	Compression string
}

// Detect recognises the generator of an unpacked initrd.
func Detect(v *initramfs.View, initrdPath string) (Generator, error) {
	init, ok := v.ReadFile("init")
	switch {
	case ok && bytes.HasPrefix(init, []byte("#!/bin/nash")):
		return Nash, nil
	case exists(v, "conf/initramfs.conf") && exists(v, "scripts/functions"):
		return InitramfsTools, nil
	case exists(v, "lib/dracut-lib.sh") || isDir(v, "usr/lib/dracut") || isDir(v, "lib/dracut"):
		return Dracut, nil
	}
	first := "none"
	if ok {
		first = strings.SplitN(string(init), "\n", 2)[0]
		if len(first) > 60 {
			first = first[:60] + "..."
		}
		first = fmt.Sprintf("%q", first)
	} else if e, ok := v.Lstat("init"); ok && e.IsSymlink() {
		first = "a link to " + e.Link
	}
	return "", xerr.Refuse(initrdPath, 0, "use --initrd rebuild, which runs the guest's own initrd tool", "unrecognised initrd (init: %s): not built by initramfs-tools, dracut or mkinitrd/nash, so xenify cannot tell how it loads modules", first)
}

func exists(v *initramfs.View, p string) bool { _, ok := v.ReadFile(p); return ok }
func isDir(v *initramfs.View, p string) bool  { _, ok := v.ResolveDir(p); return ok }

// builder collects the layer's members.
type builder struct {
	in      Input
	view    *initramfs.View
	gen     Generator
	moddir  string // guest: lib/modules/VER
	files   map[string]initramfs.Member
	newDirs map[string]bool
}

// Build builds the layer for in.Initrd.
func Build(in Input) (*Layer, error) {
	view, err := initramfs.NewView(in.Initrd)
	if err != nil {
		return nil, xerr.Refuse(in.InitrdPath, 0, "use --initrd rebuild", "cannot read the initrd: %v", err)
	}
	gen, err := Detect(view, in.InitrdPath)
	if err != nil {
		return nil, err
	}
	b := &builder{in: in, view: view, gen: gen, moddir: "lib/modules/" + in.Kernel, files: map[string]initramfs.Member{}, newDirs: map[string]bool{}}
	l := &Layer{Generator: gen}
	if err := b.modules(l); err != nil {
		return nil, err
	}
	for _, p := range sortedKeys(in.Replace) {
		if err := b.put(p, in.Replace[p], 0o644); err != nil {
			return nil, err
		}
	}
	if len(b.files) == 0 {
		return l, nil
	}
	if gen == Dracut && len(l.Load) > 0 {
		l.KernelArgs = []string{"rd.driver.pre=" + strings.Join(l.Load, ",")}
	}
	members := b.members()
	for _, m := range members {
		if m.Mode&0o170000 != 0o040000 {
			l.Members = append(l.Members, m.Path)
		}
	}
	archive, err := initramfs.WriteNewc(members)
	if err != nil {
		return nil, err
	}
	l.Compression = "none"
	if b.canGzip() {
		var z bytes.Buffer
		w, _ := gzip.NewWriterLevel(&z, gzip.BestSpeed)
		w.Write(archive)
		w.Close()
		archive, l.Compression = z.Bytes(), "gzip"
	}
	pad := (4 - len(in.Initrd)%4) % 4
	l.Bytes = append(make([]byte, pad, pad+len(archive)), archive...)
	return l, nil
}

// canGzip: the kernel unpacks a gzip-compressed layer if the initrd
// already has a gzip part or the kernel is configured for it.
func (b *builder) canGzip() bool {
	for _, e := range b.view.Entries() {
		if e.Compression == decompress.Gzip {
			return true
		}
	}
	cfg, err := fs.ReadFile(b.in.Guest, "boot/config-"+b.in.Kernel)
	return err == nil && initramfs.ConfigHas(cfg, "RD_GZIP") == "y"
}

// modules resolves the wanted modules in the guest, checks them and adds
// them (with the generator's hook) to the layer.
func (b *builder) modules(l *Layer) error {
	in := b.in
	depPath := b.moddir + "/modules.dep"
	depData, err := fs.ReadFile(in.Guest, depPath)
	if err != nil {
		return xerr.Refuse("/"+depPath, 0, "run depmod "+in.Kernel+" in the guest, or use --initrd rebuild", "cannot read the kernel's module index: %v", err)
	}
	deps, err := parseModulesDep(depData, in.Kernel)
	if err != nil {
		return &xerr.Refused{Path: "/" + depPath, Msg: "cannot parse", Err: err, Fix: "run depmod " + in.Kernel + " in the guest"}
	}
	builtin, _ := fs.ReadFile(in.Guest, b.moddir+"/modules.builtin")
	config, _ := fs.ReadFile(in.Guest, "boot/config-"+in.Kernel)
	required := map[string]bool{}
	for _, m := range in.Required {
		required[norm(m)] = true
	}
	seen := map[string]bool{}
	for _, want := range in.Modules {
		if isBuiltin(want, builtin, config) {
			l.Builtin = append(l.Builtin, want)
			continue
		}
		if _, ok := deps.path[norm(want)]; !ok {
			if required[norm(want)] {
				return xerr.Refuse("/"+depPath, 0, "install a kernel with the Xen frontends (CONFIG_XEN_BLKDEV_FRONTEND), or use --initrd rebuild", "kernel %s has no %s module and does not build it in (modules.builtin, /boot/config-%s)", in.Kernel, want, in.Kernel)
			}
			l.Missing = append(l.Missing, want)
			continue
		}
		chain, err := deps.closure(want)
		if err != nil {
			return &xerr.Refused{Path: "/" + depPath, Msg: "cannot resolve " + want, Err: err, Fix: "run depmod " + in.Kernel + " in the guest"}
		}
		for _, n := range chain {
			if !seen[n] {
				seen[n] = true
				l.Load = append(l.Load, n)
			}
		}
	}
	// Read and check every module before adding anything.
	type mod struct {
		name, rel string
		data      []byte
	}
	var mods []mod
	for _, n := range l.Load {
		rel := deps.path[n]
		p := b.moddir + "/" + rel
		data, err := fs.ReadFile(in.Guest, p)
		if err != nil {
			return xerr.Refuse("/"+p, 0, "reinstall the kernel package in the guest", "module %s listed in modules.dep cannot be read: %v", n, err)
		}
		if c := compression(rel); c != "" && !b.canLoad(c, config) {
			return xerr.Refuse("/"+p, 0, "use --initrd rebuild", "module %s is %s-compressed, and neither the initrd's own modules nor the kernel configuration (CONFIG_MODULE_COMPRESS_%s) show that %s can load it", n, c, strings.ToUpper(c), b.loader())
		}
		vm, err := initramfs.Vermagic(data)
		if err != nil {
			return xerr.Refuse("/"+p, 0, "reinstall the kernel package in the guest", "module %s: %v", n, err)
		}
		if vm != in.Kernel {
			return xerr.Refuse("/"+p, 0, "reinstall the kernel package in the guest", "module %s was built for kernel %s (vermagic), not %s", n, vm, in.Kernel)
		}
		mods = append(mods, mod{n, rel, data})
	}
	switch b.gen {
	case Nash:
		var names []string
		for _, m := range mods {
			// A module mkinitrd already put in /lib stays as it is.
			if e, ok := b.view.Lstat("lib/" + path.Base(m.rel)); !ok || !e.IsRegular() {
				if err := b.put("lib/"+path.Base(m.rel), m.data, 0o644); err != nil {
					return err
				}
			}
			names = append(names, strings.TrimSuffix(path.Base(m.rel), ".ko"))
		}
		init, _ := b.view.ReadFile("init")
		newInit, err := NashInit(init, names, b.in.InitrdPath)
		if err != nil {
			return err
		}
		return b.put("init", newInit, 0o755)
	case InitramfsTools, Dracut:
		added := false
		for _, m := range mods {
			ok, err := b.putIfChanged(b.moddir+"/"+m.rel, m.data, 0o644)
			if err != nil {
				return err
			}
			added = added || ok
		}
		if added {
			if err := b.indexes(); err != nil {
				return err
			}
		}
		if b.gen == InitramfsTools {
			return b.confModules(l)
		}
	}
	return nil
}

// loader names what loads modules in this initrd, for messages.
func (b *builder) loader() string {
	if b.gen == Nash {
		return "nash's insmod"
	}
	return "the initrd's modprobe"
}

// canLoad reports whether the initrd can load modules compressed with c:
// it already holds modules so compressed (its generator put them there),
// or the kernel was built to compress its modules so.
func (b *builder) canLoad(c string, config []byte) bool {
	if b.gen == Nash {
		return false // nash's insmod reads plain ELF
	}
	for _, e := range b.view.Entries() {
		if e.IsRegular() && moduleName(e.Path) != "" && compression(e.Path) == c {
			return true
		}
	}
	sym := map[string]string{"gzip": "MODULE_COMPRESS_GZIP", "xz": "MODULE_COMPRESS_XZ", "zstd": "MODULE_COMPRESS_ZSTD"}[c]
	return sym != "" && initramfs.ConfigHas(config, sym) == "y"
}

// configSym are the kernel options of modules that may be built in on
// kernels without modules.builtin (before 2.6.33).
var configSym = map[string]string{
	"xen_blkfront": "XEN_BLKDEV_FRONTEND", "xenblk": "XEN_BLKDEV_FRONTEND",
	"xen_netfront": "XEN_NETDEV_FRONTEND", "xennet": "XEN_NETDEV_FRONTEND",
	"ext4": "EXT4_FS", "ext3": "EXT3_FS", "xfs": "XFS_FS", "btrfs": "BTRFS_FS",
}

func isBuiltin(name string, builtin, config []byte) bool {
	if builtin != nil && initramfs.BuiltinFromModulesBuiltin(builtin, name) {
		return true
	}
	return configSym[norm(name)] != "" && initramfs.ConfigHas(config, configSym[norm(name)]) == "y"
}

// indexes adds the guest's module index files (modules.dep, .alias,
// .symbols, their .bin forms, ...): they describe the same kernel, so
// modprobe and udev find the added modules by name and by modalias. kmod
// prefers the .bin forms, so the text forms alone would not do.
func (b *builder) indexes() error {
	ents, err := fs.ReadDir(b.in.Guest, b.moddir)
	if err != nil {
		return xerr.Refuse("/"+b.moddir, 0, "reinstall the kernel package in the guest", "cannot list the modules directory: %v", err)
	}
	for _, e := range ents {
		if !strings.HasPrefix(e.Name(), "modules.") || !e.Type().IsRegular() {
			continue
		}
		data, err := fs.ReadFile(b.in.Guest, b.moddir+"/"+e.Name())
		if err != nil {
			return xerr.Refuse("/"+b.moddir+"/"+e.Name(), 0, "check the file in the guest", "cannot read: %v", err)
		}
		if _, err := b.putIfChanged(b.moddir+"/"+e.Name(), data, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// confModules makes initramfs-tools' conf/modules list every module to
// load: the original lines first, then the missing ones.
func (b *builder) confModules(l *Layer) error {
	orig, _ := b.view.ReadFile("conf/modules")
	listed := map[string]bool{}
	for _, line := range strings.Split(string(orig), "\n") {
		if f := strings.Fields(line); len(f) > 0 && !strings.HasPrefix(f[0], "#") {
			listed[norm(f[0])] = true
		}
	}
	out := string(orig)
	if out != "" && !strings.HasSuffix(out, "\n") {
		out += "\n"
	}
	for _, want := range b.in.Modules {
		if !listed[norm(want)] && contains(l.Load, norm(want)) {
			out += want + "\n"
			listed[norm(want)] = true
		}
	}
	if out == string(orig) {
		return nil
	}
	return b.put("conf/modules", []byte(out), 0o644)
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

// put adds a regular file to the layer at p (an initramfs path) unless
// the initrd already has these bytes there.
func (b *builder) put(p string, data []byte, perm uint32) error {
	_, err := b.putIfChanged(p, data, perm)
	return err
}

func (b *builder) putIfChanged(p string, data []byte, perm uint32) (bool, error) {
	canon, err := b.canonical(p)
	if err != nil {
		return false, err
	}
	if old, ok := b.view.Lstat(canon); ok && old.IsRegular() {
		if cur, _ := b.view.ReadFile(canon); bytes.Equal(cur, data) && old.Mode&0o7777 == perm {
			return false, nil
		}
	}
	b.files[canon] = initramfs.File(canon, data, perm)
	return true, nil
}

// canonical resolves p's parent directories through the initrd's own
// symbolic links; the directories that do not exist yet are created by
// the layer. A parent that exists but is not a directory is refused.
func (b *builder) canonical(p string) (string, error) {
	dir, base := path.Split(p)
	dir = strings.TrimSuffix(dir, "/")
	if dir == "" {
		return base, nil
	}
	if d, ok := b.view.ResolveDir(dir); ok {
		return path.Join(d, base), nil
	}
	// Resolve the longest existing prefix, create the rest.
	parent, rest := dir, []string{}
	for {
		i := strings.LastIndexByte(parent, '/')
		if i < 0 {
			rest = append([]string{parent}, rest...)
			parent = ""
			break
		}
		rest = append([]string{parent[i+1:]}, rest...)
		parent = parent[:i]
		if _, ok := b.view.ResolveDir(parent); ok {
			break
		}
	}
	cur := ""
	if parent != "" {
		cur, _ = b.view.ResolveDir(parent)
	}
	for _, c := range rest {
		cur = path.Join(cur, c)
		if e, ok := b.view.Lstat(cur); ok {
			return "", xerr.Refuse(b.in.InitrdPath, 0, "use --initrd rebuild", "the initrd has %s as a %v, where the layer needs a directory", cur, e.FileMode().Type())
		}
		b.newDirs[cur] = true
	}
	return path.Join(cur, base), nil
}

// members returns the layer's members: new directories before what they
// hold, everything sorted by path.
func (b *builder) members() []initramfs.Member {
	var out []initramfs.Member
	for d := range b.newDirs {
		out = append(out, initramfs.Dir(d, 0o755))
	}
	for _, m := range b.files {
		out = append(out, m)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out
}

func sortedKeys(m map[string][]byte) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// ErrNotNash is wrapped by NashInit's refusals.
var ErrNotNash = errors.New("unrecognised nash init")
