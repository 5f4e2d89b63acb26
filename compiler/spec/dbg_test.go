package spec

import (
	"fmt"
	"testing"

	cueerrors "cuelang.org/go/cue/errors"
)

func TestDbg(t *testing.T) {
	_, err := Load("/tmp/s2/exp.cue", Options{})
	for _, e := range cueerrors.Errors(err) {
		f, a := e.Msg()
		fmt.Printf("%q %v | %q | %v\n", f, a, e.Error(), cueerrors.Positions(e))
		fmt.Println(cueerrors.Details(e, nil))
	}
}
