package plan

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"strings"

	"github.com/xenify/xenify/guest"
	"github.com/xenify/xenify/initramfs"
	"github.com/xenify/xenify/inspect"
	"github.com/xenify/xenify/xerr"
)

// Context is the planner's working state: the guest (read-only), what was
// inspected, the options, and the ops planned so far. Several steps may
// edit the same file (the boot config gets both the root device and the
// console); Context merges them into one op per file, so the plan shows
// one diff per file.
type Context struct {
	Root   *guest.Root
	In     *inspect.Inspection
	Opts   Options
	Family Family
	DevMap *DevMap
	// Kernel is the domU kernel the guest will boot (nil until known).
	Kernel *inspect.Kernel

	plan  *Plan
	files map[string]int // guest path -> index of its WriteFile op
	// kernelArgs are arguments the boot entry must carry for the
	// initrd (dracut's rd.driver.pre= with an appended layer).
	kernelArgs []string
	// pvhShim is the kernel's PV ABI when the host lacks it and the
	// guest runs as PVH under the PV shim (checkABI); "" otherwise.
	pvhShim string
	// guestType is the guest type chooseGuestType decided.
	guestType string
	// kernelFiles caches kernelFile's reads by guest path.
	kernelFiles map[string][]byte
}

// Read returns the content of a guest file as planned so far: the
// pending new content if an earlier step edits it, else what is on disk.
// ok is false when the file does not exist (and nothing creates it).
func (c *Context) Read(p string) (data string, ok bool, err error) {
	real, err := c.Root.Realpath(p)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return "", false, nil
		}
		return "", false, err
	}
	if i, ok := c.files[real]; ok {
		op := c.plan.Ops[i]
		if op.Kind == RemoveFile {
			return "", false, nil
		}
		return op.Content, true, nil
	}
	b, err := c.Root.ReadFile(real)
	if errors.Is(err, fs.ErrNotExist) {
		return "", false, nil
	}
	if err != nil {
		return "", false, xerr.Refuse(p, 0, "check the file in the guest", "cannot read: %v", err)
	}
	return string(b), true, nil
}

// Write plans new content for a guest file. Writing the content the file
// already has plans nothing: this is what makes a second convert a no-op.
func (c *Context) Write(step, p, content, reason string, mode *fs.FileMode) error {
	real, err := c.Root.RealpathMissing(p)
	if err != nil {
		return xerr.Refuse(p, 0, "check the path in the guest", "cannot resolve: %v", err)
	}
	if i, ok := c.files[real]; ok {
		op := &c.plan.Ops[i]
		if op.Content == content && (mode == nil || (op.Mode != nil && *op.Mode == *mode)) {
			return nil
		}
		op.Content = content
		if mode != nil {
			op.Mode = mode
		}
		if !strings.Contains(op.Step, step) {
			op.Step += "+" + step
		}
		op.Reason += "; " + reason
		return nil
	}
	var old *string
	oldHash := ""
	b, err := c.Root.ReadFile(real)
	switch {
	case err == nil:
		s := string(b)
		old, oldHash = &s, Hash(b)
		if s == content && (mode == nil || c.modeIs(real, *mode)) {
			return nil
		}
	case errors.Is(err, fs.ErrNotExist):
	default:
		return xerr.Refuse(p, 0, "check the file in the guest", "cannot read: %v", err)
	}
	c.files[real] = len(c.plan.Ops)
	c.plan.Ops = append(c.plan.Ops, Op{Step: step, Kind: WriteFile, Reason: reason, Path: real, Content: content, Mode: mode, OldSHA256: oldHash, Old: old})
	return nil
}

func (c *Context) modeIs(p string, m fs.FileMode) bool {
	meta, err := c.Root.Meta(p)
	return err == nil && meta.Mode.Perm() == m.Perm()
}

// Remove plans the removal of a guest file if it exists.
func (c *Context) Remove(step, p, reason string) {
	if _, err := c.Root.Lstat(p); err != nil {
		return
	}
	c.plan.Ops = append(c.plan.Ops, Op{Step: step, Kind: RemoveFile, Reason: reason, Path: p})
}

// Add appends an op as is.
func (c *Context) Add(op Op) { c.plan.Ops = append(c.plan.Ops, op) }

// CopyIn plans copying the host file host into the guest at p, unless the
// guest already holds the same bytes there (a second convert, or one whose
// guest commands were left to the user): writing it again would journal
// it again, and a second convert must change nothing.
func (c *Context) CopyIn(step, p, host, reason string) {
	if want, err := os.ReadFile(host); err == nil {
		if got, err := c.Root.ReadFile(p); err == nil && bytes.Equal(got, want) {
			return
		}
	}
	c.Add(Op{Step: step, Kind: WriteFile, Reason: reason, Path: p, FromHost: host})
}

// Warn adds a warning to the plan.
func (c *Context) Warn(format string) { c.plan.Warnings = append(c.plan.Warnings, format) }

// Later records a step that can only be planned after this plan's guest
// commands have run.
func (c *Context) Later(what string) { c.plan.Later = append(c.plan.Later, what) }

// Mode is a helper for literal modes.
func Mode(m fs.FileMode) *fs.FileMode { return &m }

// InitrdHas reports whether k's current initrd contains every one of the
// module names (in any compression, with - and _ equivalent). known is
// false when there is no initrd or it cannot be read.
func (c *Context) InitrdHas(k inspect.Kernel, modules ...string) (has, known bool) {
	if k.Initrd == "" {
		return false, false
	}
	data, err := c.Root.ReadFile(k.Initrd)
	if err != nil {
		return false, false
	}
	ents, err := initramfs.List(data)
	if err != nil {
		return false, false
	}
	for _, m := range modules {
		if !initramfs.HasModule(ents, m) {
			return false, true
		}
	}
	return true, true
}

// ModuleBuiltin reports whether module m is built into kernel k, from
// lib/modules/VERSION/modules.builtin.
func (c *Context) ModuleBuiltin(k inspect.Kernel, m string) bool {
	data := c.kernelFile("/lib/modules/" + k.Version + "/modules.builtin")
	return data != nil && initramfs.BuiltinFromModulesBuiltin(data, m)
}

// kernelFile returns a kernel's file in the guest (its configuration,
// modules.builtin), or nil when it cannot be read. The steps ask the
// same questions of the same kernel many times (an HVM plan read the
// configuration a dozen times), and the plan never writes these files,
// so each is read once.
func (c *Context) kernelFile(p string) []byte {
	if b, ok := c.kernelFiles[p]; ok {
		return b
	}
	b, err := c.Root.ReadFile(p)
	if err != nil {
		b = nil
	}
	if c.kernelFiles == nil {
		c.kernelFiles = map[string][]byte{}
	}
	c.kernelFiles[p] = b
	return b
}
