package pygrub

import (
	"fmt"
	"math/big"
	"regexp"
	"strings"
)

// Kind names the parser pygrub picks for a configuration file.
type Kind string

// The three parsers pygrub 4.17 uses. LiloConf.py is shipped but never
// selected: no lilo.conf path is in pygrub's search list.
const (
	Grub     Kind = "grub"     // grub.GrubConf.GrubConfigFile (GRUB legacy)
	Grub2    Kind = "grub2"    // grub.GrubConf.Grub2ConfigFile
	ExtLinux Kind = "extlinux" // grub.ExtLinuxConf.ExtLinuxConfigFile
)

// Entry is one boot entry (a pygrub "image") as pygrub parsed it.
// Python's None is kept apart from the empty string by the Has* flags.
type Entry struct {
	Title string
	// Root is what `pygrub -l` prints for the entry's root: "None" when
	// unset, "" for extlinux, else GrubDiskPart's form such as "d0p0".
	Root string
	// Kernel is the path part of the kernel reference, with any
	// "(hd0,0)" device prefix removed, exactly as written otherwise.
	Kernel    string
	HasKernel bool
	Initrd    string
	HasInitrd bool
	Args      string
	HasArgs   bool
}

// Config is a parsed configuration file.
type Config struct {
	Kind    Kind
	Entries []Entry
	// Default is the index pygrub's image_index() computes, before the
	// out-of-range fallback to entry 0 (so it may be >= len(Entries)).
	// It is -1 when the number does not fit an int.
	Default int
	// DefaultText is the last value given to "default" as written
	// (after grub2 quote removal), "" if there was none.
	DefaultText string
	// Notes are non-fatal observations: values pygrub silently replaced.
	Notes []string
	// HasPassword is true when a "password" directive was seen.
	HasPassword bool
}

// ParseError is a Python exception raised while pygrub parses a file.
// pygrub then gives up on that partition.
type ParseError struct {
	Line int // 1-based; 0 when not tied to a line
	Msg  string
}

func (e *ParseError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("line %d: %s", e.Line, e.Msg)
	}
	return e.Msg
}

// grubSplit is GrubConf.grub_split.
func grubSplit(s string, maxsplit int) []string {
	eq := strings.IndexByte(s, '=')
	if eq == -1 {
		return pySplitWS(s, maxsplit)
	}
	sp := strings.IndexByte(s, ' ')
	tab := strings.IndexByte(s, '\t')
	if (tab != -1 && tab < sp) || (tab != -1 && sp == -1) {
		sp = tab
	}
	if eq < sp || sp == -1 {
		return pySplit(s, "=", maxsplit)
	}
	return pySplitWS(s, maxsplit)
}

// grubExactSplit is GrubConf.grub_exact_split.
func grubExactSplit(s string, num int) []string {
	ret := grubSplit(s, num-1)
	for len(ret) < num {
		ret = append(ret, "")
	}
	return ret
}

// pathRef is the (GrubDiskPart, path) tuple of GrubConf.get_path.
func getPath(s string) (string, error) {
	if !strings.HasPrefix(s, "(") {
		return s, nil
	}
	idx := strings.IndexByte(s, ')')
	if idx == -1 {
		return "", fmt.Errorf("ValueError: Unable to find matching ')' in %q", s)
	}
	if _, err := diskPart(s[:idx]); err != nil {
		return "", err
	}
	return s[idx+1:], nil
}

// diskPart parses like GrubConf.GrubDiskPart and returns its repr.
func diskPart(s string) (string, error) {
	disk, part, hasPart := s, "", false
	if strings.Contains(s, ",") {
		f := strings.SplitN(s, ",", 3)
		if len(f) != 2 {
			return "", fmt.Errorf("ValueError: too many values to unpack in device %q", s)
		}
		disk, part, hasPart = f[0], f[1], true
	}
	// set_disk
	disk = strings.NewReplacer("(", "", ")", "").Replace(disk)
	var d *big.Int
	if strings.HasPrefix(disk, "/dev/xvd") {
		rest := []rune(disk[len("/dev/xvd"):])
		if len(rest) == 0 {
			return "", fmt.Errorf("IndexError: device %q has no letter", s)
		}
		d = big.NewInt(int64(rest[0]) - 'a')
	} else {
		v, err := pyInt(pySliceFrom(disk, 2))
		if err != nil {
			return "", fmt.Errorf("ValueError: disk %q is not hdN", disk)
		}
		d = v
	}
	if !hasPart {
		return "d" + d.String(), nil
	}
	part = strings.NewReplacer("(", "", ")", "").Replace(part)
	if pySliceTo(part, 5) == "msdos" {
		part = pySliceFrom(part, 5)
	}
	if pySliceTo(part, 3) == "gpt" {
		part = pySliceFrom(part, 3)
	}
	p, err := pyInt(part)
	if err != nil {
		return "", fmt.Errorf("ValueError: partition %q is not a number", part)
	}
	return "d" + d.String() + "p" + p.String(), nil
}

