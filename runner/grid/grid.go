package grid

import (
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"math"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/BurntSushi/toml"

	"github.com/simclr-ablate/simclr-ablate/simclr/config"
)

// DefaultMaxCells is the largest expansion Load and Parse accept unless the
// file's max_cells or Options.MaxCells says otherwise.
const DefaultMaxCells = 10000

// Options adjust how a grid file is read.
type Options struct {
	// Set holds command-line overrides "key=value" (runner --set). The
	// value is TOML (1, 0.5, "x", ["crop", "color"]); a bare word or a
	// list of bare words is taken as strings (dataset=mnist,
	// augment=[crop,color]). An override replaces the setting in every
	// cell, after [base], the variants and pairwise; it may not name a
	// [grid] axis. "seeds=[1,2]" replaces the file's seeds.
	Set []string
	// MaxCells, when positive, replaces the limit on the number of cells
	// (the file's max_cells, else DefaultMaxCells).
	MaxCells int
}

// Error is a problem with a grid file or a --set override, located for
// the user. Error() gives one line "file:line: key: msg", without line
// when Line is 0 and without key when Key is "".
type Error struct {
	File string // the grid file, or "--set key=value" for an override
	Line int    // 1-based line in File; 0 when the problem is the whole file
	Key  string // the key path: "base.epochs", "grid.augment", "variant[2].label"
	Msg  string
	Err  error // the underlying cause (a toml.ParseError, an fs error, a *config.FieldError), or nil
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		b.WriteString(":")
		b.WriteString(strconv.Itoa(e.Line))
	}
	b.WriteString(": ")
	if e.Key != "" {
		b.WriteString(e.Key)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	s := strings.NewReplacer("\r\n", " ", "\n", " ", "\r", " ").Replace(b.String())
	return strings.TrimRight(s, ". ")
}

func (e *Error) Unwrap() error { return e.Err }

// Cell is one run of a grid: a fully resolved, validated configuration.
type Cell struct {
	Index   int               // 0-based position in the expansion
	Label   string            // the row of the result tables; the same for every seed
	Config  config.Config     // resolved and validated, Seed set
	Varying map[string]string // the settings that differ between the grid's cells (Grid.Varying), rendered as text; seed is not among them
	Tags    map[string]string // extra facts for the report, e.g. pairwise cells: pair_first, pair_second; nil when none
	Hash    string            // Config.Hash(): the settings apart from the seed
}

// Grid is a parsed, expanded and validated grid file.
type Grid struct {
	Name        string
	Description string
	Path        string   // the file, as given to Load or Parse
	Axes        []string // the [grid] axes in file order
	Seeds       []int64  // the seeds every cell is repeated for, in order
	Varying     []string // the settings that differ between cells, in column order: axes first, then config.Config field order; seed is left out
	MaxCells    int      // the limit the expansion was checked against
	Cells       []Cell

	// For CellError: the parser that read the file, and the row of
	// each cell.
	parser   *parser
	rows     []row
	cellRows []int
}

// CellError places err, a problem with cell i's settings found after Load
// (a *config.FieldError, such as simclr/data's Check of a missing dataset
// file), where the cell's key was set, as Load places what
// config.Config.Validate finds: an *Error naming the file (or --set), the
// line and the key path. Any other error comes back as an *Error on the
// grid file.
func (g *Grid) CellError(i int, err error) error {
	if g.parser == nil || i < 0 || i >= len(g.cellRows) {
		return &Error{File: g.Path, Msg: err.Error(), Err: err}
	}
	return g.parser.validationError(err, g.rows[g.cellRows[i]])
}

// Load reads the grid file at path and returns its cells, every one
// validated, or an *Error naming the file, line and key of the first
// problem.
func Load(path string, opt Options) (*Grid, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		cause := err
		var pe *fs.PathError
		if errors.As(err, &pe) {
			cause = pe.Err
		}
		return nil, &Error{File: path, Msg: fmt.Sprintf("cannot read the grid file: %v", cause), Err: err}
	}
	return Parse(path, src, opt)
}

// Parse is Load for a file already read; path is used in messages and
// recorded in Grid.Path.
func Parse(path string, src []byte, opt Options) (*Grid, error) {
	if path == "" {
		path = "<grid>"
	}
	p := &parser{path: path, opt: opt}
	return p.parse(src)
}

var topKeys = []string{"name", "description", "seeds", "max_cells", "base", "grid", "variant", "pairwise", "exclude"}

// rawFile is the first decoding pass: every top-level key stays a
// Primitive so that type errors get our messages, not the decoder's.
type rawFile struct {
	Name        toml.Primitive `toml:"name"`
	Description toml.Primitive `toml:"description"`
	Seeds       toml.Primitive `toml:"seeds"`
	MaxCells    toml.Primitive `toml:"max_cells"`
	Base        toml.Primitive `toml:"base"`
	Grid        toml.Primitive `toml:"grid"`
	Variant     toml.Primitive `toml:"variant"`
	Pairwise    toml.Primitive `toml:"pairwise"`
	Exclude     toml.Primitive `toml:"exclude"`
}

