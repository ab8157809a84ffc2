package grid

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// badFiles lists every malformed grid in testdata/bad with the line (0:
// the whole file), the key and a fragment of the message its error must
// have.
var badFiles = []struct {
	file string
	line int
	key  string
	msg  string
}{
	{"bad_blocks.toml", 3, "grid.blocks", "each block count must be >= 1, got 0"},
	{"bad_name.toml", 1, "name", `"My Grid!": use lowercase`},
	{"base_not_table.toml", 2, "base", "expected a table of settings ([base]), got integer 3"},
	{"batch_size_one.toml", 4, "variant[1].batch_size", "at least 2 images"},
	{"directory.toml", 0, "", "cannot read the grid file: is a directory"},
	{"duplicate_axis_value.toml", 3, "grid.temperature", "value 0.1 appears twice"},
	{"duplicate_key.toml", 5, "base.epochs", "defined twice"},
	{"duplicate_labels.toml", 6, "variant[2].label", `label "heads" is also the label of variant[1] (line 3)`},
	{"duplicate_table.toml", 5, "base", "defined twice"},
	{"duplicate_variants.toml", 5, "variant[2]", `cells "linear head" and "linear again" have the same settings and seed`},
	{"empty_axis.toml", 4, "grid.epochs", "empty axis"},
	{"empty_label.toml", 3, "variant[1].label", "must not be empty"},
	{"exclude_empty.toml", 5, "exclude[1]", "empty rule"},
	{"exclude_everything.toml", 6, "exclude[1]", "every cell is excluded"},
	{"exclude_matches_nothing.toml", 4, "exclude[1]", "matches no cell"},
	{"exclude_unknown_key.toml", 5, "exclude[1].temprature", "unknown setting (did you mean temperature?)"},
	{"grid_not_table.toml", 2, "grid", "expected a table of axes"},
	{"imagefolder_without_path.toml", 2, "base.path", "imagefolder needs path"},
	{"invalid_utf8.toml", 3, "base.dataset", "invalid UTF-8"},
	{"label_fraction_zero.toml", 4, "base.label_fraction", "must be in (0, 1], got 0"},
	{"max_cells_too_small.toml", 3, "grid", "expands to 4 cells (1 seed × 1 row × 2 temperature × 2 batch_size), over the limit of 3"},
	{"max_cells_zero.toml", 2, "max_cells", "must be positive, got 0"},
	{"missing_name.toml", 0, "name", "required"},
	{"negative_batch_size.toml", 4, "base.batch_size", "must be positive, got -4"},
	{"negative_epochs_axis.toml", 3, "grid.epochs", "must be >= 0, got -1"},
	{"pairwise_augment_axis.toml", 5, "grid.augment", "beside [pairwise]"},
	{"pairwise_empty.toml", 3, "pairwise.transforms", "needs at least one transform (valid: crop, flip,"},
	{"pairwise_focus_empty.toml", 4, "pairwise.focus", "needs at least one of the transforms (valid: crop, color)"},
	{"pairwise_focus_max_cells.toml", 0, "grid", "expands to 16 cells (9 rows + 1 more seed × 7 focused rows), over the limit of 15"},
	{"pairwise_focus_unknown.toml", 4, "pairwise.focus", `"noise" is not one of the transforms (valid: crop, color, blur)`},
	{"pairwise_protocol_unknown.toml", 4, "pairwise.protocol", `unknown protocol "two-branch" (valid: one-branch, both)`},
	{"pairwise_protocol_wrong_type.toml", 4, "pairwise.protocol", "expected a string"},
	{"pairwise_crop_first_one_branch.toml", 4, "pairwise.crop_first", `false needs protocol = "both"`},
	{"pairwise_crop_first_explicit_one_branch.toml", 5, "pairwise.crop_first", `false needs protocol = "both" (protocol "one-branch" crops every view first`},
	{"pairwise_crop_first_wrong_type.toml", 4, "pairwise.crop_first", "expected a boolean"},
	{"pairwise_typo_key.toml", 3, "pairwise.transfroms", "unknown key (did you mean transforms?)"},
	{"pairwise_unknown_transform.toml", 3, "pairwise.transforms", `unknown transform "colour" (valid: crop, flip, color,`},
	{"prob_out_of_range.toml", 3, "base.flip_prob", "must be in [0, 1], got 1.5"},
	{"seed_setting.toml", 3, "base.seed", "use seeds = [...]"},
	{"seeds_duplicate.toml", 2, "seeds", "seed 1 appears twice"},
	{"seeds_empty.toml", 3, "base.seeds", "needs at least one seed"},
	{"seeds_twice.toml", 4, "base.seeds", "also set at line 2"},
	{"seeds_wrong_type.toml", 2, "seeds", `expected a list of integers, got array [1, "two"]`},
	{"setting_at_top.toml", 2, "epochs", "settings belong in [base]"},
	{"syntax_unclosed_array.toml", 4, "grid.temperature", "invalid TOML: expected a comma"},
	{"syntax_unterminated_string.toml", 3, "base.dataset", "invalid TOML: strings cannot contain newlines"},
	{"too_many_cells.toml", 3, "grid", "expands to 15000 cells (5 seeds × 1 row × 10 temperature × 10 lr × 10 batch_size × 3 epochs), over the limit of 10000"},
	{"unknown_base_key.toml", 4, "base.augmnet", "unknown setting (did you mean augment?)"},
	{"unknown_dataset.toml", 3, "base.dataset", `unknown value "fashion_mnist" (valid: fashion-mnist, fashion-mnist-color,`},
	{"unknown_grid_key.toml", 4, "grid.batch_sise", "unknown setting (did you mean batch_size?)"},
	{"unknown_method_variant.toml", 6, "variant[2].method", `unknown value "raw_pixels" (valid: simclr, raw-pixels,`},
	{"unknown_top_key.toml", 1, "nmae", "unknown key (did you mean name?)"},
	{"unknown_section.toml", 3, "settings", "unknown key (valid: name, description, seeds, max_cells, base, grid, variant, pairwise, exclude)"},
	{"unknown_transform_base.toml", 3, "base.augment", `unknown transform "colour" (valid: crop, flip, color,`},
	{"unknown_transform_grid.toml", 9, "grid.augment", `unknown transform "colour" (valid: crop, flip, color, grayscale, rotate, cutout, noise, blur, sobel, roi)`},
	{"unknown_variant_key.toml", 8, "variant[2].lable", "unknown setting (did you mean label?)"},
	{"variant_not_tables.toml", 2, "variant", "expected [[variant]] tables"},
	{"variant_overrides_axis.toml", 6, "variant[1].temperature", "also a [grid] axis (line 3)"},
	{"variant_single_brackets.toml", 2, "variant", "expected [[variant]] tables (note the double brackets), got table {label}"},
	{"wrong_type_axis_element.toml", 3, "grid.epochs", `expected a list of integers, got array [1, "2"]`},
	{"wrong_type_axis_flat_list.toml", 3, "grid.augment", "its axis is a list of lists"},
	{"wrong_type_axis_scalar.toml", 3, "grid.temperature", "a [grid] axis is a list of values"},
	{"wrong_type_float_for_int.toml", 3, "base.batch_size", "expected an integer, got float 25.6"},
	{"wrong_type_string_for_int.toml", 3, "base.epochs", `expected an integer, got string "ten"`},
	// Ranges and the rules between settings (config.Config.Validate).
	{"blocks_empty.toml", 3, "base.blocks", "needs at least one stage; leave blocks out for the encoder's preset"},
	{"bn_momentum_over_one.toml", 3, "base.bn_momentum", "must be in [0, 1], got 1.5"},
	{"crop_min_scale_zero.toml", 3, "base.crop_min_scale", "must be in (0, 1], got 0"},
	{"cutout_size_over_one.toml", 4, "base.cutout_size", "must be in [0, 1], got 2"},
	{"eval_duplicate.toml", 3, "base.eval", `protocol "linear" appears twice`},
	{"eval_empty.toml", 4, "variant[1].eval", "needs at least one protocol (valid: linear, finetune)"},
	{"eval_features_unknown.toml", 3, "base.eval_features", `unknown feature "y" (valid: h, z)`},
	{"eval_unknown.toml", 3, "base.eval", `unknown protocol "knn" (valid: linear, finetune)`},
	{"finetune_without_fractions.toml", 4, "base.label_fraction", "needs at least one fraction for eval finetune"},
	{"finetune_zero_epochs.toml", 4, "base.finetune_epochs", "must be >= 1 when eval has finetune, got 0"},
	{"image_size_too_large.toml", 4, "base.image_size", "must be 0 (native) or in [1, 1024], got 2048"},
	{"label_fraction_duplicate.toml", 4, "base.label_fraction", "fraction 0.01 appears twice"},
	{"label_fraction_over_one.toml", 4, "base.label_fraction", "each fraction must be in (0, 1], got 1.5"},
	{"lr_infinite.toml", 3, "base.lr", "must be positive and finite, got +Inf"},
	{"momentum_one.toml", 4, "base.momentum", "must be in [0, 1), got 1"},
	{"negative_color_strength.toml", 3, "grid.color_strength", "must be >= 0 and finite, got -0.5"},
	{"negative_pretrain_subset.toml", 3, "base.pretrain_subset", "must be >= 0, got -1"},
	{"negative_width_variant.toml", 4, "variant[1].width", "must be >= 0, got -8"},
	{"proj_dim_zero_with_head.toml", 4, "base.proj_dim", "must be positive for a linear or nonlinear head"},
	{"simclr_zero_epochs.toml", 4, "base.epochs", `must be >= 1 for method simclr, got 0; method = "random-init" scores an untrained encoder`},
	{"supervised_zero_epochs.toml", 8, "variant[1].epochs", `must be >= 1 for method supervised, got 0; method = "random-init"`},
	{"steps_and_epochs.toml", 4, "base.steps", "training length is epochs or steps, not both: epochs is 10 and steps 780"},
	{"steps_axis_and_epochs.toml", 6, "grid.steps", "training length is epochs or steps, not both: epochs is 5 and steps 390"},
	{"lr_milestones_decreasing.toml", 5, "base.lr_milestones", "milestones must increase: 4 after 8"},
	{"lr_final_fraction_not_cosine.toml", 4, "base.lr_final_fraction", `only the cosine schedule decays to a final fraction; lr_schedule is "constant"`},
	{"unknown_lr_schedule.toml", 3, "base.lr_schedule", `unknown value "exponential" (valid: cosine, constant, step)`},
	{"synthetic_image_too_small.toml", 6, "grid.image_size", "synthetic images must be 0 (32) or in [8, 1024], got 4"},
	{"temperature_negative_axis.toml", 3, "grid.temperature", "must be positive and finite, got -0.1"},
	{"test_path_not_imagefolder.toml", 5, "base.test_path", "only imagefolder takes a separate test folder, not mnist"},
	{"unknown_encoder.toml", 3, "grid.encoder", `unknown value "resnet-50" (valid: resnet-small, resnet-18)`},
	{"unknown_lr_scaling.toml", 4, "base.lr_scaling", `unknown value "cosine" (valid: none, linear, sqrt)`},
	{"unknown_optimizer.toml", 3, "base.optimizer", `unknown value "rmsprop" (valid: sgd, lars, adam)`},
	{"warmup_longer_than_epochs.toml", 4, "base.warmup_epochs", "must be <= epochs (5), got 6"},
	{"weight_decay_nan.toml", 3, "base.weight_decay", "must be >= 0 and finite, got NaN"},
	{"zero_finetune_lr.toml", 4, "base.finetune_lr", "must be positive and finite, got 0"},
}

