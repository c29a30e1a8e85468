// Package xerr classifies xenify's errors, so that the CLI can map them
// to distinct exit codes: usage errors (2) and guests that cannot be
// converted safely (3), apart from other failures (1).
package xerr

import (
	"errors"
	"fmt"
)

// Refused means the guest cannot be converted safely; nothing was written.
// It names the guest file (and line) at fault and what to do about it.
type Refused struct {
	Path string // guest path, "" if not about one file
	Line int    // 1-based, 0 if not about one line
	Msg  string
	Fix  string // what the user can do
	Err  error
}

func (e *Refused) Error() string {
	s := ""
	switch {
	case e.Path != "" && e.Line > 0:
		s = fmt.Sprintf("%s:%d: ", e.Path, e.Line)
	case e.Path != "":
		s = e.Path + ": "
	}
	s += e.Msg
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	if e.Fix != "" {
		s += "\n  fix: " + e.Fix
	}
	return s
}

func (e *Refused) Unwrap() error { return e.Err }

// Refuse builds a Refused error.
func Refuse(path string, line int, fix, format string, args ...any) *Refused {
	return &Refused{Path: path, Line: line, Msg: fmt.Sprintf(format, args...), Fix: fix}
}

// NotBootable means convert finished but verify says the guest will not
// boot; the conversion is journaled and can be rolled back.
type NotBootable struct{ Msg string }

func (e *NotBootable) Error() string { return e.Msg }

// Usage is a command-line error.
type Usage struct{ Msg string }

func (e *Usage) Error() string { return e.Msg }

// Usagef builds a Usage error.
func Usagef(format string, args ...any) error { return &Usage{Msg: fmt.Sprintf(format, args...)} }

// Exit codes.
const (
	ExitOK          = 0
	ExitFailure     = 1
	ExitUsage       = 2
	ExitRefused     = 3
	ExitNotBootable = 4
	ExitInterrupted = 130
)

// Code maps an error to the exit code.
func Code(err error) int {
	var r *Refused
	var u *Usage
	var nb *NotBootable
	switch {
	case errors.As(err, &nb):
		return ExitNotBootable
	case err == nil:
		return ExitOK
	case errors.As(err, &u):
		return ExitUsage
	case errors.As(err, &r):
		return ExitRefused
	}
	return ExitFailure
}
