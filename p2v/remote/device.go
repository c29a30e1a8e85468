package remote

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/xenify/xenify/p2v"
	"github.com/xenify/xenify/run"
	"golang.org/x/sys/unix"
)

// ErrNotBlockDevice: the remote path is missing or not a block device.
var ErrNotBlockDevice = errors.New("not a block device")

// Device is a block device on the remote machine, read through a Conn.
// It implements p2v.Remote. Its methods may be called from one goroutine
// at a time, except ReadAt, Prefetch and Sum, which are safe for
// concurrent use (a sync hashes while it plans).
type Device struct {
	c    *Conn
	t    Target
	ctx  context.Context
	size int64
	// hashes are the remote's hashing tools; hash is the one chosen (the
	// fastest, see chooseHash), on first use.
	hashes   []string
	hashOnce sync.Once
	hash     string
	gzip     bool
	// cpus is the remote's processor count (1 when unknown).
	cpus int

	mu    sync.Mutex
	cache map[int64][]byte // window index → bytes
	order []int64          // windows in insertion order, for eviction
	// blocks holds the small blocks Prefetch fetched exactly (offset →
	// blockSize bytes), so scattered bitmaps do not cost a window each.
	blocks map[int64][]byte
}

// cacheWindow is the unit of ReadAt's cache: small reads of metadata
// (partition tables, superblocks, bitmaps, LVM text) round up to whole
// windows, and neighbouring reads then cost no round trip.
const (
	cacheWindow  = 256 << 10
	cacheWindows = 64
	readAhead    = 3 // windows
	// blockSize is Prefetch's unit; maxBlocks bounds its cache (16 MiB).
	blockSize = 4096
	maxBlocks = 4096
	// maxScript bounds one command line (the remote's ARG_MAX is 128 KiB
	// on the oldest kernels).
	maxScript = 48 << 10
)

// Open checks that the target's path is a block device on the remote
// (test -b), sizes it and finds its tools. ctx also bounds the ReadAt
// calls made later.
func (c *Conn) Open(ctx context.Context, t Target) (*Device, error) {
	if err := ValidDevicePath(t.Device); err != nil {
		return nil, err
	}
	d := &Device{c: c, t: t, ctx: ctx, cache: map[int64][]byte{}, blocks: map[int64][]byte{}}
	q := run.Quote(t.Device)
	out, err := c.Run(ctx, "D="+q+`; if test -b "$D"; then echo B; else echo N; fi; ls -lL "$D" 2>&1; echo =; cat /proc/partitions; echo =; `+
		`for t in dd md5sum sha1sum cksum gzip; do command -v $t >/dev/null 2>&1 && echo "have $t"; done; echo =; `+
		`grep -c '^processor' /proc/cpuinfo 2>/dev/null; echo =`, nil)
	if err != nil {
		return nil, fmt.Errorf("probing %s: %w", t, err)
	}
	parts := strings.Split(string(out), "\n=\n")
	if len(parts) < 4 {
		return nil, fmt.Errorf("probing %s: unexpected output %q", t, out)
	}
	head, _, _ := strings.Cut(parts[0], "\n")
	if strings.TrimSpace(head) != "B" {
		return nil, fmt.Errorf("%w: %s: test -b %s is false on the remote (%s)", ErrNotBlockDevice, t, t.Device, strings.TrimSpace(strings.TrimPrefix(parts[0], head)))
	}
	have := map[string]bool{}
	for _, l := range strings.Split(parts[2], "\n") {
		if tool, ok := strings.CutPrefix(strings.TrimSpace(l), "have "); ok {
			have[tool] = true
		}
	}
	if !have["dd"] {
		return nil, fmt.Errorf("the remote of %s has no dd in PATH", t)
	}
	for _, h := range hashTools {
		if have[h] {
			d.hashes = append(d.hashes, h)
		}
	}
	d.gzip = have["gzip"]
	d.cpus = remoteCPUs(parts[3])
	if c.opt.Compress && !d.gzip {
		return nil, fmt.Errorf("compression asked for, but the remote of %s has no gzip in PATH", t)
	}
	kib, err := partitionsSize(parts[0], parts[1])
	if err != nil {
		return nil, fmt.Errorf("sizing %s: %w", t, err)
	}
	// /proc/partitions counts whole KiB: the device has 2*kib sectors,
	// or one more. dd says whether that one exists.
	out, err = c.Run(ctx, fmt.Sprintf("dd if=%s bs=512 skip=%d count=1 of=/dev/null 2>&1", q, 2*kib), nil)
	if err != nil {
		return nil, fmt.Errorf("sizing %s: %w", t, err)
	}
	d.size = kib * 1024
	if m := recordsIn.FindSubmatch(out); m != nil && (string(m[1]) != "0" || string(m[2]) != "0") {
		d.size += 512
	}
	return d, nil
}

