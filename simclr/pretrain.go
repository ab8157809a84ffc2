package simclr

import (
	"context"
	"errors"
	"fmt"
	"math"
	"runtime"
	"time"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/simclr-ablate/simclr-ablate/simclr/augment"
	"github.com/simclr-ablate/simclr-ablate/simclr/data"
	"github.com/simclr-ablate/simclr-ablate/simclr/nn"
	"github.com/simclr-ablate/simclr-ablate/simclr/optim"
)

// compiled runs build, which builds a network and compiles it, and runs it
// again when the graph had two nodes of one hash (nn.ErrHashCollision,
// about one graph in 10⁵): the rebuilt network's ops hash differently.
// The network's initial weights come from the seed, so the rebuilt one
// trains the same.
func compiled(build func() error) error {
	for try := 1; ; try++ {
		err := build()
		if !errors.Is(err, nn.ErrHashCollision) || try == 3 {
			return err
		}
	}
}

// compileLoss compiles net for loss, whose construction returned err.
func compileLoss(net *nn.Net, loss *G.Node, err error) (*nn.Machine, error) {
	if err != nil {
		return nil, fmt.Errorf("build loss: %w", err)
	}
	m, err := net.Compile(loss)
	if err != nil {
		return nil, fmt.Errorf("compile network: %w", err)
	}
	return m, nil
}

// arch is the network a config asks for; classes > 0 adds a classifier.
func arch(c *Config, inChannels, classes int, withHead bool) nn.Arch {
	a := nn.Arch{
		Encoder:    nn.EncoderSpec{Preset: c.Encoder, Width: c.Width, Blocks: c.Blocks, InChannels: inChannels},
		Classes:    classes,
		BNMomentum: c.BNMomentum,
	}
	if withHead {
		a.Head = nn.HeadSpec{Kind: c.Head, Hidden: c.ProjHidden, Out: c.ProjDim}
	}
	return a
}

// initialNet builds the encoder and projection head of cfg, initialised
// from its seed, for batches of batch images of c×h×w, in training mode or
// not. The initial weights depend on neither batch nor train: a random-init
// cell keeps (save_encoder) the very state its SimCLR cell starts from,
// which is what make crosscheck INIT=go gives PyTorch.
func initialNet(cfg *Config, c, h, w, batch int, train bool) (*nn.Net, error) {
	return nn.Build(arch(cfg, c, 0, true), batch, c, h, w, train, cfg.Seed)
}

// augmentParams maps the config's view settings onto the augment package.
func augmentParams(c *Config) augment.Params {
	p := augment.DefaultParams()
	p.ColorStrength = c.ColorStrength
	p.CropMinScale = c.CropMinScale
	p.FlipProb = c.FlipProb
	p.ColorProb = c.ColorProb
	p.GrayProb = c.GrayProb
	p.BlurProb = c.BlurProb
	p.CutoutSize = c.CutoutSize
	p.NoiseSigma = c.NoiseSigma
	return p
}

// pipelines returns the two branches' view pipelines.
func pipelines(c *Config) (a, b *augment.Pipeline, err error) {
	p := augmentParams(c)
	if a, err = augment.NewPipeline(c.Augment, p); err != nil {
		return nil, nil, fmt.Errorf("augment: %w", err)
	}
	b = a
	if len(c.AugmentB) > 0 {
		if b, err = augment.NewPipeline(c.AugmentB, p); err != nil {
			return nil, nil, fmt.Errorf("augment_b: %w", err)
		}
	}
	return a, b, nil
}

func newSolver(optimizer string, lr, momentum, weightDecay float64) (optim.Solver, error) {
	switch optimizer {
	case "sgd":
		return optim.NewSGD(lr, momentum, weightDecay, nn.NoDecay), nil
	case "lars":
		return optim.NewLARS(lr, momentum, weightDecay, 0.001, nn.NoDecay), nil
	case "adam":
		return optim.NewAdam(lr, 0.9, 0.999, 1e-8, weightDecay, nn.NoDecay), nil
	}
	return nil, fmt.Errorf("unknown optimizer %q (valid: sgd, lars, adam)", optimizer)
}

