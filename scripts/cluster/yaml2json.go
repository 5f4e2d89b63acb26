//go:build ignore

// yaml2json converts the YAML files named on the command line to compact JSON
// files next to them (FILE.yaml → FILE.json): Argo's full workflows CRD is
// 3.2 MB as YAML, over the API server's 3 MB request limit, and 1.x MB as JSON.
//
//	go run scripts/cluster/yaml2json.go FILE.yaml…
package main

import (
	"fmt"
	"os"
	"strings"

	"sigs.k8s.io/yaml"
)

func main() {
	for _, f := range os.Args[1:] {
		y, err := os.ReadFile(f)
		if err == nil {
			var j []byte
			if j, err = yaml.YAMLToJSON(y); err == nil {
				err = os.WriteFile(strings.TrimSuffix(f, ".yaml")+".json", j, 0o644)
			}
		}
		if err != nil {
			fmt.Fprintf(os.Stderr, "yaml2json: %s: %v\n", f, err)
			os.Exit(1)
		}
	}
}