// remoteCPUs reads the processor count that grep -c printed: at least
// 1, and 1 when it printed nothing usable.
func remoteCPUs(out string) int {
	n, err := strconv.Atoi(strings.TrimSpace(out))
	if err != nil || n < 1 {
		return 1
	}
	return n
}

var (
	majMin    = regexp.MustCompile(`(\d+),\s*(\d+)`)
	recordsIn = regexp.MustCompile(`(\d+)\+(\d+) records in`)
)

// partitionsSize finds the device's size in KiB in /proc/partitions by
// the major and minor number that ls -lL shows.
func partitionsSize(ls, partitions string) (int64, error) {
	m := majMin.FindStringSubmatch(ls)
	if m == nil {
		return 0, fmt.Errorf("no device number in %q", strings.TrimSpace(ls))
	}
	for _, l := range strings.Split(partitions, "\n") {
		f := strings.Fields(l)
		if len(f) == 4 && f[0] == m[1] && f[1] == m[2] {
			return strconv.ParseInt(f[2], 10, 64)
		}
	}
	return 0, fmt.Errorf("device %s:%s is not in /proc/partitions", m[1], m[2])
}

// Name is the canonical ssh:// URL of the device.
func (d *Device) Name() string { return d.t.String() }

// Size is the device size in bytes.
func (d *Device) Size() int64 { return d.size }

// Conn is the connection the device is read through.
func (d *Device) Conn() *Conn { return d.c }

// ReadAt reads through the window cache; large reads bypass it.
func (d *Device) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, fmt.Errorf("reading %s: negative offset %d", d.t, off)
	}
	if off >= d.size {
		return 0, io.EOF
	}
	n := min(int64(len(p)), d.size-off)
	var err error
	if n < int64(len(p)) {
		err = io.EOF
	}
	if d.fromBlocks(p[:n], off) {
		return int(n), err
	}
	if n > 4*cacheWindow {
		e := p2v.Extent{Off: off, Len: n}
		if rerr := d.ReadExtents(d.ctx, []p2v.Extent{e}, func(int) []byte { return p[:n] }, func(int) bool { return true }); rerr != nil {
			return 0, rerr
		}
		return int(n), err
	}
	first, last := off/cacheWindow, (off+n-1)/cacheWindow
	// Metadata reads cluster: read ahead, since a round trip costs far
	// more than the bytes.
	if ferr := d.fetch(first, min(last+readAhead, (d.size-1)/cacheWindow)); ferr != nil {
		return 0, ferr
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	for w := first; w <= last; w++ {
		buf, ok := d.cache[w]
		if !ok {
			return 0, fmt.Errorf("reading %s: window %d evicted while in use", d.t, w)
		}
		wOff := w * cacheWindow
		from, to := max(off, wOff), min(off+n, wOff+int64(len(buf)))
		copy(p[from-off:to-off], buf[from-wOff:to-wOff])
	}
	return int(n), err
}