// newLoader returns the view loader over set: over its images, or for a
// lazy set (the pretraining subset of the MNIST family or
// fashion-mnist-color, see split) rendering each image into the batch row
// as a view of it is made, so that training holds its images as 8-bit
// pixels (94 MB fewer for 10 000 fashion-mnist-color images) at the cost
// of rendering them again for every view.
func newLoader(set *data.Set, a, b *augment.Pipeline, batch int, seed int64) *augment.Loader {
	if !set.Lazy() {
		return augment.NewLoader(set.Images, set.N, set.C, set.H, set.W, a, b, batch, seed, loaderWorkers())
	}
	return augment.NewLazyLoader(func(i int, dst []float32) { set.CopyImages(dst, i) },
		set.N, set.C, set.H, set.W, a, b, batch, seed, loaderWorkers())
}

// loaderWorkers is the number of goroutines producing views. Views cost
// little next to a training step; two keep the trainer from waiting.
func loaderWorkers() int { return min(2, runtime.GOMAXPROCS(0)) }

// trainLoop is what pretraining and supervised training share: a network
// compiled with its loss, a solver, a schedule, a view loader, the kNN
// monitor and the per-epoch checkpoint.
type trainLoop struct {
	c      *cell
	net    *nn.Net
	m      *nn.Machine
	loss   *G.Node
	solver optim.Solver
	loader *augment.Loader
	// The schedule: peak rate, warm-up epochs, and what follows the
	// warm-up (optim.Schedule's Kind and FinalFraction; Milestones in
	// epochs).
	peakLR        float64
	warmupEpochs  int
	schedule      string
	finalFraction float64
	milestones    []int
	inputs        func(b *augment.Batch) map[*G.Node][]float32
	afterStep     func(acc *epochAcc) // reads extra values (similarities) before Reset
	// monitor, when set, scores the state after every epoch (the kNN
	// monitor), with the training machine m, idle then, lending it its
	// buffers; its value is EpochStats.KNNAcc.
	monitor func(ctx context.Context, st *nn.State, lender *nn.Machine) (float64, error)
	kind    string // checkpoint kind: "simclr" or "supervised"
}

// epochAcc accumulates one epoch's statistics.
type epochAcc struct {
	steps             int
	loss, acc, posCos float64
}

// plan returns the training's length — epochs, the last of which may stop
// early, and steps — and its learning-rate schedule. With steps set, the
// warm-up and the milestones (given in epochs) are checked here, the
// first time the steps of an epoch are known.
func (t *trainLoop) plan() (epochs, total int, sched optim.Schedule, err error) {
	cfg := &t.c.cfg
	perEpoch := t.loader.StepsPerEpoch()
	epochs, total = cfg.TrainingLength(perEpoch)
	warmup := t.warmupEpochs * perEpoch
	if warmup > total {
		return 0, 0, sched, &FieldError{Key: "warmup_epochs", Value: t.warmupEpochs, Msg: fmt.Sprintf(
			"%d epochs of warm-up are %d steps, more than the %d steps of training", t.warmupEpochs, warmup, total)}
	}
	var ms []int
	for _, m := range t.milestones {
		if m*perEpoch >= total {
			return 0, 0, sched, &FieldError{Key: "lr_milestones", Value: t.milestones, Msg: fmt.Sprintf(
				"milestone %d (step %d) is not before the end of training (%d steps)", m, m*perEpoch, total)}
		}
		ms = append(ms, m*perEpoch)
	}
	sched, err = optim.NewSchedule(optim.Schedule{Kind: t.schedule, Peak: t.peakLR, WarmupSteps: warmup,
		TotalSteps: total, FinalFraction: t.finalFraction, Milestones: ms})
	return epochs, total, sched, err
}

