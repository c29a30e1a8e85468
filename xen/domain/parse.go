package domain

import (
	"fmt"
	"strconv"
	"strings"
)

// ParseError locates a problem in a domain config file.
type ParseError struct {
	File string
	Line int
	Msg  string
}

func (e *ParseError) Error() string { return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg) }

// Parse reads an xl.cfg or xm config (the subset xenify writes and users
// commonly have: KEY = "string" | 'string' | number | [ list of strings ],
// lists may span lines, # comments) into a Config. Unknown keys are
// ignored.
func Parse(name string, data []byte) (*Config, error) {
	vals, err := parseAssignments(name, string(data))
	if err != nil {
		return nil, err
	}
	c := &Config{}
	str := func(k string) string {
		v, _ := vals[k].(string)
		return v
	}
	list := func(k string) []string {
		switch v := vals[k].(type) {
		case []string:
			return v
		case string:
			return []string{v}
		}
		return nil
	}
	c.Name = str("name")
	c.Type = str("type")
	if str("builder") == TypeHVM {
		c.Type = TypeHVM // xm
	}
	c.PVShim = str("pvshim") == "1"
	c.PVShimPath = str("pvshim_path")
	c.HDType = str("hdtype")
	c.Memory, _ = strconv.Atoi(str("memory"))
	c.VCPUs, _ = strconv.Atoi(str("vcpus"))
	c.Bootloader = str("bootloader")
	c.BootloaderArgs = list("bootloader_args")
	c.Kernel, c.Ramdisk, c.Root, c.Extra = str("kernel"), str("ramdisk"), str("root"), str("extra")
	if c.Type == TypeHVM && strings.HasSuffix(c.Kernel, "/hvmloader") {
		c.Kernel = "" // xm's HVM firmware, not a guest kernel
	}
	for _, d := range list("disk") {
		c.Disks = append(c.Disks, ParseDisk(d))
	}
	for _, v := range list("vif") {
		kv := specFields(v)
		c.Vifs = append(c.Vifs, Vif{MAC: kv["mac"], Bridge: kv["bridge"]})
	}
	c.VNC = len(list("vfb")) > 0 || str("vnc") == "1"
	c.VNCListen, c.VNCPassword = str("vnclisten"), str("vncpasswd")
	for _, v := range list("vfb") {
		kv := specFields(v)
		if l, ok := kv["vnclisten"]; ok {
			c.VNCListen = l
		}
		if p, ok := kv["vncpasswd"]; ok {
			c.VNCPassword = p
		}
	}
	if c.VNCListen == "127.0.0.1" {
		c.VNCListen = ""
	}
	return c, nil
}

// ParseDisk reads one disk spec in xl's key=value form
// ("format=raw, vdev=xvda, access=rw, target=/x") or the positional
// legacy form ("phy:/dev/vg/lv,sda1,w", "file:/img,xvda,w").
func ParseDisk(s string) Disk {
	var d Disk
	if strings.Contains(s, "target=") || strings.Contains(s, "vdev=") {
		kv := specFields(s)
		d.Vdev, d.Target = kv["vdev"], kv["target"]
		d.ReadOnly = kv["access"] == "ro" || kv["access"] == "r"
		// target= must be last in xl syntax and may contain commas.
		if i := strings.Index(s, "target="); i >= 0 {
			d.Target = s[i+len("target="):]
		}
		if bt, ok := kv["backendtype"]; ok {
			d.File = bt == "qdisk" || bt == "tap"
		} else {
			d.File = !strings.HasPrefix(d.Target, "/dev/")
		}
		return d
	}
	parts := strings.Split(s, ",")
	target := parts[0]
	for _, pre := range []string{"phy:", "file:", "tap:aio:", "tap:qcow2:", "tap2:aio:", "aio:"} {
		if strings.HasPrefix(target, pre) {
			d.File = pre != "phy:"
			target = strings.TrimPrefix(target, pre)
			break
		}
	}
	d.Target = target
	if len(parts) > 1 {
		d.Vdev = strings.TrimPrefix(parts[1], "/dev/")
		d.Vdev = strings.TrimSuffix(d.Vdev, ":disk")
	}
	if len(parts) > 2 {
		d.ReadOnly = parts[2] == "r" || parts[2] == "ro"
	}
	return d
}

