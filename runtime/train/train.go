package train

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"time"

	"github.com/sugarme/gotch/nn"
	"github.com/sugarme/gotch/ts"

	"parak8s.dev/parak8s/runtime/bundle"
	"parak8s.dev/parak8s/runtime/data/loader"
	"parak8s.dev/parak8s/runtime/dataset"
	"parak8s.dev/parak8s/runtime/eval"
	"parak8s.dev/parak8s/runtime/model"
	"parak8s.dev/parak8s/runtime/score"
	"parak8s.dev/parak8s/runtime/step"
	"parak8s.dev/parak8s/schema"
)

// Trial is what one training run needs.
type Trial struct {
	// Resolved is the trial (ids, overrides, seed) and Exp the same
	// experiment as struct.
	Resolved step.Resolved
	Exp      schema.Experiment
	// Data is the prepared data set.
	Data *dataset.Set
	// Pretrained, when not empty, is a safetensors file to start from
	// (already fetched; see the model section's pretrained reference).
	Pretrained string
}

// Options tune a run without changing its result.
type Options struct {
	// Threads is libtorch's thread count; 0 takes training.threads, and
	// when that is 0 too, the number of CPUs.
	Threads int
	// Checkpoints is the checkpoint directory; "" disables checkpoints
	// and resumption.
	Checkpoints string
	// Progress, when set, gets a redrawn progress bar (a terminal).
	Progress io.Writer
	// Log gets a line per epoch and the run's events.
	Log *slog.Logger
	// Epochs, when > 0, caps training.epochs (quick runs in tests).
	Epochs int
	// StepsPerEpoch, when > 0, caps the batches per epoch.
	StepsPerEpoch int
	// OnStep, when set, is called after every optimizer step with the step
	// count, the epoch (1-based) and the batch's loss (progress reports).
	OnStep func(step int64, epoch int, loss float64)
}

// DefaultOptions returns options with checkpoints off and logging to stderr.
func DefaultOptions() Options {
	return Options{Log: slog.New(slog.NewTextHandler(os.Stderr, nil))}
}

