package plan

import (
	"errors"
	"fmt"
	"strings"

	"github.com/xenify/xenify/initramfs/layer"
	"github.com/xenify/xenify/inspect"
	"github.com/xenify/xenify/xerr"
)

// InitrdMode is --initrd: append, rebuild or auto.
func (c *Context) InitrdMode() string {
	if c.Opts.Initrd == "" {
		return "auto"
	}
	return c.Opts.Initrd
}

// AppendInitrd plans the layer that makes k's initrd load modules
// (required: those the guest cannot boot without) before the root
// filesystem is mounted, with replace as further members (initramfs
// paths). It returns no ops when the initrd already does. The op is an
// ordinary journaled write: the initrd as it is, plus the layer.
//
// Under --initrd auto a layer that cannot be proven to work is not an
// error: fallback is true, the reason is a plan warning, and the family
// plans its rebuild instead.
func (c *Context) AppendInitrd(k inspect.Kernel, modules, required []string, replace map[string][]byte) (ops []Op, fallback bool, err error) {
	if c.InitrdMode() == "rebuild" {
		return nil, true, nil
	}
	ops, err = c.appendInitrd(k, modules, required, replace)
	var r *xerr.Refused
	if err != nil && c.InitrdMode() == "auto" && errors.As(err, &r) {
		c.Warn("initrd: the Xen frontends cannot be appended as a layer (" + strings.ReplaceAll(r.Error(), "\n  fix: ", "; ") + "): rebuilding it with the guest's own tool instead (--initrd auto)")
		return nil, true, nil
	}
	return ops, false, err
}

func (c *Context) appendInitrd(k inspect.Kernel, modules, required []string, replace map[string][]byte) ([]Op, error) {
	if k.Initrd == "" {
		return nil, xerr.Refuse("/boot", 0, "use --initrd rebuild, which makes one with the guest's tool", "kernel %s has no initrd to append the Xen frontends to", k.Version)
	}
	real, err := c.Root.Realpath(k.Initrd)
	if err != nil {
		return nil, xerr.Refuse(k.Initrd, 0, "check the initrd in the guest", "cannot resolve: %v", err)
	}
	data, err := c.Root.ReadFile(real)
	if err != nil {
		return nil, xerr.Refuse(k.Initrd, 0, "check the initrd in the guest", "cannot read: %v", err)
	}
	l, err := layer.Build(layer.Input{Initrd: data, InitrdPath: k.Initrd, Kernel: k.Version, Guest: c.Root.FS(),
		Modules: modules, Required: required, Replace: replace})
	if err != nil {
		return nil, err
	}
	if l.Bytes == nil {
		return nil, nil
	}
	c.kernelArgs = append(c.kernelArgs, l.KernelArgs...)
	why := fmt.Sprintf("append a %s cpio layer (%s, %d bytes) so the %s initrd loads %s before mounting the root filesystem; no guest code runs (--initrd %s)",
		l.Compression, strings.Join(l.Members, " "), len(l.Bytes), l.Generator, strings.Join(l.Load, " "), c.InitrdMode())
	if len(l.KernelArgs) > 0 {
		why += "; the boot entry gets " + strings.Join(l.KernelArgs, " ")
	}
	return []Op{{Step: "initrd", Kind: WriteFile, Path: real, Append: l.Bytes, OldSHA256: Hash(data), Reason: why}}, nil
}