type axis struct {
	key   string
	vals  []reflect.Value
	texts []string // render of each value
	at    place
}

type row struct {
	label   string
	path    string // "variant[2]", "pairwise", or "" for the implicit row
	labelAt string // the key path that gave the label, for errors
	sets    []assign
	tags    map[string]string
	// firstSeed: the row runs at the first seed only (a pair outside
	// [pairwise] focus).
	firstSeed bool
}

type rule struct {
	path  string // "exclude[1]"
	keys  []string
	texts []string // render of each value
	hit   bool
}

type parser struct {
	path  string
	opt   Options
	md    toml.MetaData
	lines map[string]int

	name, description string
	maxCells          int
	base              []assign
	seeds             []int64
	seedsAt           place
	axes              []axis
	rows              []row
	pairwise          bool
	rules             []rule
	sets              []assign
}

// errAt returns an *Error at the key path in the grid file.
func (p *parser) errAt(path, format string, args ...any) *Error {
	return &Error{File: p.path, Line: line(p.lines, path), Key: path, Msg: fmt.Sprintf(format, args...)}
}

// at returns the place of a key path in the grid file.
func (p *parser) at(path string) place {
	return place{file: p.path, path: path, line: line(p.lines, path)}
}

func (pl place) err(format string, args ...any) *Error {
	return &Error{File: pl.file, Line: pl.line, Key: pl.path, Msg: fmt.Sprintf(format, args...)}
}

func (p *parser) parse(src []byte) (*Grid, error) {
	var raw rawFile
	md, err := toml.Decode(string(src), &raw)
	if err != nil {
		return nil, p.syntaxError(err)
	}
	p.md = md
	p.lines = locate(string(src))

	steps := []func(*rawFile) error{
		p.checkTopKeys, p.parseHeader, p.parseBase, p.parseSeeds, p.parseAxes,
		p.parseVariants, p.parsePairwise, p.parseExcludes, p.parseSets, p.checkConflicts,
	}
	for _, step := range steps {
		if err := step(&raw); err != nil {
			return nil, err
		}
	}
	// Every key has been decoded by now; anything left is a key this
	// parser does not know.
	if keys := p.md.Undecoded(); len(keys) > 0 {
		return nil, p.errAt(keys[0].String(), "unknown key")
	}
	return p.expand()
}

var dupKey = regexp.MustCompile(`^Key '(.*)' has already been defined`)

// syntaxError turns a toml.ParseError into an *Error at its line.
func (p *parser) syntaxError(err error) error {
	var pe toml.ParseError
	if !errors.As(err, &pe) {
		return &Error{File: p.path, Msg: "invalid TOML: " + err.Error(), Err: err}
	}
	key, msg := pe.LastKey, strings.TrimSuffix(pe.Message, ".")
	if m := dupKey.FindStringSubmatch(pe.Message); m != nil {
		key, msg = m[1], "defined twice (a key or table may appear only once)"
	}
	if msg != "" {
		msg = strings.ToLower(msg[:1]) + msg[1:]
	}
	return &Error{File: p.path, Line: pe.Position.Line, Key: key, Msg: "invalid TOML: " + msg, Err: err}
}

// checkTopKeys rejects top-level keys other than topKeys, suggesting the
// closest one.
func (p *parser) checkTopKeys(*rawFile) error {
	for _, k := range p.md.Keys() {
		if slices.Contains(topKeys, k[0]) {
			continue
		}
		if _, ok := settings[k[0]]; ok {
			return p.errAt(k[0], "settings belong in [base] (or a [grid] axis, or a [[variant]])")
		}
		return p.errAt(k[0], "unknown key%s", didYouMean(k[0], topKeys))
	}
	return nil
}

// didYouMean is " (did you mean x?)" for the candidate closest to word,
// or the list of candidates when none is close.
func didYouMean(word string, candidates []string) string {
	if s := suggest(word, candidates); s != "" {
		return " (did you mean " + s + "?)"
	}
	return " (valid: " + strings.Join(candidates, ", ") + ")"
}

var nameRe = regexp.MustCompile(`^[a-z0-9_-]+$`)

func (p *parser) parseHeader(raw *rawFile) error {
	if !p.md.IsDefined("name") {
		return &Error{File: p.path, Key: "name", Msg: `required: name the experiment, e.g. name = "augment_ablation"`}
	}
	v, msg := decodeValue(&p.md, raw.Name, reflect.TypeFor[string]())
	if msg != "" {
		return p.errAt("name", "%s", msg)
	}
	p.name = v.String()
	if !nameRe.MatchString(p.name) {
		return p.errAt("name", "%q: use lowercase letters, digits, _ and - only", p.name)
	}
	if p.md.IsDefined("description") {
		v, msg := decodeValue(&p.md, raw.Description, reflect.TypeFor[string]())
		if msg != "" {
			return p.errAt("description", "%s", msg)
		}
		p.description = v.String()
	}
	if p.md.IsDefined("max_cells") {
		v, msg := decodeValue(&p.md, raw.MaxCells, reflect.TypeFor[int]())
		if msg != "" {
			return p.errAt("max_cells", "%s", msg)
		}
		if v.Int() <= 0 {
			return p.errAt("max_cells", "must be positive, got %d", v.Int())
		}
		p.maxCells = int(v.Int())
	}
	return nil
}

