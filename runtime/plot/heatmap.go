package plot

import (
	"fmt"
	"math"
	"strings"
	"unicode/utf8"
)

// Heatmap is a grid of labelled cells, each shaded from white (0) to dark
// blue (1) and showing a short text, such as a confusion matrix's counts.
type Heatmap struct {
	Title, XLabel, YLabel string
	// Rows and Cols label the grid's rows (left) and columns (below).
	Rows, Cols []string
	// Shade[r][c] in [0, 1] and Text[r][c] fill cell (r, c).
	Shade [][]float64
	Text  [][]string
	// Width and Height in pixels; 0 means 460×400.
	Width, Height int
}

// Shade is the colour of share t in [0, 1] (clamped): white to dark blue.
func Shade(t float64) string {
	t = math.Max(0, math.Min(1, t))
	lerp := func(a, b float64) int { return int(math.Round(a + (b-a)*t)) }
	return fmt.Sprintf("#%02x%02x%02x", lerp(255, 8), lerp(255, 48), lerp(255, 107))
}

// charW is the width of an average character at font size 11, for layout.
const charW = 6.5

// SVG renders the grid, square cells as large as the size allows. It fails
// when the shapes of Shade and Text do not match the labels or the cells
// would be under 8 pixels.
func (h Heatmap) SVG() (string, error) {
	w, ht := h.Width, h.Height
	if w <= 0 {
		w = defaultW
	}
	if ht <= 0 {
		ht = 400
	}
	nr, nc := len(h.Rows), len(h.Cols)
	if nr == 0 || nc == 0 {
		return "", fmt.Errorf("heatmap %q: %d rows and %d columns: %w", h.Title, nr, nc, ErrNoData)
	}
	if len(h.Shade) != nr || len(h.Text) != nr {
		return "", fmt.Errorf("heatmap %q: %d row labels, %d shade rows and %d text rows", h.Title, nr, len(h.Shade), len(h.Text))
	}
	for r := range nr {
		if len(h.Shade[r]) != nc || len(h.Text[r]) != nc {
			return "", fmt.Errorf("heatmap %q: row %d has %d shades and %d texts, want %d", h.Title, r, len(h.Shade[r]), len(h.Text[r]), nc)
		}
	}
	labW := 0
	for _, name := range h.Rows {
		labW = max(labW, utf8.RuneCountInString(name))
	}
	rowLab := min(int(float64(labW)*charW)+1, w/3)
	left := 24 + rowLab + 6
	top, bottom := padT, 40
	availW, availH := w-left-padR, ht-top-bottom
	cell := min(availW/nc, availH/nr)
	if cell < 8 {
		return "", fmt.Errorf("heatmap %q: %d×%d cells do not fit in %dx%d", h.Title, nr, nc, w, ht)
	}
	gx := left + (availW-cell*nc)/2
	gy := top
	// One font size for every count, so they match: as large as the
	// longest text allows, at most 11.
	longest := 1
	for _, row := range h.Text {
		for _, s := range row {
			longest = max(longest, utf8.RuneCountInString(s))
		}
	}
	fs := math.Min(11, math.Min(float64(cell)*0.45, float64(cell-4)/(float64(longest)*0.6)))

	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" role="img" aria-label="%s">`, w, ht, w, ht, Esc(h.Title))
	b.WriteString(`<rect width="100%" height="100%" fill="#fff"/>`)
	fmt.Fprintf(&b, `<text x="%d" y="16" %s font-weight="bold">%s</text>`, gx, FontStyle, Esc(h.Title))
	for r := range nr {
		y := gy + r*cell
		fmt.Fprintf(&b, `<text x="%d" y="%d" %s text-anchor="end">%s</text>`, gx-6, y+cell/2+4, FontStyle, Esc(Clip(h.Rows[r], max(1, int(float64(rowLab)/charW)))))
		for c := range nc {
			x := gx + c*cell
			t := h.Shade[r][c]
			fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%d" height="%d" fill="%s" stroke="#969696"/>`, x, y, cell, cell, Shade(t))
			if fs >= 5 && h.Text[r][c] != "" {
				ink := "#000"
				if t > 0.5 {
					ink = "#fff"
				}
				fmt.Fprintf(&b, `<text x="%d" y="%.1f" font-family="sans-serif" font-size="%.1f" fill="%s" text-anchor="middle">%s</text>`, x+cell/2, float64(y)+float64(cell)/2+fs*0.35, fs, ink, Esc(h.Text[r][c]))
			}
		}
	}
	for c := range nc {
		fmt.Fprintf(&b, `<text x="%d" y="%d" %s text-anchor="middle">%s</text>`, gx+c*cell+cell/2, gy+nr*cell+14, FontStyle, Esc(Clip(h.Cols[c], max(1, int(float64(cell)/charW)))))
	}
	fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%d" height="%d" fill="none" stroke="#000"/>`, gx, gy, nc*cell, nr*cell)
	fmt.Fprintf(&b, `<text x="%d" y="%d" %s text-anchor="middle">%s</text>`, gx+nc*cell/2, gy+nr*cell+32, FontStyle, Esc(h.XLabel))
	fmt.Fprintf(&b, `<text x="12" y="%d" %s text-anchor="middle" transform="rotate(-90 12 %d)">%s</text>`, gy+nr*cell/2, FontStyle, gy+nr*cell/2, Esc(h.YLabel))
	b.WriteString(`</svg>`)
	return b.String(), nil
}