// TestLoadBad checks that every malformed grid gives one line
// "file:line: key: msg" (or "file: key: msg" for a whole-file problem).
func TestLoadBad(t *testing.T) {
	entries, err := os.ReadDir("testdata/bad")
	if err != nil {
		t.Fatal(err)
	}
	var onDisk []string
	for _, e := range entries {
		onDisk = append(onDisk, e.Name())
	}
	var listed []string
	for _, tc := range badFiles {
		listed = append(listed, tc.file)
	}
	slices.Sort(listed)
	if !slices.Equal(onDisk, listed) {
		t.Fatalf("testdata/bad holds %v,\nbadFiles lists %v", onDisk, listed)
	}
	if len(badFiles) < 80 {
		t.Fatalf("only %d malformed grids, want 80 or more", len(badFiles))
	}

	for _, tc := range badFiles {
		path := filepath.Join("testdata", "bad", tc.file)
		g, err := Load(path, Options{})
		if err == nil {
			t.Errorf("Load(%q) = %d cells, want an error", path, len(g.Cells))
			continue
		}
		var ge *Error
		if !errors.As(err, &ge) {
			t.Errorf("Load(%q) error %T %v, want *Error", path, err, err)
			continue
		}
		if ge.File != path || ge.Line != tc.line || ge.Key != tc.key {
			t.Errorf("Load(%q) error at %s:%d key %q, want %s:%d key %q", path, ge.File, ge.Line, ge.Key, path, tc.line, tc.key)
		}
		s := err.Error()
		prefix := path + ":" + strconv.Itoa(tc.line) + ": "
		if tc.line == 0 {
			prefix = path + ": "
		}
		if tc.key != "" {
			prefix += tc.key + ": "
		}
		if !strings.HasPrefix(s, prefix) {
			t.Errorf("Load(%q) = %q, want prefix %q", path, s, prefix)
		}
		if !strings.Contains(s, tc.msg) {
			t.Errorf("Load(%q) = %q, want it to contain %q", path, s, tc.msg)
		}
		if strings.ContainsAny(s, "\r\n") || strings.HasSuffix(s, ".") {
			t.Errorf("Load(%q) = %q, want one line without a trailing period", path, s)
		}
	}
}

func TestLoadMissingFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nope.toml")
	_, err := Load(path, Options{})
	if !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Load(%q) = %v, want an error wrapping fs.ErrNotExist", path, err)
	}
	if want := path + ": cannot read the grid file: no such file or directory"; err.Error() != want {
		t.Errorf("Load(%q) = %q, want %q", path, err, want)
	}
}
