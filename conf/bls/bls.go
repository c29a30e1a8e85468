// Package bls parses and edits Boot Loader Specification entries
// (/boot/loader/entries/*.conf), as used by Fedora, RHEL 8+ and their
// rebuilds:
//
//	title Red Hat Enterprise Linux (4.18.0-513.5.1.el8_9.x86_64) 8.9 (Ootpa)
//	version 4.18.0-513.5.1.el8_9.x86_64
//	linux /vmlinuz-4.18.0-513.5.1.el8_9.x86_64
//	initrd /initramfs-4.18.0-513.5.1.el8_9.x86_64.img $tuned_initrd
//	options root=/dev/mapper/rhel-root ro crashkernel=auto resume=/dev/mapper/rhel-swap rd.lvm.lv=rhel/root rhgb quiet
//	id rhel-20231107120000-4.18.0-513.5.1.el8_9.x86_64
//	grub_users $grub_users
//	grub_arg --unrestricted
//	grub_class kernel
//
// Each line is "KEY VALUE" separated by white space; '#' starts a comment
// line; blank lines are ignored. Keys may repeat: "initrd" lines name
// several initrds, and several "options" lines are concatenated. Every line
// is kept; Bytes returns the input unchanged until an edit is made.
//
// Note that on RHEL 8 the options line is often "options $kernelopts ...",
// which GRUB expands from /boot/grub2/grubenv; EditOptions then sees the
// variable reference as one argument. Use UsesVariables to detect that.
//
// The format has no syntax errors (systemd ignores what it does not
// understand), so Parse never fails.
package bls

import (
	"strings"

	"github.com/xenify/xenify/conf/cmdline"
	"github.com/xenify/xenify/conf/confutil"
)

// File is one parsed entry file.
type File struct {
	lines []confutil.Line
}

// Parse parses data; name is accepted for symmetry with the other conf
// parsers. The error is always nil.
func Parse(name string, data []byte) (*File, error) {
	return &File{lines: confutil.SplitLines(data)}, nil
}

// Bytes renders the file.
func (f *File) Bytes() []byte { return confutil.JoinLines(f.lines) }

func kv(s string) (confutil.KV, bool) {
	t := strings.TrimLeft(s, " \t")
	if t == "" || t[0] == '#' {
		return confutil.KV{}, false
	}
	return confutil.SplitKV(s, confutil.IsSpace), true
}

// GetAll returns the values of all lines with the given key, in order.
func (f *File) GetAll(key string) []string {
	var out []string
	for _, l := range f.lines {
		if p, ok := kv(l.Text); ok && p.Key == key {
			out = append(out, p.Value)
		}
	}
	return out
}

// Get returns the value of the first line with the given key.
func (f *File) Get(key string) (string, bool) {
	all := f.GetAll(key)
	if len(all) == 0 {
		return "", false
	}
	return all[0], true
}

// Title, Version, Linux return the respective single-valued keys ("" if
// missing).
func (f *File) Title() string   { v, _ := f.Get("title"); return v }
func (f *File) Version() string { v, _ := f.Get("version"); return v }
func (f *File) Linux() string   { v, _ := f.Get("linux"); return v }

// Initrds returns all initrd paths (an initrd line may name several).
func (f *File) Initrds() []string {
	var out []string
	for _, v := range f.GetAll("initrd") {
		out = append(out, strings.Fields(v)...)
	}
	return out
}

// Options returns the kernel command line: the values of all options lines
// joined by a space.
func (f *File) Options() string {
	return strings.Join(f.GetAll("options"), " ")
}

// UsesVariables reports whether the options refer to GRUB environment
// variables such as $kernelopts, whose values live in grubenv.
func (f *File) UsesVariables() bool {
	return strings.Contains(f.Options(), "$")
}

// Set makes key have the single value value: the first line with the key
// is rewritten in place (keeping its separator), later ones are removed, and
// if there is none, "key value" is appended.
func (f *File) Set(key, value string) {
	found := false
	for i := 0; i < len(f.lines); i++ {
		p, ok := kv(f.lines[i].Text)
		if !ok || p.Key != key {
			continue
		}
		if found {
			f.lines = confutil.DeleteLines(f.lines, i, i+1)
			i--
			continue
		}
		found = true
		if p.Value != value {
			if p.Sep == "" {
				p.Sep = " "
			}
			p.Value = value
			f.lines[i].Text = p.String()
		}
	}
	if !found {
		f.lines = confutil.InsertLines(f.lines, len(f.lines), key+" "+value)
	}
}

// SetOptions replaces the kernel command line (see Set).
func (f *File) SetOptions(options string) { f.Set("options", options) }

// EditOptions parses the options with package cmdline, calls edit, and
// writes the result back if it changed. With a single options line only
// the edited arguments change; several options lines are merged into one.
func (f *File) EditOptions(edit func(c *cmdline.Cmdline)) {
	old := f.Options()
	c := cmdline.Parse(old)
	edit(c)
	if s := c.String(); s != old {
		f.SetOptions(s)
	}
}
