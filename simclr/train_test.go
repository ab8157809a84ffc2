package simclr

import (
	"context"
	"errors"
	"math"
	"reflect"
	"runtime"
	"strings"
	"testing"

	"github.com/simclr-ablate/simclr-ablate/simclr/nn"
	"github.com/simclr-ablate/simclr-ablate/simclr/optim"
)

// epochLosses and knnAccs read a result's per-epoch values.
func epochLosses(res *Result) []float64 {
	var out []float64
	for _, e := range res.Epochs {
		out = append(out, e.Loss)
	}
	return out
}

func knnAccs(t *testing.T, res *Result) []float64 {
	t.Helper()
	var out []float64
	for _, e := range res.Epochs {
		if e.KNNAcc == nil {
			t.Fatalf("epoch %d has no kNN accuracy", e.Epoch)
		}
		out = append(out, *e.KNNAcc)
	}
	return out
}

// TestKNNMonitorObservesOnly: the monitor records an accuracy every epoch
// and changes nothing else: the same losses and evaluations with it off.
func TestKNNMonitorObservesOnly(t *testing.T) {
	cfg := tinyConfig()
	cfg.Epochs = 2
	cfg.SyntheticSize = 192
	on, err := Run(context.Background(), cfg, Hooks{})
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range knnAccs(t, on) {
		if !(a >= 0 && a <= 1) {
			t.Errorf("kNN accuracy %v out of [0, 1]", a)
		}
	}
	cfg.KNNTrain, cfg.KNNTest = 0, 0
	off, err := Run(context.Background(), cfg, Hooks{})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range off.Epochs {
		if e.KNNAcc != nil {
			t.Errorf("monitor off: epoch %d has kNN accuracy %v", e.Epoch, *e.KNNAcc)
		}
	}
	if !reflect.DeepEqual(epochLosses(on), epochLosses(off)) || on.FinalLoss != off.FinalLoss {
		t.Errorf("losses with the monitor %v, without %v", epochLosses(on), epochLosses(off))
	}
	if !reflect.DeepEqual(on.Evaluations[0].Confusion, off.Evaluations[0].Confusion) || on.Evaluations[0].MacroF1 != off.Evaluations[0].MacroF1 {
		t.Errorf("evaluation with the monitor %+v, without %+v", on.Evaluations[0], off.Evaluations[0])
	}
}

// TestKNNMonitorResumeAndWorkers: a resumed cell records the kNN accuracy
// of the uninterrupted one, epoch for epoch, and so does a cell on one
// core.
func TestKNNMonitorResumeAndWorkers(t *testing.T) {
	cfg := tinyConfig()
	cfg.Epochs = 3
	cfg.SyntheticSize = 192
	want, err := Run(context.Background(), cfg, Hooks{})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	_, err = Run(ctx, cfg, Hooks{Checkpoint: dir, OnEpoch: func(e EpochStats) {
		if e.Epoch == 2 {
			cancel()
		}
	}})
	cancel()
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted Run: err = %v, want context.Canceled", err)
	}
	got, err := Run(context.Background(), cfg, Hooks{Checkpoint: dir})
	if err != nil {
		t.Fatal(err)
	}
	if w, g := knnAccs(t, want), knnAccs(t, got); !reflect.DeepEqual(w, g) {
		t.Errorf("kNN accuracy: resumed %v, uninterrupted %v", g, w)
	}

	old := runtime.GOMAXPROCS(1)
	one, err := Run(context.Background(), cfg, Hooks{})
	runtime.GOMAXPROCS(old)
	if err != nil {
		t.Fatal(err)
	}
	if w, g := knnAccs(t, want), knnAccs(t, one); !reflect.DeepEqual(w, g) || one.FinalLoss != want.FinalLoss {
		t.Errorf("GOMAXPROCS=1: kNN accuracy %v and loss %v, want %v and %v", g, one.FinalLoss, w, want.FinalLoss)
	}
}

// TestStepsBudget: with steps, training runs ceil(steps / steps an epoch)
// epochs and stops after exactly steps; interrupted after the first epoch
// and resumed, it ends where the uninterrupted run does.
func TestStepsBudget(t *testing.T) {
	cfg := tinyConfig()
	cfg.SyntheticSize = 384 // 384 images at batch 64: 6 steps an epoch
	cfg.Epochs, cfg.Steps = 0, 8
	cfg.KNNTrain, cfg.KNNTest = 0, 0
	var steps []StepStats
	want, err := Run(context.Background(), cfg, Hooks{OnStep: func(s StepStats) { steps = append(steps, s) }})
	if err != nil {
		t.Fatal(err)
	}
	if len(steps) != 8 {
		t.Fatalf("%d steps ran, want 8", len(steps))
	}
	last := steps[7]
	if last.Epoch != 2 || last.Step != 2 || last.StepsPerEpoch != 6 || last.Epochs != 2 || last.TotalSteps != 8 {
		t.Errorf("last step %+v, want epoch 2 step 2 of 6, 2 epochs, 8 steps", last)
	}
	if len(want.Epochs) != 2 || want.Epochs[0].Steps != 6 || want.Epochs[1].Steps != 2 || want.Epochs[1].Epochs != 2 {
		t.Errorf("epochs %+v, want 2 epochs of 6 and 2 steps", want.Epochs)
	}

	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	_, err = Run(ctx, cfg, Hooks{Checkpoint: dir, OnEpoch: func(e EpochStats) {
		if e.Epoch == 1 {
			cancel()
		}
	}})
	cancel()
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted Run: err = %v, want context.Canceled", err)
	}
	var resumed []StepStats
	got, err := Run(context.Background(), cfg, Hooks{Checkpoint: dir, OnStep: func(s StepStats) { resumed = append(resumed, s) }})
	if err != nil {
		t.Fatal(err)
	}
	if len(resumed) != 2 || got.FinalLoss != want.FinalLoss || !reflect.DeepEqual(epochLosses(got), epochLosses(want)) {
		t.Errorf("resumed: %d steps, losses %v; want 2 steps and %v", len(resumed), epochLosses(got), epochLosses(want))
	}
}

