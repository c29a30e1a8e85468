package remote

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/xenify/xenify/run"
)

// Errors that name why a connection could not be used. The ssh client's
// own explanation is part of the message.
var (
	// ErrHostKey: the remote's host key is unknown or does not match
	// known_hosts. It is never accepted silently.
	ErrHostKey = errors.New("host key not trusted")
	// ErrConnect: ssh could not connect or log in.
	ErrConnect = errors.New("cannot connect")
	// ErrConnLost: the connection went away during the job; running the
	// same command again resumes.
	ErrConnLost = errors.New("connection lost")
)

// Options configure a connection.
type Options struct {
	// ConfigFile is passed to ssh -F; "" uses ~/.ssh/config as usual.
	ConfigFile string
	// Compress sends extent data through gzip -1 on the remote side when
	// it has gzip.
	Compress bool
	// BWLimit caps the bytes per second read from the connection (after
	// compression); 0 is unlimited.
	BWLimit int64
	// Streams is how many connections large reads are spread over
	// (default 2): OpenSSH encrypts all channels of one connection in
	// one process, so one connection's cipher caps a stream at one
	// core's speed. The extra connections are opened on first use; if
	// one cannot be opened, the others carry its share.
	Streams int
	// Runner runs ssh; default run.Exec.
	Runner run.Runner
	Logger *slog.Logger
}

// Conn is one multiplexed OpenSSH connection: a master process
// (ControlMaster) owned by this Conn, whose control socket lives in a
// private temporary directory, and one short-lived ssh client per command.
type Conn struct {
	t      Target
	opt    Options
	dir    string
	ctl    string
	env    []string
	cancel context.CancelFunc
	done   chan struct{} // closed when the master exits
	mu     sync.Mutex
	err    error // the master's exit
	stats  Stats
	// ciphers is the -o Ciphers= list xenify prefers, or "" when the
	// user's configuration sets one (see preferCiphers).
	ciphers string
	// extra are the additional masters for parallel streams (see
	// Streams), started on first use.
	extraOnce sync.Once
	extra     []*Conn
	// parent is the Conn whose counters an extra connection adds to.
	parent *Conn
}

// Stats count what went over the connection.
type Stats struct {
	Commands int64 `json:"commands"`
	// BytesIn are bytes of command output received (compressed data when
	// compressing), BytesOut the command lines sent.
	BytesIn  int64 `json:"bytes_in"`
	BytesOut int64 `json:"bytes_out"`
	// Connections is how many ssh connections were open (see
	// Options.Streams).
	Connections int `json:"connections"`
}

// Dial starts the master connection and waits until it is authenticated.
// Host keys are checked strictly (an unknown or changed key is refused);
// BatchMode forbids password prompts.
func Dial(ctx context.Context, t Target, opt Options) (*Conn, error) {
	if opt.Runner == nil {
		opt.Runner = run.Exec{Log: opt.Logger}
	}
	if opt.Logger == nil {
		opt.Logger = slog.Default()
	}
	if opt.Streams <= 0 {
		opt.Streams = 2
	}
	dir, err := os.MkdirTemp("", "xenify-ssh-")
	if err != nil {
		return nil, fmt.Errorf("creating the ssh control directory: %w", err)
	}
	c := &Conn{t: t, opt: opt, dir: dir, ctl: filepath.Join(dir, "ctl"), env: os.Environ(), done: make(chan struct{})}
	c.ciphers = c.preferCiphers(ctx)
	if _, err := c.start(ctx); err != nil {
		return nil, err
	}
	c.stats.Connections = 1
	if c.opt.Streams > 1 {
		// The extra connections' handshakes overlap the planning's
		// round trips instead of delaying the first large read.
		go c.conns(context.WithoutCancel(ctx))
	}
	return c, nil
}

// start runs the master and waits until it is authenticated.
func (c *Conn) start(ctx context.Context) (*Conn, error) {
	opt := c.opt
	mctx, cancel := context.WithCancel(context.Background())
	c.cancel = cancel
	go func() {
		// The master lives as long as this Conn (ControlPersist=no): it
		// dies with xenify instead of lingering in the background.
		_, err := opt.Runner.Run(mctx, run.Cmd{Argv: c.argv("-M", "-N", "-o", "ControlPersist=no"), Env: c.env})
		c.mu.Lock()
		c.err = err
		c.mu.Unlock()
		close(c.done)
	}()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		if st, err := os.Stat(c.ctl); err == nil && st.Mode()&fs.ModeSocket != 0 {
			return c, nil
		}
		select {
		case <-c.done:
			err := c.masterErr()
			c.Close()
			return nil, err
		case <-ctx.Done():
			c.Close()
			return nil, ctx.Err()
		case <-tick.C:
		}
	}
}