// grubImage accumulates the attributes of GrubConf._GrubImage.
type grubImage struct {
	e Entry
}

func newGrubImage() *grubImage { return &grubImage{e: Entry{Root: "None"}} }

func (g *grubImage) setRoot(v string) error {
	r, err := diskPart(v)
	if err != nil {
		return err
	}
	g.e.Root = r
	return nil
}

func (g *grubImage) setKernel(v string) error {
	if !strings.Contains(v, " ") {
		p, err := getPath(v)
		if err != nil {
			return err
		}
		g.e.Kernel, g.e.HasKernel = p, true
		g.e.Args, g.e.HasArgs = "", false
		return nil
	}
	f := pySplitWS(v, 1)
	p, err := getPath(f[0])
	if err != nil {
		return err
	}
	g.e.Kernel, g.e.HasKernel = p, true
	g.e.Args, g.e.HasArgs = "", true
	if len(f) > 1 {
		g.e.Args = f[1]
	} else {
		// Python: "(kernel, args) = val.split(None, 1)" with one field.
		return fmt.Errorf("ValueError: not enough values to unpack in kernel %q", v)
	}
	return nil
}

func (g *grubImage) setInitrd(v string) error {
	p, err := getPath(v)
	if err != nil {
		return err
	}
	g.e.Initrd, g.e.HasInitrd = p, true
	return nil
}

// defaults tracks _GrubConfigFile.default.
type defaults struct {
	val  *big.Int
	text string
	set  bool
	note string
}

func (d *defaults) set_(v string) error {
	d.text, d.set = v, true
	d.note = ""
	if v == "saved" {
		d.val = big.NewInt(0)
		d.note = `default "saved": pygrub boots entry 0, not the saved entry`
	} else if n, err := pyInt(v); err == nil {
		d.val = n
	} else {
		d.val = big.NewInt(0)
		d.note = fmt.Sprintf("default %q is not a number: pygrub boots entry 0", v)
	}
	if d.val.Sign() < 0 {
		return fmt.Errorf("ValueError: default must be non-negative number (%q)", v)
	}
	return nil
}

func (d *defaults) fill(c *Config) {
	c.DefaultText = d.text
	c.Default = 0
	if d.val != nil {
		if d.val.IsInt64() && d.val.Int64() < 1<<31 {
			c.Default = int(d.val.Int64())
		} else {
			c.Default = -1
		}
	}
	if d.note != "" {
		c.Notes = append(c.Notes, d.note)
	}
}

// ParseGrub parses a GRUB legacy menu.lst/grub.conf like pygrub's
// GrubConfigFile.parse. An error means pygrub raises and skips the
// partition.
func ParseGrub(text string) (*Config, error) {
	c := &Config{Kind: Grub}
	var d defaults
	var img []string
	var imgLine []int
	inImg := false
	title := ""
	add := func() error {
		g := newGrubImage()
		for i, l := range img {
			if err := g.setFromLine(l); err != nil {
				return &ParseError{Line: imgLine[i], Msg: err.Error()}
			}
		}
		g.e.Title = pyStrip(title)
		c.Entries = append(c.Entries, g.e)
		return nil
	}
	for n, l := range strings.Split(text, "\n") {
		l = pyStrip(l)
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		if strings.HasPrefix(l, "title") {
			if inImg {
				if err := add(); err != nil {
					return nil, err
				}
			}
			img, imgLine, inImg = []string{}, []int{}, true
			title = pySliceFrom(l, 6)
			continue
		}
		if inImg {
			img = append(img, l)
			imgLine = append(imgLine, n+1)
			continue
		}
		f := grubExactSplit(l, 2)
		com, arg := f[0], pyStrip(f[1])
		switch com {
		case "default":
			if err := d.set_(arg); err != nil {
				return nil, &ParseError{Line: n + 1, Msg: err.Error()}
			}
		case "splashimage":
			if _, err := getPath(arg); err != nil {
				return nil, &ParseError{Line: n + 1, Msg: err.Error()}
			}
		case "password":
			c.HasPassword = true
		}
	}
	// "if img:" - a trailing title without any line is dropped.
	if len(img) > 0 {
		if err := add(); err != nil {
			return nil, err
		}
	}
	d.fill(c)
	return c, nil
}

