package data

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func solid(w, h int, c color.Color) *image.NRGBA {
	m := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			m.Set(x, y, c)
		}
	}
	return m
}

func pngBytes(t testing.TB, m image.Image) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, m); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func jpegBytes(t testing.TB, m image.Image) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := jpeg.Encode(&b, m, &jpeg.Options{Quality: 100}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// pngHeader is a PNG whose header declares w×h pixels and whose data is
// missing: enough for image.DecodeConfig.
func pngHeader(w, h uint32) []byte {
	var ihdr bytes.Buffer
	ihdr.WriteString("IHDR")
	binary.Write(&ihdr, binary.BigEndian, w)
	binary.Write(&ihdr, binary.BigEndian, h)
	ihdr.Write([]byte{8, 2, 0, 0, 0})
	var b bytes.Buffer
	b.WriteString("\x89PNG\r\n\x1a\n")
	binary.Write(&b, binary.BigEndian, uint32(13))
	b.Write(ihdr.Bytes())
	binary.Write(&b, binary.BigEndian, crc32.ChecksumIEEE(ihdr.Bytes()))
	return b.Bytes()
}

// catColor is the colour of cat image i; dog image i is gray 20·i.
func catColor(i int) color.NRGBA { return color.NRGBA{uint8(10 * i), 200, 30, uint8(255 - i)} }

// writeFolder makes root/cat (n solid-colour 6×4 NRGBA PNGs, one named
// .PNG, plus a text file) and root/dog (n gray 6×4 PNGs, one of them a
// JPEG named .JPG), and a hidden folder that must be ignored.
func writeFolder(t testing.TB, root string, n int) {
	t.Helper()
	for i := range n {
		name := filepath.Join(root, "cat", "c"+string(rune('a'+i))+".png")
		if i == 1 {
			name = strings.TrimSuffix(name, ".png") + ".PNG"
		}
		writeFile(t, name, pngBytes(t, solid(6, 4, catColor(i))))
		g := image.NewGray(image.Rect(0, 0, 6, 4))
		for j := range g.Pix {
			g.Pix[j] = uint8(20 * i)
		}
		if i == 2 {
			writeFile(t, filepath.Join(root, "dog", "d"+string(rune('a'+i))+".JPG"), jpegBytes(t, g))
		} else {
			writeFile(t, filepath.Join(root, "dog", "d"+string(rune('a'+i))+".png"), pngBytes(t, g))
		}
	}
	writeFile(t, filepath.Join(root, "cat", "notes.txt"), []byte("not an image"))
	writeFile(t, filepath.Join(root, ".cache", "x.png"), pngBytes(t, solid(3, 3, color.Black)))
}

func TestImageFolderSplit(t *testing.T) {
	root := t.TempDir()
	writeFolder(t, root, 10)
	train, test, err := Load(Spec{Name: "imagefolder", Path: root, Seed: 1})
	if err != nil {
		t.Fatalf("Load(imagefolder) error: %v", err)
	}
	if !slices.Equal(train.Classes, []string{"cat", "dog"}) || !slices.Equal(test.Classes, train.Classes) {
		t.Fatalf("Load(imagefolder) classes = %v, %v, want [cat dog] (sorted folder names)", train.Classes, test.Classes)
	}
	if train.N != 16 || test.N != 4 || train.C != 3 || train.H != 4 || train.W != 6 {
		t.Fatalf("Load(imagefolder) = %d train, %d test of %d×%d×%d, want 16 and 4 (80/20 per class) of 3×4×6", train.N, test.N, train.C, train.H, train.W)
	}
	counts := map[int]int{}
	for _, l := range test.Labels {
		counts[l]++
	}
	if counts[0] != 2 || counts[1] != 2 {
		t.Errorf("Load(imagefolder) test labels = %v, want 2 of each class", test.Labels)
	}
	// Every image lands in exactly one part, decoded exactly.
	seenCat, seenDog := map[int]bool{}, map[int]bool{}
	for _, s := range []*Set{train, test} {
		for i := range s.N {
			im := s.Image(i)
			r, g, b := im[0], im[24], im[48]
			for j := range 24 {
				if im[j] != r || im[24+j] != g || im[48+j] != b {
					t.Fatalf("image %d is not one colour: %v", i, im)
				}
			}
			switch s.Labels[i] {
			case 0:
				k := int(r*255/10 + 0.5)
				want := catColor(k)
				if r != float32(want.R)/255 || g != float32(want.G)/255 || b != float32(want.B)/255 {
					t.Errorf("cat image %d = (%v, %v, %v), want %v/255 (alpha dropped)", k, r, g, b, want)
				}
				seenCat[k] = true
			case 1:
				k := int(r*255/20 + 0.5)
				tol := float32(0)
				if k == 2 {
					tol = 2.0 / 255 // the JPEG
				}
				if !near(r, float32(20*k)/255, tol) || r != g || r != b {
					t.Errorf("dog image %d = (%v, %v, %v), want three equal channels %v", k, r, g, b, float32(20*k)/255)
				}
				seenDog[k] = true
			}
		}
	}
	if len(seenCat) != 10 || len(seenDog) != 10 {
		t.Errorf("Load(imagefolder) saw cats %v and dogs %v, want all 10 of each", seenCat, seenDog)
	}

	again, againTest, _ := Load(Spec{Name: "imagefolder", Path: root, Seed: 1})
	if again.Checksum() != train.Checksum() || againTest.Checksum() != test.Checksum() {
		t.Error("Load(imagefolder, seed 1) differs between two loads")
	}
	_, other, _ := Load(Spec{Name: "imagefolder", Path: root, Seed: 2})
	if other.Checksum() == test.Checksum() {
		t.Error("Load(imagefolder) with seeds 1 and 2 splits the same way, want a seeded split")
	}

	small, _, err := Load(Spec{Name: "imagefolder", Path: root, Seed: 1, ImageSize: 3})
	if err != nil {
		t.Fatalf("Load(imagefolder, ImageSize 3) error: %v", err)
	}
	if small.H != 3 || small.W != 3 || len(small.Images) != 16*27 {
		t.Fatalf("Load(imagefolder, ImageSize 3) = %d×%d, %d pixels, want 3×3, %d", small.H, small.W, len(small.Images), 16*27)
	}
	for i := range small.N {
		if got, want := small.Image(i)[4], train.Image(i)[0]; !near(got, want, 1e-6) {
			t.Errorf("resized one-colour image %d = %v, want %v", i, got, want)
		}
	}
}

func TestImageFolderTestPath(t *testing.T) {
	root, testRoot := t.TempDir(), t.TempDir()
	writeFolder(t, root, 3)
	writeFolder(t, testRoot, 2)
	train, test, err := Load(Spec{Name: "imagefolder", Path: root, TestPath: testRoot, ImageSize: 4})
	if err != nil {
		t.Fatalf("Load(imagefolder, TestPath) error: %v", err)
	}
	if train.N != 6 || test.N != 4 || test.H != 4 || test.W != 4 {
		t.Fatalf("Load(imagefolder, TestPath) = %d train, %d test %d×%d, want 6, 4 of 4×4", train.N, test.N, test.H, test.W)
	}
	if want := []int{0, 0, 0, 1, 1, 1}; !slices.Equal(train.Labels, want) {
		t.Errorf("Load(imagefolder) train labels = %v, want %v (class by class, by file name)", train.Labels, want)
	}
}

func TestImageFolderFormats(t *testing.T) {
	root := t.TempDir()
	g16 := image.NewGray16(image.Rect(0, 0, 2, 2))
	for i := range 4 {
		g16.SetGray16(i%2, i/2, color.Gray16{Y: uint16(i * 20000)})
	}
	pal := image.NewPaletted(image.Rect(0, 0, 2, 2), color.Palette{color.RGBA{255, 0, 0, 255}, color.RGBA{0, 0, 255, 255}})
	pal.SetColorIndex(1, 0, 1)
	rgb := image.NewRGBA(image.Rect(0, 0, 2, 2))
	for i := range rgb.Pix {
		rgb.Pix[i] = 255
	}
	rgb.Set(0, 1, color.RGBA{0, 51, 102, 255})
	writeFile(t, filepath.Join(root, "a", "gray16.png"), pngBytes(t, g16))
	writeFile(t, filepath.Join(root, "a", "pal.png"), pngBytes(t, pal))
	writeFile(t, filepath.Join(root, "a", "rgb.png"), pngBytes(t, rgb))
	writeFile(t, filepath.Join(root, "b", "x.jpeg"), jpegBytes(t, solid(2, 2, color.NRGBA{40, 120, 200, 255})))
	train, test, err := Load(Spec{Name: "imagefolder", Path: root, Seed: 3})
	if err != nil {
		t.Fatalf("Load(imagefolder) error: %v", err)
	}
	all := map[string][]float32{}
	for _, s := range []*Set{train, test} {
		for i := range s.N {
			im := s.Image(i)
			switch {
			case s.Labels[i] == 1:
				all["jpeg"] = im
			case im[0] == 0 && im[1] != 0:
				all["gray16"] = im
			case im[1] == 0:
				all["pal"] = im
			default:
				all["rgb"] = im
			}
		}
	}
	want := map[string][]float32{
		"gray16": {0, 20000. / 65535, 40000. / 65535, 60000. / 65535, 0, 20000. / 65535, 40000. / 65535, 60000. / 65535, 0, 20000. / 65535, 40000. / 65535, 60000. / 65535},
		"pal":    {1, 0, 1, 1, 0, 0, 0, 0, 0, 1, 0, 0},
		"rgb":    {1, 1, 0, 1, 1, 1, 0.2, 1, 1, 1, 0.4, 1},
		"jpeg":   {40. / 255, 40. / 255, 40. / 255, 40. / 255, 120. / 255, 120. / 255, 120. / 255, 120. / 255, 200. / 255, 200. / 255, 200. / 255, 200. / 255},
	}
	for name, w := range want {
		got, ok := all[name]
		if !ok {
			t.Errorf("Load(imagefolder) lost the %s image; got %v", name, all)
			continue
		}
		tol := float32(1e-6)
		if name == "jpeg" {
			tol = 3.0 / 255
		}
		for j := range w {
			if !near(got[j], w[j], tol) {
				t.Errorf("%s image = %v, want %v", name, got, w)
				break
			}
		}
	}
}

func TestImageFolderErrors(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T, root, testRoot string)
		size  int
		test  bool
		want  []string
	}{
		{"no classes", func(t *testing.T, root, _ string) {
			writeFile(t, filepath.Join(root, "loose.png"), pngBytes(t, solid(2, 2, color.White)))
		}, 0, false, []string{"has no class folders"}},
		{"missing root", func(t *testing.T, root, _ string) { os.RemoveAll(root) }, 0, false, []string{"no such file"}},
		{"empty class", func(t *testing.T, root, _ string) {
			writeFolder(t, root, 2)
			writeFile(t, filepath.Join(root, "emu", "readme.md"), []byte("x"))
		}, 0, false, []string{filepath.Join("emu"), "has no .png, .jpg or .jpeg images"}},
		{"unreadable image", func(t *testing.T, root, _ string) {
			writeFolder(t, root, 3)
			writeFile(t, filepath.Join(root, "dog", "broken.png"), []byte("\x89PNG\r\n\x1a\ngarbage"))
		}, 4, false, []string{"unreadable image", filepath.Join("dog", "broken.png")}},
		{"truncated image data", func(t *testing.T, root, _ string) {
			writeFolder(t, root, 3)
			b := pngBytes(t, solid(6, 4, color.White))
			writeFile(t, filepath.Join(root, "cat", "cut.png"), b[:len(b)-20])
		}, 4, false, []string{"unreadable image", filepath.Join("cat", "cut.png")}},
		{"huge image", func(t *testing.T, root, _ string) {
			writeFolder(t, root, 3)
			writeFile(t, filepath.Join(root, "cat", "huge.png"), pngHeader(100000, 100000))
		}, 4, false, []string{filepath.Join("cat", "huge.png"), "100000×100000"}},
		{"mixed sizes", func(t *testing.T, root, _ string) {
			writeFolder(t, root, 3)
			writeFile(t, filepath.Join(root, "dog", "big.png"), pngBytes(t, solid(8, 8, color.White)))
		}, 0, false, []string{filepath.Join("dog", "big.png"), "8×8", "set image_size"}},
		{"test classes differ", func(t *testing.T, root, testRoot string) {
			writeFolder(t, root, 3)
			writeFile(t, filepath.Join(testRoot, "cat", "a.png"), pngBytes(t, solid(6, 4, color.White)))
			writeFile(t, filepath.Join(testRoot, "cow", "a.png"), pngBytes(t, solid(6, 4, color.White)))
		}, 0, true, []string{"class folders differ", "only in path: [dog]", "only in test_path: [cow]"}},
		{"empty test class", func(t *testing.T, root, testRoot string) {
			writeFolder(t, root, 3)
			writeFile(t, filepath.Join(testRoot, "cat", "a.png"), pngBytes(t, solid(6, 4, color.White)))
			os.MkdirAll(filepath.Join(testRoot, "dog"), 0o755)
		}, 0, true, []string{"test_path", "dog", "has no .png"}},
	}
	for _, tt := range tests {
		root, testRoot := t.TempDir(), t.TempDir()
		tt.setup(t, root, testRoot)
		spec := Spec{Name: "imagefolder", Path: root, ImageSize: tt.size}
		if tt.test {
			spec.TestPath = testRoot
		}
		_, _, err := Load(spec)
		if err == nil {
			t.Errorf("%s: Load(imagefolder) error = nil, want one containing %q", tt.name, tt.want)
			continue
		}
		for _, w := range tt.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: Load(imagefolder) error = %q, want it to contain %q", tt.name, err, w)
			}
		}
		if tt.name == "missing root" && !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s: errors.Is(err, fs.ErrNotExist) = false, want true", tt.name)
		}
	}
}

func TestSplitItems(t *testing.T) {
	for _, n := range []int{1, 2, 3, 5, 10, 11, 100} {
		items := make([]folderItem, n)
		for i := range items {
			items[i] = folderItem{path: string(rune('a' + i%26)), label: 0}
		}
		train, test := splitItems(items, 1, 9)
		want := int(float64(n)*testFraction + 0.5)
		if n >= 2 {
			want = min(max(want, 1), n-1)
		}
		if len(test) != want || len(train)+len(test) != n {
			t.Errorf("splitItems(%d items) = %d train, %d test, want %d, %d", n, len(train), len(test), n-want, want)
		}
	}
}