// table decodes the table at key (a section such as [base]) into its keys,
// sorted by the line they are on.
func (p *parser) table(key string, prim toml.Primitive, what string) (map[string]toml.Primitive, []string, error) {
	// The decoder turns a non-table into an empty map without complaint,
	// so check the shape first.
	var v any
	_ = p.md.PrimitiveDecode(prim, &v)
	var m map[string]toml.Primitive
	if _, ok := v.(map[string]any); !ok {
		return nil, nil, p.errAt(key, "expected %s, got %s", what, describe(v))
	}
	if err := p.md.PrimitiveDecode(prim, &m); err != nil {
		return nil, nil, p.errAt(key, "expected %s: %v", what, err)
	}
	return m, p.byLine(key, m), nil
}

// tables decodes an array of tables ([[variant]], [[exclude]]).
func (p *parser) tables(key string, prim toml.Primitive) ([]map[string]toml.Primitive, error) {
	var v any
	_ = p.md.PrimitiveDecode(prim, &v)
	ok := false
	switch v := v.(type) {
	case []map[string]any:
		ok = true
	case []any: // an inline array: every element must be a table
		ok = !slices.ContainsFunc(v, func(x any) bool { _, isMap := x.(map[string]any); return !isMap })
	}
	var out []map[string]toml.Primitive
	if ok {
		ok = p.md.PrimitiveDecode(prim, &out) == nil
	}
	if !ok {
		return nil, p.errAt(key, "expected [[%s]] tables (note the double brackets), got %s", key, describe(v))
	}
	return out, nil
}

// byLine returns the keys of m sorted by their line under prefix, then by
// name, so that the first problem reported is the first in the file.
func (p *parser) byLine(prefix string, m map[string]toml.Primitive) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b string) int {
		la, lb := line(p.lines, prefix+"."+a), line(p.lines, prefix+"."+b)
		if la != lb {
			return la - lb
		}
		return strings.Compare(a, b)
	})
	return keys
}

// settingCandidates are the names suggested for a mistyped setting.
func settingCandidates(extra ...string) []string {
	out := make([]string, 0, len(settingNames)+len(extra))
	for _, n := range settingNames {
		if n != "seed" {
			out = append(out, n)
		}
	}
	return append(out, extra...)
}

// setting decodes one setting value written at path.
func (p *parser) setting(path, key string, prim toml.Primitive, extra ...string) (assign, error) {
	if key == "seed" {
		return assign{}, p.errAt(path, "use seeds = [...] at the top level or in [base] (every cell runs once per seed)")
	}
	s, ok := settings[key]
	if !ok {
		return assign{}, p.errAt(path, "unknown setting%s", didYouMean(key, settingCandidates(extra...)))
	}
	v, msg := decodeValue(&p.md, prim, s.Type)
	if msg != "" {
		return assign{}, p.errAt(path, "%s", msg)
	}
	return assign{key: key, val: v, at: p.at(path)}, nil
}

func (p *parser) parseBase(raw *rawFile) error {
	if !p.md.IsDefined("base") {
		return nil
	}
	m, keys, err := p.table("base", raw.Base, "a table of settings ([base])")
	if err != nil {
		return err
	}
	for _, k := range keys {
		path := "base." + k
		if k == "seeds" {
			if p.md.IsDefined("seeds") {
				return p.errAt(path, "seeds is also set at line %d; give it once", line(p.lines, "seeds"))
			}
			if err := p.decodeSeeds(path, m[k]); err != nil {
				return err
			}
			continue
		}
		a, err := p.setting(path, k, m[k], "seeds")
		if err != nil {
			return err
		}
		p.base = append(p.base, a)
	}
	return nil
}

func (p *parser) parseSeeds(raw *rawFile) error {
	if p.md.IsDefined("seeds") {
		if err := p.decodeSeeds("seeds", raw.Seeds); err != nil {
			return err
		}
	}
	if p.seeds == nil {
		p.seeds = []int64{config.DefaultConfig().Seed}
	}
	return nil
}

func (p *parser) decodeSeeds(path string, prim toml.Primitive) error {
	v, msg := decodeValue(&p.md, prim, reflect.TypeFor[[]int64]())
	if msg != "" {
		return p.errAt(path, "%s", msg)
	}
	seeds, err := checkSeeds(v.Interface().([]int64))
	if err != "" {
		return p.errAt(path, "%s", err)
	}
	p.seeds, p.seedsAt = seeds, p.at(path)
	return nil
}

func checkSeeds(seeds []int64) ([]int64, string) {
	if len(seeds) == 0 {
		return nil, "needs at least one seed, e.g. seeds = [1, 2, 3]"
	}
	for i, s := range seeds {
		if slices.Contains(seeds[:i], s) {
			return nil, fmt.Sprintf("seed %d appears twice", s)
		}
	}
	return seeds, ""
}