// Prefetch reads the blocks that cover ranges ([offset, length] pairs)
// with one command and keeps them for ReadAt. extfs calls it with the
// locations of all block bitmaps before it reads them one by one.
func (d *Device) Prefetch(ranges [][2]int64) {
	var exts []p2v.Extent
	d.mu.Lock()
	room := maxBlocks - len(d.blocks)
	for _, r := range ranges {
		if r[1] <= 0 || r[0] < 0 || r[0] >= d.size {
			continue
		}
		end := min(r[0]+r[1], d.size)
		for b := r[0] / blockSize * blockSize; b < end && room > 0; b += blockSize {
			if _, ok := d.blocks[b]; ok {
				continue
			}
			room--
			n := min(blockSize, d.size-b)
			if k := len(exts); k > 0 && exts[k-1].Off+exts[k-1].Len == b {
				exts[k-1].Len += n
			} else {
				exts = append(exts, p2v.Extent{Off: b, Len: n})
			}
		}
	}
	d.mu.Unlock()
	if len(exts) == 0 {
		return
	}
	bufs := make([][]byte, len(exts))
	for i, e := range exts {
		bufs[i] = make([]byte, e.Len)
	}
	if err := d.ReadExtents(d.ctx, exts, func(i int) []byte { return bufs[i] }, func(int) bool { return true }); err != nil {
		return // a hint: the real read reports the error
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	for i, e := range exts {
		for o := int64(0); o < e.Len; o += blockSize {
			d.blocks[e.Off+o] = bufs[i][o:min(o+blockSize, e.Len)]
		}
	}
}

// fromBlocks fills p from the blocks Prefetch fetched, if they cover it.
func (d *Device) fromBlocks(p []byte, off int64) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	end := off + int64(len(p))
	for b := off / blockSize * blockSize; b < end; b += blockSize {
		blk, ok := d.blocks[b]
		if !ok || b+int64(len(blk)) < min(end, b+blockSize) {
			return false
		}
	}
	for b := off / blockSize * blockSize; b < end; b += blockSize {
		blk := d.blocks[b]
		from, to := max(off, b), min(end, b+int64(len(blk)))
		copy(p[from-off:to-off], blk[from-b:to-b])
	}
	return true
}

func (d *Device) fetch(first, last int64) error {
	var ws []int64
	for w := first; w <= last; w++ {
		ws = append(ws, w)
	}
	return d.fetchList(ws)
}

// fetchList reads the missing windows of ws into the cache, with one
// command.
func (d *Device) fetchList(ws []int64) error {
	d.mu.Lock()
	var missing []int64
	seen := map[int64]bool{}
	for _, w := range ws {
		if _, ok := d.cache[w]; !ok && !seen[w] {
			missing = append(missing, w)
			seen[w] = true
		}
	}
	d.mu.Unlock()
	if len(missing) == 0 {
		return nil
	}
	exts := make([]p2v.Extent, len(missing))
	bufs := make([][]byte, len(missing))
	for i, w := range missing {
		off := w * cacheWindow
		exts[i] = p2v.Extent{Off: off, Len: min(cacheWindow, d.size-off)}
		bufs[i] = make([]byte, exts[i].Len)
	}
	if err := d.ReadExtents(d.ctx, exts, func(i int) []byte { return bufs[i] }, func(int) bool { return true }); err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	for i, w := range missing {
		d.cache[w] = bufs[i]
		d.order = append(d.order, w)
	}
	for len(d.order) > cacheWindows+len(missing) {
		delete(d.cache, d.order[0])
		d.order = d.order[1:]
	}
	return nil
}

// prelude defines the remote shell functions, for device q:
//
//	r BS SKIP COUNT...  writes the pieces to stdout; a failing dd ends
//	                    the script with status 1 (dd's message is on
//	                    stderr, after the "records" lines of the others)
//	h BS SKIP COUNT     prints the hash line of one piece
//	m BS SKIP COUNT...  prints one hash line of several pieces together
//
// Process creation is what costs on a loaded old server, so the common
// cases run one dd per extent and no subshell. A dd that fails while
// hashing gives a wrong hash: that range then counts as different and
// is re-sent with r, which reports the error; a verify reports it as a
// difference. Neither passes silently.
func prelude(q, hash string) string {
	return "D=" + q + `; ` +
		`r(){ while [ $# -gt 0 ]; do dd if="$D" bs=$1 skip=$2 count=$3 || exit 1; shift 3; done; }; ` +
		`h(){ dd if="$D" bs=$1 skip=$2 count=$3 2>/dev/null | ` + hash + `; }; ` +
		`m(){ while [ $# -gt 0 ]; do dd if="$D" bs=$1 skip=$2 count=$3 2>/dev/null; shift 3; done | ` + hash + `; }; `
}

