package eval

import "testing"

func TestScratchDump(t *testing.T) {
	in := benchInput(2000, 3)
	in.Classes = []string{"NORMAL", "BACTERIA", "VIRUS"}
	curves, _ := ROCCurves(in, DefaultOptions())
	img, err := PlotROC(curves, DefaultPlotOptions())
	if err != nil { t.Fatal(err) }
	WritePNG("/tmp/evalplots/roc.png", img)
	r, _ := Compute(in, DefaultOptions())
	img, err = PlotConfusion(r.Confusion, DefaultPlotOptions())
	if err != nil { t.Fatal(err) }
	WritePNG("/tmp/evalplots/conf.png", img)
	img, err = PlotTraining([]Series{{"loss", []float64{0.9, 0.7, 0.55, 0.5, 0.42, 0.4, 0.38, 0.37}}, {"val_auc", []float64{0.6, 0.7, 0.75, 0.8, 0.83, 0.85, 0.86, 0.86}}, {"val_loss", []float64{0.95, 0.8, 0.7, 0.66, 0.64, 0.65, 0.66, 0.7}}}, DefaultPlotOptions())
	if err != nil { t.Fatal(err) }
	WritePNG("/tmp/evalplots/train.png", img)
}

func TestScratchDump2(t *testing.T) {
	in := benchInput(300, 5)
	in.Classes = []string{"a_very_long_class_name", "B", "C", "D", "E"}
	r, _ := Compute(in, DefaultOptions())
	o := DefaultPlotOptions()
	o.Width, o.Height = 320, 240
	img, err := PlotConfusion(r.Confusion, o)
	if err != nil { t.Fatal(err) }
	WritePNG("/tmp/evalplots/conf5.png", img)
	bin := Input{Classes: []string{"NORMAL", "PNEUMONIA"}, Labels: []int{0, 0, 1, 1}, Probs: []float32{.9, .1, .6, .4, .65, .35, .2, .8}}
	curves, _ := ROCCurves(bin, DefaultOptions())
	img, _ = PlotROC(curves, o)
	WritePNG("/tmp/evalplots/roc2.png", img)
	img, err = PlotTraining([]Series{{"loss", []float64{2.5, 1.2, 0.8, 0.3, -0.1, 0.05}}, {"lr", []float64{0.001}}}, o)
	if err != nil { t.Fatal(err) }
	WritePNG("/tmp/evalplots/train2.png", img)
}
