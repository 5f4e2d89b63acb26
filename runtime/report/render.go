package report

import (
	"fmt"
	"html/template"
	"math"
	"sort"
	"strings"
	"sync"

	"parak8s.dev/parak8s/runtime/eval"
	"parak8s.dev/parak8s/runtime/plot"
	"parak8s.dev/parak8s/runtime/step"
)

type page struct {
	Experiment string
	Metric     string
	Generated  string
	Lower      bool
	Params     []string
	// Columns are the leaderboard's metric columns, the ranking one first.
	Columns  []string
	Rows     []row
	Parallel template.HTML
	Plots    []template.HTML
	// Best is the best trial's details, shown open at the top; Trials all
	// trials', folded.
	Best   *detail
	Trials []detail
	Ranked int
	// Omitted counts the trials left out of Trials (Options.Details).
	Omitted int
}

type row struct {
	Rank                    int
	Best                    bool
	Short, ID               string
	Values                  []string
	Epochs, StepsPerSecond  string
	Swept                   []string
	Status, RunID, RunURL   string
	HasMetrics, HasProblems bool
	HasDetails              bool
}

type detail struct {
	Short, ID, Label, Status string
	RunID, RunURL            string
	Problems                 []string
	Training                 template.HTML
	TrainingImg              template.HTML
	ROC                      template.HTML
	ROCImg                   template.HTML
	ConfusionImg             template.HTML
	Confusion                *confusion
	PerClass                 []classRow
	Summary                  []kv
}

type kv struct{ Key, Value string }

type confusion struct {
	Classes []string
	Rows    []confusionRow
}

type confusionRow struct {
	Class string
	Cells []cell
}

type cell struct {
	N     int
	Style template.CSS
}

type classRow struct {
	Class                              string
	Precision, Recall, Specificity, F1 string
	AUC                                string
	Support                            int
}

// columns are the metrics every leaderboard shows, by their metrics.json
// names.
var columns = []string{"accuracy", "f1_macro", "auc"}

// canonical is the name a metric has in metrics.json: "f1", "precision",
// "recall" and "specificity" are the macro averages.
func canonical(metric string) string {
	switch metric {
	case "f1", "precision", "recall", "specificity":
		return metric + "_macro"
	}
	return metric
}

func build(in Input, ts []loaded, opts Options) (page, error) {
	p := page{Experiment: in.Experiment, Metric: canonical(opts.Metric), Lower: lowerIsBetter(opts.Metric)}
	if !opts.Generated.IsZero() {
		p.Generated = opts.Generated.Format("2006-01-02 15:04 MST")
	}
	for _, path := range in.Params {
		p.Params = append(p.Params, path[strings.LastIndex(path, ".")+1:])
	}
	p.Columns = []string{p.Metric}
	for _, c := range columns {
		if c != p.Metric {
			p.Columns = append(p.Columns, c)
		}
	}
	rank := 0
	for _, t := range ts {
		r := row{Short: t.Short, ID: t.ID, Status: t.Status, RunID: t.RunID, RunURL: t.RunURL, HasMetrics: t.Report != nil, HasProblems: len(t.Problems) > 0}
		if t.HasValue {
			rank++
			r.Rank = rank
			r.Best = rank == 1
		}
		r.Values = append(r.Values, fmtv(t.Value, t.HasValue))
		for _, c := range p.Columns[1:] {
			r.Values = append(r.Values, metric(c, t))
		}
		if m := t.Manifest; m != nil {
			r.Epochs = fmt.Sprintf("%d/%d", m.BestEpoch, m.Epochs)
			if m.StepsPerSecond > 0 {
				r.StepsPerSecond = fmt.Sprintf("%.1f", m.StepsPerSecond)
			}
		}
		r.Swept = swept(in.Params, t.Overrides)
		if r.Best {
			d := detailOf(t)
			p.Best = &d
		}
		if opts.Details < 0 || len(p.Trials) < opts.Details {
			r.HasDetails = true
			p.Trials = append(p.Trials, detailOf(t))
		} else {
			p.Omitted++
		}
		p.Rows = append(p.Rows, r)
	}
	p.Ranked = rank
	p.Parallel = parallel(in.Params, ts, p.Metric)
	for _, path := range in.Params {
		p.Plots = append(p.Plots, sweepPlot(path, ts, p.Metric))
	}
	return p, nil
}

func metric(name string, t loaded) string {
	v, ok := Value(name, t.Report, t.Manifest)
	return fmtv(v, ok)
}

func fmtv(v float64, ok bool) string {
	if !ok {
		return ""
	}
	return fmt.Sprintf("%.4f", v)
}

