package config

import (
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
)

// Kind is the type of a setting's value as a grid file writes it.
type Kind int

const (
	String Kind = iota + 1
	Int
	Float
	StringList
	IntList
	FloatList
	Bool
)

func (k Kind) String() string {
	switch k {
	case String:
		return "string"
	case Int:
		return "integer"
	case Float:
		return "number"
	case StringList:
		return "list of strings"
	case IntList:
		return "list of integers"
	case FloatList:
		return "list of numbers"
	case Bool:
		return "boolean"
	}
	return "Kind(" + strconv.Itoa(int(k)) + ")"
}

// IsList reports whether k is one of the list kinds.
func (k Kind) IsList() bool { return k == StringList || k == IntList || k == FloatList }

// Range is the valid values of a number setting, or of each element of a
// list of numbers: Min to Max, each bound included unless MinOpen or
// MaxOpen; Max = +Inf leaves it unbounded above (the value must still be
// finite). Zero, when set, accepts 0 too and says what 0 means.
type Range struct {
	Min, Max         float64
	MinOpen, MaxOpen bool
	Zero             string
}

// Contains reports whether v is in the range. NaN never is.
func (r Range) Contains(v float64) bool {
	if r.Zero != "" && v == 0 {
		return true
	}
	lo := v >= r.Min
	if r.MinOpen {
		lo = v > r.Min
	}
	hi := !math.IsInf(v, 0)
	if !math.IsInf(r.Max, 1) {
		hi = v <= r.Max
		if r.MaxOpen {
			hi = v < r.Max
		}
	}
	return lo && hi
}

// String says the range in the words of an error message: "positive",
// ">= 0", "in [0, 1]", "0 (native) or in [1, 1024]".
func (r Range) String() string {
	num := func(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }
	var s string
	switch {
	case math.IsInf(r.Max, 1) && r.Min == 0 && r.MinOpen:
		s = "positive"
	case math.IsInf(r.Max, 1) && r.MinOpen:
		s = "> " + num(r.Min)
	case math.IsInf(r.Max, 1):
		s = ">= " + num(r.Min)
	default:
		open, shut := "[", "]"
		if r.MinOpen {
			open = "("
		}
		if r.MaxOpen {
			shut = ")"
		}
		s = "in " + open + num(r.Min) + ", " + num(r.Max) + shut
	}
	if r.Zero != "" {
		s = "0 (" + r.Zero + ") or " + s
	}
	return s
}

// Setting describes one field of Config as users write it: in a grid
// file's [base], [grid], [[variant]] and [[exclude]] tables, in runner
// --set, in the params table of the results database.
type Setting struct {
	Name string // the TOML key: the field's toml tag
	Kind Kind
	Doc  string // one line: what the setting does, what its zero value means
	// Choices are the valid values of a string setting, or of each element
	// of a list of strings; nil accepts any text.
	Choices []string
	// Range bounds a number setting, or each element of a list of
	// numbers; nil accepts any value.
	Range *Range
	// Elem names one element of a list in messages ("transform"); "" is
	// "value".
	Elem     string
	NonEmpty bool // a list needs at least one element
	Unique   bool // a list may not repeat an element
	// Monitor marks a setting that observes training without changing
	// what the cell computes (the kNN monitor's): it is not part of
	// Config.Hash, nor of an experiment's axes.
	Monitor bool

	Index int          // position in Settings: Config's field order
	Type  reflect.Type // the field's Go type
	field int          // the field's index in Config
}

// Field returns the setting's field of c, settable.
func (s Setting) Field(c *Config) reflect.Value {
	return reflect.ValueOf(c).Elem().Field(s.field)
}

// Default returns the setting's value in DefaultConfig.
func (s Setting) Default() any {
	c := DefaultConfig()
	return s.Field(&c).Interface()
}

// Valid says what values the setting accepts, for help and messages:
// "one of sgd, lars, adam", "in [0, 1]", or "" when any value of its kind
// is.
func (s Setting) Valid() string {
	switch {
	case s.Choices != nil:
		return "one of " + strings.Join(s.Choices, ", ")
	case s.Range != nil && s.Kind.IsList():
		return "each " + s.elem() + " " + s.rangeText()
	case s.Range != nil:
		return s.rangeText()
	}
	return ""
}

func (s Setting) elem() string {
	if s.Elem == "" {
		return "value"
	}
	return s.Elem
}

// rangeText is Range.String, "and finite" added for an unbounded real.
func (s Setting) rangeText() string {
	t := s.Range.String()
	if (s.Kind == Float || s.Kind == FloatList) && math.IsInf(s.Range.Max, 1) {
		t += " and finite"
	}
	return t
}