func (p *parser) parseAxes(raw *rawFile) error {
	if !p.md.IsDefined("grid") {
		return nil
	}
	m, _, err := p.table("grid", raw.Grid, "a table of axes ([grid])")
	if err != nil {
		return err
	}
	// Axis order is file order, as the decoder saw it.
	var order []string
	for _, k := range p.md.Keys() {
		if len(k) >= 2 && k[0] == "grid" && !slices.Contains(order, k[1]) {
			order = append(order, k[1])
		}
	}
	for _, k := range p.byLine("grid", m) {
		if !slices.Contains(order, k) {
			order = append(order, k)
		}
	}
	for _, k := range order {
		path := "grid." + k
		if k == "seeds" || k == "seed" {
			return p.errAt(path, "seeds are not an axis: set seeds = [...] at the top level or in [base]")
		}
		s, ok := settings[k]
		if !ok {
			return p.errAt(path, "unknown setting%s", didYouMean(k, settingCandidates()))
		}
		v, msg := decodeValue(&p.md, m[k], reflect.SliceOf(s.Type))
		if msg != "" {
			return p.errAt(path, "%s", axisHint(&p.md, m[k], s, msg))
		}
		if v.Len() == 0 {
			return p.errAt(path, "empty axis: list at least one value (a single value belongs in [base])")
		}
		ax := axis{key: k, at: p.at(path)}
		for i := range v.Len() {
			x := v.Index(i)
			t := render(x)
			if slices.Contains(ax.texts, t) {
				return p.errAt(path, "value %s appears twice", t)
			}
			ax.vals = append(ax.vals, x)
			ax.texts = append(ax.texts, t)
		}
		p.axes = append(p.axes, ax)
	}
	return nil
}

// axisHint explains the usual mistake behind an axis type error: a single
// value, or a flat list for a list-valued setting.
func axisHint(md *toml.MetaData, prim toml.Primitive, s config.Setting, msg string) string {
	var raw any
	_ = md.PrimitiveDecode(prim, &raw)
	list, isList := raw.([]any)
	switch {
	case !isList:
		return fmt.Sprintf("a [grid] axis is a list of values, one per cell, e.g. %s; got %s (a single value belongs in [base])", axisExample(s), describe(raw))
	case s.Kind.IsList() && len(list) > 0 && !slices.ContainsFunc(list, func(x any) bool { _, ok := x.([]any); return ok }):
		return fmt.Sprintf("%s is a list setting, so its axis is a list of lists, one per cell, e.g. %s; got %s", s.Name, axisExample(s), describe(raw))
	}
	return msg
}

func axisExample(s config.Setting) string {
	switch {
	case s.Kind.IsList():
		if s.Name == "augment" || s.Name == "augment_b" {
			return s.Name + ` = [["crop"], ["crop", "color"]]`
		}
		return s.Name + " = [[...], [...]]"
	case s.Kind == config.String:
		return s.Name + ` = ["a", "b"]`
	case s.Kind == config.Float:
		return s.Name + " = [0.1, 0.5]"
	case s.Kind == config.Bool:
		return s.Name + " = [false, true]"
	}
	return s.Name + " = [1, 2]"
}

func (p *parser) parseVariants(raw *rawFile) error {
	if !p.md.IsDefined("variant") {
		return nil
	}
	tables, err := p.tables("variant", raw.Variant)
	if err != nil {
		return err
	}
	for i, m := range tables {
		prefix := fmt.Sprintf("variant[%d]", i+1)
		r := row{path: prefix}
		for _, k := range p.byLine(prefix, m) {
			path := prefix + "." + k
			switch k {
			case "label":
				v, msg := decodeValue(&p.md, m[k], reflect.TypeFor[string]())
				if msg != "" {
					return p.errAt(path, "%s", msg)
				}
				if strings.TrimSpace(v.String()) == "" {
					return p.errAt(path, "must not be empty")
				}
				r.label, r.labelAt = v.String(), path
				continue
			case "seeds":
				return p.errAt(path, "seeds apply to every cell: set them at the top level or in [base]")
			}
			a, err := p.setting(path, k, m[k], "label")
			if err != nil {
				return err
			}
			r.sets = append(r.sets, a)
		}
		if r.label == "" {
			r.label, r.labelAt = defaultLabel(r.sets), prefix
		}
		p.rows = append(p.rows, r)
	}
	return nil
}

// defaultLabel names a variant without a label by its settings in
// config.Config field order: "key=value, ...", or "base" when it has none.
func defaultLabel(sets []assign) string {
	sorted := slices.Clone(sets)
	slices.SortStableFunc(sorted, func(a, b assign) int { return settings[a.key].Index - settings[b.key].Index })
	parts := make([]string, len(sorted))
	for i, a := range sorted {
		parts[i] = a.key + "=" + render(a.val)
	}
	if len(parts) == 0 {
		return "base"
	}
	return strings.Join(parts, ", ")
}

// PairFirst and PairSecond are the Cell.Tags keys of a pairwise cell: the
// transform applied first and second (equal on the diagonal).
const (
	PairFirst  = "pair_first"
	PairSecond = "pair_second"
)