// swept returns the trial's value of each swept path, as JSON.
func swept(params []string, overrides []step.Override) []string {
	out := make([]string, len(params))
	for i, path := range params {
		for _, o := range overrides {
			if o.Path == path {
				b, _ := step.Canonical(o.Value)
				out[i] = string(b)
			}
		}
	}
	return out
}

func detailOf(t loaded) detail {
	d := detail{Short: t.Short, ID: t.ID, Label: t.Label, Status: t.Status, RunID: t.RunID, RunURL: t.RunURL, Problems: t.Problems}
	// Training curves: drawn from history.json, else the SVG train wrote.
	if len(t.History.Epochs) > 0 {
		d.Training = trainingChart(t)
	} else if t.Training != "" {
		d.TrainingImg = img("training curves", t.Training)
	}
	if r := t.Report; r != nil {
		if b := r.Binary; b != nil && b.ROC.Defined {
			c := plot.Chart{Title: fmt.Sprintf("ROC, %s (AUC %.4f)", b.PositiveClass, b.AUC), XLabel: "false positive rate", YLabel: "true positive rate", Highlight: -1}
			var s plot.Series
			s.Name = b.PositiveClass
			for _, pt := range b.ROC.Points {
				s.X = append(s.X, pt.FPR)
				s.Y = append(s.Y, pt.TPR)
			}
			c.Series = []plot.Series{s, {Name: "chance", X: []float64{0, 1}, Y: []float64{0, 1}}}
			d.ROC = svgOf(c)
		} else if t.ROC != "" {
			d.ROCImg = img("ROC curves", t.ROC)
		}
		d.Confusion = confusionOf(r.Confusion)
		for _, m := range r.PerClass {
			def := func(name string, v float64) string { return fmtv(v, m.Defined(name)) }
			d.PerClass = append(d.PerClass, classRow{
				Class: m.Class, Support: m.Support,
				Precision: def(eval.MetricPrecision, m.Precision), Recall: def(eval.MetricRecall, m.Recall),
				Specificity: def(eval.MetricSpecificity, m.Specificity), F1: def(eval.MetricF1, m.F1), AUC: def(eval.MetricAUC, m.AUC),
			})
		}
		d.Summary = append(d.Summary, kv{"samples", fmt.Sprint(r.N)}, kv{"accuracy", fmtv(r.Accuracy, true)})
		for _, name := range []string{"auc", "f1_macro", "precision_macro", "recall_macro", "f1_weighted"} {
			if v, ok := Value(name, r, nil); ok {
				d.Summary = append(d.Summary, kv{name, fmtv(v, true)})
			}
		}
	} else if t.Confusion != "" {
		d.ConfusionImg = img("confusion matrix", t.Confusion)
	}
	if m := t.Manifest; m != nil {
		d.Summary = append(d.Summary, kv{"epochs", fmt.Sprintf("%d (best %d by %s)", m.Epochs, m.BestEpoch, m.Monitor)})
		if m.StepsPerSecond > 0 {
			d.Summary = append(d.Summary, kv{"steps/s", fmt.Sprintf("%.1f (%d steps, %d threads)", m.StepsPerSecond, m.Steps, m.Threads)})
		}
	}
	return d
}

// svgOf renders c inline; a chart without data is a note.
func svgOf(c plot.Chart) template.HTML {
	s, err := c.SVG()
	if err != nil {
		return noData
	}
	return template.HTML(s) // plot escapes every text it draws
}

// img shows a plot file the steps wrote: an <img> of its data: URI, in
// which an SVG runs no script. html/template would write the URI's "+" as
// "&#43;"; written here it stays readable.
func img(alt, dataURI string) template.HTML {
	return template.HTML(`<img loading="lazy" alt="` + plot.Esc(alt) + `" src="` + plot.Esc(dataURI) + `">`)
}

// noData stands in for a chart with nothing to draw.
const noData template.HTML = `<p class="muted">no data</p>`

func trainingChart(t loaded) template.HTML {
	c := plot.Chart{Title: "training", XLabel: "epoch", YLabel: "value", Highlight: -1}
	var xs []float64
	losses := map[string][]float64{}
	val := map[string][]float64{}
	var names []string
	for _, e := range t.History.Epochs {
		xs = append(xs, float64(e.Epoch))
		losses["train loss"] = append(losses["train loss"], e.TrainLoss)
		losses["val loss"] = append(losses["val loss"], e.ValLoss)
		for k := range e.Val {
			if _, ok := val[k]; !ok {
				names = append(names, k)
				val[k] = nil
			}
		}
	}
	sort.Strings(names)
	for _, k := range names {
		for _, e := range t.History.Epochs {
			v, ok := e.Val[k]
			if !ok {
				v = math.NaN()
			}
			val[k] = append(val[k], v)
		}
	}
	c.Series = append(c.Series, plot.Series{Name: "train loss", X: xs, Y: losses["train loss"]}, plot.Series{Name: "val loss", X: xs, Y: losses["val loss"]})
	for _, k := range names {
		c.Series = append(c.Series, plot.Series{Name: "val " + k, X: xs, Y: val[k]})
	}
	return svgOf(c)
}

