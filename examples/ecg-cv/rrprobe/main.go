// Command rrprobe compares RR feature sets for the ECG example's RR expert
// quickly, without libtorch: a pure-Go MLP of the expert's shape (two
// hidden layers of 64, ReLU, softmax; sqrt class weights, Adam 1e-3, batch
// 128) on the RR features alone, cross-validated by patient over the four
// folds of examples/ecg-cv, pooled. With -synth it also trains on all 22
// DS1 records and scores three synthetic 30-minute records whose rhythm
// is made up (flat signal, annotations only): "ectopic" (sinus bradycardia
// at 1.5 s broken by runs of 1-6 APBs at 0.8 s, each ended by a 2-4 s
// pause, so most beats are APBs), "af" (all N, RR uniform 0.4-1.2 s) and
// "sinus-apb" (0.8 s sinus rhythm, 5% APBs 0.25 s early). A research
// harness behind docs/ecg-model.md, not part of the product:
//
//	go run ./examples/ecg-cv/rrprobe -data ../shared/data/mitdb -seeds 2 -synth
package main

import (
	"flag"
	"fmt"
	"math"
	"math/rand"
	"os"
	"slices"
	"strings"

	"parak8s.dev/parak8s/examples/ecg-cv/rhythm"
	"parak8s.dev/parak8s/runtime/data/ecg"
	"parak8s.dev/parak8s/runtime/data/wfdb"
)

// synth makes a 30-min record (360 Hz, flat signal) with beats at the given
// times (s) and symbols, and extracts its beats with opt.
func synth(name string, times []float64, syms []string, opt ecg.Options) []ecg.Beat {
	n := int64(1850 * 360)
	rec := &wfdb.Record{Header: wfdb.Header{Record: name, NumSignals: 1, Fs: 360, NumSamples: n,
		Signals: []wfdb.Signal{{Gain: 200, Baseline: 1024, ADCZero: 1024, Description: "MLII", Format: 212}}},
		Samples: [][]int16{make([]int16, n)}}
	for i := range rec.Samples[0] {
		rec.Samples[0][i] = 1024 + int16(i%7)
	}
	var anns []wfdb.Annotation
	for i, t := range times {
		anns = append(anns, wfdb.Annotation{Sample: int64(t*360) + 200, Symbol: syms[i]})
	}
	b, _, err := ecg.Extract(rec, anns, opt)
	if err != nil {
		panic(err)
	}
	return b
}

// synthRecords: the rhythms of package rhythm, drawn one after another
// from one generator: "ectopic" (most beats are APBs), "af" (all N) and
// "sinus-apb".
func synthRecords(opt ecg.Options) map[string][]ecg.Beat {
	r := rand.New(rand.NewSource(7))
	syms := func(premature []bool) []string {
		s := make([]string, len(premature))
		for i, p := range premature {
			s[i] = "N"
			if p {
				s[i] = "A"
			}
		}
		return s
	}
	out := map[string][]ecg.Beat{}
	t, p := rhythm.Ectopic(r)
	out["ectopic"] = synth("ectopic", t, syms(p), opt)
	t = rhythm.AF(r)
	out["af"] = synth("af", t, syms(make([]bool, len(t))), opt)
	t, p = rhythm.SinusAPB(r)
	out["sinus-apb"] = synth("sinus-apb", t, syms(p), opt)
	return out
}

var folds = [][]string{
	{"101", "115", "122", "203", "209"},
	{"112", "116", "205", "207", "208"},
	{"106", "109", "118", "124", "201", "230"},
	{"108", "114", "119", "215", "220", "223"},
}

var sets = map[string][]int{
	"rel+irr":         {5, 6, 7, 8, 9, 14},
	"abs+rel+irr":     {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 14},
	"abs+rel+avg+irr": {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14},
	"abs+avg":         {0, 1, 2, 3, 4, 10, 11, 12, 13},
	"abs+avg+irr":     {0, 1, 2, 3, 4, 10, 11, 12, 13, 14},
	"abs+rel+avg":     {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13},
	"rel+avg+irr":     {5, 6, 7, 8, 9, 10, 11, 12, 13, 14},
	"abs+irr":         {0, 1, 2, 3, 4, 14},
}

type mlp struct {
	w    [][]float64 // layers: out x (in+1)
	m, v [][]float64
	dims []int
	t    int
}