// run trains for the config's epochs or steps, resuming from a checkpoint
// when there is one, and returns the trained state.
func (t *trainLoop) run(ctx context.Context) (*nn.State, error) {
	cfg := &t.c.cfg
	hooks := t.c.hooks
	steps := t.loader.StepsPerEpoch()
	epochs, total, sched, err := t.plan()
	if err != nil {
		return nil, err
	}
	learn := t.m.Learnables()
	vgs := G.NodesToValueGrads(learn)

	first := 1
	if hooks.Checkpoint != "" {
		ck, err := loadCheckpoint(hooks.Checkpoint, cfg, t.kind, epochs)
		if err != nil {
			return nil, err
		}
		if ck != nil {
			if err := t.net.SetState(ck.Model); err != nil {
				return nil, fmt.Errorf("resume from checkpoint: %w", err)
			}
			if err := t.solver.SetState(ck.Optim); err != nil {
				return nil, fmt.Errorf("resume from checkpoint: %w", err)
			}
			t.c.res.Epochs = ck.Epochs
			first = ck.Epoch + 1
			hooks.Logger.Info("resumed from checkpoint", "epoch", ck.Epoch, "dir", hooks.Checkpoint)
		}
	}

	for epoch := first; epoch <= epochs; epoch++ {
		t.c.hooks.phase(fmt.Sprintf("%s epoch %d/%d", t.kind, epoch, epochs))
		start := time.Now()
		want := min(steps, total-(epoch-1)*steps) // the last epoch of a steps budget stops early
		var acc epochAcc
		ectx, cancel := context.WithCancel(ctx)
		var err error
		for b := range t.loader.Epoch(ectx, epoch) {
			if err == nil && acc.steps < want {
				err = t.step(b, epoch, (epoch-1)*steps+b.Step, epochs, total, sched, vgs, &acc)
				if acc.steps == want && want < steps {
					cancel() // the budget is spent: stop making views
				}
			}
			b.Release()
			if err != nil {
				cancel()
			}
		}
		cancel()
		if err != nil {
			return nil, err
		}
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("%s stopped in epoch %d: %w", t.kind, epoch, err)
		}
		if acc.steps != want {
			return nil, fmt.Errorf("%s epoch %d: loader produced %d of %d batches", t.kind, epoch, acc.steps, want)
		}
		d := time.Since(start)
		st := EpochStats{
			Epoch:          epoch,
			Epochs:         epochs,
			Steps:          acc.steps,
			Loss:           acc.loss / float64(acc.steps),
			LR:             t.solver.LR(),
			ImagesPerSec:   float64(acc.steps*t.loader.Batch()*2) / d.Seconds(),
			ContrastiveAcc: acc.acc / float64(acc.steps),
			PositiveCos:    acc.posCos / float64(acc.steps),
			Duration:       d,
		}
		var state *nn.State
		if t.monitor != nil || hooks.Checkpoint != "" {
			if state, err = t.net.State(); err != nil {
				return nil, err
			}
		}
		var monitorTime time.Duration
		if t.monitor != nil {
			mstart := time.Now()
			v, err := t.monitor(ctx, state, t.m)
			if err != nil {
				return nil, fmt.Errorf("%s epoch %d: kNN monitor: %w", t.kind, epoch, err)
			}
			st.KNNAcc, monitorTime = &v, time.Since(mstart)
		}
		t.c.res.Epochs = append(t.c.res.Epochs, st)
		t.c.res.FinalLoss = st.Loss
		if hooks.OnEpoch != nil {
			hooks.OnEpoch(st)
		}
		attrs := []any{"kind", t.kind, "epoch", epoch, "loss", st.Loss, "lr", st.LR,
			"images_per_s", math.Round(st.ImagesPerSec), "contrastive_acc", st.ContrastiveAcc, "positive_cos", st.PositiveCos,
			"seconds", d.Seconds()}
		if st.KNNAcc != nil {
			attrs = append(attrs, "knn_acc", *st.KNNAcc, "knn_seconds", monitorTime.Seconds())
		}
		hooks.Logger.Info("epoch", attrs...)
		if hooks.Checkpoint != "" {
			ck := &checkpoint{Kind: t.kind, ConfigHash: cfg.Hash(), Seed: cfg.Seed, Epoch: epoch,
				Model: state, Optim: t.solver.State(), Epochs: t.c.res.Epochs}
			if err := saveCheckpoint(hooks.Checkpoint, ck); err != nil {
				return nil, err
			}
		}
	}
	if len(t.c.res.Epochs) > 0 {
		t.c.res.FinalLoss = t.c.res.Epochs[len(t.c.res.Epochs)-1].Loss
	}
	return t.net.State()
}