// pieces writes the dd arguments that read [off, off+n): one piece when
// a block size of at least 512 bytes divides both (as large as 1 MiB),
// else blocks as large as alignment allows, smaller at unaligned ends.
// It returns the number of pieces.
func pieces(b *strings.Builder, off, n int64) int {
	const big = 1 << 20
	bs := int64(big)
	for bs > 1 && (off%bs != 0 || n%bs != 0) {
		bs >>= 1
	}
	if bs >= 512 || n == 0 {
		if n > 0 {
			fmt.Fprintf(b, " %d %d %d", bs, off/bs, n/bs)
		}
		return 1
	}
	k := 0
	for n > 0 {
		bs := int64(big)
		for bs > 1 && off%bs != 0 {
			bs >>= 1
		}
		for bs > n {
			bs >>= 1
		}
		cnt := n / bs
		if off%big != 0 {
			cnt = min(cnt, (big-off%big)/bs)
		}
		fmt.Fprintf(b, " %d %d %d", bs, off/bs, cnt)
		off += cnt * bs
		n -= cnt * bs
		k++
	}
	return k
}

// batches splits exts into runs whose command lines stay under maxScript.
func batches(exts []p2v.Extent, fn string, each func(from, to int, calls string) error) error {
	var b strings.Builder
	from := 0
	for i, e := range exts {
		var args strings.Builder
		name := fn
		if pieces(&args, e.Off, e.Len) > 1 && fn == "h" {
			name = "m"
		}
		call := name + args.String() + "; "
		if b.Len() > 0 && b.Len()+len(call) > maxScript {
			if err := each(from, i, b.String()); err != nil {
				return err
			}
			b.Reset()
			from = i
		}
		b.WriteString(call)
	}
	if b.Len() > 0 {
		return each(from, len(exts), b.String())
	}
	return nil
}

