// Package inittab reads and edits the SysV init configuration file
// /etc/inittab.
//
// Each non-comment line is an entry "id:runlevels:action:process", for
// example "1:2345:respawn:/sbin/mingetty tty1" or "id:5:initdefault:". As in
// sysvinit, leading blanks are skipped, a line starting with '#' is a
// comment, and the process field is the rest of the line (it may contain
// ':'). Lines that sysvinit rejects (missing fields, unknown action,
// duplicate or too long id) are kept verbatim and reported by
// [File.Warnings]; sysvinit only logs and skips them, so [Parse] does not
// fail for them. It fails only for a NUL byte.
//
// [File.Bytes] returns the input unchanged when nothing was edited, whatever
// its line endings. Edits rewrite only the lines they touch:
//
//   - [File.Append] adds an entry at the end, refusing an id already in use.
//   - [File.CommentOut] comments out the entries with an id, preceded by a
//     "# xenify: NOTE" line.
//   - [File.SetInitDefault] changes the runlevel of the initdefault entry,
//     or adds one before the first entry.
//
// [File.Gettys] finds the getty entries (mingetty, agetty, getty, mgetty,
// ...) and the terminal each serves; [ParseGetty] does the argument parsing
// for one process field, including agetty's legacy "baud port" order.
package inittab

import (
	"errors"
	"fmt"
	"github.com/xenify/xenify/conf/confutil"
	"path"
	"strings"
)

// ParseError reports a problem in a file at a 1-based line number.
type ParseError = confutil.ParseError

// File is a parsed inittab.
type File struct {
	name  string
	lines []confutil.Line
	nl    string
}

// Entry is one inittab entry.
type Entry struct {
	ID        string
	Runlevels string
	Action    string
	Process   string
	Line      int // 1-based; ignored by Append
}

// Actions known to sysvinit, plus those of BusyBox init.
var actions = map[string]bool{
	"respawn": true, "wait": true, "once": true, "boot": true, "bootwait": true,
	"off": true, "ondemand": true, "initdefault": true, "sysinit": true,
	"powerwait": true, "powerfail": true, "powerokwait": true, "powerfailnow": true,
	"ctrlaltdel": true, "kbrequest": true,
	"askfirst": true, "shutdown": true, "restart": true,
}

const (
	maxID        = 4   // sizeof(utmp.ut_id)
	maxRunlevels = 11  // sysvinit limit
	maxProcess   = 127 // sysvinit limit
	maxAction    = 32
)

// Parse parses data read from the file name (used in errors only).
func Parse(name string, data []byte) (*File, error) {
	var err error
	f := &File{name: name}
	if f.lines, err = confutil.SplitLogical(name, string(data), confutil.PhysicalEnd); err != nil {
		return nil, err
	}
	f.nl = confutil.EOL(f.lines)
	return f, nil
}

// parseLine splits a line the way sysvinit does. ok is false for comments
// and blank lines; msg is non-empty if sysvinit rejects the line.
func parseLine(text string) (e Entry, ok bool, msg string) {
	p := strings.TrimLeft(text, " \t")
	if p == "" || p[0] == '#' {
		return e, false, ""
	}
	f := strings.SplitN(p, ":", 4)
	for len(f) < 4 {
		f = append(f, "\x00") // marks a missing field
	}
	e = Entry{ID: f[0], Runlevels: f[1], Action: f[2], Process: f[3]}
	switch {
	case e.ID == "":
		msg = "missing id field"
	case e.Runlevels == "\x00":
		msg = "missing runlevel field"
	case e.Action == "\x00" || e.Action == "":
		msg = "missing action field"
	case e.Process == "\x00":
		msg = "missing process field"
	case len(e.ID) > maxID:
		msg = fmt.Sprintf("id field too long (max %d characters)", maxID)
	case len(e.Runlevels) > maxRunlevels:
		msg = fmt.Sprintf("rlevel field too long (max %d characters)", maxRunlevels)
	case len(e.Process) > maxProcess:
		msg = fmt.Sprintf("process field too long (max %d characters)", maxProcess)
	case len(e.Action) > maxAction:
		msg = "action field too long"
	case !actions[e.Action]:
		msg = fmt.Sprintf("no such action %q", e.Action)
	}
	return e, true, msg
}

// Bytes renders the file.
func (f *File) Bytes() []byte { return confutil.JoinLines(f.lines) }

