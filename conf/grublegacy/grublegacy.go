// Package grublegacy parses and edits GRUB legacy (0.9x) configuration
// files: /boot/grub/grub.conf on CentOS/RHEL 4 and 5 and /boot/grub/menu.lst
// on Debian and Ubuntu.
//
// The model keeps every line: comments (including the update-grub
// "### BEGIN AUTOMAGIC KERNELS LIST" block with its "# kopt=..." lines),
// blank lines, unknown commands, indentation, CRLF and a missing final
// newline. Bytes returns the input unchanged until an edit is made, and an
// edit rewrites only the lines it concerns. After every edit the file is
// re-scanned, so Entries, Default and Globals always describe the current
// content and line numbers are those of the current content (1-based).
//
// Syntax, as in GRUB legacy's stage2 and Xen's pygrub (GrubConf.py):
//
//   - Leading white space is ignored; a line whose first other character is
//     '#' is a comment.
//   - A command is a keyword followed by a run of spaces, tabs and '='
//     signs, then its argument: "default=0", "default 0" and "timeout= 5"
//     all work.
//   - Lines before the first "title" are global commands (default, timeout,
//     fallback, splashimage, hiddenmenu, serial, terminal, password, ...).
//     Everything from a "title" line up to the next one belongs to that
//     entry (root, rootnoverify, kernel, initrd, module, savedefault, ...).
//   - When a global command is repeated, the last one wins (both GRUB and
//     pygrub execute them in order).
//   - "default" is an entry index; "default saved" uses GRUB's saved entry,
//     which pygrub treats as 0. Missing or non-numeric values are 0 for
//     pygrub too; see DefaultIndex.
//   - A "kernel" argument is an optional list of "--type=..." /
//     "--no-mem-option" options, the kernel path, then the kernel command
//     line (Entry.Args; edit it with EditKernelArgs, which uses package
//     cmdline).
//
// Known differences from pygrub, all on input grub-install/anaconda/update-grub
// never write: pygrub takes any line starting with "title" (even
// "titlefoo") as a title, and takes a "--type=..." option of kernel as the
// kernel path; this package follows GRUB in both cases.
//
// Parse only fails (with a *confutil.ParseError) on data that cannot be a
// text configuration file (a NUL byte); GRUB itself rejects nothing at
// parse time.
//
// Operations:
//
//	f, err := grublegacy.Parse("/boot/grub/grub.conf", data)
//	for _, e := range f.Entries() { ... e.Title, e.Root, e.Kernel, e.Args, e.Initrd ... }
//	n, numeric := f.DefaultIndex()
//	f.SetDefault(0)
//	f.RemoveGlobal("splashimage")
//	f.RemoveGlobal("hiddenmenu")
//	f.SetGlobal("timeout", "5")
//	f.EditKernelArgs(0, func(c *cmdline.Cmdline) { c.Set("console", "hvc0") })
//	f.InsertEntry(0, grublegacy.Entry{Title: "CentOS (2.6.18-8.el5xen)", Root: "(hd0,0)",
//		Kernel: "/vmlinuz-2.6.18-8.el5xen", Args: "ro root=/dev/VolGroup00/LogVol00",
//		Initrd: "/initrd-2.6.18-8.el5xen.img"})
//	out := f.Bytes()
//
// InsertEntry renders the new entry in the file's own style: the title
// line, indentation and keyword separators of the first existing entry,
// and a blank line between entries if the file separates them that way.
// On Debian, entries inside the AUTOMAGIC KERNELS LIST block are replaced
// by the next update-grub run; Magic and SetMagic read and change that
// block's "# key=value" options (kopt, groot, defoptions, ...) instead.
package grublegacy

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"

	"github.com/xenify/xenify/conf/cmdline"
	"github.com/xenify/xenify/conf/confutil"
)

// Command is one command line: "kernel /vmlinuz ro", "default=0".
type Command struct {
	Name  string // keyword, e.g. "kernel"
	Value string // argument text, trailing blanks removed; "" for "hiddenmenu"
	Line  int    // 1-based line number
}

