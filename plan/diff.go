package plan

import (
	"fmt"
	"strings"
)

// UnifiedDiff renders a unified diff (3 lines of context) between a and b.
// It is meant for configuration files; inputs above maxDiffLines lines are
// summarised instead of diffed.
func UnifiedDiff(name string, a, b string) string {
	if a == b {
		return ""
	}
	al, bl := splitLines(a), splitLines(b)
	var out strings.Builder
	fmt.Fprintf(&out, "--- a%s\n+++ b%s\n", name, name)
	if len(al)*len(bl) > maxDiffCells {
		fmt.Fprintf(&out, "@@ file too large to diff: %d lines -> %d lines @@\n", len(al), len(bl))
		return out.String()
	}
	edits := lcsEdits(al, bl)
	const ctx = 3
	// Group edits into hunks.
	i := 0
	for i < len(edits) {
		if edits[i].op == ' ' {
			i++
			continue
		}
		start := i - ctx
		if start < 0 {
			start = 0
		}
		end := i
		for end < len(edits) {
			if edits[end].op != ' ' {
				end++
				continue
			}
			// Run of context: does another change follow within 2*ctx?
			j := end
			for j < len(edits) && edits[j].op == ' ' {
				j++
			}
			if j < len(edits) && j-end <= 2*ctx {
				end = j
				continue
			}
			end += ctx
			if end > len(edits) {
				end = len(edits)
			}
			break
		}
		aStart, bStart, aN, bN := 0, 0, 0, 0
		for k := 0; k < start; k++ {
			if edits[k].op != '+' {
				aStart++
			}
			if edits[k].op != '-' {
				bStart++
			}
		}
		for k := start; k < end; k++ {
			if edits[k].op != '+' {
				aN++
			}
			if edits[k].op != '-' {
				bN++
			}
		}
		fmt.Fprintf(&out, "@@ -%s +%s @@\n", hunkRange(aStart, aN), hunkRange(bStart, bN))
		for k := start; k < end; k++ {
			out.WriteByte(edits[k].op)
			out.WriteString(edits[k].line)
			if !strings.HasSuffix(edits[k].line, "\n") {
				out.WriteString("\n\\ No newline at end of file\n")
			}
		}
		i = end
	}
	return out.String()
}

const maxDiffCells = 25_000_000

func hunkRange(start, n int) string {
	if n == 0 {
		return fmt.Sprintf("%d,0", start)
	}
	if n == 1 {
		return fmt.Sprintf("%d", start+1)
	}
	return fmt.Sprintf("%d,%d", start+1, n)
}

type edit struct {
	op   byte // ' ', '-', '+'
	line string
}

func splitLines(s string) []string {
	if s == "" {
		return nil
	}
	lines := strings.SplitAfter(s, "\n")
	if lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	return lines
}

// lcsEdits computes a minimal line edit script by dynamic programming.
func lcsEdits(a, b []string) []edit {
	n, m := len(a), len(b)
	dp := make([][]int32, n+1)
	for i := range dp {
		dp[i] = make([]int32, m+1)
	}
	for i := n - 1; i >= 0; i-- {
		for j := m - 1; j >= 0; j-- {
			if a[i] == b[j] {
				dp[i][j] = dp[i+1][j+1] + 1
			} else if dp[i+1][j] >= dp[i][j+1] {
				dp[i][j] = dp[i+1][j]
			} else {
				dp[i][j] = dp[i][j+1]
			}
		}
	}
	var e []edit
	i, j := 0, 0
	for i < n && j < m {
		switch {
		case a[i] == b[j]:
			e = append(e, edit{' ', a[i]})
			i++
			j++
		case dp[i+1][j] >= dp[i][j+1]:
			e = append(e, edit{'-', a[i]})
			i++
		default:
			e = append(e, edit{'+', b[j]})
			j++
		}
	}
	for ; i < n; i++ {
		e = append(e, edit{'-', a[i]})
	}
	for ; j < m; j++ {
		e = append(e, edit{'+', b[j]})
	}
	return e
}