// valid calls fn for every entry sysvinit accepts, with its line index.
// Like sysvinit, it skips entries whose id was already used.
func (f *File) valid(fn func(i int, e Entry)) {
	seen := map[string]bool{}
	for i, l := range f.lines {
		e, ok, msg := parseLine(l.Text)
		if !ok || msg != "" || seen[e.ID] && e.ID != "~~" {
			continue
		}
		seen[e.ID] = true
		e.Line = i + 1
		fn(i, e)
	}
}

// Entries lists the entries sysvinit accepts, in file order.
func (f *File) Entries() []Entry {
	var out []Entry
	f.valid(func(_ int, e Entry) { out = append(out, e) })
	return out
}

// Entry returns the entry with the given id.
func (f *File) Entry(id string) (Entry, bool) {
	var found Entry
	ok := false
	f.valid(func(_ int, e Entry) {
		if e.ID == id && !ok {
			found, ok = e, true
		}
	})
	return found, ok
}

// Warnings lists the non-comment lines sysvinit rejects, with its reasons.
func (f *File) Warnings() []*ParseError {
	var out []*ParseError
	seen := map[string]bool{}
	for i, l := range f.lines {
		e, ok, msg := parseLine(l.Text)
		if !ok {
			continue
		}
		if msg == "" && seen[e.ID] && e.ID != "~~" {
			msg = fmt.Sprintf("duplicate ID field %q", e.ID)
		}
		if msg != "" {
			out = append(out, &ParseError{File: f.name, Line: i + 1, Msg: msg})
			continue
		}
		seen[e.ID] = true
	}
	return out
}

// Errors returned by the edit operations, wrapped with context.
var (
	ErrInvalid     = errors.New("invalid entry")
	ErrDuplicateID = errors.New("id already in use")
	ErrNotFound    = errors.New("no such entry")
)

// Append adds e as the last line. The id must be unused and the entry
// valid for sysvinit.
func (f *File) Append(e Entry) error {
	text := e.ID + ":" + e.Runlevels + ":" + e.Action + ":" + e.Process
	if strings.ContainsAny(e.ID+e.Runlevels+e.Action, ":") || strings.ContainsAny(text, "\r\n\x00") ||
		strings.TrimLeft(e.ID, " \t#") != e.ID {
		return fmt.Errorf("adding %q to %s: %w", text, f.name, ErrInvalid)
	}
	if _, _, msg := parseLine(text); msg != "" {
		return fmt.Errorf("adding %q to %s: %w: %s", text, f.name, ErrInvalid, msg)
	}
	if _, ok := f.Entry(e.ID); ok {
		return fmt.Errorf("adding %q to %s: %w", text, f.name, ErrDuplicateID)
	}
	f.insert(len(f.lines), text)
	return nil
}

// insert inserts a new line before line index i. A file without a final
// newline keeps lacking one.
func (f *File) insert(i int, text string) {
	f.lines = confutil.InsertLine(f.lines, i, text, f.nl, nil)
}

// CommentOut comments out every line whose id is id (including duplicates
// and lines sysvinit rejects) and puts a "# xenify: NOTE" line before each.
// It returns ErrNotFound if no line has that id.
func (f *File) CommentOut(id, note string) error {
	out, n := confutil.CommentOut(f.lines, func(i int) bool {
		e, ok, _ := parseLine(f.lines[i].Text)
		return ok && e.ID == id
	}, note, f.nl, false)
	if n == 0 {
		return fmt.Errorf("commenting out %q in %s: %w", id, f.name, ErrNotFound)
	}
	f.lines = out
	return nil
}

// InitDefault returns the runlevels field of the initdefault entry.
func (f *File) InitDefault() (string, bool) {
	var lvl string
	ok := false
	f.valid(func(_ int, e Entry) {
		if e.Action == "initdefault" && !ok {
			lvl, ok = e.Runlevels, true
		}
	})
	return lvl, ok
}