// Module is a "module" line of a multiboot (Xen) entry.
type Module struct {
	Path string
	Args string
}

// Entry is one menu entry. For a Xen dom0 entry Kernel is the hypervisor
// (/xen.gz-...) and the Linux kernel and initrd are Modules.
type Entry struct {
	Title   string
	Root    string // argument of the last root or rootnoverify command, e.g. "(hd0,0)"
	Kernel  string // kernel path as written, possibly with a device prefix: "(hd0,0)/vmlinuz"
	Args    string // kernel command line, as written
	Initrd  string // initrd path as written
	Modules []Module

	// Filled in by Entries, ignored by InsertEntry:
	Commands []Command // all commands of the entry, in order
	Line     int       // the title line
	EndLine  int       // the last line belonging to the entry (up to the next title)
}

// File is a parsed configuration file.
type File struct {
	name  string
	lines []confutil.Line
	s     scan
}

type cmd struct {
	idx int // 0-based line index
	kv  confutil.KV
}

type entryScan struct {
	title cmd
	cmds  []cmd
	end   int // 0-based index one past the entry's last line
}

type scan struct {
	globals []cmd
	entries []entryScan
}

func isCmdSep(c byte) bool { return c == ' ' || c == '\t' || c == '=' }

// Parse parses data read from the file called name (used in errors).
func Parse(name string, data []byte) (*File, error) {
	if i := bytes.IndexByte(data, 0); i >= 0 {
		return nil, confutil.Errorf(name, bytes.Count(data[:i], []byte("\n"))+1, "NUL byte: not a text file")
	}
	f := &File{name: name, lines: confutil.SplitLines(data)}
	f.rescan()
	return f, nil
}

// Bytes renders the file.
func (f *File) Bytes() []byte { return confutil.JoinLines(f.lines) }

func (f *File) rescan() {
	var s scan
	for i, l := range f.lines {
		t := strings.TrimLeft(l.Text, " \t")
		if t == "" || t[0] == '#' {
			continue
		}
		c := cmd{idx: i, kv: confutil.SplitKV(l.Text, isCmdSep)}
		switch {
		case c.kv.Key == "title":
			if n := len(s.entries); n > 0 {
				s.entries[n-1].end = i
			}
			s.entries = append(s.entries, entryScan{title: c})
		case len(s.entries) > 0:
			e := &s.entries[len(s.entries)-1]
			e.cmds = append(e.cmds, c)
		default:
			s.globals = append(s.globals, c)
		}
	}
	if n := len(s.entries); n > 0 {
		s.entries[n-1].end = len(f.lines)
	}
	f.s = s
}

func (c cmd) command() Command {
	return Command{Name: c.kv.Key, Value: c.kv.Value, Line: c.idx + 1}
}

// splitKernel splits a kernel/module argument into the part up to and
// including the path, the separator, and the command line.
func splitKernel(v string) (prefix, path, sep, args string) {
	i := 0
	for {
		for i < len(v) && confutil.IsSpace(v[i]) {
			i++
		}
		j := i
		for j < len(v) && !confutil.IsSpace(v[j]) {
			j++
		}
		word := v[i:j]
		if strings.HasPrefix(word, "--") && j < len(v) {
			i = j
			continue
		}
		k := j
		for k < len(v) && confutil.IsSpace(v[k]) {
			k++
		}
		return v[:j], word, v[j:k], v[k:]
	}
}

func (e *entryScan) entry() Entry {
	out := Entry{Title: e.title.kv.Value, Line: e.title.idx + 1, EndLine: e.end}
	for _, c := range e.cmds {
		out.Commands = append(out.Commands, c.command())
		v := c.kv.Value
		switch c.kv.Key {
		case "root", "rootnoverify":
			out.Root = v
		case "kernel":
			_, out.Kernel, _, out.Args = splitKernel(v)
		case "initrd":
			out.Initrd = v
		case "module", "modulenounzip":
			_, p, _, a := splitKernel(v)
			out.Modules = append(out.Modules, Module{Path: p, Args: a})
		}
	}
	return out
}

