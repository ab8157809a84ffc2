package config

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// FieldError is a validation failure of one setting. Key is the setting
// name as users write it; Valid, when set, lists the accepted choices.
type FieldError struct {
	Key   string
	Value any
	Msg   string
	Valid []string
}

func (e *FieldError) Error() string {
	s := fmt.Sprintf("%s: %s", e.Key, e.Msg)
	if len(e.Valid) > 0 {
		s += " (valid: " + strings.Join(e.Valid, ", ") + ")"
	}
	return s
}

// IsValidationError reports whether err came from Validate.
func IsValidationError(err error) bool {
	var fe *FieldError
	return errors.As(err, &fe)
}

// SortedCopy returns a sorted copy of a choice list, for messages.
func SortedCopy(list []string) []string {
	out := append([]string(nil), list...)
	sort.Strings(out)
	return out
}

// Validate checks every setting against its description (Settings:
// choices, range, list rules), then the rules between settings, and
// returns the first problem as a *FieldError (errors.As), or nil. It
// reads no files: simclr/data checks that a dataset's files exist.
func (c *Config) Validate() error {
	for _, s := range table {
		if err := s.check(s.Field(c)); err != nil {
			return err
		}
	}
	return c.checkRules()
}

// check validates one setting's value v against its description.
func (s Setting) check(v reflect.Value) *FieldError {
	fail := func(format string, args ...any) *FieldError {
		return &FieldError{Key: s.Name, Value: v.Interface(), Msg: fmt.Sprintf(format, args...)}
	}
	if !s.Kind.IsList() {
		return s.checkOne(v, "", fail)
	}
	if s.NonEmpty && v.Len() == 0 {
		e := fail("needs at least one %s", s.elem())
		e.Valid = s.Choices
		return e
	}
	for i := range v.Len() {
		if e := s.checkOne(v.Index(i), "each "+s.elem()+" ", fail); e != nil {
			return e
		}
		if s.Unique {
			for j := range i {
				if v.Index(j).Equal(v.Index(i)) {
					return fail("%s %s appears twice", s.elem(), show(v.Index(i)))
				}
			}
		}
	}
	return nil
}

// checkOne validates a single value (a setting, or one element of a list;
// each is "each transform " for the elements).
func (s Setting) checkOne(v reflect.Value, each string, fail func(string, ...any) *FieldError) *FieldError {
	switch v.Kind() {
	case reflect.String:
		if s.Choices != nil && !slices.Contains(s.Choices, v.String()) {
			e := fail("unknown %s %q", s.elem(), v.String())
			e.Valid = s.Choices
			return e
		}
	case reflect.Int, reflect.Int64:
		if s.Range != nil && !s.Range.Contains(float64(v.Int())) {
			return fail("%smust be %s, got %d", each, s.rangeText(), v.Int())
		}
	case reflect.Float64:
		if s.Range != nil && !s.Range.Contains(v.Float()) {
			return fail("%smust be %s, got %g", each, s.rangeText(), v.Float())
		}
	}
	return nil
}

// show writes one list element for a message.
func show(v reflect.Value) string {
	switch v.Kind() {
	case reflect.String:
		return strconv.Quote(v.String())
	case reflect.Float64:
		return strconv.FormatFloat(v.Float(), 'g', -1, 64)
	}
	return fmt.Sprint(v.Interface())
}

// trains reports whether the method trains an encoder for epochs.
func (c *Config) trains() bool {
	return c.Method == MethodSimCLR || c.Method == MethodSupervised
}