// step runs one forward/backward pass and one solver step.
func (t *trainLoop) step(b *augment.Batch, epoch, globalStep, epochs, total int, sched optim.Schedule, vgs []G.ValueGrad, acc *epochAcc) error {
	t.solver.SetLR(sched.LR(globalStep))
	if err := t.m.Run(t.inputs(b)); err != nil {
		return fmt.Errorf("epoch %d step %d: %w", epoch, b.Step+1, err)
	}
	loss := float64(scalar(t.loss))
	if math.IsNaN(loss) || math.IsInf(loss, 0) {
		t.m.Reset()
		return &DivergedError{Epoch: epoch, Step: b.Step + 1, Loss: loss}
	}
	if t.afterStep != nil {
		t.afterStep(acc)
	}
	if err := t.solver.Step(vgs); err != nil {
		return fmt.Errorf("epoch %d step %d: solver: %w", epoch, b.Step+1, err)
	}
	t.m.Reset()
	acc.steps++
	acc.loss += loss
	if t.c.hooks.OnStep != nil {
		t.c.hooks.OnStep(StepStats{Epoch: epoch, Step: b.Step + 1, StepsPerEpoch: t.loader.StepsPerEpoch(),
			Epochs: epochs, TotalSteps: total, Loss: loss})
	}
	return nil
}

func scalar(n *G.Node) float32 {
	switch v := n.Value().Data().(type) {
	case float32:
		return v
	case []float32:
		return v[0]
	}
	return float32(math.NaN())
}

// pretrain runs SimCLR on the pretraining subset.
func (c *cell) pretrain(ctx context.Context) (*nn.State, error) {
	cfg := &c.cfg
	set := c.pretrainSet
	n := cfg.BatchSize
	if set.N < n {
		return nil, fmt.Errorf("batch_size %d exceeds the %d pretraining images", n, set.N)
	}
	a, b, err := pipelines(cfg)
	if err != nil {
		return nil, err
	}
	loader := newLoader(set, a, b, n, cfg.Seed)
	var (
		net       *nn.Net
		loss, sim *G.Node
		m         *nn.Machine
	)
	err = compiled(func() (err error) {
		net, err = initialNet(cfg, set.C, set.H, set.W, 2*n, true)
		if err != nil {
			return fmt.Errorf("build network: %w", err)
		}
		loss, sim, err = nn.NTXent(net.Z, n, cfg.Temperature)
		m, err = compileLoss(net, loss, err)
		return err
	})
	if err != nil {
		return nil, err
	}
	defer m.Close()
	peak, err := optim.ScaleLR(cfg.LR, cfg.LRScaling, n)
	if err != nil {
		return nil, err
	}
	solver, err := newSolver(cfg.Optimizer, peak, cfg.Momentum, cfg.WeightDecay)
	if err != nil {
		return nil, err
	}
	t := &trainLoop{
		c: c, net: net, m: m, loss: loss, solver: solver, loader: loader,
		peakLR: peak, warmupEpochs: cfg.WarmupEpochs, schedule: cfg.LRSchedule,
		finalFraction: cfg.LRFinalFraction, milestones: cfg.LRMilestones,
		monitor: c.monitor(), kind: "simclr",
		inputs: func(b *augment.Batch) map[*G.Node][]float32 { return map[*G.Node][]float32{net.X: b.X} },
		afterStep: func(acc *epochAcc) {
			top1, pos := nn.ContrastiveStats(sim.Value().Data().([]float32), n)
			acc.acc += top1
			acc.posCos += pos
		},
	}
	return t.run(ctx)
}

// supervised trains the same encoder end-to-end with labels on the same
// pretraining images (both views of each image are labelled examples), the
// upper-bound baseline.
func (c *cell) supervised(ctx context.Context) (*nn.State, error) {
	cfg := &c.cfg
	set := c.pretrainSet
	st, err := c.trainClassifier(ctx, set, nil, cfg.Epochs, cfg.Optimizer, cfg.LR, cfg.LRScaling,
		cfg.WarmupEpochs, cfg.WeightDecay, "supervised", c.hooks.Checkpoint)
	return st, err
}