func newMLP(dims []int, r *rand.Rand) *mlp {
	n := &mlp{dims: dims}
	for l := 0; l+1 < len(dims); l++ {
		in, out := dims[l], dims[l+1]
		w := make([]float64, out*(in+1))
		b := 1 / math.Sqrt(float64(in))
		for i := range w {
			w[i] = (r.Float64()*2 - 1) * b
		}
		n.w = append(n.w, w)
		n.m = append(n.m, make([]float64, len(w)))
		n.v = append(n.v, make([]float64, len(w)))
	}
	return n
}

func (n *mlp) forward(x []float64) [][]float64 {
	acts := [][]float64{x}
	for l, w := range n.w {
		in, out := n.dims[l], n.dims[l+1]
		y := make([]float64, out)
		for o := range out {
			s := w[o*(in+1)+in]
			row := w[o*(in+1) : o*(in+1)+in]
			for i, xi := range x {
				s += row[i] * xi
			}
			if l < len(n.w)-1 && s < 0 {
				s = 0
			}
			y[o] = s
		}
		acts = append(acts, y)
		x = y
	}
	return acts
}

func softmax(z []float64) []float64 {
	m := slices.Max(z)
	p := make([]float64, len(z))
	s := 0.0
	for i, v := range z {
		p[i] = math.Exp(v - m)
		s += p[i]
	}
	for i := range p {
		p[i] /= s
	}
	return p
}

func (n *mlp) step(xs [][]float64, ys []int, cw []float64, lr float64) {
	grads := make([][]float64, len(n.w))
	for l := range grads {
		grads[l] = make([]float64, len(n.w[l]))
	}
	tot := 0.0
	for k, x := range xs {
		acts := n.forward(x)
		p := softmax(acts[len(acts)-1])
		wt := cw[ys[k]]
		tot += wt
		d := make([]float64, len(p))
		for i := range p {
			d[i] = p[i] * wt
		}
		d[ys[k]] -= wt
		for l := len(n.w) - 1; l >= 0; l-- {
			in, out := n.dims[l], n.dims[l+1]
			a := acts[l]
			g := grads[l]
			w := n.w[l]
			var dprev []float64
			if l > 0 {
				dprev = make([]float64, in)
			}
			for o := range out {
				if d[o] == 0 {
					continue
				}
				base := o * (in + 1)
				for i := range in {
					g[base+i] += d[o] * a[i]
					if dprev != nil {
						dprev[i] += d[o] * w[base+i]
					}
				}
				g[base+in] += d[o]
			}
			if l > 0 {
				for i := range dprev {
					if a[i] <= 0 {
						dprev[i] = 0
					}
				}
				d = dprev
			}
		}
	}
	n.t++
	b1, b2 := 0.9, 0.999
	c1, c2 := 1-math.Pow(b1, float64(n.t)), 1-math.Pow(b2, float64(n.t))
	for l := range n.w {
		for i, g := range grads[l] {
			g /= tot
			n.m[l][i] = b1*n.m[l][i] + (1-b1)*g
			n.v[l][i] = b2*n.v[l][i] + (1-b2)*g*g
			n.w[l][i] -= lr * (n.m[l][i] / c1) / (math.Sqrt(n.v[l][i]/c2) + 1e-8)
		}
	}
}

