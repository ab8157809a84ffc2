package chart

import (
	"errors"
	"fmt"
	"image"
	"image/color"
	"math"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/palette"
	"gonum.org/v1/plot/palette/moreland"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// Heatmap is a matrix of values drawn as coloured cells with each value
// printed in its cell and a colour scale on the right, e.g. the SimCLR
// paper's Figure 5 (rows: first transformation, columns: second) or a
// confusion matrix.
type Heatmap struct {
	Title   string
	XLabel  string      // under the columns
	YLabel  string      // beside the rows
	Columns []string    // column names, left to right
	Rows    []string    // row names, top to bottom
	Values  [][]float64 // [row][column]; NaN: no value (a grey cell marked "n/a")
	Format  string      // how values are printed; "" means "%.3f"
	// Notes, when set, are a second, smaller line under the values
	// ([row][column], "" for none), e.g. "± 0.012 (n=3)".
	Notes [][]string
	// Extra, when set, is one more column drawn apart on the right with
	// its own name (e.g. the row mean), on the same colour scale.
	Extra *Column
	// ScaleLabel names the colour scale, with units ("macro F1 (0–1)").
	ScaleLabel string
	// Min and Max fix the colour range; when equal, the values' range.
	Min, Max float64
}

// Column is a named column of values, one per row.
type Column struct {
	Name   string
	Values []float64
}

// colorMap is the heat maps' sequential scale: light yellow (low) to dark
// blue (high), ColorBrewer's YlGnBu, monotone in luminance so that the
// order survives greyscale printing.
func colorMap() (palette.ColorMap, error) {
	// Dark to light: NewLuminance needs rising luminance; Reverse then
	// maps the low end to the light colour.
	hex := []uint32{0x081d58, 0x253494, 0x225ea8, 0x1d91c0, 0x41b6c4, 0x7fcdbb, 0xc7e9b4, 0xedf8b1, 0xffffd9}
	cs := make([]color.Color, len(hex))
	for i, h := range hex {
		cs[i] = color.RGBA{uint8(h >> 16), uint8(h >> 8), uint8(h), 0xff}
	}
	cm, err := moreland.NewLuminance(cs)
	if err != nil {
		return nil, err
	}
	return palette.Reverse(cm), nil
}

var missingColor = color.RGBA{0xe0, 0xe0, 0xe0, 0xff}

// colorAt is cm's colour of v, clamped into cm's range; ok is false for
// a value that is not finite (or one still refused 16 ulps inside). The reversed map computes max + min - v,
// which for v at an end of the range can land an ulp outside it (gonum
// then refuses it: about one range in five at v = max), so a refused value
// is moved an ulp at a time towards the middle.
func colorAt(cm palette.ColorMap, v float64) (color.Color, bool) {
	if !finite(v) {
		return nil, false
	}
	lo, hi := cm.Min(), cm.Max()
	v = math.Max(lo, math.Min(hi, v))
	mid := lo + (hi-lo)/2
	for range 16 {
		if c, err := cm.At(v); err == nil {
			return c, true
		}
		v = math.Nextafter(v, mid)
	}
	return nil, false
}

func (h *Heatmap) check() error {
	if len(h.Rows) == 0 || len(h.Columns) == 0 {
		return errors.New("chart: heat map needs at least one row and one column")
	}
	if len(h.Values) != len(h.Rows) {
		return fmt.Errorf("chart: heat map has %d rows of values for %d row names", len(h.Values), len(h.Rows))
	}
	for i, r := range h.Values {
		if len(r) != len(h.Columns) {
			return fmt.Errorf("chart: heat map row %d has %d values for %d columns", i, len(r), len(h.Columns))
		}
	}
	if h.Extra != nil && len(h.Extra.Values) != len(h.Rows) {
		return fmt.Errorf("chart: heat map extra column has %d values for %d rows", len(h.Extra.Values), len(h.Rows))
	}
	return nil
}

// valueRange is the colour range: Min..Max when set, else the finite
// values' range, widened when flat so that the scale has a span.
func (h *Heatmap) valueRange() (lo, hi float64, ok bool) {
	if h.Min < h.Max {
		return h.Min, h.Max, true
	}
	lo, hi = math.Inf(1), math.Inf(-1)
	see := func(v float64) {
		if finite(v) {
			lo, hi = math.Min(lo, v), math.Max(hi, v)
		}
	}
	for _, r := range h.Values {
		for _, v := range r {
			see(v)
		}
	}
	if h.Extra != nil {
		for _, v := range h.Extra.Values {
			see(v)
		}
	}
	if lo > hi {
		return 0, 1, false
	}
	if lo == hi {
		d := math.Max(math.Abs(lo)*0.05, 0.01)
		lo, hi = lo-d, hi+d
	}
	return lo, hi, true
}

// extraGap is the distance, in cells, between the matrix and Extra.
const extraGap = 0.35

// PNG draws the heat map.
func (h *Heatmap) PNG() ([]byte, error) {
	if err := h.check(); err != nil {
		return nil, err
	}
	lo, hi, ok := h.valueRange()
	if !ok {
		return nil, errors.New("chart: heat map has no finite value to draw")
	}
	cm, err := colorMap()
	if err != nil {
		return nil, fmt.Errorf("chart: colour map: %w", err)
	}
	cm.SetMin(lo)
	cm.SetMax(hi)
	format := h.Format
	if format == "" {
		format = "%.3f"
	}
	return render(func(c draw.Canvas) error {
		c = pad(c, 8, 16, 12, 12)
		// The colour scale takes a column on the right.
		scaleW := px(150)
		main := c
		main.Max.X -= scaleW
		p := newPlot(h.Title, h.XLabel, h.YLabel)
		n, m := len(h.Rows), len(h.Columns)
		cells := &cellPlotter{h: h, cm: cm, format: format}
		p.Add(cells)
		ticks := make([]plot.Tick, 0, m+1)
		for j, name := range h.Columns {
			ticks = append(ticks, plot.Tick{Value: float64(j), Label: name})
		}
		if h.Extra != nil {
			ticks = append(ticks, plot.Tick{Value: float64(m) + extraGap, Label: h.Extra.Name})
		}
		p.X.Tick.Marker = plot.ConstantTicks(ticks)
		rows := make([]plot.Tick, n)
		for i, name := range h.Rows {
			rows[i] = plot.Tick{Value: float64(n - 1 - i), Label: name}
		}
		p.Y.Tick.Marker = plot.ConstantTicks(rows)
		for _, a := range []*plot.Axis{&p.X, &p.Y} {
			a.Tick.Length, a.Tick.Width, a.Width, a.Padding = 0, 0, 0, 0
		}
		// Rotate the column names when the widest would not fit its cell.
		var widest vg.Length
		for _, t := range ticks {
			widest = max(widest, p.X.Tick.Label.Width(t.Label))
		}
		approxCell := (main.Max.X - main.Min.X - px(200)) / vg.Length(float64(m)+1)
		if widest > approxCell*0.95 {
			p.X.Tick.Label.Rotation = math.Pi / 6
			p.X.Tick.Label.XAlign = draw.XRight
			p.X.Tick.Label.YAlign = draw.YCenter
		}
		p.Draw(main)
		data := p.DataCanvas(main)
		drawScale(c, data, scaleW, cm, h.ScaleLabel)
		return nil
	})
}

// cellPlotter draws the cells of a Heatmap and their values.
type cellPlotter struct {
	h      *Heatmap
	cm     palette.ColorMap
	format string
}

func (cp *cellPlotter) DataRange() (xmin, xmax, ymin, ymax float64) {
	xmax = float64(len(cp.h.Columns)) - 0.5
	if cp.h.Extra != nil {
		xmax += 1 + extraGap
	}
	return -0.5, xmax, -0.5, float64(len(cp.h.Rows)) - 0.5
}

func (cp *cellPlotter) Plot(c draw.Canvas, p *plot.Plot) {
	trX, trY := p.Transforms(&c)
	n, m := len(cp.h.Rows), len(cp.h.Columns)
	type cell struct {
		x, y float64
		v    float64
		note string
	}
	var cs []cell
	for i := range n {
		for j := range m {
			note := ""
			if i < len(cp.h.Notes) && j < len(cp.h.Notes[i]) {
				note = cp.h.Notes[i][j]
			}
			cs = append(cs, cell{float64(j), float64(n - 1 - i), cp.h.Values[i][j], note})
		}
		if cp.h.Extra != nil {
			cs = append(cs, cell{float64(m) + extraGap, float64(n - 1 - i), cp.h.Extra.Values[i], ""})
		}
	}
	const gap = 0.02 // white lines between cells
	cw := trX(1) - trX(0)
	ch := trY(1) - trY(0)
	// One font size for every cell: the largest (up to 15 pt) at which
	// the widest value fits its cell.
	sty := textStyle(vg.Points(15))
	sty.XAlign, sty.YAlign = draw.XCenter, draw.YCenter
	labels := make([]string, len(cs))
	var widest string
	for k, e := range cs {
		labels[k] = "n/a"
		if finite(e.v) {
			labels[k] = fmt.Sprintf(cp.format, e.v)
		}
		if len(labels[k]) > len(widest) {
			widest = labels[k]
		}
	}
	for sty.Font.Size > vg.Points(6) && (sty.Width(widest) > cw*0.85 || sty.Height(widest) > ch*0.6) {
		sty.Font.Size -= vg.Points(0.5)
	}
	showText := sty.Width(widest) <= cw*0.85 && sty.Height(widest) <= ch*0.6
	// Notes: at most 0.6 of the values' size, shrunk until the widest fits.
	noteSty := sty
	noteSty.Font.Size = sty.Font.Size * 0.6
	widestNote := ""
	for _, e := range cs {
		if len(e.note) > len(widestNote) {
			widestNote = e.note
		}
	}
	for noteSty.Font.Size > vg.Points(5) && noteSty.Width(widestNote) > cw*0.9 {
		noteSty.Font.Size -= vg.Points(0.5)
	}
	showNotes := widestNote != "" && showText && noteSty.Width(widestNote) <= cw*0.9 &&
		sty.Height("0")+noteSty.Height("0") <= ch*0.8
	for k, e := range cs {
		col := color.Color(missingColor)
		if cc, ok := colorAt(cp.cm, e.v); ok {
			col = cc
		}
		x0, x1 := trX(e.x-0.5+gap), trX(e.x+0.5-gap)
		y0, y1 := trY(e.y-0.5+gap), trY(e.y+0.5-gap)
		var path vg.Path
		path.Move(vg.Point{X: x0, Y: y0})
		path.Line(vg.Point{X: x1, Y: y0})
		path.Line(vg.Point{X: x1, Y: y1})
		path.Line(vg.Point{X: x0, Y: y1})
		path.Close()
		c.SetColor(col)
		c.Fill(path)
		if showText {
			t := sty
			t.Color = textOn(col)
			mid := vg.Point{X: (x0 + x1) / 2, Y: (y0 + y1) / 2}
			if showNotes && e.note != "" {
				nt := noteSty
				nt.Color = t.Color
				up := noteSty.Height("0") * 0.6
				c.FillText(t, vg.Point{X: mid.X, Y: mid.Y + up}, labels[k])
				c.FillText(nt, vg.Point{X: mid.X, Y: mid.Y - sty.Height("0")*0.6}, e.note)
				continue
			}
			c.FillText(t, mid, labels[k])
		}
	}
}

// textOn returns black or white, whichever reads better on bg.
func textOn(bg color.Color) color.Color {
	r, g, b, _ := bg.RGBA()
	lum := (0.299*float64(r) + 0.587*float64(g) + 0.114*float64(b)) / 0xffff
	if lum < 0.55 {
		return color.White
	}
	return color.Black
}

// drawScale draws a vertical colour bar in the right-hand column of c
// (width w), as tall as the data area, with ticks and a label.
func drawScale(c, data draw.Canvas, w vg.Length, cm palette.ColorMap, label string) {
	barW := px(28)
	x0 := c.Max.X - w + px(30)
	x1 := x0 + barW
	y0, y1 := data.Min.Y, data.Max.Y
	const steps = 256
	lo, hi := cm.Min(), cm.Max()
	img := image.NewRGBA(image.Rect(0, 0, 1, steps))
	for s := range steps {
		v := lo + (hi-lo)*(float64(s)+0.5)/steps
		if col, ok := colorAt(cm, v); ok {
			img.Set(0, steps-1-s, col)
		}
	}
	c.DrawImage(vg.Rectangle{Min: vg.Point{X: x0, Y: y0}, Max: vg.Point{X: x1, Y: y1}}, img)
	ls := draw.LineStyle{Color: color.Black, Width: vg.Points(0.75)}
	c.StrokeLines(ls, []vg.Point{{X: x0, Y: y0}, {X: x1, Y: y0}, {X: x1, Y: y1}, {X: x0, Y: y1}, {X: x0, Y: y0}})
	sty := textStyle(tickSize)
	sty.XAlign, sty.YAlign = draw.XLeft, draw.YCenter
	var widest vg.Length
	for _, t := range (denseTicks{}).Ticks(lo, hi) {
		if t.Label == "" || t.Value < lo || t.Value > hi {
			continue
		}
		y := y0 + (y1-y0)*vg.Length((t.Value-lo)/(hi-lo))
		c.StrokeLine2(ls, x1, y, x1+px(6), y)
		c.FillText(sty, vg.Point{X: x1 + px(9), Y: y}, t.Label)
		widest = max(widest, sty.Width(t.Label))
	}
	if label != "" {
		ls := textStyle(labelSize)
		ls.Rotation = -math.Pi / 2
		x := x1 + px(14) + widest
		ls.XAlign, ls.YAlign = draw.XCenter, draw.YBottom
		c.FillText(ls, vg.Point{X: min(x+px(4), c.Max.X-px(4)), Y: (y0 + y1) / 2}, fit(ls, label, y1-y0))
	}
}
