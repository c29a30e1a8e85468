// Package interfaces reads and edits Debian's /etc/network/interfaces, the
// configuration file of ifupdown.
//
// The file holds stanzas: "iface NAME FAMILY METHOD" followed by option
// lines ("address 192.0.2.10", "hwaddress ether 00:0c:29:3a:7b:1c",
// "pre-up ..."), "mapping PATTERN..." with "script" and "map" options, and
// the one-line stanzas "auto", "allow-CLASS" (allow-hotplug, allow-auto),
// "source", "source-directory", "no-auto-down" and "no-scripts". As in
// ifupdown, a physical line whose first non-blank character is '#' is a
// comment, a line ending in a backslash continues on the next line, and an
// option is any line inside an iface or mapping stanza whose first word is
// not a stanza keyword; indentation does not matter.
//
// [Parse] fails with a [*ParseError] where ifupdown rejects the file: an
// option outside a stanza ("misplaced option"), an option without value, an
// iface line without a name or with too many words. It also fails for a
// NUL byte.
//
// [File.Bytes] returns the input unchanged when nothing was edited, whatever
// its line endings. Edits rewrite only the words they change:
//
//   - [File.Rename] renames an interface on auto/allow-*/no-* lines, iface
//     and mapping lines, and in options that name other interfaces
//     (bridge_ports, bond-slaves, vlan-raw-device, ...). Aliases and VLANs
//     of the interface (eth0:1, eth0.100) follow.
//   - [File.CommentOutOption] comments out options of an interface, such as
//     a "hwaddress" that no longer matches the NIC.
package interfaces

import (
	"errors"
	"fmt"
	"github.com/xenify/xenify/conf/confutil"
	"strings"
)

// ParseError reports a problem in a file at a 1-based line number.
type ParseError = confutil.ParseError

// File is a parsed interfaces file.
type File struct {
	name   string
	blocks []confutil.Line
	nl     string
}

// block is one logical line.

// Iface is an "iface" stanza.
type Iface struct {
	Name    string
	Family  string // "inet", "inet6", "ipx", "can"; empty if omitted
	Method  string // "static", "dhcp", "loopback", "manual", ...; empty if omitted
	Options []Option
	Line    int
}

// Option is an option line of a stanza.
type Option struct {
	Name  string
	Value string // the rest of the line, with blanks around it trimmed
	Line  int
}

// Mapping is a "mapping" stanza.
type Mapping struct {
	Patterns []string
	Options  []Option
	Line     int
}

// Parse parses data read from the file name (used in errors only).
func Parse(name string, data []byte) (*File, error) {
	s := string(data)
	f := &File{name: name, nl: "\n"}
	if i := strings.IndexByte(s, '\n'); i > 0 && s[i-1] == '\r' {
		f.nl = "\r\n"
	}
	var err error
	if f.blocks, err = confutil.SplitLogical(name, s, confutil.ContinuedEnd(isComment)); err != nil {
		return nil, err
	}
	if _, err := f.model(); err != nil {
		return nil, err
	}
	return f, nil
}

func isComment(phys string) bool {
	return strings.HasPrefix(strings.TrimLeft(phys, " \t\r\v\f"), "#")
}

// Bytes renders the file.
func (f *File) Bytes() []byte { return confutil.JoinLines(f.blocks) }

type token struct {
	text       string
	start, end int // span in the unwrapped text
}

// words is a logical line with continuations removed, split into words.
type words struct {
	text string
	off  []int // index in raw of each byte of text
	toks []token
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f' || c == '\n'
}

func split(raw string) words {
	var w words
	var b strings.Builder
	for i := 0; i < len(raw); i++ {
		if raw[i] == '\\' && i+1 < len(raw) && raw[i+1] == '\n' {
			i++
			continue
		}
		b.WriteByte(raw[i])
		w.off = append(w.off, i)
	}
	w.text = b.String()
	for i := 0; i < len(w.text); {
		for i < len(w.text) && isSpace(w.text[i]) {
			i++
		}
		j := i
		for j < len(w.text) && !isSpace(w.text[j]) {
			j++
		}
		if j > i {
			w.toks = append(w.toks, token{w.text[i:j], i, j})
		}
		i = j
	}
	return w
}

// kinds of logical lines
type kind int

const (
	kindComment kind = iota // comment or blank line
	kindIface
	kindMapping
	kindList   // auto, allow-*, no-auto-down, no-scripts: a list of interfaces
	kindSource // source, source-directory
	kindOption // option of the preceding iface or mapping
)

// item is a classified logical line.
type item struct {
	kind   kind
	block  int
	line   int
	w      words
	parent int // for kindOption: index into items of its stanza
}

func lineKind(first string) kind {
	switch {
	case first == "iface":
		return kindIface
	case first == "mapping":
		return kindMapping
	case first == "auto" || strings.HasPrefix(first, "allow-") || first == "no-auto-down" || first == "no-scripts":
		return kindList
	case first == "source" || first == "source-directory":
		return kindSource
	}
	return kindOption
}