// pairwiseKeys are the keys of [pairwise].
var pairwiseKeys = []string{"transforms", "focus", "protocol", "crop_first"}

// Protocols of [pairwise]: where the pair of transforms goes.
const (
	// ProtocolOneBranch is Figure 5's: the pair on the first branch after
	// the crop, the second branch only cropped (augment_b = ["crop"]).
	ProtocolOneBranch = "one-branch"
	// ProtocolBoth is SimCLR's training recipe: the same random pipeline,
	// crop then the pair, on both branches (augment_b unset).
	ProtocolBoth = "both"
)

// Protocols are the valid values of [pairwise] protocol; the first is the
// default.
var Protocols = []string{ProtocolOneBranch, ProtocolBoth}

// pairBase is the transform every pairwise view starts with, unless
// [pairwise] crop_first = false.
const pairBase = "crop"

func (p *parser) parsePairwise(raw *rawFile) error {
	if !p.md.IsDefined("pairwise") {
		return nil
	}
	m, keys, err := p.table("pairwise", raw.Pairwise, "a table ([pairwise])")
	if err != nil {
		return err
	}
	var list, focus []string
	focusAt := ""
	protocol := ProtocolOneBranch
	cropFirst, cropFirstAt := true, ""
	for _, k := range keys {
		path := "pairwise." + k
		var dst *[]string
		switch k {
		case "transforms":
			dst = &list
		case "focus":
			dst, focusAt = &focus, path
		case "protocol":
			v, msg := decodeValue(&p.md, m[k], reflect.TypeFor[string]())
			if msg != "" {
				return p.errAt(path, "%s", msg)
			}
			if protocol = v.String(); !slices.Contains(Protocols, protocol) {
				return p.errAt(path, "unknown protocol %q (valid: %s)", protocol, strings.Join(Protocols, ", "))
			}
			continue
		case "crop_first":
			v, msg := decodeValue(&p.md, m[k], reflect.TypeFor[bool]())
			if msg != "" {
				return p.errAt(path, "%s", msg)
			}
			cropFirst, cropFirstAt = v.Bool(), path
			continue
		default:
			return p.errAt(path, "unknown key%s", didYouMean(k, pairwiseKeys))
		}
		v, msg := decodeValue(&p.md, m[k], reflect.TypeFor[[]string]())
		if msg != "" {
			return p.errAt(path, "%s", msg)
		}
		*dst = v.Interface().([]string)
	}
	path := "pairwise.transforms"
	if len(list) == 0 {
		return p.errAt(path, "needs at least one transform (valid: %s)", strings.Join(config.Transforms, ", "))
	}
	for i, t := range list {
		if !slices.Contains(config.Transforms, t) {
			return p.errAt(path, "unknown transform %q (valid: %s)", t, strings.Join(config.Transforms, ", "))
		}
		if slices.Contains(list[:i], t) {
			return p.errAt(path, "transform %q appears twice", t)
		}
	}
	if focusAt != "" && len(focus) == 0 {
		return p.errAt(focusAt, "needs at least one of the transforms (valid: %s); remove it to give every pair every seed", strings.Join(list, ", "))
	}
	for i, t := range focus {
		if !slices.Contains(list, t) {
			return p.errAt(focusAt, "%q is not one of the transforms (valid: %s)", t, strings.Join(list, ", "))
		}
		if slices.Contains(focus[:i], t) {
			return p.errAt(focusAt, "transform %q appears twice", t)
		}
	}
	if !cropFirst && protocol != ProtocolBoth {
		return p.errAt(cropFirstAt, `false needs protocol = "both" (protocol %q crops every view first, its second branch is that crop): set protocol = "both" or remove crop_first`, protocol)
	}
	var base []string
	if cropFirst {
		base = []string{pairBase}
	}
	p.pairwise = true
	at := p.at(path)
	for _, t1 := range list {
		for _, t2 := range list {
			a := append(slices.Clip(base), t1, t2)
			label := t1 + "+" + t2
			if t1 == t2 {
				a, label = a[:len(a)-1], t1
			}
			second := []string{pairBase} // one-branch: the second branch only cropped
			if protocol == ProtocolBoth {
				second = nil // both: the second branch makes its view as the first does
			}
			p.rows = append(p.rows, row{
				label:   label,
				path:    "pairwise",
				labelAt: path,
				sets: []assign{
					{key: "augment", val: reflect.ValueOf(a), at: at},
					{key: "augment_b", val: reflect.ValueOf(second), at: at},
				},
				tags:      map[string]string{PairFirst: t1, PairSecond: t2},
				firstSeed: focus != nil && t1 != t2 && !slices.Contains(focus, t1) && !slices.Contains(focus, t2),
			})
		}
	}
	return nil
}

