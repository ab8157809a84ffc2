package augment

import (
	"encoding/json"
	"math"
	"os"
	"testing"
)

// parityFile holds reference outputs of torchvision functional transforms
// on one random [3, 16, 16] image: the cases.augment of the PyTorch
// reference vectors, from PyTorch 1.13 / torchvision 0.14
// (simclr/nn/testdata/gen_parity.py lists the exact calls).
const parityFile = "testdata/parity_augment.json"

type parityOp struct {
	Op     string         `json:"op"`
	Params map[string]any `json:"params"`
	Shape  []int          `json:"shape"`
	Output []float32      `json:"output"`
}

type parityCases struct {
	Augment struct {
		InputShape []int      `json:"input_shape"`
		Input      []float32  `json:"input"`
		Ops        []parityOp `json:"ops"`
	} `json:"augment"`
}

func loadParity(t *testing.T) parityCases {
	t.Helper()
	raw, err := os.ReadFile(parityFile)
	if err != nil {
		t.Fatalf("read %s: %v", parityFile, err)
	}
	var pc parityCases
	if err := json.Unmarshal(raw, &pc); err != nil {
		t.Fatalf("parse %s: %v", parityFile, err)
	}
	if len(pc.Augment.Input) != 3*16*16 || len(pc.Augment.Ops) == 0 {
		t.Fatalf("%s: input of %d values and %d ops, want 768 and some", parityFile, len(pc.Augment.Input), len(pc.Augment.Ops))
	}
	return pc
}

func num(t *testing.T, p map[string]any, key string) float64 {
	t.Helper()
	v, ok := p[key].(float64)
	if !ok {
		t.Fatalf("parity params %v: no number %q", p, key)
	}
	return v
}

// TestTorchvisionParity runs every deterministic primitive on the reference
// input and compares with torchvision within 1e-4 absolute.
func TestTorchvisionParity(t *testing.T) {
	pc := loadParity(t)
	in := pc.Augment.Input
	const c, h, w = 3, 16, 16
	seen := map[string]int{}
	for _, o := range pc.Augment.Ops {
		x := append([]float32(nil), in...)
		var got []float32
		var call string
		switch o.Op {
		case "adjust_brightness":
			f := num(t, o.Params, "factor")
			AdjustBrightness(x, c, h, w, f)
			got, call = x, "AdjustBrightness"
		case "adjust_contrast":
			AdjustContrast(x, c, h, w, num(t, o.Params, "factor"))
			got, call = x, "AdjustContrast"
		case "adjust_saturation":
			AdjustSaturation(x, c, h, w, num(t, o.Params, "factor"))
			got, call = x, "AdjustSaturation"
		case "adjust_hue":
			AdjustHue(x, c, h, w, num(t, o.Params, "factor"))
			got, call = x, "AdjustHue"
		case "rgb_to_grayscale":
			Grayscale(x, c, h, w)
			got, call = x, "Grayscale"
		case "gaussian_blur":
			got = make([]float32, len(in))
			GaussianBlur(got, in, c, h, w, int(num(t, o.Params, "kernel_size")), num(t, o.Params, "sigma"))
			call = "GaussianBlur"
		case "resized_crop":
			size := int(num(t, o.Params, "size"))
			got = make([]float32, c*size*size)
			ResizedCrop(got, in, c, h, w, int(num(t, o.Params, "top")), int(num(t, o.Params, "left")),
				int(num(t, o.Params, "height")), int(num(t, o.Params, "width")), size, size)
			call = "ResizedCrop"
		case "hflip":
			HFlip(x, c, h, w)
			got, call = x, "HFlip"
		case "rotate":
			got = make([]float32, len(in))
			Rot90(got, in, c, h, w, int(num(t, o.Params, "degrees"))/90)
			call = "Rot90"
		case "erase":
			Erase(x, c, h, w, int(num(t, o.Params, "top")), int(num(t, o.Params, "left")),
				int(num(t, o.Params, "height")), int(num(t, o.Params, "width")), float32(num(t, o.Params, "value")))
			got, call = x, "Erase"
		case "sobel_magnitude_zero_pad":
			got = make([]float32, h*w)
			SobelMagnitude(got, in, c, h, w)
			call = "SobelMagnitude"
		default:
			t.Errorf("parity op %q has no Go counterpart", o.Op)
			continue
		}
		seen[o.Op]++
		if len(got) != len(o.Output) {
			t.Errorf("%s(%v): %d values, want %d", call, o.Params, len(got), len(o.Output))
			continue
		}
		worst, at := 0.0, 0
		for i := range got {
			if d := math.Abs(float64(got[i] - o.Output[i])); d > worst || math.IsNaN(d) {
				worst, at = d, i
			}
		}
		if !(worst <= 1e-4) {
			t.Errorf("%s(%v)[%d] = %v, want %v (max abs error %.3g > 1e-4)", call, o.Params, at, got[at], o.Output[at], worst)
		}
	}
	want := map[string]int{"adjust_brightness": 1, "adjust_contrast": 1, "adjust_saturation": 1, "adjust_hue": 1,
		"rgb_to_grayscale": 1, "gaussian_blur": 2, "resized_crop": 1, "hflip": 1, "rotate": 1, "erase": 1,
		"sobel_magnitude_zero_pad": 1}
	for op, n := range want {
		if seen[op] != n {
			t.Errorf("parity cases of %s compared = %d, want %d", op, seen[op], n)
		}
	}
}