// model classifies every logical line and checks what ifupdown checks.
func (f *File) model() ([]item, error) {
	var items []item
	line, stanza := 1, -1
	for i, b := range f.blocks {
		it := item{block: i, line: line, parent: -1}
		line += strings.Count(b.Text, "\n") + 1
		if isComment(b.Text) {
			continue
		}
		raw := b.Text
		if b.EOL == "" && strings.HasSuffix(raw, "\\") {
			raw = raw[:len(raw)-1] // continued into the end of the file
		}
		it.w = split(raw)
		if len(it.w.toks) == 0 {
			continue
		}
		it.kind = lineKind(it.w.toks[0].text)
		errf := func(format string, args ...any) error {
			return &ParseError{File: f.name, Line: it.line, Msg: fmt.Sprintf(format, args...)}
		}
		switch it.kind {
		case kindIface:
			switch n := len(it.w.toks); {
			case n < 2:
				return nil, errf("too few parameters for iface line")
			case n > 4:
				return nil, errf("too many parameters for iface line")
			}
			stanza = len(items)
		case kindMapping:
			if len(it.w.toks) < 2 {
				return nil, errf("too few parameters for mapping line")
			}
			stanza = len(items)
		case kindList, kindSource:
			stanza = -1
		case kindOption:
			if stanza < 0 {
				return nil, errf("misplaced option %q", it.w.toks[0].text)
			}
			if len(it.w.toks) < 2 {
				return nil, errf("option with empty value %q", it.w.toks[0].text)
			}
			it.parent = stanza
		}
		items = append(items, it)
	}
	return items, nil
}

// items returns the model of a file that parsed. Edits are checked to keep
// the file valid, so the error is always nil.
func (f *File) items() []item {
	items, _ := f.model()
	return items
}

// check undoes an edit that made the file invalid.
func (f *File) check(saved []confutil.Line, op string) error {
	if _, err := f.model(); err != nil {
		f.blocks = saved
		return fmt.Errorf("%s in %s: %w", op, f.name, err)
	}
	return nil
}

func optionOf(it item) Option {
	w := it.w
	return Option{Name: w.toks[0].text, Value: strings.TrimSpace(w.text[w.toks[0].end:]), Line: it.line}
}

// Interfaces lists the iface stanzas in file order.
func (f *File) Interfaces() []Iface {
	items := f.items()
	var out []Iface
	index := map[int]int{} // item index -> out index
	for i, it := range items {
		switch it.kind {
		case kindIface:
			ifc := Iface{Name: it.w.toks[1].text, Line: it.line}
			if len(it.w.toks) > 2 {
				ifc.Family = it.w.toks[2].text
			}
			if len(it.w.toks) > 3 {
				ifc.Method = it.w.toks[3].text
			}
			index[i] = len(out)
			out = append(out, ifc)
		case kindOption:
			if j, ok := index[it.parent]; ok {
				out[j].Options = append(out[j].Options, optionOf(it))
			}
		}
	}
	return out
}

// Mappings lists the mapping stanzas in file order.
func (f *File) Mappings() []Mapping {
	items := f.items()
	var out []Mapping
	index := map[int]int{}
	for i, it := range items {
		switch it.kind {
		case kindMapping:
			m := Mapping{Line: it.line}
			for _, t := range it.w.toks[1:] {
				m.Patterns = append(m.Patterns, t.text)
			}
			index[i] = len(out)
			out = append(out, m)
		case kindOption:
			if j, ok := index[it.parent]; ok {
				out[j].Options = append(out[j].Options, optionOf(it))
			}
		}
	}
	return out
}

// Allowed lists the interfaces on lines starting with keyword, in file
// order: "auto", "allow-hotplug", "allow-auto", "no-auto-down", ...
func (f *File) Allowed(keyword string) []string {
	var out []string
	for _, it := range f.items() {
		if it.kind == kindList && it.w.toks[0].text == keyword {
			for _, t := range it.w.toks[1:] {
				out = append(out, t.text)
			}
		}
	}
	return out
}

// Auto lists the interfaces brought up at boot: those on "auto" and
// "allow-auto" lines.
func (f *File) Auto() []string {
	return append(f.Allowed("auto"), f.Allowed("allow-auto")...)
}

// Source is a "source" or "source-directory" line. xenify does not follow
// them; callers parse the included files themselves.
type Source struct {
	Keyword string // "source" or "source-directory"
	Paths   []string
	Line    int
}

// Sources lists the source and source-directory lines.
func (f *File) Sources() []Source {
	var out []Source
	for _, it := range f.items() {
		if it.kind == kindSource {
			s := Source{Keyword: it.w.toks[0].text, Line: it.line}
			for _, t := range it.w.toks[1:] {
				s.Paths = append(s.Paths, t.text)
			}
			out = append(out, s)
		}
	}
	return out
}