// checkRules checks what depends on more than one setting.
func (c *Config) checkRules() error {
	if c.Blocks != nil && len(c.Blocks) == 0 {
		return &FieldError{Key: "blocks", Value: c.Blocks, Msg: "needs at least one stage; leave blocks out for the encoder's preset"}
	}
	if c.Method == MethodSimCLR && c.Head != "none" && c.ProjDim == 0 {
		return &FieldError{Key: "proj_dim", Value: 0, Msg: "must be positive for a linear or nonlinear head"}
	}
	if c.Method == MethodSimCLR && c.BatchSize < 2 {
		return &FieldError{Key: "batch_size", Value: c.BatchSize, Msg: "NT-Xent needs at least 2 images per batch (one negative pair)"}
	}
	if c.Steps > 0 && c.Epochs > 0 {
		return &FieldError{Key: "steps", Value: c.Steps, Msg: fmt.Sprintf(
			"training length is epochs or steps, not both: epochs is %d and steps %d (set epochs = 0, or leave steps out)", c.Epochs, c.Steps)}
	}
	if c.trains() && c.Epochs < 1 && c.Steps < 1 {
		return &FieldError{Key: "epochs", Value: c.Epochs, Msg: fmt.Sprintf(
			"must be >= 1 for method %s, got %d; method = %q scores an untrained encoder", c.Method, c.Epochs, MethodRandomInit)}
	}
	// With steps, the epochs are known once the data is: the warm-up and
	// the milestones are checked against them when training starts.
	if c.trains() && c.Steps == 0 && c.WarmupEpochs > c.Epochs {
		return &FieldError{Key: "warmup_epochs", Value: c.WarmupEpochs, Msg: fmt.Sprintf(
			"must be <= epochs (%d), got %d: the warm-up would never reach the peak rate", c.Epochs, c.WarmupEpochs)}
	}
	if err := c.checkSchedule(); err != nil {
		return err
	}
	if slices.Contains(c.Eval, "finetune") {
		if len(c.LabelFraction) == 0 {
			return &FieldError{Key: "label_fraction", Value: c.LabelFraction, Msg: "needs at least one fraction for eval finetune, e.g. [0.1]"}
		}
		if c.Method != MethodRawPixels && c.FinetuneEpochs < 1 {
			return &FieldError{Key: "finetune_epochs", Value: c.FinetuneEpochs, Msg: fmt.Sprintf(
				"must be >= 1 when eval has finetune, got %d", c.FinetuneEpochs)}
		}
	}
	if c.Dataset == "imagefolder" && c.Path == "" {
		return &FieldError{Key: "path", Value: "", Msg: `imagefolder needs path = "root/<class>/*.png"`}
	}
	if c.TestPath != "" && c.Dataset != "imagefolder" {
		return &FieldError{Key: "test_path", Value: c.TestPath, Msg: fmt.Sprintf(
			"only imagefolder takes a separate test folder, not %s", c.Dataset)}
	}
	if c.Dataset == "synthetic" && c.ImageSize != 0 && c.ImageSize < MinSyntheticSide {
		return &FieldError{Key: "image_size", Value: c.ImageSize, Msg: fmt.Sprintf(
			"synthetic images must be 0 (32) or in [%d, %d], got %d", MinSyntheticSide, MaxImageSize, c.ImageSize)}
	}
	return nil
}

// checkSchedule checks the learning-rate schedule's settings against each
// other and against the training length.
func (c *Config) checkSchedule() error {
	sched := c.LRSchedule
	if sched == "" {
		sched = "cosine"
	}
	if c.LRFinalFraction != 0 && sched != "cosine" {
		return &FieldError{Key: "lr_final_fraction", Value: c.LRFinalFraction, Msg: fmt.Sprintf(
			"only the cosine schedule decays to a final fraction; lr_schedule is %q", sched)}
	}
	ms := c.LRMilestones
	switch {
	case sched == "step" && len(ms) == 0:
		return &FieldError{Key: "lr_milestones", Value: ms, Msg: "lr_schedule step needs at least one milestone (an epoch), e.g. [30, 60]"}
	case sched != "step" && len(ms) > 0:
		return &FieldError{Key: "lr_milestones", Value: ms, Msg: fmt.Sprintf(
			"only lr_schedule step takes milestones; lr_schedule is %q", sched)}
	}
	for i, m := range ms {
		if i > 0 && m <= ms[i-1] {
			return &FieldError{Key: "lr_milestones", Value: ms, Msg: fmt.Sprintf(
				"milestones must increase: %d after %d", m, ms[i-1])}
		}
		if m <= c.WarmupEpochs {
			return &FieldError{Key: "lr_milestones", Value: ms, Msg: fmt.Sprintf(
				"milestone %d is inside the warm-up (warmup_epochs %d); the steps come after it", m, c.WarmupEpochs)}
		}
		if c.trains() && c.Steps == 0 && m >= c.Epochs {
			return &FieldError{Key: "lr_milestones", Value: ms, Msg: fmt.Sprintf(
				"milestone %d is not before the end of training (epochs %d)", m, c.Epochs)}
		}
	}
	return nil
}