// argv is the ssh command line: the user's config, then options that
// xenify insists on, then extra, then the host.
func (c *Conn) argv(extra ...string) []string {
	a := []string{run.SSH}
	if c.opt.ConfigFile != "" {
		a = append(a, "-F", c.opt.ConfigFile)
	}
	a = append(a,
		"-o", "BatchMode=yes",
		"-o", "StrictHostKeyChecking=yes",
		"-o", "ControlPath="+c.ctl,
		"-o", "ClearAllForwardings=yes",
		// The data is either random-looking or already gzip'ed
		// (--compress): ssh's own zlib would only cost CPU.
		"-o", "Compression=no",
		"-o", "ServerAliveInterval=15",
		"-o", "ServerAliveCountMax=4",
		"-a", "-x", "-T")
	if c.ciphers != "" {
		a = append(a, "-o", "Ciphers="+c.ciphers)
	}
	a = append(c.hostArgs(a), extra...)
	return append(a, "--", c.t.Host)
}

func (c *Conn) hostArgs(a []string) []string {
	if c.t.User != "" {
		a = append(a, "-l", c.t.User)
	}
	if c.t.Port != 0 {
		a = append(a, "-p", strconv.Itoa(c.t.Port))
	}
	return a
}

// fastCiphers are tried first, in this order, when the user's ssh
// configuration does not choose ciphers: AES-GCM runs on the CPU's AES
// instructions and carried 1.2–1.5× the bytes of OpenSSH's default
// chacha20-poly1305 on the benchmark box; aes128-ctr is what an old
// server (OpenSSH 3.9 on CentOS 4) offers that is fast.
var fastCiphers = []string{"aes128-gcm@openssh.com", "aes256-gcm@openssh.com", "aes128-ctr"}

// preferCiphers returns the cipher list to pass with -o Ciphers=: the
// client's default list with fastCiphers moved to the front (ciphers the
// server lacks are skipped in the negotiation, so an old server still
// gets one it knows). It returns "" when the user's or the system's
// configuration sets Ciphers for this host (ssh -G shows another list
// than with no configuration at all): their choice wins. Any failure of
// ssh -G (an old client) also leaves ssh's own choice.
func (c *Conn) preferCiphers(ctx context.Context) string {
	list := func(cfg string) []string {
		a := []string{run.SSH, "-G"}
		if cfg != "" {
			a = append(a, "-F", cfg)
		}
		a = append(c.hostArgs(a), "--", c.t.Host)
		out, err := c.opt.Runner.Run(ctx, run.Cmd{Argv: a, Env: c.env})
		if err != nil {
			return nil
		}
		for _, l := range strings.Split(string(out), "\n") {
			if v, ok := strings.CutPrefix(l, "ciphers "); ok {
				return strings.Split(strings.TrimSpace(v), ",")
			}
		}
		return nil
	}
	def := list("/dev/null")
	if len(def) == 0 {
		return ""
	}
	cur := def
	if cfg := list(c.opt.ConfigFile); !slices.Equal(cfg, def) {
		c.opt.Logger.Debug("ssh: the configuration chooses the ciphers", "ciphers", strings.Join(cfg, ","))
		return ""
	}
	var pref, rest []string
	for _, f := range fastCiphers {
		if slices.Contains(cur, f) {
			pref = append(pref, f)
		}
	}
	for _, x := range cur {
		if !slices.Contains(pref, x) {
			rest = append(rest, x)
		}
	}
	return strings.Join(append(pref, rest...), ",")
}