func (g *grubImage) setFromLine(line string) error {
	f := grubExactSplit(line, 2)
	com, arg := f[0], pyStrip(f[1])
	switch com {
	case "root", "rootnoverify":
		return g.setRoot(arg)
	case "kernel":
		return g.setKernel(arg)
	case "initrd":
		return g.setInitrd(arg)
	}
	return nil
}

// grub2HandleSet is GrubConf.grub2_handle_set.
func grub2HandleSet(arg string) (string, string, error) {
	f := grubSplit(arg, 2)
	if len(f) != 2 {
		return "", "", fmt.Errorf("ValueError: cannot unpack %d values from set %q", len(f), arg)
	}
	com, v := "set:"+f[0], f[1]
	// re.match("([\"\'])(.*)\\1", arg): strip a leading quote and the
	// last matching quote after it.
	if v != "" && (v[0] == '"' || v[0] == '\'') {
		if i := strings.LastIndexByte(v[1:], v[0]); i >= 0 && !strings.Contains(v[1:1+i], "\n") {
			v = v[1 : 1+i]
		}
	}
	return com, v, nil
}

func (g *grubImage) setFromLine2(line string) error {
	f := grubExactSplit(line, 2)
	com, arg := f[0], f[1]
	if com == "set" {
		var err error
		if com, arg, err = grub2HandleSet(arg); err != nil {
			return err
		}
	}
	arg = pyStrip(arg)
	switch com {
	case "set:root":
		return g.setRoot(arg)
	case "linux", "linux16":
		return g.setKernel(arg)
	case "initrd", "initrd16":
		return g.setInitrd(arg)
	}
	return nil
}

var menuentryRE = regexp.MustCompile(`^menuentry ["'](.*?)["'] (.*)\{`)

// ParseGrub2 parses a GRUB 2 grub.cfg like pygrub's Grub2ConfigFile.parse:
// a line-based scan that knows menuentry, submenu (only as nesting to
// skip), function bodies, and "set default/timeout/root". Everything else,
// including "blscfg", is ignored.
func ParseGrub2(text string) (*Config, error) {
	c := &Config{Kind: Grub2}
	var d defaults
	inFunction := false
	var img []string
	var imgLine []int
	inImg := false
	title := ""
	menuLevel := 0
	for n, l := range strings.Split(text, "\n") {
		l = pyStrip(l)
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		if strings.HasPrefix(l, "function") {
			inFunction = true
			continue
		}
		if inFunction {
			if strings.HasPrefix(l, "}") {
				inFunction = false
			}
			continue
		}
		if m := menuentryRE.FindStringSubmatch(l); m != nil {
			if inImg {
				return nil, &ParseError{Line: n + 1, Msg: "RuntimeError: syntax error: cannot nest menuentry"}
			}
			img, imgLine, inImg = []string{}, []int{}, true
			title = m[1]
			continue
		}
		if strings.HasPrefix(l, "submenu") {
			menuLevel++
			continue
		}
		if strings.HasPrefix(l, "}") {
			if !inImg {
				if menuLevel > 0 {
					menuLevel--
					continue
				}
				return nil, &ParseError{Line: n + 1, Msg: "RuntimeError: syntax error: closing brace without menuentry"}
			}
			g := newGrubImage()
			for i, il := range img {
				if err := g.setFromLine2(il); err != nil {
					return nil, &ParseError{Line: imgLine[i], Msg: err.Error()}
				}
			}
			g.e.Title = pyStrip(title)
			c.Entries = append(c.Entries, g.e)
			img, inImg = nil, false
			continue
		}
		if inImg {
			img = append(img, l)
			imgLine = append(imgLine, n+1)
			continue
		}
		f := grubExactSplit(l, 2)
		com, arg := f[0], f[1]
		if com == "set" {
			var err error
			if com, arg, err = grub2HandleSet(arg); err != nil {
				return nil, &ParseError{Line: n + 1, Msg: err.Error()}
			}
		}
		switch com {
		case "set:default", "set:root", "set:timeout":
			a := pyStrip(arg)
			if a == "${saved_entry}" || a == "${next_entry}" {
				a = "0"
			}
			if com == "set:default" {
				if err := d.set_(a); err != nil {
					return nil, &ParseError{Line: n + 1, Msg: err.Error()}
				}
				if pyStrip(arg) != a {
					d.note = fmt.Sprintf("default %q: pygrub does not read grubenv and boots entry 0", pyStrip(arg))
				}
			}
		}
	}
	if inImg {
		return nil, &ParseError{Msg: "RuntimeError: syntax error: end of file with open menuentry"}
	}
	d.fill(c)
	return c, nil
}

