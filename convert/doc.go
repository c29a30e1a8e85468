// Package convert is xenify as a library: it opens a guest, inspects it,
// plans its conversion with the distribution's family, applies the plan
// in passes until nothing is left, and verifies the result, without
// printing anything. The xenify command line (internal/cli) parses flags,
// calls these functions and prints what they return; a Go program, the
// remote P2V work or a fleet controller call them the same way.
//
//	res, err := convert.Run(ctx, convert.Options{
//		Sources: []string{"/srv/xen/web1.img"},
//		Plan:    plan.Options{Name: "web1"},
//		Progress: func(ev convert.Event) { log.Println(ev) },
//	})
//
// Every entry point takes one Options value: Inspect, Plan and Verify
// only read the guest; Run converts it (journaled, see package apply)
// and Rollback undoes that. Copy moves a disk first (package p2v).
//
// Errors are classified by package xerr: usage errors (a bad option),
// refusals (a guest that cannot be converted safely, before anything
// was written) and guests converted but not bootable.
package convert