// trainClassifier trains encoder + linear classifier with softmax
// cross-entropy on set, starting from init (nil = random initialisation).
func (c *cell) trainClassifier(ctx context.Context, set *data.Set, init *nn.State, epochs int,
	optimizer string, lr float64, scaling string, warmupEpochs int, wd float64, kind, ckdir string) (*nn.State, error) {
	cfg := &c.cfg
	n := min(cfg.BatchSize, set.N)
	if kind != "supervised" {
		n = cfg.FinetuneBatch
		if n == 0 {
			n = min(64, cfg.BatchSize)
		}
		n = min(n, set.N)
	}
	var a, b *augment.Pipeline
	var err error
	if kind == "supervised" {
		a, b, err = pipelines(cfg)
	} else {
		// Fine-tuning: horizontal flips only (the paper fine-tunes with crop
		// and flip; at 28 px the 0.08 crop would destroy the few labels).
		a, err = augment.NewPipeline([]string{"flip"}, augmentParams(cfg))
		b = a
	}
	if err != nil {
		return nil, err
	}
	loader := newLoader(set, a, b, n, cfg.Seed)
	classes := len(c.classes)
	var (
		net          *nn.Net
		onehot, loss *G.Node
		m            *nn.Machine
	)
	err = compiled(func() (err error) {
		net, err = nn.Build(arch(cfg, set.C, classes, false), 2*n, set.C, set.H, set.W, true, cfg.Seed)
		if err != nil {
			return fmt.Errorf("build network: %w", err)
		}
		if init != nil {
			if err := net.SetState(init); err != nil {
				return fmt.Errorf("load pretrained encoder: %w", err)
			}
		}
		onehot = G.NewMatrix(net.G, tensor.Float32, G.WithShape(2*n, classes), G.WithName("onehot"))
		loss, err = nn.SoftmaxCrossEntropy(net.Logits, onehot)
		m, err = compileLoss(net, loss, err)
		return err
	})
	if err != nil {
		return nil, err
	}
	defer m.Close()
	peak, err := optim.ScaleLR(lr, scaling, n)
	if err != nil {
		return nil, err
	}
	solver, err := newSolver(optimizer, peak, cfg.Momentum, wd)
	if err != nil {
		return nil, err
	}
	oh := make([]float32, 2*n*classes)
	sub := *c
	sub.cfg.Epochs = epochs
	sub.hooks.Checkpoint = ckdir
	if kind != "supervised" {
		// Fine-tuning: its own epochs, a cosine decay to 0, no monitor.
		sub.cfg.Steps = 0
		sub.hooks.OnEpoch, sub.hooks.OnStep = nil, nil
	}
	t := &trainLoop{
		c: &sub, net: net, m: m, loss: loss, solver: solver, loader: loader,
		peakLR: peak, warmupEpochs: warmupEpochs, kind: kind,
		inputs: func(bt *augment.Batch) map[*G.Node][]float32 {
			clear(oh)
			for r := 0; r < 2*n; r++ {
				oh[r*classes+set.Labels[bt.Index[r%n]]] = 1
			}
			return map[*G.Node][]float32{net.X: bt.X, onehot: oh}
		},
	}
	if kind == "supervised" {
		t.schedule, t.finalFraction, t.milestones = cfg.LRSchedule, cfg.LRFinalFraction, cfg.LRMilestones
		t.monitor = c.monitor()
	}
	st, err := t.run(ctx)
	if kind == "supervised" {
		c.res.Epochs, c.res.FinalLoss = sub.res.Epochs, sub.res.FinalLoss
	}
	return st, err
}

// randomInit is the untrained encoder with its random initialisation.
func (c *cell) randomInit() (*nn.State, error) {
	net, err := initialNet(&c.cfg, c.c, c.h, c.w, 2, false)
	if err != nil {
		return nil, fmt.Errorf("build network: %w", err)
	}
	return net.State()
}