func (p *parser) parseExcludes(raw *rawFile) error {
	if !p.md.IsDefined("exclude") {
		return nil
	}
	tables, err := p.tables("exclude", raw.Exclude)
	if err != nil {
		return err
	}
	for i, m := range tables {
		prefix := fmt.Sprintf("exclude[%d]", i+1)
		if len(m) == 0 {
			return p.errAt(prefix, "empty rule: give the settings a cell must match to be dropped")
		}
		r := rule{path: prefix}
		for _, k := range p.byLine(prefix, m) {
			path := prefix + "." + k
			var typ reflect.Type
			switch k {
			case "label":
				typ = reflect.TypeFor[string]()
			case "seed":
				typ = reflect.TypeFor[int64]()
			default:
				s, ok := settings[k]
				if !ok {
					return p.errAt(path, "unknown setting%s", didYouMean(k, settingCandidates("label")))
				}
				typ = s.Type
			}
			v, msg := decodeValue(&p.md, m[k], typ)
			if msg != "" {
				return p.errAt(path, "%s", msg)
			}
			r.keys = append(r.keys, k)
			r.texts = append(r.texts, render(v))
		}
		p.rules = append(p.rules, r)
	}
	return nil
}

// parseSets reads Options.Set.
func (p *parser) parseSets(*rawFile) error {
	for _, arg := range p.opt.Set {
		file := "--set " + arg
		key, text, ok := strings.Cut(arg, "=")
		key = strings.TrimSpace(key)
		if !ok || key == "" {
			return &Error{File: file, Msg: "want key=value, e.g. --set epochs=1"}
		}
		if strings.ContainsAny(text, "\r\n") {
			return &Error{File: file, Key: key, Msg: "the value must be on one line"}
		}
		md, prim := decodeSetValue(text)
		at := place{file: file, path: key}
		switch key {
		case "seeds":
			v, msg := decodeValue(&md, prim, reflect.TypeFor[[]int64]())
			if msg != "" {
				return at.err("%s", msg)
			}
			seeds, msg := checkSeeds(v.Interface().([]int64))
			if msg != "" {
				return at.err("%s", msg)
			}
			p.seeds, p.seedsAt = seeds, at
			continue
		case "seed":
			return at.err("use --set seeds=[N]")
		}
		s, ok := settings[key]
		if !ok {
			return at.err("unknown setting%s", didYouMean(key, settingCandidates("seeds")))
		}
		v, msg := decodeValue(&md, prim, s.Type)
		if msg != "" {
			return at.err("%s", msg)
		}
		p.sets = append(p.sets, assign{key: key, val: v, at: at})
	}
	return nil
}

// decodeSetValue reads the value of a --set override as TOML, else as a
// list of bare words, else as a bare string.
func decodeSetValue(text string) (toml.MetaData, toml.Primitive) {
	try := func(v string) (toml.MetaData, toml.Primitive, bool) {
		var raw struct {
			V toml.Primitive `toml:"v"`
		}
		md, err := toml.Decode("v = "+v, &raw)
		return md, raw.V, err == nil && md.IsDefined("v")
	}
	text = strings.TrimSpace(text)
	if md, prim, ok := try(text); ok {
		return md, prim
	}
	if inner, ok := strings.CutPrefix(text, "["); ok {
		if inner, ok := strings.CutSuffix(inner, "]"); ok {
			var parts []string
			if strings.TrimSpace(inner) != "" {
				parts = strings.Split(inner, ",")
			}
			for i, x := range parts {
				x = strings.TrimSpace(x)
				if _, _, ok := try(x); !ok {
					x = tomlQuote(x)
				}
				parts[i] = x
			}
			if md, prim, ok := try("[" + strings.Join(parts, ", ") + "]"); ok {
				return md, prim
			}
		}
	}
	md, prim, _ := try(tomlQuote(text))
	return md, prim
}

var tomlQuoter = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\t", `\t`)

func tomlQuote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range tomlQuoter.Replace(s) {
		if r < 0x20 || r == 0x7f {
			fmt.Fprintf(&b, `\u%04X`, r)
			continue
		}
		b.WriteRune(r)
	}
	b.WriteByte('"')
	return b.String()
}

// checkConflicts rejects settings given twice in ways that would collapse
// the product: a variant or --set overriding an axis, and an augment axis
// or override beside [pairwise], which sets augment itself.
func (p *parser) checkConflicts(*rawFile) error {
	axisAt := map[string]place{}
	for _, ax := range p.axes {
		axisAt[ax.key] = ax.at
	}
	for _, r := range p.rows {
		if r.path == "pairwise" {
			continue
		}
		for _, a := range r.sets {
			if ax, ok := axisAt[a.key]; ok {
				return a.at.err("%s is also a [grid] axis (line %d); a variant may not override an axis (drop cells with [[exclude]] instead)", a.key, ax.line)
			}
		}
	}
	if p.pairwise {
		for _, k := range []string{"augment", "augment_b"} {
			if ax, ok := axisAt[k]; ok {
				return ax.err("cannot be an axis beside [pairwise], which sets augment and augment_b for every pair")
			}
		}
	}
	for _, a := range p.sets {
		if ax, ok := axisAt[a.key]; ok {
			return a.at.err("is a [grid] axis (%s:%d); --set cannot override an axis, edit the file instead", p.path, ax.line)
		}
		if p.pairwise && (a.key == "augment" || a.key == "augment_b") {
			return a.at.err("is set by [pairwise] (%s:%d) for every pair", p.path, line(p.lines, "pairwise.transforms"))
		}
	}
	return nil
}

