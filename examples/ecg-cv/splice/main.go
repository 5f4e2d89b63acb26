// Command splice builds semi-synthetic WFDB records from one MIT-BIH
// patient's real beats, to check a trained ECG model on a rhythm DS1 does
// not have: every beat is a real P-QRS-T complex of the donor, re-timed.
// Each complex is copied from 0.25 s before its R peak to 0.45 s after;
// the gaps between complexes are bridged by a straight line. Two records
// per donor, each in its own folder under -out:
//
//   - ectopic: rhythm.Ectopic, most beats premature (the rhythm of
//     rrprobe's "ectopic" record);
//   - sinus-apb: rhythm.SinusAPB, the rhythm DS1's S beats mostly come in.
//
// Sinus beats are the donor's beats of its commonest normal-class symbol
// (N, L or R), premature beats its A beats. A research harness behind
// docs/ecg-model.md, not part of the product:
//
//	go run ./examples/ecg-cv/splice -data ../shared/data/mitdb -donor 118 -out /tmp/splice
//	parak8s evaluate --model MODEL --data /tmp/splice/118-ectopic --out m.json
package main

import (
	"encoding/binary"
	"flag"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"

	"parak8s.dev/parak8s/examples/ecg-cv/rhythm"
	"parak8s.dev/parak8s/runtime/data/wfdb"
)

// pre and post are the seconds of a complex copied around its R peak.
const pre, post = 0.25, 0.45

// rhythms are the records made per donor, each from a fresh generator.
var rhythms = []struct {
	name string
	make func(*rand.Rand) ([]float64, []bool)
}{{"ectopic", rhythm.Ectopic}, {"sinus-apb", rhythm.SinusAPB}}

func main() {
	dir := flag.String("data", "../shared/data/mitdb", "MIT-BIH record folder")
	donor := flag.String("donor", "118", "the record whose beats are re-timed")
	out := flag.String("out", "/tmp/splice", "output folder")
	seed := flag.Int64("seed", 7, "")
	flag.Parse()
	if err := run(*dir, *donor, *out, *seed); err != nil {
		fmt.Fprintln(os.Stderr, "splice:", err)
		os.Exit(1)
	}
}

func run(dir, donor, out string, seed int64) error {
	rec, err := wfdb.ReadRecord(dir, donor)
	if err != nil {
		return err
	}
	lead := rec.Header.SignalIndex("MLII")
	if lead < 0 {
		return fmt.Errorf("record %s has no MLII lead", donor)
	}
	anns, err := wfdb.ReadAnnotationFile(filepath.Join(dir, donor+".atr"))
	if err != nil {
		return err
	}
	fs := rec.Header.Fs
	sig := rec.Samples[lead]
	a, b := int64(pre*fs), int64(post*fs)
	beats := map[string][]int64{}
	for _, an := range anns {
		if an.Sample-a >= 0 && an.Sample+b <= int64(len(sig)) {
			beats[an.Symbol] = append(beats[an.Symbol], an.Sample)
		}
	}
	sinus := "N"
	for _, s := range []string{"L", "R"} {
		if len(beats[s]) > len(beats[sinus]) {
			sinus = s
		}
	}
	if len(beats["A"]) == 0 || len(beats[sinus]) == 0 {
		return fmt.Errorf("record %s has %d A and %d %s beats", donor, len(beats["A"]), len(beats[sinus]), sinus)
	}
	for _, rh := range rhythms {
		r := rand.New(rand.NewSource(seed))
		times, premature := rh.make(r)
		n := int64((rhythm.Length + 5) * fs)
		y := make([]int16, n)
		var out2 []wfdb.Annotation
		last, lastV := int64(0), sig[0]
		counts := map[string]int{}
		for i, t := range times {
			sym := sinus
			if premature[i] {
				sym = "A"
			}
			src := beats[sym][r.Intn(len(beats[sym]))]
			at := int64(t * fs)
			from := at - a
			for s := last; s < from; s++ { // bridge the gap
				f := float64(s-last) / float64(from-last)
				y[s] = int16(float64(lastV)*(1-f) + float64(sig[src-a])*f)
			}
			end := at + b
			if i+1 < len(times) {
				end = min(end, int64(times[i+1]*fs)-a)
			}
			copy(y[from:end], sig[src-a:src-a+(end-from)])
			last, lastV = end, y[end-1]
			out2 = append(out2, wfdb.Annotation{Sample: at, Symbol: sym})
			counts[sym]++
		}
		for s := last; s < n; s++ {
			y[s] = lastV
		}
		name := donor + "-" + rh.name
		if err := write(filepath.Join(out, name), name, rec.Header.Signals[lead], fs, y, out2); err != nil {
			return err
		}
		fmt.Printf("%s: %d beats (%v), donor %s\n", name, len(times), counts, donor)
	}
	return nil
}

// write writes record name (one MLII signal, format 212) and its .atr
// annotations into folder dir.
func write(dir, name string, s wfdb.Signal, fs float64, y []int16, anns []wfdb.Annotation) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if len(y)%2 == 1 {
		y = append(y, y[len(y)-1])
	}
	dat := make([]byte, 0, len(y)/2*3)
	for i := 0; i < len(y); i += 2 {
		s0, s1 := uint16(y[i])&0xfff, uint16(y[i+1])&0xfff
		dat = append(dat, byte(s0), byte(s0>>8)|byte(s1>>8)<<4, byte(s1))
	}
	hea := fmt.Sprintf("%s 1 %g %d\n%s.dat 212 %g %d %d %d %d 0 MLII\n",
		name, fs, len(y), name, s.Gain, 11, s.ADCZero, y[0], wfdb.Checksum(y))
	var atr []byte
	word := func(v uint16) { atr = binary.LittleEndian.AppendUint16(atr, v) }
	prev := int64(0)
	for _, an := range anns {
		code, ok := wfdb.Code(an.Symbol)
		if !ok {
			return fmt.Errorf("no code for %q", an.Symbol)
		}
		d := an.Sample - prev
		if d > 1023 { // SKIP: a 32-bit interval, high half first
			word(59 << 10)
			word(uint16(d >> 16))
			word(uint16(d))
			d = 0
		}
		word(uint16(code)<<10 | uint16(d))
		prev = an.Sample
	}
	word(0)
	for file, data := range map[string][]byte{name + ".hea": []byte(hea), name + ".dat": dat, name + ".atr": atr} {
		if err := os.WriteFile(filepath.Join(dir, file), data, 0o644); err != nil {
			return err
		}
	}
	return nil
}