// ifaceOptions are options whose values are interface names.
var ifaceOptions = map[string]bool{
	"bridge_ports": true, "bridge-ports": true,
	"bond-slaves": true, "bond_slaves": true, "slaves": true,
	"bond-primary": true, "bond_primary": true, "bond-master": true, "bond_master": true,
	"vlan-raw-device": true, "vlan_raw_device": true, "raw-device": true,
}

// ErrInvalid is wrapped by errors for names that cannot be written.
var ErrInvalid = errors.New("invalid interface name")

func validName(n string) bool {
	if n == "" || len(n) > 15 || strings.HasPrefix(n, "#") {
		return false
	}
	for i := 0; i < len(n); i++ {
		if c := n[i]; c <= ' ' || c == 0x7f || c == '\\' || c == '/' || c == ':' {
			return false
		}
	}
	return true
}

// renamed returns the new spelling of word if it names old or one of its
// aliases or VLANs (old:1, old.100).
func renamed(word, old, new string) (string, bool) {
	if word == old {
		return new, true
	}
	if rest, ok := strings.CutPrefix(word, old); ok && (rest[0] == ':' || rest[0] == '.') {
		return new + rest, true
	}
	return "", false
}

// Rename renames the interface old to new wherever the file names it and
// returns the number of words changed. Words split by a line continuation
// are rewritten by rewriting their logical line on one physical line.
func (f *File) Rename(old, new string) (int, error) {
	if !validName(old) || !validName(new) {
		return 0, fmt.Errorf("renaming %q to %q in %s: %w", old, new, f.name, ErrInvalid)
	}
	items := f.items()
	saved := append([]confutil.Line(nil), f.blocks...)
	n := 0
	for _, it := range items {
		var toks []token
		switch it.kind {
		case kindIface:
			toks = it.w.toks[1:2]
		case kindMapping, kindList:
			toks = it.w.toks[1:]
		case kindOption:
			if parent := items[it.parent]; parent.kind == kindIface && ifaceOptions[it.w.toks[0].text] {
				toks = it.w.toks[1:]
			}
		}
		b := &f.blocks[it.block]
		// Replace from the end so earlier offsets stay valid.
		changed, split := false, false
		for i := len(toks) - 1; i >= 0; i-- {
			t := toks[i]
			nw, ok := renamed(t.text, old, new)
			if !ok {
				continue
			}
			n++
			changed = true
			start, end := it.w.off[t.start], it.w.off[t.end-1]+1
			if b.Text[start:end] != t.text {
				split = true
				continue
			}
			b.Text = b.Text[:start] + nw + b.Text[end:]
		}
		if changed && split {
			// Rebuild the logical line from its words on one line.
			var ws []string
			for _, t := range it.w.toks {
				if nw, ok := renamed(t.text, old, new); ok && containsTok(toks, t) {
					ws = append(ws, nw)
				} else {
					ws = append(ws, t.text)
				}
			}
			indent := it.w.text[:it.w.toks[0].start]
			b.Text = indent + strings.Join(ws, " ")
		}
	}
	if err := f.check(saved, fmt.Sprintf("renaming %s to %s", old, new)); err != nil {
		return 0, err
	}
	return n, nil
}

func containsTok(toks []token, t token) bool {
	for _, x := range toks {
		if x.start == t.start {
			return true
		}
	}
	return false
}

// Mentions lists the options that mention the interface name (or one of
// its aliases and VLANs) as a word in a place [File.Rename] does not
// rewrite, such as the commands of pre-up, up and post-down. xenify reports
// them for a human to check after a rename.
func (f *File) Mentions(name string) []Option {
	var out []Option
	items := f.items()
	for _, it := range items {
		if it.kind != kindOption || items[it.parent].kind == kindIface && ifaceOptions[it.w.toks[0].text] {
			continue
		}
		o := optionOf(it)
		for _, w := range strings.FieldsFunc(o.Value, func(r rune) bool {
			return !(r == '_' || r == '-' || r == '.' || r == ':' || r == '@' ||
				'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9')
		}) {
			if _, ok := renamed(w, name, name); ok {
				out = append(out, o)
				break
			}
		}
	}
	return out
}

// CommentOutOption comments out the options named option of every iface
// stanza for iface, each preceded by a "# xenify: NOTE" line, and returns
// how many it commented out. The comment lines keep the option's
// indentation.
func (f *File) CommentOutOption(iface, option, note string) (int, error) {
	items := f.items()
	hit := map[int]bool{}
	for _, it := range items {
		if it.kind != kindOption || it.w.toks[0].text != option {
			continue
		}
		if p := items[it.parent]; p.kind == kindIface && p.w.toks[1].text == iface {
			hit[it.block] = true
		}
	}
	if len(hit) == 0 {
		return 0, nil
	}
	saved := f.blocks
	// Every physical line is commented: a comment does not continue.
	f.blocks, _ = confutil.CommentOut(f.blocks, func(i int) bool { return hit[i] }, note, f.nl, true)
	if err := f.check(saved, "commenting out "+option+" of "+iface); err != nil {
		return 0, err
	}
	return len(hit), nil
}