func confusionOf(c eval.Confusion) *confusion {
	out := &confusion{Classes: c.Classes}
	for i, row := range c.Matrix {
		total := 0
		for _, n := range row {
			total += n
		}
		r := confusionRow{Class: c.Classes[i]}
		for _, n := range row {
			share := 0.0
			if total > 0 {
				share = float64(n) / float64(total)
			}
			r.Cells = append(r.Cells, cell{N: n, Style: template.CSS(fmt.Sprintf("background: rgba(31,119,180,%.2f)", 0.05+0.85*share))})
		}
		out.Rows = append(out.Rows, r)
	}
	return out
}

// sweepPlot is the metric against one swept parameter, one point per
// trial: a numeric axis (logarithmic when the values span a decade) or
// one column per distinct value.
func sweepPlot(path string, ts []loaded, metric string) template.HTML {
	var xs, ys []float64
	var labels []string
	numeric := true
	for _, t := range ts {
		if !t.HasValue {
			continue
		}
		for _, o := range t.Overrides {
			if o.Path != path {
				continue
			}
			b, _ := step.Canonical(o.Value)
			labels = append(labels, string(b))
			f, ok := o.Value.(float64)
			numeric = numeric && ok
			xs = append(xs, f)
			ys = append(ys, t.Value)
		}
	}
	c := plot.Chart{Title: metric + " by " + path, XLabel: path, YLabel: metric, Points: true, Highlight: -1}
	if len(ys) > 0 {
		c.Highlight = 0 // the trials are ranked: the first point is the best
	}
	if numeric {
		lo, hi := math.Inf(1), math.Inf(-1)
		for _, x := range xs {
			lo, hi = math.Min(lo, x), math.Max(hi, x)
		}
		c.LogX = lo > 0 && hi/lo >= 10
	} else {
		var names []string
		at := map[string]int{}
		for _, l := range labels {
			if _, ok := at[l]; !ok {
				at[l] = len(names)
				names = append(names, l)
			}
		}
		sort.SliceStable(names, func(i, j int) bool { return names[i] < names[j] })
		for i, n := range names {
			at[n] = i
		}
		for i, l := range labels {
			xs[i] = float64(at[l])
		}
		c.XNames = names
	}
	c.Series = []plot.Series{{Name: metric, X: xs, Y: ys}}
	return svgOf(c)
}

// pageTemplate is parsed on first use, not when parac starts.
var pageTemplate = sync.OnceValue(func() *template.Template { return template.Must(template.New("report").Parse(pageHTML)) })