// Run trains the trial and writes its model directory to out. A cancelled
// context writes a checkpoint (when enabled) and returns the context's
// error; running again with the same checkpoint directory resumes.
func Run(ctx context.Context, t Trial, out string, opts Options) (*bundle.Manifest, error) {
	runtime.LockOSThread() // grad mode and gotch's error slot are per OS thread
	defer runtime.UnlockOSThread()
	if opts.Log == nil {
		opts.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	m, err := runAll(ctx, t, out, opts)
	if err != nil {
		return nil, fmt.Errorf("training trial %s: %w", step.Short(t.Resolved.ID), err)
	}
	return m, nil
}

func runAll(ctx context.Context, t Trial, out string, opts Options) (*bundle.Manifest, error) {
	r, err := newRun(t, opts, selection, nil)
	if err != nil {
		return nil, err
	}
	defer r.close()
	if err := r.loop(ctx); err != nil {
		return nil, err
	}
	if !t.Exp.Training.Refit {
		return r.write(out, nil)
	}
	// The same learning rates, epoch by epoch, up to the chosen one.
	var lrs []float64
	for _, e := range r.st.History.Epochs[:r.st.BestEpoch+1] {
		lrs = append(lrs, e.LR)
	}
	fit, err := newRun(t, opts, refit, lrs)
	if err != nil {
		return nil, fmt.Errorf("refit: %w", err)
	}
	defer fit.close()
	if err := fit.loop(ctx); err != nil {
		return nil, fmt.Errorf("refit: %w", err)
	}
	return r.write(out, fit)
}

// mode is what a run trains on and how its epochs end.
type mode int

const (
	// selection trains on the train split for training.epochs (or until
	// early stopping) and validates on val after every epoch; its best
	// epoch is the model, or, with training.refit, the refit's length.
	selection mode = iota
	// refit trains on train + val without validation, one epoch per
	// learning rate of the selection run up to its best epoch, and
	// checkpoints into its own subdirectory.
	refit
)

func (m mode) String() string {
	if m == refit {
		return "refit"
	}
	return "selection"
}

type run struct {
	mode    mode
	t       Trial
	opts    Options
	log     *slog.Logger
	threads int
	epochs  int
	net     *model.Net
	opt     *nn.Optimizer
	weights *ts.Tensor
	smooth  float64
	train   *loader.Loader
	// val is the val split of a selection run (the records of its
	// samples only with model.adaptBatchNorm).
	val     score.Split
	classes []string
	sched   *schedule
	mon     *monitor
	best    model.Weights
	ema     *model.EMA
	st      state
	started time.Time
	// ckpt is the checkpoint directory ("" for none).
	ckpt string
	// samples is the number of training samples per epoch.
	samples int
	// refitLR are the learning rates of a refit run's epochs.
	refitLR []float64
}

// newRun sets up a run of mode m: the selection run, trained on train and
// validated on val, or the refit run, trained on both for one epoch per
// learning rate in refitLR (which only a refit run takes).
func newRun(t Trial, opts Options, m mode, refitLR []float64) (*run, error) {
	if (m == refit) != (len(refitLR) > 0) {
		return nil, fmt.Errorf("a %s run with %d learning rates (a bug)", m, len(refitLR))
	}
	exp := t.Exp
	tr := exp.Training
	r := &run{mode: m, t: t, opts: opts, log: opts.Log, epochs: tr.Epochs, ckpt: opts.Checkpoints, refitLR: refitLR}
	if opts.Epochs > 0 && opts.Epochs < r.epochs {
		r.epochs = opts.Epochs
	}
	if m == refit {
		r.epochs = len(refitLR)
		if r.ckpt != "" {
			r.ckpt = filepath.Join(r.ckpt, "refit")
		}
	}
	r.threads = opts.Threads
	if r.threads <= 0 {
		r.threads = tr.Threads
	}
	r.threads = model.SetThreads(r.threads)
	model.Seed(tr.Seed)

	man := t.Data.Manifest()
	r.classes = man.Classes
	net, err := model.New(model.Spec{Model: exp.Model, Classes: len(man.Classes), ClassNames: man.Classes, Input: man.Input, Features: man.Features})
	if err != nil {
		return nil, err
	}
	r.net = net
	if t.Pretrained != "" {
		rep, err := net.Load(t.Pretrained, model.LoadOptions{Partial: true})
		if err != nil {
			return nil, fmt.Errorf("loading pretrained weights: %w", err)
		}
		r.log.Info("pretrained weights", "file", t.Pretrained, "loaded", len(rep.Loaded), "new", len(rep.Missing), "shape_mismatch", rep.ShapeMismatch, "unused", len(rep.Skipped))
	}
	if len(exp.Model.Frozen) > 0 {
		n, err := net.Freeze(exp.Model.Frozen)
		if err != nil {
			return nil, err
		}
		r.log.Info("frozen", "layers", exp.Model.Frozen, "tensors", n)
	}

	so := dataset.DefaultSplitOptions()
	so.Train, so.Seed = true, uint64(tr.Seed)
	if exp.Data.Image != nil {
		so.Augment = &exp.Data.Image.Augment
	}
	if exp.Data.Signal != nil {
		so.SignalAugment = &exp.Data.Signal.Augment
	}
	trainSrc, err := t.Data.Split(dataset.SplitTrain, so)
	if err != nil {
		return nil, err
	}
	valOpts := dataset.DefaultSplitOptions()
	if m == refit {
		valOpts = so // val joins train, with the training split's augmentation
	}
	valSrc, err := t.Data.Split(dataset.SplitVal, valOpts)
	if err != nil {
		return nil, fmt.Errorf("validation needs a val split: %w", err)
	}
	counts := man.Splits[dataset.SplitTrain].Counts
	if m == refit {
		if trainSrc, err = loader.Concat(trainSrc, valSrc); err != nil {
			return nil, err
		}
		counts = slices.Clone(counts)
		for i, n := range man.Splits[dataset.SplitVal].Counts {
			counts[i] += n
		}
	}
	cw, err := dataset.ClassWeights(counts, tr.Loss.ClassWeights)
	if err != nil {
		return nil, fmt.Errorf("training.loss.classWeights: %w", err)
	}
	if cw == nil {
		cw = make([]float32, len(man.Classes))
		for i := range cw {
			cw[i] = 1
		}
	}
	if err := net.SetTrainingPrior(cw, counts); err != nil {
		return nil, err
	}
	r.weights = net.Tensor(cw)
	r.smooth = tr.Loss.LabelSmoothing

	ld := exp.Data.Loader
	// data.loader.prefetch counts batches per worker; the loader's bound is total.
	lo := loader.Options{BatchSize: ld.BatchSize, Workers: max(ld.Workers, 1), Prefetch: ld.Prefetch * max(ld.Workers, 1), Shuffle: ld.Shuffle, Seed: uint64(ld.Seed), DropLast: true}
	if trainSrc.Len() < ld.BatchSize {
		lo.DropLast = false
	}
	if r.train, err = loader.New(trainSrc, lo); err != nil {
		return nil, err
	}
	r.samples = trainSrc.Len()
	if m == selection {
		if r.val, err = score.Read(valSrc); err != nil {
			return nil, fmt.Errorf("reading the val split: %w", err)
		}
		if exp.Model.AdaptBatchNorm == 0 {
			r.val.Records = nil
		} else if r.val.Records == nil {
			return nil, fmt.Errorf("model.adaptBatchNorm needs beats of WFDB records; the val split of %s has none", man.Source)
		}
	}

	switch o := tr.Optimizer; o.Kind {
	case schema.OptimizerAdam:
		r.opt, err = nn.NewAdamConfig(0.9, 0.999, o.WeightDecay).Build(net.VarStore(), o.LR)
	case schema.OptimizerAdamW:
		r.opt, err = nn.NewAdamWConfig(0.9, 0.999, o.WeightDecay).Build(net.VarStore(), o.LR)
	case schema.OptimizerSGD:
		r.opt, err = nn.NewSGDConfig(o.Momentum, 0, o.WeightDecay, false).Build(net.VarStore(), o.LR)
	default:
		err = fmt.Errorf("training.optimizer.kind %q is not adam, adamw or sgd", o.Kind)
	}
	if err != nil {
		return nil, err
	}
	r.sched = newSchedule(tr.Schedule, tr.Optimizer.LR, r.epochs)
	metric, minDelta := MetricLoss, 0.0
	if es := tr.EarlyStopping; es != nil {
		metric, minDelta = string(es.Metric), es.MinDelta
	}
	if r.mon, err = newMonitor(metric, minDelta); err != nil {
		return nil, err
	}
	r.st = state{Trial: t.Resolved.ID, LR: tr.Optimizer.LR, BestEpoch: -1}
	st, best, ok, err := loadCheckpoint(r.ckpt, t.Resolved.ID, net)
	if err != nil {
		return nil, err
	}
	if ok {
		r.st, r.best = st, best
		r.mon.bad = st.Bad
		if st.Best != nil {
			r.mon.best = *st.Best
		}
		r.sched.lr, r.sched.bad = st.LR, st.PlateauBad
		r.log.Info("resuming from checkpoint", "dir", r.ckpt, "epoch", st.Epoch+1, "batches", st.Batches, "step", st.Step)
	}
	if tr.EMA > 0 {
		// Started from the (resumed) weights: the average is not checkpointed.
		if r.ema, err = net.NewEMA(tr.EMA); err != nil {
			return nil, fmt.Errorf("training.ema: %w", err)
		}
	}
	if m == refit {
		r.log.Info("refit on train + val", "epochs", r.epochs, "samples", trainSrc.Len(), "batches_per_epoch", r.train.NumBatches(), "class_weights", cw)
		return r, nil
	}
	r.log.Info("model", "kind", exp.Model.Kind, "parameters", net.Parameters(), "input", man.Input, "features", man.Features,
		"train", trainSrc.Len(), "val", len(r.val.Labels), "batches_per_epoch", r.train.NumBatches(), "threads", r.threads, "class_weights", cw)
	return r, nil
}

func (r *run) close() {
	if r.ema != nil {
		r.ema.Close()
	}
	if r.weights != nil {
		r.weights.MustDrop()
	}
	if r.net != nil {
		r.net.Close()
	}
}

func (r *run) checkpoint() error {
	r.st.Best, r.st.Bad = nil, r.mon.bad
	if b := r.mon.best; !math.IsInf(b, 0) {
		r.st.Best = &b
	}
	r.st.LR, r.st.PlateauBad = r.sched.lr, r.sched.bad
	r.st.Seconds += time.Since(r.started).Seconds()
	r.started = time.Now()
	return saveCheckpoint(r.ckpt, r.net, r.best, r.st)
}

func (r *run) loop(ctx context.Context) error {
	every := int64(r.t.Exp.Training.CheckpointEvery)
	patience := 0
	if es := r.t.Exp.Training.EarlyStopping; es != nil {
		patience = es.Patience
	}
	bar := &progress{w: r.opts.Progress}
	r.started = time.Now()
	for r.st.Epoch < r.epochs {
		if patience > 0 && r.mon.bad >= patience {
			r.log.Info("early stopping", "metric", r.mon.metric, "best", r.mon.best, "best_epoch", r.st.BestEpoch+1, "patience", patience)
			break
		}
		lr := r.sched.at(r.st.Epoch)
		if r.mode == refit {
			lr = r.refitLR[r.st.Epoch]
		}
		r.opt.SetLR(lr)
		epochStart := time.Now()
		total := r.train.NumBatches()
		if r.opts.StepsPerEpoch > 0 {
			total = min(total, r.opts.StepsPerEpoch)
		}
		bar.begin(r.st.Epoch+1, r.epochs, total)
		ectx, cancel := context.WithCancel(ctx)
		for b, err := range r.train.Epoch(ectx, r.st.Epoch) {
			if err != nil {
				cancel()
				if ctx.Err() != nil {
					break
				}
				return err
			}
			if b.Index < r.st.Batches {
				continue // trained before the restart
			}
			if b.Index >= total {
				break
			}
			loss, err := r.step(b)
			if err != nil {
				cancel()
				return err
			}
			r.st.LossSum += loss
			r.st.LossN++
			r.st.Batches = b.Index + 1
			r.st.Step++
			bar.update(r.st.Batches, r.st.LossSum/float64(r.st.LossN))
			if r.opts.OnStep != nil {
				r.opts.OnStep(r.st.Step, r.st.Epoch+1, loss)
			}
			if every > 0 && r.st.Step%every == 0 {
				if err := r.checkpoint(); err != nil {
					cancel()
					return err
				}
			}
			if ctx.Err() != nil {
				break
			}
		}
		cancel()
		bar.end()
		if ctx.Err() != nil {
			if err := r.checkpoint(); err != nil {
				return errors.Join(ctx.Err(), err)
			}
			r.log.Info("stopped; checkpoint written", "dir", r.ckpt, "epoch", r.st.Epoch+1, "batches", r.st.Batches, "step", r.st.Step)
			return fmt.Errorf("interrupted at epoch %d, batch %d: %w", r.st.Epoch+1, r.st.Batches, ctx.Err())
		}
		if err := r.endEpoch(lr, time.Since(epochStart)); err != nil {
			return err
		}
		// The checkpoint of a finished epoch resumes at the next one.
		r.st.Epoch++
		if err := r.checkpoint(); err != nil {
			return err
		}
	}
	return nil
}

// step trains one batch and returns its loss.
func (r *run) step(b *loader.Batch) (float64, error) {
	x, err := r.net.Batch(b.X, b.N)
	if err != nil {
		return 0, err
	}
	y := r.net.Tensor(b.Y)
	loss := r.net.Loss(x, y, r.weights, r.smooth)
	r.opt.MustZeroGrad()
	loss.MustBackward()
	r.opt.MustStep()
	if r.ema != nil {
		r.ema.Update()
	}
	v := loss.Float64Values()[0]
	x.MustDrop()
	y.MustDrop()
	loss.MustDrop()
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return v, fmt.Errorf("loss is %v at step %d (learning rate too high?)", v, r.st.Step+1)
	}
	return v, nil
}