// Ranges used by the table below.
var (
	atLeast0  = &Range{Min: 0, Max: math.Inf(1)}
	atLeast1  = &Range{Min: 1, Max: math.Inf(1)}
	positive  = &Range{Min: 0, MinOpen: true, Max: math.Inf(1)}
	unit      = &Range{Min: 0, Max: 1}
	unitOpen0 = &Range{Min: 0, MinOpen: true, Max: 1}
)

// table describes every Config field, in field order. init checks that
// it and Config agree.
var table = []Setting{
	{Name: "method", Choices: Methods, Doc: "what the cell computes: SimCLR pretraining, or a baseline scored by the same evaluation"},

	{Name: "dataset", Choices: Datasets, Doc: "the images the cell trains and is scored on"},
	{Name: "path", Doc: "the dataset's folder; empty is the dataset's default location (fashion-mnist, fashion-mnist-color)"},
	{Name: "test_path", Doc: "imagefolder only: a separate test root with the same class folders; empty is a seeded 80/20 split of path"},
	{Name: "image_size", Range: &Range{Min: 1, Max: MaxImageSize, Zero: "native"}, Doc: "side of the images in pixels (resized); 0 is the dataset's native size"},
	{Name: "synthetic_size", Range: atLeast0, Doc: "synthetic only: the number of train images (test is a quarter); 0 is 512"},
	{Name: "pretrain_subset", Range: atLeast0, Doc: "train images pretraining sees (a seeded random subset); 0 is the whole train split"},
	{Name: "eval_subset", Range: atLeast0, Doc: "labelled train images linear evaluation fits on (stratified); 0 is all"},
	{Name: "test_subset", Range: atLeast0, Doc: "test images scored (a fixed random subset); 0 is all"},

	{Name: "encoder", Choices: Encoders, Doc: "the ResNet preset: resnet-small (width 16, blocks 1,1,1) or resnet-18 (width 64, blocks 2,2,2,2)"},
	{Name: "width", Range: atLeast0, Doc: "channels of the first stage (doubling each stage); 0 is the preset's"},
	{Name: "blocks", Range: atLeast1, Elem: "block count", Doc: "BasicBlocks per stage, one number a stage; left out, the preset's"},
	{Name: "head", Choices: Heads, Doc: "SimCLR's projection head g(h): none (z = h), linear, or nonlinear (one hidden ReLU layer)"},
	{Name: "proj_dim", Range: atLeast0, Doc: "width of z, the projection head's output; must be positive for a linear or nonlinear head"},
	{Name: "proj_hidden", Range: atLeast0, Doc: "hidden width of the nonlinear head; 0 is the encoder's feature width"},
	{Name: "bn_momentum", Range: unit, Doc: "BatchNorm running-statistics momentum, PyTorch semantics (0.1)"},

	{Name: "augment", Choices: Transforms, Elem: "transform", Doc: "the view pipeline of the first branch, transforms applied in order"},
	{Name: "augment_b", Choices: Transforms, Elem: "transform", Doc: "the second branch's pipeline; empty is the same as augment"},
	{Name: "color_strength", Range: atLeast0, Doc: "strength s of the colour jitter (brightness, contrast, saturation 0.8s, hue 0.2s)"},
	{Name: "crop_min_scale", Range: unitOpen0, Doc: "smallest area of a random resized crop, as a fraction of the image"},
	{Name: "flip_prob", Range: unit, Doc: "probability that flip mirrors the view"},
	{Name: "color_prob", Range: unit, Doc: "probability that color applies the colour jitter"},
	{Name: "gray_prob", Range: unit, Doc: "probability that color then drops colour (grayscale)"},
	{Name: "blur_prob", Range: unit, Doc: "probability that blur applies a Gaussian blur"},
	{Name: "cutout_size", Range: unit, Doc: "side of the square cutout erases, as a fraction of the image side"},
	{Name: "noise_sigma", Range: atLeast0, Doc: "standard deviation of the Gaussian noise of noise, in [0, 1] pixel units"},

	{Name: "temperature", Range: positive, Doc: "the NT-Xent temperature τ"},
	{Name: "batch_size", Range: positive, Doc: "images a step (2N views for SimCLR)"},
	{Name: "epochs", Range: atLeast0, Doc: "passes over the pretraining images (simclr, supervised); at least 1 for them unless steps is set"},
	{Name: "steps", Range: atLeast0, Doc: "training length in optimiser steps instead of epochs (0: epochs decides); the last epoch stops at exactly steps"},
	{Name: "optimizer", Choices: Optimizers, Doc: "the solver of pretraining and supervised training"},
	{Name: "lr", Range: positive, Doc: "base learning rate, before lr_scaling"},
	{Name: "lr_scaling", Choices: LRScalings, Doc: "peak rate from lr: none (lr), linear (lr·N/256) or sqrt (lr·√(N/256)), N = batch_size"},
	{Name: "lr_schedule", Choices: LRSchedules, Doc: "the rate after the warm-up: cosine decay, constant, or step (×0.1 at each of lr_milestones)"},
	{Name: "lr_final_fraction", Range: unit, Doc: "cosine only: the rate decays to lr·lr_final_fraction instead of 0"},
	{Name: "lr_milestones", Range: atLeast1, Elem: "milestone", Unique: true, Doc: "step only: the epochs after which the rate is multiplied by 0.1, increasing"},
	{Name: "warmup_epochs", Range: atLeast0, Doc: "epochs of linear warm-up before lr_schedule; at most epochs"},
	{Name: "weight_decay", Range: atLeast0, Doc: "L2 weight decay (not on biases and BatchNorm parameters)"},
	{Name: "momentum", Range: &Range{Min: 0, Max: 1, MaxOpen: true}, Doc: "momentum of sgd and lars"},

	{Name: "eval", Choices: EvalKinds, Elem: "protocol", NonEmpty: true, Unique: true, Doc: "how the representation is scored: linear evaluation, fine-tuning, or both"},
	{Name: "eval_features", Choices: FeatureKinds, Elem: "feature", NonEmpty: true, Unique: true, Doc: "what linear evaluation reads: h (the encoder's output), z (the head's), or both"},
	{Name: "label_fraction", Range: unitOpen0, Elem: "fraction", Unique: true, Doc: "fine-tuning: the fractions of train labels used, one evaluation each"},
	{Name: "linear_epochs", Range: atLeast0, Doc: "L-BFGS iterations of the linear probe; 0 is 100"},
	{Name: "linear_l2", Range: atLeast0, Doc: "L2 penalty of the linear probe"},
	{Name: "finetune_epochs", Range: atLeast0, Doc: "fine-tuning epochs; at least 1 when eval has finetune"},
	{Name: "finetune_lr", Range: positive, Doc: "fine-tuning learning rate (adam)"},
	{Name: "finetune_batch", Range: atLeast0, Doc: "fine-tuning batch in images; 0 is min(64, batch_size)"},
	{Name: "knn_train", Range: atLeast0, Monitor: true, Doc: "kNN monitor: labelled training images whose h the test images are matched against every epoch; 0 turns it off"},
	{Name: "knn_test", Range: atLeast0, Monitor: true, Doc: "kNN monitor: test images it scores every epoch (stored as knn_acc); 0 turns it off"},

	{Name: "save_encoder", Doc: "keep the trained encoder (and head) as <db dir>/artifacts/<experiment>/<run id>/encoder.safetensors; not part of the config hash"},

	{Name: "seed", Doc: "the cell's seed: subsets, initialisation, views; a grid sets it with seeds = [...]"},
}