// SetInitDefault sets the default runlevel: a single character out of
// "0123456789Ss". It rewrites the runlevels field of the initdefault entry
// in place or, if there is none, inserts "id:LEVEL:initdefault:" before the
// first entry.
func (f *File) SetInitDefault(level string) error {
	if len(level) != 1 || !strings.Contains("0123456789Ss", level) {
		return fmt.Errorf("setting default runlevel %q in %s: %w", level, f.name, ErrInvalid)
	}
	at, first := -1, -1
	f.valid(func(i int, e Entry) {
		if first < 0 {
			first = i
		}
		if e.Action == "initdefault" && at < 0 {
			at = i
		}
	})
	if at >= 0 {
		l := &f.lines[at]
		indent := l.Text[:len(l.Text)-len(strings.TrimLeft(l.Text, " \t"))]
		e, _, _ := parseLine(l.Text)
		l.Text = indent + e.ID + ":" + level + ":" + e.Action + ":" + e.Process
		return nil
	}
	id := "id"
	for i := 0; ; i++ {
		if _, used := f.Entry(id); !used {
			break
		}
		id = fmt.Sprintf("d%d", i)
	}
	if first < 0 {
		first = len(f.lines)
	}
	f.insert(first, id+":"+level+":initdefault:")
	return nil
}

// Getty is an entry that runs a getty, with the terminal it serves.
type Getty struct {
	Entry
	Program string // base name: "mingetty", "agetty", ...
	TTY     string // without "/dev/": "tty1", "ttyS0", "xvc0", "hvc0"
	Baud    string // speeds as given ("9600", "38400,9600"), if any
	Term    string // terminal type, if given
}

// Gettys lists the valid entries whose process is a known getty.
func (f *File) Gettys() []Getty {
	var out []Getty
	f.valid(func(_ int, e Entry) {
		if g, ok := ParseGetty(e.Process); ok {
			g.Entry = e
			out = append(out, g)
		}
	})
	return out
}

// getty programs and their options that take an argument. Long options
// may also be given as --opt=value.
var gettys = map[string]struct{ short, long string }{
	"mingetty": {"awrdlnp", " autologin chdir chroot delay loginprog nice "},
	"agetty":   {"aCdfHIloPrt", " autologin chdir chroot delay erase-chars issue-file host init-string kill-chars login-program login-options nice timeout "},
	"getty":    {"aCdfHIloPrt", " autologin chdir chroot delay erase-chars issue-file host init-string kill-chars login-program login-options nice timeout "},
	"uugetty":  {"dfhrt", " "},
	"mgetty":   {"xspnRiCSImk", " "},
	"fgetty":   {"", " "},
	"rungetty": {"u", " uid gid "},
	"fbgetty":  {"", " "},
}

// ParseGetty parses the process field of an inittab entry. ok is false if
// it does not run a known getty or names no terminal. For agetty and
// getty, a first argument starting with a digit means the legacy order
// "baud port [term]"; otherwise it is "port baud [term]". mgetty takes the
// speed from -s.
func ParseGetty(process string) (g Getty, ok bool) {
	args := strings.Fields(process)
	if len(args) > 0 {
		args[0] = strings.TrimPrefix(args[0], "+")
	}
	if len(args) > 0 && args[0] == "exec" {
		args = args[1:]
	}
	if len(args) == 0 {
		return g, false
	}
	g.Program = path.Base(args[0])
	spec, known := gettys[g.Program]
	if !known {
		return g, false
	}
	var pos []string
	for i := 1; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			pos = append(pos, args[i+1:]...)
			i = len(args)
		case strings.HasPrefix(a, "--"):
			if !strings.Contains(a, "=") && strings.Contains(spec.long, " "+a[2:]+" ") {
				i++
			}
		case strings.HasPrefix(a, "-") && len(a) > 1:
			// A cluster of short options; one taking an argument consumes
			// the rest of the cluster or the next word.
			for j := 1; j < len(a); j++ {
				if strings.IndexByte(spec.short, a[j]) >= 0 {
					if j == len(a)-1 {
						i++
						if g.Program == "mgetty" && a[j] == 's' && i < len(args) {
							g.Baud = args[i]
						}
					} else if g.Program == "mgetty" && a[j] == 's' {
						g.Baud = a[j+1:]
					}
					break
				}
			}
		default:
			pos = append(pos, a)
		}
	}
	if len(pos) == 0 {
		return g, false
	}
	switch g.Program {
	case "agetty", "getty", "uugetty":
		if c := pos[0][0]; '0' <= c && c <= '9' && len(pos) > 1 {
			pos[0], pos[1] = pos[1], pos[0]
		}
		if len(pos) > 1 {
			g.Baud = pos[1]
		}
		if len(pos) > 2 {
			g.Term = pos[2]
		}
	}
	g.TTY = strings.TrimPrefix(pos[0], "/dev/")
	return g, g.TTY != ""
}