// ReadExtents streams the extents with as few commands as the
// command-line limit allows: get(i) gives the buffer for extent i (its
// length is the extent's; nil stops), put(i) hands it back filled (false
// stops). Extents are sorted and disjoint. A large read is spread over
// the connection's streams (Options.Streams): each stream takes every
// extent of some runs, in order, and calls get and put from its own
// goroutine, so extents of different streams arrive in no fixed order.
func (d *Device) ReadExtents(ctx context.Context, exts []p2v.Extent, get func(i int) []byte, put func(i int) bool) error {
	var total int64
	for i, e := range exts {
		if e.Off < 0 || e.Len < 0 || e.Off+e.Len > d.size || i > 0 && e.Off < exts[i-1].Off+exts[i-1].Len {
			return fmt.Errorf("reading %s: extent %d+%d outside the %d-byte device or out of order", d.t, e.Off, e.Len, d.size)
		}
		total += e.Len
	}
	conns := []*Conn{d.c}
	maxRun := int64(runMax)
	if total >= streamMin && d.c.opt.Streams > 1 {
		conns = d.c.conns(ctx)
		if len(conns) > 1 {
			maxRun = stripe
		}
	}
	rs := runs(exts, d.size, maxRun)
	// Deal the runs out: each to the stream with the fewest bytes so
	// far, so the streams move through the disk side by side.
	shares := make([][]extRun, len(conns))
	load := make([]int64, len(conns))
	for _, r := range rs {
		k := 0
		for j := range load {
			if load[j] < load[k] {
				k = j
			}
		}
		shares[k] = append(shares[k], r)
		load[k] += r.span.Len
	}
	pctx := ctx
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errs := make([]error, len(conns))
	var wg sync.WaitGroup
	for k, c := range conns {
		if len(shares[k]) == 0 {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if errs[k] = d.readRuns(ctx, c, len(conns), shares[k], exts, get, put); errs[k] != nil {
				cancel()
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil && !errors.Is(err, errStop) && !errors.Is(err, context.Canceled) {
			return err
		}
	}
	// Stopped by get or put, or cancelled.
	return pctx.Err()
}

var errStop = errors.New("stopped")

const (
	// streamMin: reads smaller than this use one stream (metadata,
	// prefetches, small re-sends).
	streamMin = 64 << 20
	// stripe bounds a run when several streams share a read, so that
	// they take turns through the disk.
	stripe = 64 << 20
)

// readRuns streams the extents of rs over c.
func (d *Device) readRuns(ctx context.Context, c *Conn, nstreams int, rs []extRun, exts []p2v.Extent, get func(i int) []byte, put func(i int) bool) error {
	spans := make([]p2v.Extent, len(rs))
	for i, r := range rs {
		spans[i] = r.span
	}
	return batches(spans, "r", func(from, to int, calls string) error {
		// (r needs no hashing tool: the prelude's h and m go unused.)
		script := prelude(run.Quote(d.t.Device), "md5sum") + calls
		if c.opt.Compress {
			// POSIX sh has no pipefail: the left side says "ok" on fd 6
			// when every dd succeeded.
			script = prelude(run.Quote(d.t.Device), "md5sum") + "exec 7>&1; s=$( { { " + calls + "echo ok >&6; } | gzip -1 >&7; } 6>&1 ); [ \"$s\" = ok ] || exit 1"
		}
		return d.stream(ctx, c, nstreams, script, func(r io.Reader) error {
			for _, rn := range rs[from:to] {
				pos := rn.span.Off
				for i := rn.first; i < rn.last; i++ {
					if _, err := io.CopyN(io.Discard, r, exts[i].Off-pos); err != nil {
						return fmt.Errorf("reading %s at byte %d: %w", d.t, pos, err)
					}
					buf := get(i)
					if buf == nil {
						return errStop
					}
					if _, err := io.ReadFull(r, buf); err != nil {
						return fmt.Errorf("reading %s at byte %d: %w", d.t, exts[i].Off, err)
					}
					if !put(i) {
						return errStop
					}
					pos = exts[i].Off + exts[i].Len
				}
				if _, err := io.CopyN(io.Discard, r, rn.span.Off+rn.span.Len-pos); err != nil {
					return fmt.Errorf("reading %s at byte %d: %w", d.t, pos, err)
				}
			}
			return nil
		})
	})
}

// run is a span of the device read with one dd: the extents first to
// last-1, and the small gaps between them, aligned out to runAlign so
// the dd uses large blocks.
type extRun struct {
	span        p2v.Extent
	first, last int
}

const (
	// runGap: extents closer than this share one dd (the gap is read and
	// dropped); a process on an old, loaded server costs more.
	runGap   = 64 << 10
	runAlign = 64 << 10
	// runMax bounds one dd's span.
	runMax = 1 << 30
)

func runs(exts []p2v.Extent, size, maxRun int64) []extRun {
	var out []extRun
	for i, e := range exts {
		if e.Len == 0 {
			continue
		}
		from := e.Off / runAlign * runAlign
		to := min((e.Off+e.Len+runAlign-1)/runAlign*runAlign, size)
		if n := len(out); n > 0 {
			last := &out[n-1]
			end := last.span.Off + last.span.Len
			if from <= end+runGap && to-last.span.Off <= maxRun {
				last.span.Len = max(end, to) - last.span.Off
				last.last = i + 1
				continue
			}
			from = max(from, end) // a previous span may reach into this block
		}
		out = append(out, extRun{span: p2v.Extent{Off: from, Len: to - from}, first: i, last: i + 1})
	}
	return out
}

// hashTools are the hashing tools xenify can reproduce locally
// (p2v.LocalSum), in the order of preference among equally fast ones.
var hashTools = []string{"md5sum", "sha1sum", "cksum"}

// UseHash makes algo the hashing tool if the remote has it: a sync
// compares against hashes that an earlier pass stored, which name their
// tool. It reports whether algo is now in use.
func (d *Device) UseHash(algo string) bool {
	if !slices.Contains(d.hashes, algo) {
		return false
	}
	d.hashOnce.Do(func() { d.hash = algo })
	return d.hash == algo
}

// chooseHash picks the fastest of the remote's digest tools (md5sum,
// sha1sum): one command hashes probeBytes of zeros with each, and the
// time between their output lines, as they arrive here, is each one's
// time. Speeds differ between builds and machines, and hashing every
// used block is most of a sync pass. cksum is used only where the
// remote has neither: its CRC-32 would miss a changed piece once in 2^32,
// and a sync that misses a change loses data silently.
func (d *Device) chooseHash() {
	tools := digestTools(d.hashes)
	switch len(tools) {
	case 0:
		return
	case 1:
		d.hash = tools[0]
		return
	}
	var script strings.Builder
	script.WriteString("echo go; ")
	for _, h := range tools {
		fmt.Fprintf(&script, "dd if=/dev/zero bs=65536 count=%d 2>/dev/null | %s >/dev/null; echo %s; ", probeBytes/65536, h, h)
	}
	tw := &lineTimes{}
	d.hash = tools[0]
	if _, err := d.c.Run(d.ctx, script.String(), tw); err != nil || len(tw.lines) != len(tools)+1 {
		d.c.opt.Logger.Debug("ssh: timing the hash tools failed; using the first", "tool", d.hash, "err", err)
		return
	}
	best := time.Duration(-1)
	for i, h := range tools {
		if took := tw.at[i+1].Sub(tw.at[i]); tw.lines[i+1] == h && (best < 0 || took < best*9/10) {
			d.hash, best = h, took
		}
	}
	d.c.opt.Logger.Debug("ssh: hash tool", "tool", d.hash, "probe", best)
}

// digestTools returns the cryptographic digests among have (in order),
// or have itself when it holds none.
func digestTools(have []string) []string {
	var out []string
	for _, h := range have {
		if h != "cksum" {
			out = append(out, h)
		}
	}
	if len(out) == 0 {
		return have
	}
	return out
}

// probeBytes is how much each hashing tool hashes in chooseHash.
const probeBytes = 16 << 20

// lineTimes records when each output line arrived.
type lineTimes struct {
	part  []byte
	lines []string
	at    []time.Time
}

func (w *lineTimes) Write(p []byte) (int, error) {
	now := time.Now()
	w.part = append(w.part, p...)
	for {
		i := bytes.IndexByte(w.part, '\n')
		if i < 0 {
			return len(p), nil
		}
		w.lines = append(w.lines, string(w.part[:i]))
		w.at = append(w.at, now)
		w.part = w.part[i+1:]
	}
}

// stream runs script and lets consume read its stdout (decompressed when
// compressing) as it arrives.
func (d *Device) stream(pctx context.Context, c *Conn, nstreams int, script string, consume func(io.Reader) error) error {
	ctx, cancel := context.WithCancel(pctx)
	defer cancel()
	// ssh writes straight into an OS pipe that we read with large reads:
	// no copying goroutine between them, and a 1 MiB pipe buffer lets
	// ssh keep writing while this process waits for a CPU (on a loaded
	// host, each hand-off between processes is where a stream stalls).
	// A blocking pipe: the reader blocks in read(2) on its own thread
	// instead of going through the runtime's poller (os.Pipe), which
	// cost an EAGAIN, an epoll wait and a wake-up per read (a third of
	// the reads in strace of a copy).
	var fds [2]int
	err := unix.Pipe2(fds[:], unix.O_CLOEXEC)
	if err != nil {
		return fmt.Errorf("reading %s: %w", d.t, err)
	}
	pr, pw := os.NewFile(uintptr(fds[0]), "ssh-stdout"), os.NewFile(uintptr(fds[1]), "ssh-stdout-w")
	defer pr.Close()
	_, _ = unix.FcntlInt(pw.Fd(), unix.F_SETPIPE_SZ, pipeSize)
	runErr := make(chan error, 1)
	go func() {
		_, err := c.Run(ctx, script, pw)
		pw.Close() // EOF for the reader
		runErr <- err
	}()
	var src io.Reader = &meter{r: pr, c: c, limit: c.opt.BWLimit / int64(max(nstreams, 1)), start: time.Now()}
	if c.opt.Compress {
		var gz *gzip.Reader
		gz, err = gzip.NewReader(bufio.NewReaderSize(src, 256<<10))
		if err == nil {
			err = consume(gz)
			if err == nil {
				// Read to the end: gzip checks its CRC there.
				var n int64
				n, err = io.Copy(io.Discard, gz)
				if err == nil && n > 0 {
					err = fmt.Errorf("reading %s: %d unexpected bytes after the data", d.t, n)
				}
			}
		}
	} else {
		err = consume(src)
		if err == nil {
			if n, _ := io.Copy(io.Discard, src); n > 0 {
				err = fmt.Errorf("reading %s: %d unexpected bytes after the data", d.t, n)
			}
		}
	}
	if err != nil {
		cancel()
		// Drain, so that ssh is not blocked on a full pipe while it dies.
		go io.Copy(io.Discard, pr)
	}
	rerr := <-runErr
	switch {
	case pctx.Err() != nil:
		// Cancelled from outside (another stream failed first): this
		// stream's short read is not the explanation.
		return pctx.Err()
	case rerr != nil && !errors.Is(rerr, context.Canceled):
		// The command's own error (dd's message, a lost connection)
		// explains a short stream best.
		return rerr
	case err != nil:
		return err
	}
	return rerr
}

// pipeSize is the buffer of the pipe ssh writes into.
const pipeSize = 1 << 20

// meter counts the bytes received and holds reads back to the bandwidth
// limit.
type meter struct {
	r     io.Reader
	c     *Conn
	limit int64
	start time.Time
	n     int64
}

func (m *meter) Read(p []byte) (int, error) {
	if m.limit > 0 && len(p) > int(m.limit/10) {
		p = p[:max(m.limit/10, 4096)]
	}
	n, err := m.r.Read(p)
	m.n += int64(n)
	m.c.count(int64(n), 0, 0)
	if m.limit > 0 {
		want := time.Duration(float64(m.n) / float64(m.limit) * float64(time.Second))
		if ahead := want - time.Since(m.start); ahead > 0 {
			time.Sleep(ahead)
		}
	}
	return n, err
}

// Sum hashes each extent on the remote side, with the tool HashAlgo
// names. The extents are shared out to as many commands at once as the
// remote has processors, up to sumStreams (hashing is bound by the
// source's CPU, disk and process creation, not by the link; on two
// cores, four hashing commands took 15% longer than two), each batched
// into as few commands as the command-line limit allows.
func (d *Device) Sum(ctx context.Context, exts []p2v.Extent) ([]string, error) {
	if d.HashAlgo() == "" {
		return nil, fmt.Errorf("the remote of %s has none of %s in PATH", d.t, strings.Join(hashTools, ", "))
	}
	sums := make([]string, len(exts))
	k := min(sumStreams, max(d.cpus, 1), (len(exts)+sumMinShare-1)/sumMinShare)
	if k <= 1 {
		return sums, d.sum(ctx, exts, sums)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errs := make([]error, k)
	var wg sync.WaitGroup
	for i := range k {
		from, to := i*len(exts)/k, (i+1)*len(exts)/k
		wg.Add(1)
		go func() {
			defer wg.Done()
			if errs[i] = d.sum(ctx, exts[from:to], sums[from:to]); errs[i] != nil {
				cancel()
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil && !errors.Is(err, context.Canceled) {
			return nil, err
		}
	}
	return sums, errors.Join(errs...)
}

const (
	// sumStreams hashing commands run at once, each with at least
	// sumMinShare extents.
	sumStreams  = 4
	sumMinShare = 8
)

// sum hashes exts into sums (as long as exts), in order.
func (d *Device) sum(ctx context.Context, exts []p2v.Extent, sums []string) error {
	return batches(exts, "h", func(from, to int, calls string) error {
		out, err := d.c.Run(ctx, prelude(run.Quote(d.t.Device), d.hash)+calls, nil)
		if err != nil {
			return fmt.Errorf("hashing %s: %w", d.t, err)
		}
		var got []string
		for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
			f := strings.Fields(l)
			switch {
			case len(f) == 0:
			case d.hash != "cksum":
				got = append(got, f[0])
			case len(f) >= 2:
				got = append(got, f[0]+" "+f[1])
			}
		}
		if len(got) != to-from {
			return fmt.Errorf("hashing %s: %d hash lines for %d ranges: %q", d.t, len(got), to-from, bytes.TrimSpace(out))
		}
		copy(sums[from:to], got)
		return nil
	})
}

// HashAlgo is the remote hashing tool ("md5sum", "sha1sum" or "cksum"),
// whose output p2v.LocalSum reproduces: the fastest the remote has,
// chosen on the first call, unless UseHash chose it before.
func (d *Device) HashAlgo() string {
	d.hashOnce.Do(d.chooseHash)
	return d.hash
}