// mulSat multiplies non-negative a and b, saturating at math.MaxInt.
func mulSat(a, b int) int {
	if a == 0 || b == 0 {
		return 0
	}
	if a > math.MaxInt/b {
		return math.MaxInt
	}
	return a * b
}

// count returns the number of cells before exclusions, saturated, and the
// factors it is the product of.
func (p *parser) count() (int, []string) {
	rows, few := max(1, len(p.rows)), 0 // few: rows run at the first seed only
	for _, r := range p.rows {
		if r.firstSeed {
			few++
		}
	}
	n := mulSat(len(p.seeds), rows)
	factors := []string{count(len(p.seeds), "seed"), count(rows, "row")}
	if few > 0 && len(p.seeds) > 1 {
		// every row at the first seed, the focused rows at the others
		n = min(mulSat(len(p.seeds)-1, rows-few), math.MaxInt-rows) + rows
		factors = []string{fmt.Sprintf("%d rows + %s × %s", rows, count(len(p.seeds)-1, "more seed"), count(rows-few, "focused row"))}
	}
	for _, ax := range p.axes {
		n = mulSat(n, len(ax.vals))
		factors = append(factors, fmt.Sprintf("%d %s", len(ax.vals), ax.key))
	}
	return n, factors
}

// count is "1 seed", "3 seeds".
func count(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return strconv.Itoa(n) + " " + noun + "s"
}

func (p *parser) limit() int {
	switch {
	case p.opt.MaxCells > 0:
		return p.opt.MaxCells
	case p.maxCells > 0:
		return p.maxCells
	}
	return DefaultMaxCells
}

// expand computes the cells: every seed × row × combination of the axes,
// minus the excluded ones, then applies --set, validates every cell and
// rejects duplicates.
func (p *parser) expand() (*Grid, error) {
	limit := p.limit()
	n, factors := p.count()
	if n > limit {
		shown := strconv.Itoa(n)
		if n == math.MaxInt {
			shown = "more than " + strconv.Itoa(math.MaxInt)
		}
		return nil, p.errAt("grid", "expands to %s cells (%s), over the limit of %d; raise max_cells in the file or pass a larger --max-cells",
			shown, strings.Join(factors, " × "), limit)
	}

	base := config.DefaultConfig()
	for _, a := range p.base {
		a.apply(&base)
	}
	rows := p.rows
	if len(rows) == 0 {
		rows = []row{{}}
	}
	if err := p.checkLabels(rows); err != nil {
		return nil, err
	}

	g := &Grid{Name: p.name, Description: p.description, Path: p.path, Seeds: p.seeds, MaxCells: limit}
	for _, ax := range p.axes {
		g.Axes = append(g.Axes, ax.key)
	}
	var cellRows []int // the row of each cell, for error messages
	idx := make([]int, len(p.axes))
	for si, seed := range p.seeds {
		for ri, r := range rows {
			if r.firstSeed && si > 0 {
				continue
			}
			clear(idx)
			for {
				cfg := base.Clone()
				for a, ax := range p.axes {
					assign{key: ax.key, val: ax.vals[idx[a]]}.apply(&cfg)
				}
				for _, a := range r.sets {
					a.apply(&cfg)
				}
				p.stepsDecide(&cfg, r)
				cfg.Seed = seed
				if !p.excluded(&cfg, r.label) {
					for _, a := range p.sets {
						a.apply(&cfg)
					}
					p.stepsDecide(&cfg, r)
					g.Cells = append(g.Cells, Cell{
						Index:  len(g.Cells),
						Label:  p.label(r, idx),
						Config: cfg,
						Tags:   maps.Clone(r.tags),
					})
					cellRows = append(cellRows, ri)
				}
				if !next(idx, p.axes) {
					break
				}
			}
		}
	}
	for _, r := range p.rules {
		if !r.hit {
			return nil, p.errAt(r.path, "matches no cell; check its keys and values against [base], [grid] and the variants")
		}
	}
	if len(g.Cells) == 0 {
		return nil, p.errAt(p.rules[0].path, "every cell is excluded")
	}

	seen := make(map[string]int, len(g.Cells))
	for i := range g.Cells {
		c := &g.Cells[i]
		if err := c.Config.Validate(); err != nil {
			return nil, p.validationError(err, rows[cellRows[i]])
		}
		c.Hash = c.Config.Hash()
		id := c.Hash + "/" + strconv.FormatInt(c.Config.Seed, 10)
		if j, ok := seen[id]; ok {
			return nil, p.duplicateError(&g.Cells[j], c, rows[cellRows[i]])
		}
		seen[id] = i
	}
	p.varying(g)
	g.parser, g.rows, g.cellRows = p, rows, cellRows
	return g, nil
}

// stepsDecide makes steps the training length of a cell that sets steps
// but not epochs: epochs (10 by default) becomes 0. A cell that sets both
// keeps both, and validation rejects it.
func (p *parser) stepsDecide(cfg *config.Config, r row) {
	if cfg.Steps > 0 {
		if _, set := p.placeOf("epochs", r); !set {
			cfg.Epochs = 0
		}
	}
}

