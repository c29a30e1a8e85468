// Package cmdline models a Linux kernel command line such as
//
//	ro root=/dev/VolGroup00/LogVol00 rhgb quiet console=tty0 console=ttyS0,115200
//
// as an ordered list of arguments, keeping the original spacing and quoting
// so that String returns the input unchanged until an edit is made, and only
// edited arguments are re-rendered.
//
// Splitting follows the kernel's next_arg (lib/cmdline.c): arguments are
// separated by white space outside double quotes; the key is the text
// before the first '=', and surrounding double quotes of the argument or the
// value are not part of the value. Single quotes and backslashes have no
// special meaning (GRUB 2 script quoting is not interpreted). Everything
// after a lone "--" belongs to init; Get, Set, Remove and Add look only at the
// kernel part before it, and appended arguments go before "--".
//
// Operations:
//
//	c := cmdline.Parse("ro root=/dev/sda1 console=tty0 console=ttyS0")
//	c.Get("console")          // "ttyS0", true: the last occurrence wins, as in the kernel
//	c.Set("root", "/dev/xvda1") // replaces the first occurrence in place, drops later ones
//	c.Remove("console")       // removes all occurrences
//	c.RemoveIf("console", func(v string) bool { return strings.HasPrefix(v, "ttyS") })
//	c.Add("console=hvc0")     // appends unless an identical argument exists
//	c.String()
package cmdline

import (
	"slices"
	"strings"
)

// Arg is one parsed argument. For a bare word like "quiet", Key is the word
// and HasValue is false.
type Arg struct {
	Key      string
	Value    string
	HasValue bool
}

// String renders a as it would be written on a command line, quoting the
// value with double quotes if it contains white space or is empty.
func (a Arg) String() string {
	if !a.HasValue {
		return a.Key
	}
	v := a.Value
	if v == "" || strings.ContainsAny(v, " \t\n\r\v\f") {
		v = `"` + v + `"`
	}
	return a.Key + "=" + v
}

// ParseArg splits one raw argument into key and value as the kernel does.
func ParseArg(raw string) Arg {
	s := raw
	quoted := false
	if strings.HasPrefix(s, `"`) {
		s = s[1:]
		quoted = true
	}
	eq := strings.IndexByte(s, '=')
	if eq < 0 {
		if quoted {
			s = strings.TrimSuffix(s, `"`)
		}
		return Arg{Key: s}
	}
	key, val := s[:eq], s[eq+1:]
	if strings.HasPrefix(val, `"`) {
		val = val[1:]
		quoted = true
	}
	if quoted {
		val = strings.TrimSuffix(val, `"`)
	}
	return Arg{Key: key, Value: val, HasValue: true}
}

func isSpace(c byte) bool {
	switch c {
	case ' ', '\t', '\n', '\r', '\v', '\f':
		return true
	}
	return false
}

// Cmdline is a parsed command line. The zero value is an empty command line.
type Cmdline struct {
	lead   string
	fields []string // raw arguments
	seps   []string // seps[i] follows fields[i]; len(seps) == len(fields)-1
	trail  string
}

// Parse splits s into arguments. It never fails: an unterminated quote
// extends to the end of the line, as in the kernel.
func Parse(s string) *Cmdline {
	c := &Cmdline{}
	i := 0
	for i < len(s) && isSpace(s[i]) {
		i++
	}
	c.lead = s[:i]
	for i < len(s) {
		j := i
		inQuote := false
		for j < len(s) {
			if s[j] == '"' {
				inQuote = !inQuote
			} else if !inQuote && isSpace(s[j]) {
				break
			}
			j++
		}
		c.fields = append(c.fields, s[i:j])
		k := j
		for k < len(s) && isSpace(s[k]) {
			k++
		}
		if k == len(s) {
			c.trail = s[j:k]
		} else {
			c.seps = append(c.seps, s[j:k])
		}
		i = k
	}
	return c
}

// String renders the command line.
func (c *Cmdline) String() string {
	var b strings.Builder
	b.WriteString(c.lead)
	for i, f := range c.fields {
		if i > 0 {
			b.WriteString(c.seps[i-1])
		}
		b.WriteString(f)
	}
	b.WriteString(c.trail)
	return b.String()
}

// end returns the index of the "--" separator, or len(fields).
func (c *Cmdline) end() int {
	for i, f := range c.fields {
		if f == "--" {
			return i
		}
	}
	return len(c.fields)
}

// Args returns the kernel arguments (those before a "--"), in order.
func (c *Cmdline) Args() []Arg {
	n := c.end()
	out := make([]Arg, 0, n)
	for _, f := range c.fields[:n] {
		out = append(out, ParseArg(f))
	}
	return out
}

