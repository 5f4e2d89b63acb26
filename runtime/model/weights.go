package model

import (
	"fmt"
	"slices"

	"github.com/sugarme/gotch"
	"github.com/sugarme/gotch/ts"

	"parak8s.dev/parak8s/runtime/bundle"
)

// Weights is a copy of a network's parameters and buffers in Go memory: what
// a checkpoint or a model file holds, and what early stopping keeps of the
// best epoch.
type Weights []bundle.Tensor

// Weights copies the current parameters and buffers, sorted by name.
func (n *Net) Weights() Weights {
	vars := n.vs.Variables()
	out := make(Weights, 0, len(vars))
	for _, name := range n.names() {
		t := vars[name]
		w := bundle.Tensor{Name: name, Shape: t.MustSize()}
		c := t.MustTo(gotch.CPU, false)
		switch c.DType() {
		case gotch.Int64:
			w.DType, w.I64 = "I64", c.Vals().([]int64)
		default:
			f := c.MustTotype(gotch.Float, false)
			w.DType, w.F32 = "F32", f.Vals().([]float32)
			f.MustDrop()
		}
		c.MustDrop()
		out = append(out, w)
	}
	return out
}

// Save writes the parameters and buffers as a safetensors file with the
// given metadata.
func (n *Net) Save(path string, metadata map[string]string) error {
	if err := bundle.WriteTensors(path, n.Weights(), metadata); err != nil {
		return fmt.Errorf("saving model: %w", err)
	}
	return nil
}

// LoadOptions say how strictly Load matches names and shapes.
type LoadOptions struct {
	// Partial skips tensors of the file that the network lacks or whose
	// shape differs (a pretrained network with another head), and leaves the
	// network's tensors that the file lacks as they are. Otherwise every
	// tensor must match both ways. A partial load of a single network's
	// weights into an ensemble (model.ensemble) loads them into every
	// member.
	Partial bool
}

// LoadReport says what a partial load did.
type LoadReport struct {
	Loaded           []string
	Skipped, Missing []string // in the file but not used; in the network but not in the file
	ShapeMismatch    []string // in both with different shapes (not loaded)
}

// SetWeights copies w into the network's parameters and buffers.
func (n *Net) SetWeights(w Weights, opts LoadOptions) (LoadReport, error) {
	vars := n.vs.Variables()
	if m := n.members(); opts.Partial && m > 1 {
		w = replicate(w, vars, m)
	}
	var rep LoadReport
	seen := map[string]bool{}
	var err error
	ts.NoGrad(func() {
		for _, t := range w {
			seen[t.Name] = true
			v, ok := vars[t.Name]
			if !ok {
				rep.Skipped = append(rep.Skipped, t.Name)
				continue
			}
			if !slices.Equal(v.MustSize(), t.Shape) {
				rep.ShapeMismatch = append(rep.ShapeMismatch, fmt.Sprintf("%s %v≠%v", t.Name, t.Shape, v.MustSize()))
				continue
			}
			var src *ts.Tensor
			switch {
			case t.DType == "I64" && v.DType() == gotch.Int64:
				src = n.Tensor(t.I64)
			case t.DType == "F32" && v.DType() != gotch.Int64:
				src = n.Tensor(t.F32)
			default:
				err = fmt.Errorf("tensor %s: dtype %s does not fit %v", t.Name, t.DType, v.DType())
				return
			}
			shaped := src.MustView(t.Shape, true)
			v.Copy_(shaped)
			shaped.MustDrop()
			rep.Loaded = append(rep.Loaded, t.Name)
		}
	})
	if err != nil {
		return rep, err
	}
	for _, name := range n.names() {
		if !seen[name] {
			rep.Missing = append(rep.Missing, name)
		}
	}
	if !opts.Partial && (len(rep.Skipped)+len(rep.Missing)+len(rep.ShapeMismatch) > 0) {
		return rep, fmt.Errorf("weights do not match the network: unexpected %v, missing %v, shape mismatch %v", rep.Skipped, rep.Missing, rep.ShapeMismatch)
	}
	if len(rep.Loaded) == 0 {
		return rep, fmt.Errorf("weights do not match the network: no tensor loaded (file has %d, network %d)", len(w), len(vars))
	}
	return rep, nil
}

// Load reads a safetensors file into the network.
func (n *Net) Load(path string, opts LoadOptions) (LoadReport, error) {
	w, _, err := bundle.ReadTensors(path)
	if err != nil {
		return LoadReport{}, fmt.Errorf("loading weights: %w", err)
	}
	rep, err := n.SetWeights(w, opts)
	if err != nil {
		return rep, fmt.Errorf("loading weights from %s: %w", path, err)
	}
	return rep, nil
}

// replicate gives every member of an ensemble a copy of each tensor of w
// that is named as in a single network (the network lacks the name, its
// first member has it).
func replicate(w Weights, vars map[string]ts.Tensor, members int) Weights {
	out := make(Weights, 0, len(w)*members)
	for _, t := range w {
		names := memberNames(t.Name, members)
		_, single := vars[t.Name]
		if _, member := vars[names[0]]; single || !member {
			out = append(out, t)
			continue
		}
		for _, name := range names {
			c := t
			c.Name = name
			out = append(out, c)
		}
	}
	return out
}
