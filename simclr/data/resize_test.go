package data

import (
	"encoding/json"
	"os"
	"testing"
)

// TestResizeParity checks the enlarging path against torchvision: the
// reference (testdata/resized_crop_parity.json, from PyTorch 1.13 /
// torchvision 0.14 by simclr/nn/testdata/gen_parity.py) is
// TF.resized_crop(img, 2, 3, 10, 8, [16, 16], BILINEAR, antialias=False),
// i.e. a 10×8 crop enlarged to 16×16, where antialiasing plays no part.
func TestResizeParity(t *testing.T) {
	b, err := os.ReadFile("testdata/resized_crop_parity.json")
	if err != nil {
		t.Fatal(err)
	}
	var ref struct {
		InputShape []int     `json:"input_shape"`
		Input      []float32 `json:"input"`
		Params     struct{ Top, Left, Height, Width, Size int }
		Shape      []int     `json:"shape"`
		Output     []float32 `json:"output"`
	}
	if err := json.Unmarshal(b, &ref); err != nil {
		t.Fatal(err)
	}
	c, h, w := ref.InputShape[0], ref.InputShape[1], ref.InputShape[2]
	p := ref.Params
	crop := make([]float32, 0, c*p.Height*p.Width)
	for ch := range c {
		for y := p.Top; y < p.Top+p.Height; y++ {
			crop = append(crop, ref.Input[ch*h*w+y*w+p.Left:ch*h*w+y*w+p.Left+p.Width]...)
		}
	}
	got := make([]float32, c*p.Size*p.Size)
	newResizer(c, p.Height, p.Width, p.Size, p.Size).resize(got, crop)
	if len(got) != len(ref.Output) {
		t.Fatalf("resize gives %d values, reference %d", len(got), len(ref.Output))
	}
	for i := range got {
		if !near(got[i], ref.Output[i], 2e-6) {
			t.Fatalf("resize(10×8 crop → 16×16)[%d] = %v, want %v (torchvision)", i, got[i], ref.Output[i])
		}
	}
}

// TestResizeShrink checks shrinking against PyTorch's antialiased weights
// (_compute_indices_weights_aa, the same as PIL's BILINEAR), worked by
// hand: output pixel i is centred at (i+0.5)·s in input coordinates
// (s = in/out) and weighs input pixel j by max(0, 1 − |j+0.5 − centre|/s),
// renormalised over the pixels inside the image. Halving [a b c d] gives
// [(3a+3b+c)/7, (b+3c+3d)/7]; shrinking by 3 weighs [1 2 3 2 1]/9 inside and
// [2 3 2 1]/8 at the left edge, [1 2 3 2]/8 at the right.
func TestResizeShrink(t *testing.T) {
	tests := []struct {
		in   []float32
		out  int
		want []float32
	}{
		{[]float32{1, 2, 4, 8}, 2, []float32{(3*1 + 3*2 + 4) / 7.0, (2 + 3*4 + 3*8) / 7.0}},
		{[]float32{1, 0, 0, 0, 0, 1}, 2, []float32{(2*1 + 3*0 + 2*0 + 1*0) / 8.0, (1*0 + 2*0 + 3*0 + 2*1) / 8.0}},
		{[]float32{1, 2, 3, 4, 5, 6, 7, 8, 9}, 3, []float32{(2*1 + 3*2 + 2*3 + 1*4) / 8.0, (1*3 + 2*4 + 3*5 + 2*6 + 1*7) / 9.0, (1*6 + 2*7 + 3*8 + 2*9) / 8.0}},
	}
	for _, tt := range tests {
		got := make([]float32, tt.out)
		newResizer(1, 1, len(tt.in), 1, tt.out).resize(got, tt.in)
		for i := range got {
			if !near(got[i], tt.want[i], 1e-6) {
				t.Errorf("resize(%v → %d) = %v, want %v", tt.in, tt.out, got, tt.want)
				break
			}
		}
		// The same along the other axis.
		got2 := make([]float32, tt.out)
		newResizer(1, len(tt.in), 1, tt.out, 1).resize(got2, tt.in)
		for i := range got2 {
			if !near(got2[i], got[i], 1e-6) {
				t.Errorf("resize(%v → %d) vertically = %v, want %v as horizontally", tt.in, tt.out, got2, got)
				break
			}
		}
	}
}

func TestResizeKeepsConstant(t *testing.T) {
	for _, sz := range [][4]int{{28, 28, 32, 32}, {28, 28, 7, 7}, {5, 9, 13, 2}, {100, 3, 1, 1}} {
		h, w, oh, ow := sz[0], sz[1], sz[2], sz[3]
		src := make([]float32, 2*h*w)
		for i := range src {
			src[i] = 0.25 + 0.5*float32(i/(h*w)) // channel 0: 0.25, channel 1: 0.75
		}
		dst := make([]float32, 2*oh*ow)
		newResizer(2, h, w, oh, ow).resize(dst, src)
		for i, v := range dst {
			if want := 0.25 + 0.5*float32(i/(oh*ow)); !near(v, want, 1e-6) {
				t.Fatalf("resize(constant %d×%d → %d×%d)[%d] = %v, want %v", h, w, oh, ow, i, v, want)
			}
		}
	}
}

func BenchmarkResize(b *testing.B) {
	for _, c := range []struct {
		name            string
		c, h, w, oh, ow int
	}{{"28to32", 1, 28, 28, 32, 32}, {"3x256to32", 3, 256, 256, 32, 32}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			src := make([]float32, c.c*c.h*c.w)
			for i := range src {
				src[i] = float32(i%97) / 97
			}
			dst := make([]float32, c.c*c.oh*c.ow)
			r := newResizer(c.c, c.h, c.w, c.oh, c.ow)
			for b.Loop() {
				r.resize(dst, src)
			}
		})
	}
}
