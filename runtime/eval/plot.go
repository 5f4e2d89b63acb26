package eval

import (
	"fmt"
	"strconv"

	"parak8s.dev/parak8s/runtime/plot"
)

// PlotOptions control the size and title of a plot.
type PlotOptions struct {
	Width, Height int // pixels; at least 160×120 (a legend adds rows below)
	// Title is drawn above the plot; "" uses the plot's own default.
	Title string
}

// DefaultPlotOptions returns a 640×480 plot.
func DefaultPlotOptions() PlotOptions {
	return PlotOptions{Width: 640, Height: 480}
}

func (o PlotOptions) check() error {
	if o.Width < 160 || o.Height < 120 {
		return fmt.Errorf("%w: plot size %dx%d is below 160x120", ErrInvalidInput, o.Width, o.Height)
	}
	return nil
}

func (o PlotOptions) title(def string) string {
	if o.Title == "" {
		return def
	}
	return o.Title
}

// Series is one named training curve; Values[i] belongs to epoch i+1.
// NaN or infinite values leave a gap.
type Series struct {
	Name   string
	Values []float64
}

// PlotROC draws one ROC curve per class, named with its AUC, and the chance
// diagonal, as an SVG document. An undefined curve appears only in the
// legend ("AUC N/A").
func PlotROC(curves []ROCCurve, opts PlotOptions) ([]byte, error) {
	if err := opts.check(); err != nil {
		return nil, fmt.Errorf("plotting roc curves: %w", err)
	}
	if len(curves) == 0 {
		return nil, fmt.Errorf("plotting roc curves: %w: no curves", ErrInvalidInput)
	}
	c := plot.Chart{Title: opts.title("ROC"), XLabel: "false positive rate", YLabel: "true positive rate", Highlight: -1, Width: opts.Width, Height: opts.Height}
	for _, cv := range curves {
		s := plot.Series{Name: cv.Class + " AUC N/A"}
		if cv.Defined {
			s.Name = cv.Class + " AUC " + strconv.FormatFloat(cv.AUC, 'f', 3, 64)
			for _, p := range cv.Points {
				s.X = append(s.X, p.FPR)
				s.Y = append(s.Y, p.TPR)
			}
		}
		c.Series = append(c.Series, s)
	}
	c.Series = append(c.Series, plot.Series{Name: "chance", X: []float64{0, 1}, Y: []float64{0, 1}})
	return render("plotting roc curves", c.SVG)
}

// PlotTraining draws named series over epochs (x = 1, 2, …) on one y axis
// whose range covers every finite value, with a legend, as an SVG document.
func PlotTraining(series []Series, opts PlotOptions) ([]byte, error) {
	if err := opts.check(); err != nil {
		return nil, fmt.Errorf("plotting training curves: %w", err)
	}
	if len(series) == 0 {
		return nil, fmt.Errorf("plotting training curves: %w: no series", ErrInvalidInput)
	}
	c := plot.Chart{Title: opts.title("training"), XLabel: "epoch", YLabel: "value", Highlight: -1, Width: opts.Width, Height: opts.Height}
	for _, s := range series {
		ps := plot.Series{Name: s.Name, Y: s.Values, X: make([]float64, len(s.Values))}
		for j := range ps.X {
			ps.X[j] = float64(j + 1)
		}
		c.Series = append(c.Series, ps)
	}
	return render("plotting training curves", c.SVG)
}

// PlotConfusion draws the confusion matrix as a heatmap, as an SVG
// document: rows are true classes, columns predicted classes, each cell
// shows its count and is shaded by the count divided by its row total (so
// every true class is readable however rare it is).
func PlotConfusion(c Confusion, opts PlotOptions) ([]byte, error) {
	if err := opts.check(); err != nil {
		return nil, fmt.Errorf("plotting confusion matrix: %w", err)
	}
	k := len(c.Classes)
	if k == 0 || len(c.Matrix) != k {
		return nil, fmt.Errorf("plotting confusion matrix: %w: %d classes and %d rows", ErrInvalidInput, k, len(c.Matrix))
	}
	h := plot.Heatmap{Title: opts.title("confusion matrix"), XLabel: "predicted", YLabel: "true", Rows: c.Classes, Cols: c.Classes, Width: opts.Width, Height: opts.Height}
	for i, row := range c.Matrix {
		if len(row) != k {
			return nil, fmt.Errorf("plotting confusion matrix: %w: row %d has %d columns, want %d", ErrInvalidInput, i, len(row), k)
		}
		total := 0
		for _, v := range row {
			total += v
		}
		shade, text := make([]float64, k), make([]string, k)
		for j, v := range row {
			if total > 0 {
				shade[j] = float64(v) / float64(total)
			}
			text[j] = strconv.Itoa(v)
		}
		h.Shade = append(h.Shade, shade)
		h.Text = append(h.Text, text)
	}
	return render("plotting confusion matrix", h.SVG)
}

// render runs a plot's SVG method; its errors are the input's fault.
func render(what string, svg func() (string, error)) ([]byte, error) {
	s, err := svg()
	if err != nil {
		return nil, fmt.Errorf("%s: %w: %w", what, ErrInvalidInput, err)
	}
	return []byte(s), nil
}

// WriteSVG stores a plot as an SVG file at path, atomically.
func WriteSVG(path string, svg []byte) error {
	if err := writeFileAtomic(path, svg); err != nil {
		return fmt.Errorf("writing plot %q: %w", path, err)
	}
	return nil
}
