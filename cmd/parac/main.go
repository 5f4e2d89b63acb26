package main

import (
	"os"
	"runtime/debug"
)

func main() {
	// parac runs for a fraction of a second and allocates a lot while it
	// checks trials and writes YAML: collect garbage a quarter as often
	// (GOGC=400) unless the user set GOGC. make bench measures the gain.
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(400)
	}
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}