var (
	byName = make(map[string]int, len(table))
	names  = make([]string, len(table))
)

func init() {
	t := reflect.TypeFor[Config]()
	var fields []int
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		fields = append(fields, i)
	}
	if len(fields) != len(table) {
		panic(fmt.Sprintf("config: Config has %d fields but %d settings are described", len(fields), len(table)))
	}
	for i := range table {
		s := &table[i]
		f := t.Field(fields[i])
		if tag, _, _ := strings.Cut(f.Tag.Get("toml"), ","); tag != s.Name {
			panic(fmt.Sprintf("config: setting %d is %q but field %s has toml tag %q", i, s.Name, f.Name, tag))
		}
		s.Index, s.Type, s.field = i, f.Type, fields[i]
		s.Kind = kindOf(f.Type)
		if s.Kind == 0 {
			panic(fmt.Sprintf("config: field %s has type %s, not a setting kind", f.Name, f.Type))
		}
		byName[s.Name] = i
		names[i] = s.Name
	}
}

func kindOf(t reflect.Type) Kind {
	switch t.Kind() {
	case reflect.String:
		return String
	case reflect.Int, reflect.Int64:
		return Int
	case reflect.Float64:
		return Float
	case reflect.Bool:
		return Bool
	case reflect.Slice:
		switch kindOf(t.Elem()) {
		case String:
			return StringList
		case Int:
			return IntList
		case Float:
			return FloatList
		}
	}
	return 0
}

// Settings returns every setting in Config's field order (the order of
// plan columns).
func Settings() []Setting {
	return append([]Setting(nil), table...)
}

// Names returns the settings' names in Config's field order.
func Names() []string {
	return append([]string(nil), names...)
}

// Lookup returns the setting called name.
func Lookup(name string) (Setting, bool) {
	i, ok := byName[name]
	if !ok {
		return Setting{}, false
	}
	return table[i], true
}