// Entries returns the menu entries in order.
func (f *File) Entries() []Entry {
	out := make([]Entry, 0, len(f.s.entries))
	for i := range f.s.entries {
		out = append(out, f.s.entries[i].entry())
	}
	return out
}

// Globals returns the global commands (those before the first title).
func (f *File) Globals() []Command {
	out := make([]Command, 0, len(f.s.globals))
	for _, c := range f.s.globals {
		out = append(out, c.command())
	}
	return out
}

// Global returns the argument of the last global command called name.
func (f *File) Global(name string) (string, bool) {
	for i := len(f.s.globals) - 1; i >= 0; i-- {
		if c := f.s.globals[i]; c.kv.Key == name {
			return c.kv.Value, true
		}
	}
	return "", false
}

// Default returns the argument of the effective "default" command, e.g.
// "0" or "saved".
func (f *File) Default() (string, bool) { return f.Global("default") }

// DefaultIndex returns the entry pygrub boots by default: the "default"
// number, or 0 when "default" is missing, "saved" or not a number (numeric
// is false then). GRUB itself boots the saved entry for "saved".
func (f *File) DefaultIndex() (n int, numeric bool) {
	v, ok := f.Default()
	if !ok {
		return 0, false
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0, false
	}
	return n, true
}

// SetDefault sets "default" to entry index n (see SetGlobal).
func (f *File) SetDefault(n int) { f.SetGlobal("default", strconv.Itoa(n)) }

// SetGlobal makes "name value" the only global command called name: the
// first one is rewritten in place (keeping its separator), later ones are
// removed. If there is none, a new line is added after the last global
// command (or before the first title), using the separator style of the
// existing global commands. An empty value writes the bare keyword, as for
// "hiddenmenu".
func (f *File) SetGlobal(name, value string) {
	first := -1
	var del []int
	for _, c := range f.s.globals {
		if c.kv.Key != name {
			continue
		}
		if first < 0 {
			first = c.idx
			kv := c.kv
			if value == "" {
				kv.Sep, kv.Value, kv.Trail = "", "", ""
			} else if kv.Sep == "" {
				kv.Sep = f.globalSep()
			}
			if value != kv.Value {
				kv.Value = value
				f.lines[c.idx].Text = kv.String()
			}
			continue
		}
		del = append(del, c.idx)
	}
	f.deleteLines(del)
	if first >= 0 {
		return
	}
	text := name
	if value != "" {
		text += f.globalSep() + value
	}
	at := 0
	switch {
	case len(f.s.globals) > 0:
		at = f.s.globals[len(f.s.globals)-1].idx + 1
	case len(f.s.entries) > 0:
		at = f.s.entries[0].title.idx
	default:
		at = len(f.lines)
	}
	f.lines = confutil.InsertLines(f.lines, at, text)
	f.rescan()
}

// globalSep picks the separator for a new global command: that of an
// existing default or timeout command, else that of the first global command
// with an argument, else " ".
func (f *File) globalSep() string {
	var any string
	for _, c := range f.s.globals {
		if c.kv.Value == "" {
			continue
		}
		if c.kv.Key == "default" || c.kv.Key == "timeout" {
			return c.kv.Sep
		}
		if any == "" {
			any = c.kv.Sep
		}
	}
	if any != "" {
		return any
	}
	return " "
}

// RemoveGlobal deletes all global commands called name and returns how
// many it removed.
func (f *File) RemoveGlobal(name string) int {
	var del []int
	for _, c := range f.s.globals {
		if c.kv.Key == name {
			del = append(del, c.idx)
		}
	}
	f.deleteLines(del)
	return len(del)
}

