package main

import (
	"embed"
	"os"
	"strings"

	"parak8s.dev/parak8s/runtime/step"
)

// helpFiles are the long help texts of the subcommands, help/NAME.txt, in
// which ${PathSource} stands for the runtime/step contract's path.
//
//go:embed help/*.txt
var helpFiles embed.FS

// help is the long help of the subcommand name ("" for none).
func help(name string) string {
	b, err := helpFiles.ReadFile("help/" + name + ".txt")
	if err != nil {
		return ""
	}
	return strings.TrimSuffix(os.Expand(string(b), func(v string) string {
		if v == "PathSource" {
			return step.PathSource
		}
		return "${" + v + "}"
	}), "\n")
}