// TestSchedules: the rate at the end of each epoch (EpochStats.LR, the
// last step's) follows lr_schedule.
func TestSchedules(t *testing.T) {
	const peak = 3e-3
	for _, tc := range []struct {
		name string
		mut  func(*Config)
		want []float64
	}{
		{"cosine to 0", func(c *Config) {},
			[]float64{peak * 0.5 * (1 + math.Cos(math.Pi*5/12)), peak * 0.5 * (1 + math.Cos(math.Pi*11/12))}},
		{"cosine to 0.1", func(c *Config) { c.LRFinalFraction = 0.1 },
			[]float64{peak * (0.1 + 0.9*0.5*(1+math.Cos(math.Pi*5/12))), peak * (0.1 + 0.9*0.5*(1+math.Cos(math.Pi*11/12)))}},
		{"constant", func(c *Config) { c.LRSchedule = "constant" }, []float64{peak, peak}},
		{"step at epoch 1", func(c *Config) { c.LRSchedule, c.LRMilestones = "step", []int{1} }, []float64{peak, peak * 0.1}},
	} {
		cfg := tinyConfig()
		cfg.SyntheticSize = 384 // 6 steps an epoch, 12 in all
		cfg.Epochs = 2
		cfg.LinearEpochs = 5
		cfg.KNNTrain, cfg.KNNTest = 0, 0
		tc.mut(&cfg)
		res, err := Run(context.Background(), cfg, Hooks{})
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		for i, e := range res.Epochs {
			if math.Abs(e.LR-tc.want[i]) > 1e-15 {
				t.Errorf("%s: epoch %d ends at rate %.17g, want %.17g", tc.name, e.Epoch, e.LR, tc.want[i])
			}
		}
	}
}

// TestStepsBudgetChecksWarmup: with steps, a warm-up or a milestone
// beyond the budget is an error naming the setting before any step.
func TestStepsBudgetChecksWarmup(t *testing.T) {
	for _, tc := range []struct {
		mut func(*Config)
		key string
	}{
		{func(c *Config) { c.WarmupEpochs = 2 }, "warmup_epochs"},
		{func(c *Config) { c.LRSchedule, c.LRMilestones = "step", []int{2} }, "lr_milestones"},
	} {
		cfg := tinyConfig()
		cfg.SyntheticSize = 384
		cfg.Epochs, cfg.Steps = 0, 8
		tc.mut(&cfg)
		steps := 0
		_, err := Run(context.Background(), cfg, Hooks{OnStep: func(StepStats) { steps++ }})
		var fe *FieldError
		if !errors.As(err, &fe) || fe.Key != tc.key || steps != 0 {
			t.Errorf("Run = %v after %d steps, want a FieldError on %s before any step", err, steps, tc.key)
		}
	}
}

// TestLARSExclusions: as in the SimCLR paper's reference code, LARS
// neither decays nor adapts the rate of BatchNorm scales and shifts and
// biases, and does both for every convolution and linear weight. Every
// parameter of the encoder, the nonlinear head and a classifier is one of
// the two kinds.
func TestLARSExclusions(t *testing.T) {
	cfg := tinyConfig()
	cfg.Optimizer, cfg.LR, cfg.LRScaling = "lars", 0.3, "linear"
	net, err := nn.Build(arch(&cfg, 3, 4, true), 4, 3, 16, 16, true, 1)
	if err != nil {
		t.Fatal(err)
	}
	adapted, excluded := 0, 0
	for _, p := range net.Learnables() {
		name := p.Name()
		weight := strings.HasSuffix(name, ".w")
		frozenKind := strings.HasSuffix(name, ".gamma") || strings.HasSuffix(name, ".beta") || strings.HasSuffix(name, ".b")
		switch {
		case weight && !nn.NoDecay(name):
			adapted++
		case frozenKind && nn.NoDecay(name):
			excluded++
		default:
			t.Errorf("parameter %s: NoDecay = %v; want weights (.w) adapted and decayed, BatchNorm (.gamma, .beta) and biases (.b) excluded",
				name, nn.NoDecay(name))
		}
	}
	if adapted == 0 || excluded == 0 {
		t.Errorf("%d adapted and %d excluded parameters; want some of each", adapted, excluded)
	}
	s, err := newSolver("lars", 0.3, 0.9, 1e-6)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := s.(*optim.LARS); !ok {
		t.Errorf("newSolver(lars) = %T, want *optim.LARS", s)
	}
}