// deleteLines deletes the lines with the given ascending indexes and
// rescans.
func (f *File) deleteLines(idx []int) {
	for i := len(idx) - 1; i >= 0; i-- {
		f.lines = confutil.DeleteLines(f.lines, idx[i], idx[i]+1)
	}
	f.rescan()
}

// EditKernelArgs applies edit to the command line of entry i's (last)
// kernel command and rewrites that line if the command line changed.
func (f *File) EditKernelArgs(i int, edit func(c *cmdline.Cmdline)) error {
	e, err := f.entry(i)
	if err != nil {
		return err
	}
	for j := len(e.cmds) - 1; j >= 0; j-- {
		if e.cmds[j].kv.Key == "kernel" {
			f.editArgs(e.cmds[j], edit)
			return nil
		}
	}
	return fmt.Errorf("%s:%d: entry %d (%q) has no kernel command", f.name, e.title.idx+1, i, e.title.kv.Value)
}

// EditModuleArgs is EditKernelArgs for the m-th (0-based) module command of
// entry i, e.g. the dom0 Linux kernel of a Xen entry.
func (f *File) EditModuleArgs(i, m int, edit func(c *cmdline.Cmdline)) error {
	e, err := f.entry(i)
	if err != nil {
		return err
	}
	n := 0
	for _, c := range e.cmds {
		if c.kv.Key == "module" || c.kv.Key == "modulenounzip" {
			if n == m {
				f.editArgs(c, edit)
				return nil
			}
			n++
		}
	}
	return fmt.Errorf("%s:%d: entry %d (%q) has %d module commands, want index %d", f.name, e.title.idx+1, i, e.title.kv.Value, n, m)
}

func (f *File) entry(i int) (*entryScan, error) {
	if i < 0 || i >= len(f.s.entries) {
		return nil, fmt.Errorf("%s: entry index %d out of range (%d entries)", f.name, i, len(f.s.entries))
	}
	return &f.s.entries[i], nil
}

func (f *File) editArgs(c cmd, edit func(c *cmdline.Cmdline)) {
	prefix, _, sep, args := splitKernel(c.kv.Value)
	cl := cmdline.Parse(args)
	edit(cl)
	na := cl.String()
	if na == args {
		return
	}
	if strings.TrimLeft(na, " \t") == "" {
		sep, na = "", ""
	} else if sep == "" {
		sep = " "
	}
	kv := c.kv
	kv.Value = strings.TrimRight(prefix+sep+na, " \t")
	f.lines[c.idx].Text = kv.String()
	f.rescan()
}

// InsertEntry inserts a new entry before entry i (i == len(Entries())
// appends). It writes title, then root (if set), kernel (path and Args),
// initrd (if set) and one module line per module, in the style of the
// file's first entry.
func (f *File) InsertEntry(i int, e Entry) error {
	if i < 0 || i > len(f.s.entries) {
		return fmt.Errorf("%s: insert index %d out of range (%d entries)", f.name, i, len(f.s.entries))
	}
	if e.Title == "" || e.Kernel == "" {
		return fmt.Errorf("%s: new entry needs a title and a kernel", f.name)
	}
	for _, s := range []string{e.Title, e.Root, e.Kernel, e.Args, e.Initrd} {
		if strings.ContainsAny(s, "\r\n") {
			return fmt.Errorf("%s: new entry field %q contains a newline", f.name, s)
		}
	}
	st := f.style()
	render := func(key, val string) string {
		lead, sep := st.cmdLead, st.cmdSep
		if s, ok := st.sep[key]; ok {
			lead, sep = s[0], s[1]
		}
		return lead + key + sep + val
	}
	block := []string{st.titleLead + "title" + st.titleSep + e.Title}
	if e.Root != "" {
		block = append(block, render("root", e.Root))
	}
	k := e.Kernel
	if e.Args != "" {
		k += " " + e.Args
	}
	block = append(block, render("kernel", k))
	if e.Initrd != "" {
		block = append(block, render("initrd", e.Initrd))
	}
	for _, m := range e.Modules {
		v := m.Path
		if m.Args != "" {
			v += " " + m.Args
		}
		block = append(block, render("module", v))
	}
	var at int
	switch {
	case len(f.s.entries) == 0:
		at = len(f.lines)
		if st.blankBetween && at > 0 && !confutil.IsBlank(f.lines[at-1].Text) {
			block = append([]string{""}, block...)
		}
	case i < len(f.s.entries):
		at = f.s.entries[i].title.idx
		if at > 0 && confutil.IsBlank(f.lines[at-1].Text) {
			block = append(block, "")
		}
	default:
		last := f.s.entries[len(f.s.entries)-1]
		at = last.title.idx + 1
		if n := len(last.cmds); n > 0 {
			at = last.cmds[n-1].idx + 1
		}
		if st.blankBetween {
			block = append([]string{""}, block...)
		}
	}
	f.lines = confutil.InsertLines(f.lines, at, block...)
	f.rescan()
	return nil
}