// next advances the odometer idx over the axes, last axis fastest, and
// reports whether there is another combination.
func next(idx []int, axes []axis) bool {
	for k := len(idx) - 1; k >= 0; k-- {
		idx[k]++
		if idx[k] < len(axes[k].vals) {
			return true
		}
		idx[k] = 0
	}
	return false
}

// excluded reports whether any rule matches the cell, marking every rule
// that does.
func (p *parser) excluded(cfg *config.Config, label string) bool {
	out := false
	for i := range p.rules {
		r := &p.rules[i]
		match := true
		for j, k := range r.keys {
			var got string
			switch k {
			case "label":
				got = label
			case "seed":
				got = strconv.FormatInt(cfg.Seed, 10)
			default:
				got = render(get(cfg, k))
			}
			if got != r.texts[j] {
				match = false
				break
			}
		}
		if match {
			r.hit, out = true, true
		}
	}
	return out
}

// label names a cell: the row's label, then the values of the axes with
// more than one value: "all augmentations (temperature=0.1)", or
// "temperature=0.1, batch_size=256" without a row label, or the grid's
// name when there is neither.
func (p *parser) label(r row, idx []int) string {
	var parts []string
	for a, ax := range p.axes {
		if len(ax.vals) > 1 {
			parts = append(parts, ax.key+"="+ax.texts[idx[a]])
		}
	}
	axes := strings.Join(parts, ", ")
	switch {
	case r.label != "" && axes != "":
		return r.label + " (" + axes + ")"
	case r.label != "":
		return r.label
	case axes != "":
		return axes
	}
	return p.name
}

// checkLabels rejects two rows with the same label: they would be one row
// of the result tables.
func (p *parser) checkLabels(rows []row) error {
	first := map[string]row{}
	for _, r := range rows {
		if f, ok := first[r.label]; ok {
			return p.errAt(r.labelAt, "label %q is also the label of %s (line %d); labels name the rows of the result tables and must differ",
				r.label, f.path, line(p.lines, f.labelAt))
		}
		first[r.label] = r
	}
	return nil
}

// validationError places a config.Config.Validate failure of a cell of row
// r where its key was last set for that cell: --set, the row, the axis,
// [base]; a key left at its default is blamed on the row, else [base].
func (p *parser) validationError(err error, r row) error {
	var fe *config.FieldError
	if !errors.As(err, &fe) {
		return &Error{File: p.path, Msg: err.Error(), Err: err}
	}
	msg := fe.Msg
	if len(fe.Valid) > 0 {
		msg += " (valid: " + strings.Join(fe.Valid, ", ") + ")"
	}
	at, ok := p.placeOf(fe.Key, r)
	if !ok {
		at = p.at("base." + fe.Key)
		if r.path != "" && r.path != "pairwise" {
			at = p.at(r.path + "." + fe.Key)
		}
	}
	e := at.err("%s", msg)
	e.Err = err
	return e
}

// placeOf returns where key was last set for a cell of row r.
func (p *parser) placeOf(key string, r row) (place, bool) {
	for _, list := range [][]assign{p.sets, r.sets} {
		for i := len(list) - 1; i >= 0; i-- {
			if list[i].key == key {
				return list[i].at, true
			}
		}
	}
	for _, ax := range p.axes {
		if ax.key == key {
			return ax.at, true
		}
	}
	for i := len(p.base) - 1; i >= 0; i-- {
		if p.base[i].key == key {
			return p.base[i].at, true
		}
	}
	return place{}, false
}

func (p *parser) duplicateError(first, second *Cell, r row) error {
	path := r.path
	if path == "" {
		path = "grid"
	}
	hint := "make them differ or drop one"
	if first.Config.SaveEncoder != second.Config.SaveEncoder {
		hint = "save_encoder does not make a cell different (it is not in the config hash): set it in [base] or with --set"
	} else if len(p.sets) > 0 {
		hint += " (--set applies to every cell)"
	}
	return p.errAt(path, "cells %q and %q have the same settings and seed (hash %s, seed %d); %s",
		first.Label, second.Label, second.Hash, second.Config.Seed, hint)
}

// varying fills Grid.Varying and every Cell.Varying with the settings
// whose rendered value is not the same in every cell.
func (p *parser) varying(g *Grid) {
	var order []string
	for _, ax := range p.axes {
		order = append(order, ax.key)
	}
	for _, n := range settingNames {
		if n != "seed" && !slices.Contains(order, n) {
			order = append(order, n)
		}
	}
	texts := make([][]string, len(order))
	for k, name := range order {
		col := make([]string, len(g.Cells))
		differs := false
		for i := range g.Cells {
			col[i] = render(get(&g.Cells[i].Config, name))
			differs = differs || col[i] != col[0]
		}
		if differs {
			g.Varying = append(g.Varying, name)
			texts[k] = col
		}
	}
	for i := range g.Cells {
		m := make(map[string]string, len(g.Varying))
		for k, name := range order {
			if texts[k] != nil {
				m[name] = texts[k][i]
			}
		}
		g.Cells[i].Varying = m
	}
}
