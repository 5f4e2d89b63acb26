package scratch

import (
	"fmt"
	"testing"

	"cuelang.org/go/cue"
	"cuelang.org/go/cue/cuecontext"
	cueerrors "cuelang.org/go/cue/errors"
	"parak8s.dev/parak8s/compiler/spec"
)

func walk(u, v cue.Value, path []cue.Selector) {
	switch v.IncompleteKind() {
	case cue.StructKind:
		it, err := v.Fields(cue.Optional(true))
		if err != nil {
			fmt.Println("fields err", path, err)
			return
		}
		for it.Next() {
			sel := it.Selector()
			p := append(path[:len(path):len(path)], sel)
			if err := u.LookupPath(cue.MakePath(p...)).Err(); err != nil {
				for _, e := range cueerrors.Errors(err) {
					fmt.Println("ERR", cue.MakePath(p...), e, cueerrors.Positions(e))
				}
			}
			walk(u, it.Value(), p)
		}
	case cue.ListKind:
		it, err := v.List()
		if err != nil {
			fmt.Println("list err", path, err)
			return
		}
		for it.Next() {
			walk(u, it.Value(), append(path[:len(path):len(path)], it.Selector()))
		}
	}
}

func TestX(t *testing.T) {
	ctx := cuecontext.New()
	root, _ := spec.Schema(ctx)
	def := root.LookupPath(cue.ParsePath("#Experiment"))
	for _, src := range []string{`
name: "x"
data: source: {kind: "csv", path: "/data/x.csv"}
model: kind: "deepcnn1d"
workflow: podGC: "Never"
foo: 1
labels: "Bad Key": "x"
resources: tolerations: [{key: "a", zzz: 1}]
data: image: size: 3
`, `
name: "x"
data: source: {kind: "csv", path: "/data/x.csv"}
model: kind: "deepcnn1d"
data: split: {train: 0.5, val: 0.2}
data: bar: 1
sweep: parameters: [{path: "model.dropout", values: [1], xx: 1}]
`} {
	user := ctx.CompileString(src, cue.Filename("u.cue"))
	walk(def.Unify(user), user, nil)
	fmt.Println("--")
	}
}