type style struct {
	titleLead, titleSep string
	cmdLead, cmdSep     string
	sep                 map[string][2]string // keyword -> lead, sep
	blankBetween        bool
}

func (f *File) style() style {
	st := style{titleSep: " ", cmdLead: "\t", cmdSep: " ", sep: map[string][2]string{}}
	if len(f.s.entries) == 0 {
		return st
	}
	e := f.s.entries[0]
	st.titleLead = e.title.kv.Lead
	if e.title.kv.Sep != "" {
		st.titleSep = e.title.kv.Sep
	}
	for _, c := range e.cmds {
		if c.kv.Value == "" || c.kv.Sep == "" {
			continue
		}
		if len(st.sep) == 0 {
			st.cmdLead, st.cmdSep = c.kv.Lead, c.kv.Sep
		}
		if _, ok := st.sep[c.kv.Key]; !ok {
			st.sep[c.kv.Key] = [2]string{c.kv.Lead, c.kv.Sep}
		}
	}
	for _, e := range f.s.entries {
		if e.title.idx > 0 && confutil.IsBlank(f.lines[e.title.idx-1].Text) {
			st.blankBetween = true
		}
	}
	return st
}

const (
	magicBegin = "### BEGIN AUTOMAGIC KERNELS LIST"
	magicEnd   = "## ## End Default Options ##"
)

// magic finds the "# key=value" option line for key inside the Debian
// update-grub options block and returns its index and value.
func (f *File) magic(key string) (int, string, bool) {
	in := false
	for i, l := range f.lines {
		t := strings.TrimSpace(l.Text)
		switch {
		case strings.HasPrefix(t, magicBegin):
			in = true
		case strings.HasPrefix(t, magicEnd):
			in = false
		case in && strings.HasPrefix(t, "# "):
			if v, ok := strings.CutPrefix(strings.TrimLeft(t[1:], " \t"), key+"="); ok {
				return i, v, true
			}
		}
	}
	return -1, "", false
}

// Magic returns the value of an update-grub option such as "kopt" from a
// "# kopt=root=/dev/hda1 ro" line between "### BEGIN AUTOMAGIC KERNELS
// LIST" and "## ## End Default Options ##" (Debian/Ubuntu menu.lst).
func (f *File) Magic(key string) (string, bool) {
	_, v, ok := f.magic(key)
	return v, ok
}

// SetMagic rewrites an existing update-grub option line to "# key=value".
// It returns an error if the option line does not exist.
func (f *File) SetMagic(key, value string) error {
	i, _, ok := f.magic(key)
	if !ok {
		return fmt.Errorf("%s: no %q update-grub option in the AUTOMAGIC KERNELS LIST block", f.name, key)
	}
	if strings.ContainsAny(value, "\r\n") {
		return fmt.Errorf("%s: value for %q contains a newline", f.name, key)
	}
	t := f.lines[i].Text
	lead := t[:len(t)-len(strings.TrimLeft(t, " \t"))]
	f.lines[i].Text = lead + "# " + key + "=" + value
	f.rescan()
	return nil
}