// masterErr explains why the master is gone, with ssh's own reason.
func (c *Conn) masterErr() error {
	c.mu.Lock()
	err := c.err
	c.mu.Unlock()
	reason := "the ssh master exited"
	var re *run.Error
	if errors.As(err, &re) {
		if s := sshReason(re.Stderr); s != "" {
			reason = s
		}
	} else if err != nil {
		reason = err.Error()
	}
	host := c.t.String()
	host = strings.TrimSuffix(host, c.t.Device)
	switch {
	case strings.Contains(reason, "Host key verification failed"), strings.Contains(reason, "IDENTIFICATION HAS CHANGED"),
		strings.Contains(reason, "No ") && strings.Contains(reason, "host key is known"):
		return fmt.Errorf("%w: %s: %s", ErrHostKey, host, reason)
	}
	return fmt.Errorf("%w to %s: %s", ErrConnect, host, reason)
}

// sshReason keeps the lines of ssh's stderr that explain a failure,
// without the banner frames.
func sshReason(stderr string) string {
	var keep []string
	for _, l := range strings.Split(stderr, "\n") {
		l = strings.TrimSpace(strings.Trim(strings.TrimSpace(l), "@"))
		if l == "" || strings.HasPrefix(l, "Warning: Permanently added") {
			continue
		}
		keep = append(keep, l)
	}
	if len(keep) > 16 {
		keep = keep[len(keep)-16:]
	}
	return strings.Join(keep, "\n  ")
}

// Alive tells whether the master still runs.
func (c *Conn) Alive() bool {
	select {
	case <-c.done:
		return false
	default:
		return true
	}
}

// Stats returns the counters so far.
func (c *Conn) Stats() Stats {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stats
}

func (c *Conn) count(in, out int64, cmds int64) {
	if c.parent != nil {
		c.parent.count(in, out, cmds)
		return
	}
	c.mu.Lock()
	c.stats.BytesIn += in
	c.stats.BytesOut += out
	c.stats.Commands += cmds
	c.mu.Unlock()
}

// Run runs script with the remote's POSIX sh through the master and
// returns its stdout, or streams it into stdout when that is not nil.
func (c *Conn) Run(ctx context.Context, script string, stdout io.Writer) ([]byte, error) {
	if !c.Alive() {
		return nil, fmt.Errorf("%w: %v", ErrConnLost, c.masterErr())
	}
	// The login shell may not be a POSIX shell; sh is.
	line := "sh -c " + run.Quote(script)
	c.count(0, int64(len(line)), 1)
	out, err := c.opt.Runner.Run(ctx, run.Cmd{Argv: append(c.argv("-o", "ControlMaster=no"), line), Env: c.env, Stdout: stdout})
	c.count(int64(len(out)), 0, 0)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if !c.Alive() {
			return nil, fmt.Errorf("%w: %v", ErrConnLost, c.masterErr())
		}
		var re *run.Error
		if errors.As(err, &re) && re.ExitCode == 255 {
			return nil, fmt.Errorf("%w: %s", ErrConnLost, sshReason(re.Stderr))
		}
		return nil, err
	}
	return out, nil
}

// conns returns the connections to spread a large read over: c and the
// extra masters that could be started (started on the first call, at
// once).
func (c *Conn) conns(ctx context.Context) []*Conn {
	c.extraOnce.Do(func() {
		n := c.opt.Streams - 1
		if c.parent != nil || n <= 0 {
			return
		}
		got := make([]*Conn, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				dir, err := os.MkdirTemp("", "xenify-ssh-")
				if err != nil {
					return
				}
				x := &Conn{t: c.t, opt: c.opt, dir: dir, ctl: filepath.Join(dir, "ctl"), env: c.env,
					done: make(chan struct{}), ciphers: c.ciphers, parent: c}
				x.extraOnce.Do(func() {})
				if got[i], err = x.start(ctx); err != nil {
					c.opt.Logger.Debug("ssh: an extra connection failed; fewer streams", "err", err)
				}
			}()
		}
		wg.Wait()
		for _, x := range got {
			if x != nil {
				c.extra = append(c.extra, x)
			}
		}
		c.mu.Lock()
		c.stats.Connections += len(c.extra)
		c.mu.Unlock()
	})
	out := []*Conn{c}
	for _, x := range c.extra {
		if x.Alive() {
			out = append(out, x)
		}
	}
	return out
}

// Close stops the master (and the extra ones) and removes the control
// directory.
func (c *Conn) Close() error {
	c.extraOnce.Do(func() {}) // waits for extra connections being opened
	for _, x := range c.extra {
		x.Close()
	}
	c.cancel()
	<-c.done
	return os.RemoveAll(c.dir)
}
