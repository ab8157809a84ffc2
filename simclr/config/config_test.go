package config

import (
	"errors"
	"math"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// TestSettingsDescribeEveryField: one setting per Config field, in field
// order, named by the toml tag, with a kind, a one-line doc, and choices
// or a range where the value is constrained.
func TestSettingsDescribeEveryField(t *testing.T) {
	ct := reflect.TypeFor[Config]()
	ss := Settings()
	if len(ss) != ct.NumField() {
		t.Fatalf("%d settings for %d Config fields", len(ss), ct.NumField())
	}
	for i, s := range ss {
		f := ct.Field(i)
		tag, _, _ := strings.Cut(f.Tag.Get("toml"), ",")
		json, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if s.Name != tag || s.Name != json {
			t.Errorf("setting %d = %q, field %s has toml tag %q and json name %q", i, s.Name, f.Name, tag, json)
		}
		if s.Index != i || s.Type != f.Type || s.Kind == 0 {
			t.Errorf("setting %s: Index %d Type %v Kind %v, want %d %v and a kind", s.Name, s.Index, s.Type, s.Kind, i, f.Type)
		}
		if s.Doc == "" || strings.ContainsAny(s.Doc, "\n") || strings.HasSuffix(s.Doc, ".") {
			t.Errorf("setting %s: doc %q, want one line without a trailing period", s.Name, s.Doc)
		}
		if (s.Choices != nil) && s.Kind != String && s.Kind != StringList {
			t.Errorf("setting %s: choices on a %s", s.Name, s.Kind)
		}
		if s.Range != nil && (s.Kind == String || s.Kind == StringList) {
			t.Errorf("setting %s: a range on a %s", s.Name, s.Kind)
		}
		if got, ok := Lookup(s.Name); !ok || got.Index != i {
			t.Errorf("Lookup(%q) = %v, %v", s.Name, got.Index, ok)
		}
		def := DefaultConfig()
		if !reflect.DeepEqual(s.Default(), s.Field(&def).Interface()) {
			t.Errorf("setting %s: Default() = %v, want DefaultConfig's %v", s.Name, s.Default(), s.Field(&def).Interface())
		}
	}
	if !slices.Equal(Names()[:3], []string{"method", "dataset", "path"}) || Names()[len(ss)-1] != "seed" {
		t.Errorf("Names() = %v, want field order", Names())
	}
	if _, ok := Lookup("colour"); ok {
		t.Error(`Lookup("colour") found a setting`)
	}
	for name, want := range map[string]string{
		"optimizer":      "one of sgd, lars, adam",
		"flip_prob":      "in [0, 1]",
		"batch_size":     "positive",
		"lr":             "positive and finite",
		"weight_decay":   ">= 0 and finite",
		"image_size":     "0 (native) or in [1, 1024]",
		"label_fraction": "each fraction in (0, 1]",
		"momentum":       "in [0, 1)",
		"seed":           "",
	} {
		if s, _ := Lookup(name); s.Valid() != want {
			t.Errorf("Lookup(%q).Valid() = %q, want %q", name, s.Valid(), want)
		}
	}
}

// TestClone: a clone shares no list with the original, for every list
// field (a field added later is covered too).
func TestClone(t *testing.T) {
	c := DefaultConfig()
	c.Blocks, c.AugmentB, c.LRMilestones = []int{1, 2}, []string{"crop"}, []int{3, 6}
	d := c.Clone()
	if !reflect.DeepEqual(c, d) {
		t.Fatalf("Clone() = %+v, want %+v", d, c)
	}
	cv, dv := reflect.ValueOf(&c).Elem(), reflect.ValueOf(&d).Elem()
	for i := range cv.NumField() {
		if cv.Field(i).Kind() != reflect.Slice {
			continue
		}
		if cv.Field(i).Len() == 0 {
			t.Fatalf("test config leaves list %s empty", cv.Type().Field(i).Name)
		}
		if cv.Field(i).UnsafePointer() == dv.Field(i).UnsafePointer() {
			t.Errorf("Clone shares the list %s", cv.Type().Field(i).Name)
		}
	}
	var empty Config
	if e := empty.Clone(); e.Blocks != nil || e.Augment != nil {
		t.Errorf("Clone of nil lists = %v %v, want nil (nil and empty hash differently)", e.Blocks, e.Augment)
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name string
		mut  func(*Config)
		want string // the whole FieldError message; "" = valid
	}{
		{"default", func(c *Config) {}, ""},
		{"raw pixels need no training", func(c *Config) { c.Method, c.Epochs = MethodRawPixels, 0 }, ""},
		{"random init needs no training", func(c *Config) { c.Method, c.Epochs = MethodRandomInit, 0 }, ""},
		{"image size at the limit", func(c *Config) { c.ImageSize = MaxImageSize }, ""},
		{"synthetic at 8 px", func(c *Config) { c.Dataset, c.ImageSize = "synthetic", 8 }, ""},
		{"warm-up of every epoch", func(c *Config) { c.WarmupEpochs = c.Epochs }, ""},
		{"repeated transforms", func(c *Config) { c.Augment = []string{"crop", "crop"} }, ""},
		{"imagefolder with test root", func(c *Config) { c.Dataset, c.Path, c.TestPath = "imagefolder", "a", "b" }, ""},
		{"steps instead of epochs", func(c *Config) { c.Epochs, c.Steps = 0, 780 }, ""},
		{"steps with a long warm-up (checked when training starts)", func(c *Config) { c.Epochs, c.Steps, c.WarmupEpochs = 0, 10, 50 }, ""},
		{"constant schedule", func(c *Config) { c.LRSchedule = "constant" }, ""},
		{"cosine to a fraction", func(c *Config) { c.LRFinalFraction = 0.1 }, ""},
		{"step schedule", func(c *Config) { c.LRSchedule, c.LRMilestones, c.WarmupEpochs = "step", []int{4, 8}, 2 }, ""},
		{"step milestones with steps", func(c *Config) { c.Epochs, c.Steps, c.LRSchedule, c.LRMilestones = 0, 100, "step", []int{40} }, ""},
		{"kNN monitor off", func(c *Config) { c.KNNTrain, c.KNNTest = 0, 0 }, ""},
		{"kNN monitor off by its test size", func(c *Config) { c.KNNTest = 0 }, ""},

		{"unknown method", func(c *Config) { c.Method = "byol" }, `method: unknown value "byol" (valid: simclr, raw-pixels, random-init, supervised)`},
		{"unknown transform", func(c *Config) { c.Augment = []string{"crop", "colour"} }, `augment: unknown transform "colour" (valid: crop, flip, color, grayscale, rotate, cutout, noise, blur, sobel, roi)`},
		{"negative batch", func(c *Config) { c.BatchSize = -4 }, "batch_size: must be positive, got -4"},
		{"negative epochs", func(c *Config) { c.Epochs = -1 }, "epochs: must be >= 0, got -1"},
		{"zero temperature", func(c *Config) { c.Temperature = 0 }, "temperature: must be positive and finite, got 0"},
		{"infinite lr", func(c *Config) { c.LR = math.Inf(1) }, "lr: must be positive and finite, got +Inf"},
		{"NaN decay", func(c *Config) { c.WeightDecay = math.NaN() }, "weight_decay: must be >= 0 and finite, got NaN"},
		{"probability", func(c *Config) { c.FlipProb = 1.5 }, "flip_prob: must be in [0, 1], got 1.5"},
		{"momentum 1", func(c *Config) { c.Momentum = 1 }, "momentum: must be in [0, 1), got 1"},
		{"crop scale 0", func(c *Config) { c.CropMinScale = 0 }, "crop_min_scale: must be in (0, 1], got 0"},
		{"image size over the limit", func(c *Config) { c.ImageSize = 2048 }, "image_size: must be 0 (native) or in [1, 1024], got 2048"},
		{"synthetic too small", func(c *Config) { c.Dataset, c.ImageSize = "synthetic", 4 }, "image_size: synthetic images must be 0 (32) or in [8, 1024], got 4"},
		{"zero block", func(c *Config) { c.Blocks = []int{2, 0} }, "blocks: each block count must be >= 1, got 0"},
		{"no stages", func(c *Config) { c.Blocks = []int{} }, "blocks: needs at least one stage; leave blocks out for the encoder's preset"},
		{"fraction 0", func(c *Config) { c.LabelFraction = []float64{0.1, 0} }, "label_fraction: each fraction must be in (0, 1], got 0"},
		{"fraction twice", func(c *Config) { c.LabelFraction = []float64{0.1, 0.1} }, "label_fraction: fraction 0.1 appears twice"},
		{"no protocol", func(c *Config) { c.Eval = nil }, "eval: needs at least one protocol (valid: linear, finetune)"},
		{"protocol twice", func(c *Config) { c.Eval = []string{"linear", "linear"} }, `eval: protocol "linear" appears twice`},
		{"no features", func(c *Config) { c.EvalFeatures = []string{} }, "eval_features: needs at least one feature (valid: h, z)"},
		{"proj dim for a head", func(c *Config) { c.ProjDim = 0 }, "proj_dim: must be positive for a linear or nonlinear head"},
		{"NT-Xent batch", func(c *Config) { c.BatchSize = 1 }, "batch_size: NT-Xent needs at least 2 images per batch (one negative pair)"},
		{"simclr without epochs", func(c *Config) { c.Epochs = 0 },
			`epochs: must be >= 1 for method simclr, got 0; method = "random-init" scores an untrained encoder`},
		{"supervised without epochs", func(c *Config) { c.Method, c.Epochs = MethodSupervised, 0 },
			`epochs: must be >= 1 for method supervised, got 0; method = "random-init" scores an untrained encoder`},
		{"warm-up longer than training", func(c *Config) { c.WarmupEpochs = c.Epochs + 1 },
			"warmup_epochs: must be <= epochs (10), got 11: the warm-up would never reach the peak rate"},
		{"epochs and steps", func(c *Config) { c.Steps = 100 },
			"steps: training length is epochs or steps, not both: epochs is 10 and steps 100 (set epochs = 0, or leave steps out)"},
		{"negative steps", func(c *Config) { c.Epochs, c.Steps = 0, -1 }, "steps: must be >= 0, got -1"},
		{"unknown schedule", func(c *Config) { c.LRSchedule = "linear" }, `lr_schedule: unknown value "linear" (valid: cosine, constant, step)`},
		{"final fraction over 1", func(c *Config) { c.LRFinalFraction = 2 }, "lr_final_fraction: must be in [0, 1], got 2"},
		{"final fraction without cosine", func(c *Config) { c.LRSchedule, c.LRFinalFraction = "constant", 0.1 },
			`lr_final_fraction: only the cosine schedule decays to a final fraction; lr_schedule is "constant"`},
		{"step without milestones", func(c *Config) { c.LRSchedule = "step" },
			"lr_milestones: lr_schedule step needs at least one milestone (an epoch), e.g. [30, 60]"},
		{"milestones without step", func(c *Config) { c.LRMilestones = []int{5} },
			`lr_milestones: only lr_schedule step takes milestones; lr_schedule is "cosine"`},
		{"milestone 0", func(c *Config) { c.LRSchedule, c.LRMilestones = "step", []int{0} }, "lr_milestones: each milestone must be >= 1, got 0"},
		{"milestone twice", func(c *Config) { c.LRSchedule, c.LRMilestones = "step", []int{3, 3} }, "lr_milestones: milestone 3 appears twice"},
		{"milestones decreasing", func(c *Config) { c.LRSchedule, c.LRMilestones = "step", []int{6, 3} },
			"lr_milestones: milestones must increase: 3 after 6"},
		{"milestone in the warm-up", func(c *Config) { c.LRSchedule, c.LRMilestones, c.WarmupEpochs = "step", []int{2, 6}, 2 },
			"lr_milestones: milestone 2 is inside the warm-up (warmup_epochs 2); the steps come after it"},
		{"milestone at the end", func(c *Config) { c.LRSchedule, c.LRMilestones = "step", []int{5, 10} },
			"lr_milestones: milestone 10 is not before the end of training (epochs 10)"},
		{"negative kNN images", func(c *Config) { c.KNNTrain = -1 }, "knn_train: must be >= 0, got -1"},
		{"finetune without fractions", func(c *Config) { c.Eval, c.LabelFraction = []string{"finetune"}, nil },
			"label_fraction: needs at least one fraction for eval finetune, e.g. [0.1]"},
		{"finetune without epochs", func(c *Config) { c.Eval, c.FinetuneEpochs = []string{"linear", "finetune"}, 0 },
			"finetune_epochs: must be >= 1 when eval has finetune, got 0"},
		{"imagefolder without path", func(c *Config) { c.Dataset = "imagefolder" }, `path: imagefolder needs path = "root/<class>/*.png"`},
		{"test root without imagefolder", func(c *Config) { c.TestPath = "t" }, "test_path: only imagefolder takes a separate test folder, not fashion-mnist"},
	}
	for _, tt := range tests {
		c := DefaultConfig()
		tt.mut(&c)
		err := c.Validate()
		if tt.want == "" {
			if err != nil {
				t.Errorf("%s: Validate() = %v, want nil", tt.name, err)
			}
			continue
		}
		var fe *FieldError
		if !errors.As(err, &fe) || err.Error() != tt.want {
			t.Errorf("%s: Validate() = %v, want %s", tt.name, err, tt.want)
		}
		if !IsValidationError(err) {
			t.Errorf("%s: IsValidationError(%v) = false", tt.name, err)
		}
	}
}

func TestTrainingLength(t *testing.T) {
	for _, tc := range []struct {
		epochs, steps, perEpoch int
		wantEpochs, wantSteps   int
	}{
		{10, 0, 39, 10, 390},
		{0, 780, 156, 5, 780},  // a whole number of epochs
		{0, 780, 100, 8, 780},  // the eighth epoch stops after 80 steps
		{0, 1, 39, 1, 1},       // one step
		{0, 390, 1000, 1, 390}, // less than an epoch
		{10, 0, 0, 10, 0},      // no full batch: nothing to train
	} {
		c := Config{Epochs: tc.epochs, Steps: tc.steps}
		e, s := c.TrainingLength(tc.perEpoch)
		if e != tc.wantEpochs || s != tc.wantSteps {
			t.Errorf("epochs %d, steps %d, %d steps an epoch: TrainingLength = %d, %d; want %d, %d",
				tc.epochs, tc.steps, tc.perEpoch, e, s, tc.wantEpochs, tc.wantSteps)
		}
	}
}
