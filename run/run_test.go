package run

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
)

func TestQuote(t *testing.T) {
	for in, want := range map[string]string{
		"plain":           "plain",
		"":                "''",
		"with space":      "'with space'",
		"it's":            `'it'\''s'`,
		"--add-drivers=x": "--add-drivers=x",
		"$(rm -rf /)":     "'$(rm -rf /)'",
	} {
		if got := Quote(in); got != want {
			t.Errorf("Quote(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestRunFoldsOutputIntoError(t *testing.T) {
	_, err := Exec{}.Run(context.Background(), Cmd{Argv: []string{"sh", "-c", "echo out; echo boom >&2; exit 3", "ignored"}})
	var re *Error
	if !errors.As(err, &re) {
		t.Fatalf("Run(failing) error = %v, want *run.Error", err)
	}
	if re.ExitCode != 3 || !strings.Contains(err.Error(), "boom") || !strings.Contains(err.Error(), "out") {
		t.Errorf("Run(failing) = %v (exit %d), want exit 3 with stdout and stderr in the message", err, re.ExitCode)
	}
}

func TestRunArgvIsNotAShell(t *testing.T) {
	out, err := Exec{}.Run(context.Background(), Cmd{Argv: []string{"echo", "$(id)", ";", "true"}})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(string(out)); got != "$(id) ; true" {
		t.Errorf("echo output = %q, want the arguments verbatim", got)
	}
}

// TestRunLogsToTheContextsLogger: the command log goes to Exec.Log, else
// to the logger the context carries, else nowhere.
func TestRunLogsToTheContextsLogger(t *testing.T) {
	var buf strings.Builder
	log := slog.New(slog.NewTextHandler(&buf, nil))
	if _, err := (Exec{}).Run(WithLog(context.Background(), log), Cmd{Argv: []string{"true", "from-context"}}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "true from-context") {
		t.Errorf("Run(ctx with a logger) logged %q, want the command", buf.String())
	}
	buf.Reset()
	if _, err := (Exec{}).Run(context.Background(), Cmd{Argv: []string{"true"}}); err != nil {
		t.Fatal(err)
	}
	if buf.Len() != 0 {
		t.Errorf("Run(ctx without a logger) logged %q to another logger", buf.String())
	}
}

func TestRunStreamsStdout(t *testing.T) {
	var b strings.Builder
	out, err := Exec{}.Run(context.Background(), Cmd{Argv: []string{"sh", "-c", "echo data; echo note >&2"}, Stdout: &b})
	if err != nil {
		t.Fatal(err)
	}
	if b.String() != "data\n" || len(out) != 0 {
		t.Errorf("Run(Stdout: w) wrote %q and returned %q, want %q written and nothing returned", b.String(), out, "data\n")
	}
}
