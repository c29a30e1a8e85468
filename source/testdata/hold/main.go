// Command hold stands in for a guest command in the kill test: it records
// its PID in /tmp/xenify-hold.pid (inside the guest's chroot) and then
// waits until it is killed, so the test can kill xenify while a convert
// is provably in progress.
package main

import (
	"os"
	"strconv"
	"time"
)

func main() {
	if err := os.WriteFile("/tmp/xenify-hold.pid", []byte(strconv.Itoa(os.Getpid())), 0o644); err != nil {
		os.Exit(1)
	}
	for {
		time.Sleep(time.Hour)
	}
}