// extImage accumulates ExtLinuxConf.ExtLinuxImage.
type extImage struct {
	e Entry
}

// unquote is re.sub('^"(.+)"$', r"\1", s).
func unquote(s string) string {
	if len(s) >= 3 && s[0] == '"' && s[len(s)-1] == '"' && !strings.Contains(s, "\n") {
		return s[1 : len(s)-1]
	}
	return s
}

func (x *extImage) setKernel(v string) error {
	if !strings.Contains(v, " ") {
		x.e.Kernel, x.e.HasKernel = v, true
		x.e.Args, x.e.HasArgs = "", false
		return nil
	}
	// A quoted value keeps its inner white space, so this can fail.
	f := pySplitWS(v, 1)
	if len(f) != 2 {
		return fmt.Errorf("ValueError: kernel %q: not enough values to unpack", v)
	}
	x.e.Kernel, x.e.HasKernel = f[0], true
	x.e.Args, x.e.HasArgs = f[1], true
	return nil
}

func (x *extImage) setFromLine(line string) error {
	f := grubExactSplit(line, 2)
	com, arg := pyLower(f[0]), f[1]
	skip := false
	if com == "append" && x.e.HasKernel {
		if strings.HasSuffix(x.e.Kernel, "mboot.c32") {
			var kernel, initrd string
			modules := strings.Split(arg, "---")
			switch len(modules) {
			case 3:
				kernel, initrd = modules[1], modules[2]
			case 2:
				kernel, initrd = modules[0], modules[1]
			}
			if kernel != "" {
				if err := x.setKernel(pyStrip(kernel)); err != nil {
					return err
				}
			}
			if initrd != "" {
				x.e.Initrd, x.e.HasInitrd = pyStrip(initrd), true
			}
			skip = true
		} else if strings.Contains(arg, "initrd=") {
			for _, a := range strings.Split(pyStrip(arg), " ") {
				if strings.HasPrefix(pyLower(a), "initrd=") {
					x.e.Initrd, x.e.HasInitrd = strings.ReplaceAll(a, "initrd=", ""), true
					arg = strings.ReplaceAll(arg, a, "")
				}
			}
		}
	}
	if skip {
		return nil
	}
	v := unquote(pyStrip(arg))
	switch com {
	case "label":
		x.e.Title = v
	case "kernel":
		return x.setKernel(v)
	case "append":
		x.e.Args, x.e.HasArgs = v, true
	}
	return nil
}

// ParseExtLinux parses an extlinux.conf/isolinux.cfg like pygrub's
// ExtLinuxConfigFile.parse. Only "label", "kernel" and "append" (with
// initrd= inside it) are understood; "linux", "initrd" and "menu default"
// lines are ignored. The default is the first entry whose label equals the
// "default" value exactly, else entry 0.
func ParseExtLinux(text string) (*Config, error) {
	c := &Config{Kind: ExtLinux}
	var img []string
	var imgLine []int
	defaultText, defaultSet := "", false
	add := func() error {
		x := &extImage{e: Entry{HasArgs: true}}
		for i, l := range img {
			if err := x.setFromLine(l); err != nil {
				return &ParseError{Line: imgLine[i], Msg: err.Error()}
			}
		}
		c.Entries = append(c.Entries, x.e)
		return nil
	}
	for n, l := range strings.Split(text, "\n") {
		l = pyStrip(l)
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		if strings.HasPrefix(pyLower(l), "label") {
			if len(img) > 0 {
				if err := add(); err != nil {
					return nil, err
				}
			}
			img, imgLine = []string{l}, []int{n + 1}
			continue
		}
		if len(img) > 0 {
			img = append(img, l)
			imgLine = append(imgLine, n+1)
			continue
		}
		f := grubExactSplit(l, 2)
		if pyLower(f[0]) == "default" {
			defaultText, defaultSet = pyStrip(f[1]), true
		}
	}
	if len(img) > 0 {
		if err := add(); err != nil {
			return nil, err
		}
	}
	c.DefaultText = defaultText
	if defaultSet {
		found := false
		for i, e := range c.Entries {
			if e.Title == defaultText {
				c.Default, found = i, true
				break
			}
		}
		if !found {
			c.Notes = append(c.Notes, fmt.Sprintf("default %q matches no label exactly: pygrub boots entry 0", defaultText))
		}
	}
	return c, nil
}