// endEpoch validates, records the epoch, keeps the best weights and steps
// the plateau schedule.
func (r *run) endEpoch(lr float64, took time.Duration) error {
	e := bundle.Epoch{Epoch: r.st.Epoch + 1, Steps: r.st.Step, LR: lr, TrainLoss: r.st.LossSum / float64(max(r.st.LossN, 1)), Seconds: took.Seconds()}
	r.st.Batches, r.st.LossSum, r.st.LossN = 0, 0, 0
	if r.mode == refit {
		r.st.History.Refit = append(r.st.History.Refit, e)
		r.log.Info("refit epoch", "epoch", e.Epoch, "of", r.epochs, "lr", fmt.Sprintf("%.3g", lr), "train_loss", round(e.TrainLoss), "seconds", round(took.Seconds()))
		return nil
	}
	var cur, scored model.Weights
	if r.ema != nil {
		// Validate (and keep, when best) the averaged weights; train on.
		cur = r.net.Weights()
		scored = r.ema.Apply(cur)
		if _, err := r.net.SetWeights(scored, model.LoadOptions{}); err != nil {
			return err
		}
	}
	val, err := r.validate()
	if cur != nil {
		if _, err := r.net.SetWeights(cur, model.LoadOptions{}); err != nil {
			return err
		}
	}
	if err != nil {
		return err
	}
	e.ValLoss, e.Val = val[MetricLoss], val
	r.st.History.Epochs = append(r.st.History.Epochs, e)
	improved := r.mon.improved(val[r.mon.metric])
	if improved || r.best == nil {
		r.best = scored
		if r.best == nil {
			r.best = r.net.Weights()
		}
		r.st.BestEpoch = r.st.Epoch
	}
	r.sched.observe(improved)
	r.log.Info("epoch", "epoch", e.Epoch, "of", r.epochs, "lr", fmt.Sprintf("%.3g", lr), "train_loss", round(e.TrainLoss), "val_loss", round(e.ValLoss),
		"val_accuracy", round(val[MetricAccuracy]), "val_f1", round(val[MetricF1]), "val_auc", round(val[MetricAUC]), "best", improved, "seconds", round(took.Seconds()))
	return nil
}