func parseAssignments(name, s string) (map[string]any, error) {
	vals := map[string]any{}
	p := &lexer{name: name, s: s, line: 1}
	for {
		p.skipSpace(true)
		if p.eof() {
			return vals, nil
		}
		key := p.ident()
		if key == "" {
			return nil, p.err("expected KEY = VALUE")
		}
		p.skipSpace(false)
		if !p.take('=') {
			return nil, p.err("expected '=' after " + key)
		}
		p.skipSpace(false)
		v, err := p.value()
		if err != nil {
			return nil, err
		}
		vals[key] = v
		p.skipSpace(false)
		p.take(';')
		p.skipSpace(false)
		if !p.eof() && !p.take('\n') {
			return nil, p.err("unexpected text after the value of " + key)
		}
		p.line++
	}
}

type lexer struct {
	name string
	s    string
	i    int
	line int
}

func (p *lexer) eof() bool { return p.i >= len(p.s) }
func (p *lexer) err(msg string) error {
	return &ParseError{File: p.name, Line: p.line, Msg: msg}
}
func (p *lexer) take(c byte) bool {
	if !p.eof() && p.s[p.i] == c {
		p.i++
		return true
	}
	return false
}

// skipSpace skips blanks and comments; with newlines also line breaks.
func (p *lexer) skipSpace(newlines bool) {
	for !p.eof() {
		c := p.s[p.i]
		switch {
		case c == ' ' || c == '\t' || c == '\r':
			p.i++
		case c == '#':
			for !p.eof() && p.s[p.i] != '\n' {
				p.i++
			}
		case c == '\n' && newlines:
			p.i++
			p.line++
		case c == '\\' && p.i+1 < len(p.s) && p.s[p.i+1] == '\n':
			p.i += 2
			p.line++
		default:
			return
		}
	}
}

func (p *lexer) ident() string {
	start := p.i
	for !p.eof() {
		c := p.s[p.i]
		if c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' {
			p.i++
			continue
		}
		break
	}
	return p.s[start:p.i]
}

func (p *lexer) value() (any, error) {
	if p.eof() {
		return nil, p.err("missing value")
	}
	switch c := p.s[p.i]; {
	case c == '"' || c == '\'':
		return p.str()
	case c == '[':
		p.i++
		var out []string
		for {
			p.skipSpace(true)
			if p.take(']') {
				return out, nil
			}
			if p.eof() {
				return nil, p.err("unterminated list")
			}
			v, err := p.value()
			if err != nil {
				return nil, err
			}
			s, ok := v.(string)
			if !ok {
				return nil, p.err("nested lists are not supported")
			}
			out = append(out, s)
			p.skipSpace(true)
			if !p.take(',') {
				p.skipSpace(true)
				if !p.take(']') {
					return nil, p.err("expected ',' or ']' in list")
				}
				return out, nil
			}
		}
	default:
		start := p.i
		for !p.eof() && p.s[p.i] != '\n' && p.s[p.i] != '#' && p.s[p.i] != ',' && p.s[p.i] != ']' && p.s[p.i] != ';' {
			p.i++
		}
		v := strings.TrimSpace(p.s[start:p.i])
		if v == "" {
			return nil, p.err("missing value")
		}
		return v, nil
	}
}

func (p *lexer) str() (string, error) {
	q := p.s[p.i]
	p.i++
	var b strings.Builder
	for !p.eof() {
		c := p.s[p.i]
		switch {
		case c == q:
			p.i++
			return b.String(), nil
		case c == '\n':
			return "", p.err("unterminated string")
		case c == '\\' && p.i+1 < len(p.s):
			b.WriteByte(p.s[p.i+1])
			p.i += 2
		default:
			b.WriteByte(c)
			p.i++
		}
	}
	return "", p.err("unterminated string")
}

// specFields splits one device spec in xl's key=value form ("mac=...,
// bridge=xenbr0") into its keys and values; a later key wins.
func specFields(spec string) map[string]string {
	kv := map[string]string{}
	for _, f := range strings.Split(spec, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(f), "=")
		kv[k] = v
	}
	return kv
}