// InitArgs returns the raw words after "--", or nil if there is no "--".
func (c *Cmdline) InitArgs() []string {
	n := c.end()
	if n >= len(c.fields) {
		return nil
	}
	return append([]string(nil), c.fields[n+1:]...)
}

// Get returns the value of the last kernel argument with the given key.
// For a bare flag such as "quiet" it returns "", true.
func (c *Cmdline) Get(key string) (string, bool) {
	args := c.Args()
	for i := len(args) - 1; i >= 0; i-- {
		if args[i].Key == key {
			return args[i].Value, true
		}
	}
	return "", false
}

// GetAll returns the values of all kernel arguments with the given key, in
// order (useful for console=).
func (c *Cmdline) GetAll(key string) []string {
	var out []string
	for _, a := range c.Args() {
		if a.Key == key {
			out = append(out, a.Value)
		}
	}
	return out
}

// ListItems returns the items of every key= argument whose value is a
// comma-separated list (modprobe.blacklist=a,b), in order, without
// empty ones.
func (c *Cmdline) ListItems(key string) []string {
	var out []string
	for _, v := range c.GetAll(key) {
		for _, x := range strings.Split(v, ",") {
			if x != "" {
				out = append(out, x)
			}
		}
	}
	return out
}

// AddListItem adds item to the comma-separated list of key=, making the
// arguments with that key one, and reports whether item was missing
// (if it was there, nothing changes).
func (c *Cmdline) AddListItem(key, item string) bool {
	items := c.ListItems(key)
	if slices.Contains(items, item) {
		return false
	}
	c.Set(key, strings.Join(append(items, item), ","))
	return true
}

// Has reports whether an argument with the given key exists.
func (c *Cmdline) Has(key string) bool {
	_, ok := c.Get(key)
	return ok
}

// Set makes key=value the only argument with that key: the first
// occurrence is replaced in place, later ones are removed, and if there was
// none it is appended.
func (c *Cmdline) Set(key, value string) {
	c.setArg(Arg{Key: key, Value: value, HasValue: true})
}

// SetFlag makes the bare word key the only argument with that key, like Set
// without a value.
func (c *Cmdline) SetFlag(key string) {
	c.setArg(Arg{Key: key})
}

func (c *Cmdline) setArg(a Arg) {
	found := false
	for i := 0; i < c.end(); i++ {
		if ParseArg(c.fields[i]).Key != a.Key {
			continue
		}
		if !found {
			c.fields[i] = a.String()
			found = true
			continue
		}
		c.remove(i)
		i--
	}
	if !found {
		c.insert(a.String())
	}
}

// Add appends arg (a raw argument like "console=hvc0" or "quiet") unless an
// argument with the same key and value already exists. It reports whether
// it added the argument.
func (c *Cmdline) Add(arg string) bool {
	want := ParseArg(arg)
	for _, a := range c.Args() {
		if a == want {
			return false
		}
	}
	c.insert(arg)
	return true
}

// Remove deletes all kernel arguments with the given key and returns how
// many it removed.
func (c *Cmdline) Remove(key string) int {
	return c.RemoveIf(key, nil)
}

// RemoveIf deletes the kernel arguments with the given key whose value
// satisfies match (all of them if match is nil), and returns how many it
// removed.
func (c *Cmdline) RemoveIf(key string, match func(value string) bool) int {
	n := 0
	for i := 0; i < c.end(); i++ {
		a := ParseArg(c.fields[i])
		if a.Key != key || (match != nil && !match(a.Value)) {
			continue
		}
		c.remove(i)
		i--
		n++
	}
	return n
}

// remove deletes field i with one adjacent separator.
func (c *Cmdline) remove(i int) {
	switch {
	case len(c.fields) == 1:
		c.seps = nil
	case i < len(c.seps):
		c.seps = append(c.seps[:i], c.seps[i+1:]...)
	default:
		c.seps = c.seps[:i-1]
	}
	c.fields = append(c.fields[:i], c.fields[i+1:]...)
}

// insert adds a raw field at the end of the kernel part.
func (c *Cmdline) insert(raw string) {
	at := c.end()
	if at == len(c.fields) {
		if len(c.fields) > 0 {
			c.seps = append(c.seps, " ")
		}
		c.fields = append(c.fields, raw)
		return
	}
	// Insert before "--": the new field takes the separator " " after it.
	c.fields = append(c.fields[:at], append([]string{raw}, c.fields[at:]...)...)
	c.seps = append(c.seps[:at], append([]string{" "}, c.seps[at:]...)...)
}