func round(v float64) float64 { return math.Round(v*1e4) / 1e4 }

// validate scores the val split (score.Score: the experiment's decision
// rule, as evaluate scores) and returns the summary metrics and the
// (unweighted) cross-entropy loss.
func (r *run) validate() (map[string]float64, error) {
	rep, in, err := score.Score(r.net, r.classes, r.val, r.t.Exp)
	if err != nil {
		return nil, fmt.Errorf("validating: %w", err)
	}
	m := Summary(rep)
	k := len(r.classes)
	var loss float64
	for i, y := range in.Labels {
		loss -= math.Log(math.Max(float64(in.Probs[i*k+y]), 1e-12))
	}
	m[MetricLoss] = loss / float64(max(len(in.Labels), 1))
	return m, nil
}

// write writes the model directory with the best epoch's weights, or,
// given the refit run fit, with fit's last (averaged, with training.ema)
// weights and the best epoch's in bundle.FileSelection.
func (r *run) write(out string, fit *run) (*bundle.Manifest, error) {
	shipped := r
	if fit != nil {
		shipped = fit
		if fit.ema != nil {
			if _, err := fit.net.SetWeights(fit.ema.Apply(fit.net.Weights()), model.LoadOptions{}); err != nil {
				return nil, err
			}
		}
	} else if r.best != nil {
		if _, err := r.net.SetWeights(r.best, model.LoadOptions{}); err != nil {
			return nil, err
		}
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return nil, err
	}
	t := r.t
	man := t.Data.Manifest()
	secs := r.st.Seconds + time.Since(r.started).Seconds()
	m := &bundle.Manifest{
		Format: bundle.Format, Trial: t.Resolved.ID, Experiment: t.Exp.Name, Kind: string(t.Exp.Model.Kind),
		Classes: man.Classes, Input: man.Input, Features: man.Features,
		DataKey: t.Resolved.DataKey, Dataset: man.Digest, Image: t.Resolved.Image, Seed: t.Resolved.Seed,
		Overrides: t.Resolved.Overrides, Epochs: len(r.st.History.Epochs), BestEpoch: r.st.BestEpoch + 1, Monitor: r.mon.metric,
		Steps: r.st.Step, Threads: r.threads, Libtorch: model.Libtorch, Created: time.Now().UTC().Truncate(time.Second),
	}
	if secs > 0 {
		m.StepsPerSecond = math.Round(float64(r.st.Step)/secs*100) / 100
	}
	if h := r.st.History.Epochs; len(h) > 0 && r.st.BestEpoch >= 0 {
		m.Val = finite(h[r.st.BestEpoch].Val)
	}
	meta := map[string]string{"trial": t.Resolved.ID, "format": bundle.Format}
	if err := shipped.net.Save(filepath.Join(out, bundle.FileWeights), meta); err != nil {
		return nil, err
	}
	history := r.st.History
	if fit != nil {
		m.Refit = &bundle.Refit{Splits: []string{dataset.SplitTrain, dataset.SplitVal}, Samples: fit.samples, Epochs: len(fit.st.History.Refit), Steps: fit.st.Step}
		history.Refit = fit.st.History.Refit
		if err := bundle.WriteTensors(filepath.Join(out, bundle.FileSelection), r.best, meta); err != nil {
			return nil, err
		}
	}
	if err := bundle.WriteJSON(filepath.Join(out, bundle.FileConfig), t.Resolved.Experiment); err != nil {
		return nil, err
	}
	if err := bundle.WriteJSON(filepath.Join(out, bundle.FileHistory), history); err != nil {
		return nil, err
	}
	if err := plotHistory(filepath.Join(out, bundle.FileTraining), r.st.History, r.mon.metric); err != nil {
		return nil, err
	}
	// The manifest goes last: a directory with model.json is complete.
	if err := bundle.WriteJSON(filepath.Join(out, bundle.FileManifest), m); err != nil {
		return nil, err
	}
	return m, nil
}

func finite(m map[string]float64) map[string]float64 {
	out := make(map[string]float64, len(m))
	for k, v := range m {
		if !math.IsNaN(v) && !math.IsInf(v, 0) {
			out[k] = v
		}
	}
	return out
}

func plotHistory(path string, h bundle.History, metric string) error {
	if len(h.Epochs) == 0 {
		return nil
	}
	var trainLoss, valLoss, val []float64
	for _, e := range h.Epochs {
		trainLoss = append(trainLoss, e.TrainLoss)
		valLoss = append(valLoss, e.ValLoss)
		val = append(val, e.Val[metric])
	}
	series := []eval.Series{{Name: "train loss", Values: trainLoss}, {Name: "val loss", Values: valLoss}}
	if metric != MetricLoss {
		series = append(series, eval.Series{Name: "val " + metric, Values: val})
	}
	img, err := eval.PlotTraining(series, eval.DefaultPlotOptions())
	if err != nil {
		return fmt.Errorf("plotting training curves: %w", err)
	}
	return eval.WriteSVG(path, img)
}