const pageHTML = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{{.Experiment}} · ParaK8s report</title>
<style>
body { font-family: system-ui, sans-serif; margin: 2em; color: #222; }
table { border-collapse: collapse; margin: 1em 0; }
th, td { border: 1px solid #ccc; padding: 3px 8px; text-align: right; font-variant-numeric: tabular-nums; }
th { background: #f3f3f3; }
th.rank { background: #dde8f3; }
td.l, th.l { text-align: left; }
tr.best td { background: #fff3c4; }
.tag { background: #d62728; color: #fff; border-radius: 3px; padding: 0 4px; font-size: 80%; font-weight: bold; }
.muted { color: #888; }
.bad { color: #b00; }
.plots { display: flex; flex-wrap: wrap; gap: 1em; align-items: flex-start; }
.plots img { width: 460px; }
.wide { overflow-x: auto; }
svg.parcoords a:hover polyline { stroke: #000; stroke-width: 3; stroke-opacity: 1; }
section.best { border: 2px solid #d62728; border-radius: 4px; padding: 0 1em; }
details { border-top: 1px solid #ddd; padding: .5em 0; }
summary { cursor: pointer; font-weight: bold; }
code { font-size: 90%; }
</style>
</head>
<body>
<h1>{{.Experiment}}</h1>
<p>{{len .Rows}} trials, {{.Ranked}} with {{.Metric}}; ranked by <b>{{.Metric}}</b> ({{if .Lower}}lowest{{else}}highest{{end}} first).{{with .Generated}} Generated {{.}}.{{end}}</p>
{{define "trial"}}<p class="muted"><code>{{.ID}}</code>{{if .RunID}} · MLflow run {{if .RunURL}}<a href="{{.RunURL}}">{{.RunID}}</a>{{else}}{{.RunID}}{{end}}{{end}}</p>
{{range .Problems}}<p class="bad">{{.}}</p>{{end}}
<div class="plots">
{{if .Summary}}<table>{{range .Summary}}<tr><th class="l">{{.Key}}</th><td>{{.Value}}</td></tr>{{end}}</table>{{end}}
{{if .ROC}}<div class="roc">{{.ROC}}</div>{{else if .ROCImg}}<div class="roc">{{.ROCImg}}</div>{{end}}
{{with .Confusion}}<table class="confusion">
<tr><th class="l">true \ predicted</th>{{range .Classes}}<th>{{.}}</th>{{end}}</tr>
{{range .Rows}}<tr><th class="l">{{.Class}}</th>{{range .Cells}}<td style="{{.Style}}">{{.N}}</td>{{end}}</tr>
{{end}}</table>{{else}}{{if .ConfusionImg}}<div class="confusion">{{.ConfusionImg}}</div>{{end}}{{end}}
{{if .Training}}<div class="training">{{.Training}}</div>{{else if .TrainingImg}}<div class="training">{{.TrainingImg}}</div>{{end}}
</div>
{{if .PerClass}}<table>
<tr><th class="l">class</th><th>precision</th><th>recall</th><th>specificity</th><th>f1</th><th>auc</th><th>support</th></tr>
{{range .PerClass}}<tr><td class="l">{{.Class}}</td><td>{{.Precision}}</td><td>{{.Recall}}</td><td>{{.Specificity}}</td><td>{{.F1}}</td><td>{{.AUC}}</td><td>{{.Support}}</td></tr>
{{end}}</table>{{end}}
{{end}}
{{with .Best}}<h2>Best trial</h2>
<section class="best" id="best">
<h3><span class="tag">best</span> <a href="#t-{{.Short}}"><code>{{.Short}}</code></a> {{.Label}} <span class="muted">{{.Status}}</span></h3>
{{template "trial" .}}</section>
{{end}}
{{if .Plots}}<h2>Sweep</h2>
{{with .Parallel}}<div class="wide">{{.}}</div>{{end}}
<div class="plots">{{range .Plots}}<div>{{.}}</div>{{end}}</div>{{end}}

<h2>Leaderboard</h2>
<table class="leaderboard">
<tr><th>#</th><th class="l">trial</th>{{range $i, $c := .Columns}}<th{{if not $i}} class="rank" title="ranking metric"{{end}}>{{$c}}{{if not $i}} {{if $.Lower}}↑{{else}}↓{{end}}{{end}}</th>{{end}}<th>epochs</th><th>steps/s</th>{{range .Params}}<th class="l">{{.}}</th>{{end}}<th class="l">status</th><th class="l">MLflow</th></tr>
{{range .Rows}}<tr{{if .Best}} class="best"{{end}}>
<td>{{if .Rank}}{{.Rank}}{{end}}</td>
<td class="l">{{if .HasDetails}}<a href="#t-{{.Short}}"><code>{{.Short}}</code></a>{{else}}<code title="{{.ID}}">{{.Short}}</code>{{end}}{{if .Best}} <span class="tag">best</span>{{end}}</td>
{{range $i, $v := .Values}}<td>{{if not $i}}<b>{{$v}}</b>{{else}}{{$v}}{{end}}</td>{{end}}<td>{{.Epochs}}</td><td>{{.StepsPerSecond}}</td>
{{range .Swept}}<td class="l"><code>{{.}}</code></td>{{end}}
<td class="l{{if .HasProblems}} bad{{end}}">{{.Status}}{{if not .HasMetrics}} <span class="muted">(no metrics)</span>{{end}}</td>
<td class="l">{{if .RunURL}}<a href="{{.RunURL}}">{{.RunID}}</a>{{else}}{{.RunID}}{{end}}</td>
</tr>
{{end}}</table>

{{if .Trials}}<h2>Trials</h2>
{{range .Trials}}<details id="t-{{.Short}}">
<summary><code>{{.Short}}</code> {{.Label}} <span class="muted">{{.Status}}</span></summary>
{{template "trial" .}}</details>
{{end}}{{end}}
{{if .Omitted}}<p class="muted">{{.Omitted}} more trials are in the leaderboard and the sweep plots without their details (parac report --details).</p>{{end}}
</body>
</html>
`
