package chart

import (
	"bytes"
	"errors"
	"fmt"
	"image/color"
	"math"
	"strconv"
	"strings"

	xfont "golang.org/x/image/font"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// Size of every figure in pixels, and the resolution that maps the
// plotting library's points to pixels.
const (
	Width  = 1200
	Height = 800
	DPI    = 96
)

// px converts pixels to the library's length unit (points, 1/72 inch).
func px(p float64) vg.Length { return vg.Length(p * 72 / DPI) }

// sans is the typeface of every text: Liberation Sans (metric-compatible
// with Arial), embedded in the binary by gonum.org/v1/plot.
var sans = font.Font{Typeface: "Liberation", Variant: "Sans"}

// Font sizes, in points (at 96 dpi a point is 4/3 pixel).
var (
	titleSize  = vg.Points(16)
	labelSize  = vg.Points(13)
	tickSize   = vg.Points(11)
	legendSize = vg.Points(11)
)

// seriesColors are Tableau 10: distinct, colour-blind aware, print well.
var seriesColors = []color.RGBA{
	{0x4e, 0x79, 0xa7, 0xff}, {0xf2, 0x8e, 0x2b, 0xff}, {0xe1, 0x57, 0x59, 0xff}, {0x76, 0xb7, 0xb2, 0xff},
	{0x59, 0xa1, 0x4f, 0xff}, {0xed, 0xc9, 0x48, 0xff}, {0xb0, 0x7a, 0xa1, 0xff}, {0xff, 0x9d, 0xa7, 0xff},
	{0x9c, 0x75, 0x5f, 0xff}, {0xba, 0xb0, 0xac, 0xff},
}

// seriesColor returns the colour of series i; after ten colours the
// cycle repeats with a dash pattern (seriesDashes) to tell lines apart.
func seriesColor(i int) color.RGBA { return seriesColors[i%len(seriesColors)] }

func seriesDashes(i int) []vg.Length {
	switch (i / len(seriesColors)) % 3 {
	case 1:
		return []vg.Length{vg.Points(6), vg.Points(3)}
	case 2:
		return []vg.Length{vg.Points(2), vg.Points(2)}
	}
	return nil
}

var seriesGlyphs = []draw.GlyphDrawer{
	draw.CircleGlyph{}, draw.BoxGlyph{}, draw.TriangleGlyph{}, draw.PyramidGlyph{}, draw.RingGlyph{}, draw.SquareGlyph{},
}

func withAlpha(c color.RGBA, a uint8) color.NRGBA { return color.NRGBA{R: c.R, G: c.G, B: c.B, A: a} }

// errPanic wraps a panic of the plotting library.
var errPanic = errors.New("chart: plotting failed")

// render draws onto a white Width×Height canvas and encodes it as PNG. A
// panic inside f (the plotting library panics on some degenerate inputs)
// is returned as an error wrapping errPanic.
func render(f func(c draw.Canvas) error) (out []byte, err error) {
	defer func() {
		if r := recover(); r != nil {
			out, err = nil, fmt.Errorf("%w: %v", errPanic, r)
		}
	}()
	img := vgimg.NewWith(vgimg.UseWH(px(Width), px(Height)), vgimg.UseDPI(DPI), vgimg.UseBackgroundColor(color.White))
	if err := f(draw.New(img)); err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(&buf); err != nil {
		return nil, fmt.Errorf("chart: encode png: %w", err)
	}
	return buf.Bytes(), nil
}

// newPlot returns a plot with the report's fonts, title and axis labels.
func newPlot(title, xLabel, yLabel string) *plot.Plot {
	p := plot.New()
	p.Title.Text = title
	p.Title.TextStyle.Font = font.From(sans, titleSize)
	p.Title.Padding = px(12)
	p.X.Label.Text = xLabel
	p.Y.Label.Text = yLabel
	for _, a := range []*plot.Axis{&p.X, &p.Y} {
		a.Label.TextStyle.Font = font.From(sans, labelSize)
		a.Tick.Label.Font = font.From(sans, tickSize)
		a.Label.Padding = px(6)
	}
	p.Legend.TextStyle.Font = font.From(sans, legendSize)
	p.Y.Tick.Marker = denseTicks{}
	return p
}

func textStyle(size vg.Length) text.Style {
	return text.Style{
		Color:   color.Black,
		Font:    font.From(sans, size),
		Handler: plot.DefaultTextHandler,
	}
}

// fit shortens s with "…" until sty draws it no wider than w.
func fit(sty text.Style, s string, w vg.Length) string {
	if sty.Width(s) <= w {
		return s
	}
	r := []rune(s)
	for len(r) > 1 {
		r = r[:len(r)-1]
		t := strings.TrimRight(string(r), " ") + "…"
		if sty.Width(t) <= w {
			return t
		}
	}
	return "…"
}

// legendEntry is one line of a legend drawn beside the plots.
type legendEntry struct {
	name   string
	thumbs []plot.Thumbnailer
}

// splitLegend reserves a column on the right of c for the entries (at
// most maxFrac of the width) and returns the canvas left for the plots and
// a function that draws the legend into the column, under a heading.
func splitLegend(c draw.Canvas, heading string, entries []legendEntry, maxFrac float64) (draw.Canvas, func()) {
	if len(entries) == 0 {
		return c, func() {}
	}
	sty := textStyle(legendSize)
	thumb := px(28)
	em := sty.Width(" ")
	var w vg.Length
	for _, e := range entries {
		w = max(w, thumb+em+sty.Width(e.name))
	}
	hsty := textStyle(legendSize)
	hsty.Font.Weight = xfont.WeightBold
	w = max(w, hsty.Width(heading))
	pad := px(16)
	maxW := vg.Length(maxFrac) * (c.Max.X - c.Min.X)
	if w+2*pad > maxW {
		w = maxW - 2*pad
	}
	left := c
	left.Max.X = c.Max.X - w - 2*pad
	col := c
	col.Min.X = left.Max.X + pad
	col.Max.X = c.Max.X - pad
	return left, func() {
		l := plot.NewLegend()
		l.TextStyle = sty
		l.Top, l.Left = true, true
		l.ThumbnailWidth = thumb
		l.Padding = px(4)
		for _, e := range entries {
			l.Add(fit(sty, e.name, w-thumb-em), e.thumbs...)
		}
		lc := col
		lc.Max.Y -= px(70) // level with the top of the plotting area, below the title
		if heading != "" {
			lc.FillText(hsty, vg.Point{X: lc.Min.X, Y: lc.Max.Y - hsty.Height(heading)}, heading)
			lc.Max.Y -= hsty.Height(heading) + px(8)
		}
		l.Draw(lc)
	}
}

// drawTitle writes a figure title centred at the top of c and returns the
// canvas below it.
func drawTitle(c draw.Canvas, title string) draw.Canvas {
	if title == "" {
		return c
	}
	sty := textStyle(vg.Points(18))
	sty.XAlign, sty.YAlign = draw.XCenter, draw.YTop
	c.FillText(sty, vg.Point{X: (c.Min.X + c.Max.X) / 2, Y: c.Max.Y - px(12)}, fit(sty, title, c.Max.X-c.Min.X-px(24)))
	c.Max.Y -= sty.Height(title) + px(24)
	return c
}

// pad shrinks c by the margins, in pixels.
func pad(c draw.Canvas, top, right, bottom, left float64) draw.Canvas {
	c.Min.X += px(left)
	c.Max.X -= px(right)
	c.Min.Y += px(bottom)
	c.Max.Y -= px(top)
	return c
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// xyErr is the data of one series for the plotter package: points with a
// symmetric error.
type xyErr struct {
	plotter.XYs
	plotter.YErrors
}

// lineStyle of series i.
func lineStyle(i int) draw.LineStyle {
	return draw.LineStyle{Color: seriesColor(i), Width: vg.Points(2), Dashes: seriesDashes(i)}
}

// denseTicks labels an axis every 1, 2, 2.5 or 5 × 10^k units, whichever
// gives 4 to 8 labels, with an unlabelled minor tick halfway: more
// reference lines than the library's default, which often labels only
// three values. With ints, steps are whole numbers (epochs) and labels
// have no decimals.
type denseTicks struct{ ints bool }

func (d denseTicks) Ticks(lo, hi float64) []plot.Tick {
	span := hi - lo
	if !(span > 0) || !finite(span) {
		return plot.DefaultTicks{}.Ticks(lo, hi)
	}
	mag := math.Pow(10, math.Floor(math.Log10(span/6)))
	step := mag
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if d.ints && (m == 2.5 || m*mag < 1) {
			continue
		}
		step = m * mag
		if span/step <= 8 {
			break
		}
	}
	if d.ints {
		step = math.Max(1, math.Round(step))
	}
	decimals := max(0, int(-math.Floor(math.Log10(step)+1e-9)))
	if m := step / math.Pow(10, math.Floor(math.Log10(step)+1e-9)); m == 2.5 {
		decimals++
	}
	if d.ints {
		decimals = 0
	}
	var ticks []plot.Tick
	for i := math.Ceil(lo / step * 2); i/2*step <= hi+step*1e-9; i++ {
		v := i / 2 * step
		if math.Mod(i, 2) != 0 {
			if !d.ints || v == math.Round(v) {
				ticks = append(ticks, plot.Tick{Value: v})
			}
			continue
		}
		ticks = append(ticks, plot.Tick{Value: v, Label: strconv.FormatFloat(v, 'f', decimals, 64)})
	}
	return ticks
}

// rect is the closed outline of an axis-aligned rectangle in data units.
func rect(x0, x1, y0, y1 float64) plotter.XYs {
	return plotter.XYs{{X: x0, Y: y0}, {X: x1, Y: y0}, {X: x1, Y: y1}, {X: x0, Y: y1}}
}