func main() {
	dir := flag.String("data", "../shared/data/mitdb", "")
	epochs := flag.Int("epochs", 8, "")
	seeds := flag.Int("seeds", 2, "")
	only := flag.String("sets", "", "comma list")
	window := flag.Float64("avgwin", 300, "")
	doSynth := flag.Bool("synth", false, "also train on all of DS1 and score synthetic records")
	doCV := flag.Bool("cv", true, "")
	flag.Parse()
	opt := ecg.DefaultOptions()
	opt.RR, opt.RRRelative, opt.RRAverage, opt.RRIrregularity = true, true, true, true
	opt.RRAverageWindow = *window
	var recs []string
	for _, f := range folds {
		recs = append(recs, f...)
	}
	ds, _, err := ecg.Load(*dir, recs, opt)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	syn := synthRecords(opt)
	names := []string{"rel+irr", "abs+rel+irr", "abs+rel+avg+irr", "abs+avg", "abs+avg+irr", "abs+rel+avg", "rel+avg+irr", "abs+irr"}
	if *only != "" {
		names = strings.Split(*only, ",")
	}
	for _, name := range names {
		idx := sets[name]
		for seed := 1; seed <= *seeds; seed++ {
			conf := make([][5]int, 5)
			var foldS []string
			for fi, val := range folds {
				if !*doCV {
					break
				}
				var xtr, xva [][]float64
				var ytr, yva []int
				for _, b := range ds.Beats {
					x := make([]float64, len(idx))
					for j, k := range idx {
						x[j] = float64(b.RR[k])
					}
					if slices.Contains(val, b.Record) {
						xva, yva = append(xva, x), append(yva, b.Class)
					} else {
						xtr, ytr = append(xtr, x), append(ytr, b.Class)
					}
				}
				net := train(xtr, ytr, len(idx), seed, fi, *epochs)
				sTP, sN := 0, 0
				for k, x := range xva {
					acts := net.forward(x)
					z := acts[len(acts)-1]
					p := 0
					for c := range z {
						if z[c] > z[p] {
							p = c
						}
					}
					conf[yva[k]][p]++
					if yva[k] == 1 {
						sN++
						if p == 1 {
							sTP++
						}
					}
				}
				foldS = append(foldS, fmt.Sprintf("%.2f", float64(sTP)/math.Max(1, float64(sN))))
			}
			tot, corr := 0, 0
			sens := func(c int) float64 {
				n := 0
				for _, v := range conf[c] {
					n += v
				}
				return float64(conf[c][c]) / math.Max(1, float64(n))
			}
			prec := func(c int) float64 {
				n := 0
				for r := range conf {
					n += conf[r][c]
				}
				return float64(conf[c][c]) / math.Max(1, float64(n))
			}
			for r := range conf {
				for c := range conf[r] {
					tot += conf[r][c]
					if r == c {
						corr += conf[r][c]
					}
				}
			}
			if *doSynth {
				var xtr [][]float64
				var ytr []int
				for _, b := range ds.Beats {
					x := make([]float64, len(idx))
					for j, k := range idx {
						x[j] = float64(b.RR[k])
					}
					xtr, ytr = append(xtr, x), append(ytr, b.Class)
				}
				net := train(xtr, ytr, len(idx), seed, 99, *epochs)
				var parts []string
				for _, nm := range []string{"ectopic", "af", "sinus-apb"} {
					sC, sN, fp, nN := 0, 0, 0, 0
					for _, b := range syn[nm] {
						x := make([]float64, len(idx))
						for j, k := range idx {
							x[j] = float64(b.RR[k])
						}
						acts := net.forward(x)
						z := acts[len(acts)-1]
						p := 0
						for c := range z {
							if z[c] > z[p] {
								p = c
							}
						}
						if b.Class == 1 {
							sN++
							if p == 1 {
								sC++
							}
						} else {
							nN++
							if p == 1 {
								fp++
							}
						}
					}
					parts = append(parts, fmt.Sprintf("%s S %d/%d N->S %d/%d", nm, sC, sN, fp, nN))
				}
				fmt.Printf("%-16s seed %d synthetic: %s\n", name, seed, strings.Join(parts, "; "))
			}
			if !*doCV {
				continue
			}
			fmt.Printf("%-16s seed %d acc %.3f  S %.3f (+P %.3f)  V %.3f (+P %.3f)  F %.3f (+P %.3f)  N %.3f  S by fold %s\n",
				name, seed, float64(corr)/float64(tot), sens(1), prec(1), sens(2), prec(2), sens(3), prec(3), sens(0), strings.Join(foldS, " "))
		}
	}
}

func train(xtr [][]float64, ytr []int, nin, seed, fi, epochs int) *mlp {
	cnt := make([]float64, 5)
	for _, y := range ytr {
		cnt[y]++
	}
	cw := make([]float64, 5)
	for c := range cw {
		if cnt[c] > 0 {
			cw[c] = math.Sqrt(float64(len(ytr)) / cnt[c])
		}
	}
	r := rand.New(rand.NewSource(int64(seed*100 + fi)))
	net := newMLP([]int{nin, 64, 64, 5}, r)
	perm := r.Perm(len(xtr))
	for ep := 0; ep < epochs; ep++ {
		r.Shuffle(len(perm), func(i, j int) { perm[i], perm[j] = perm[j], perm[i] })
		for s := 0; s < len(perm); s += 128 {
			e := min(len(perm), s+128)
			bx := make([][]float64, 0, 128)
			by := make([]int, 0, 128)
			for _, k := range perm[s:e] {
				bx, by = append(bx, xtr[k]), append(by, ytr[k])
			}
			net.step(bx, by, cw, 1e-3)
		}
	}
	return net
}
