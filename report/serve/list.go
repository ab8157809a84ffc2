package serve

import (
	"cmp"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/simclr-ablate/simclr-ablate/simclr/config"
	"github.com/simclr-ablate/simclr-ablate/store"
)

// settingPrefix starts the query parameters that filter (set.KEY=VALUE)
// or sort (sort=set.KEY) by a setting.
const settingPrefix = "set."

// MaxCompare is how many runs the compare view shows at most.
const MaxCompare = 10

// listQuery is the run list's view, read from the URL's query.
type listQuery struct {
	Experiment string
	Status     string
	Where      string
	Set        []settingFilter // by key
	Sort       string          // a column key; "" is the default order (newest first)
	Desc       bool
}

// settingFilter keeps the runs whose setting Key is stored as Value.
type settingFilter struct {
	Key, Value string
}

func parseListQuery(q url.Values) listQuery {
	lq := listQuery{
		Experiment: strings.TrimSpace(q.Get("experiment")),
		Status:     strings.TrimSpace(q.Get("status")),
		Where:      strings.TrimSpace(q.Get("where")),
		Sort:       q.Get("sort"),
		Desc:       q.Get("desc") == "1",
	}
	for k, vs := range q {
		if key, ok := strings.CutPrefix(k, settingPrefix); ok && len(vs) > 0 && vs[len(vs)-1] != "" {
			lq.Set = append(lq.Set, settingFilter{Key: key, Value: vs[len(vs)-1]})
		}
	}
	sort.Slice(lq.Set, func(i, j int) bool { return lq.Set[i].Key < lq.Set[j].Key })
	return lq
}

// values is the query that shows lq.
func (lq listQuery) values() url.Values {
	v := url.Values{}
	set := func(k, s string) {
		if s != "" {
			v.Set(k, s)
		}
	}
	set("experiment", lq.Experiment)
	set("status", lq.Status)
	set("where", lq.Where)
	for _, f := range lq.Set {
		v.Set(settingPrefix+f.Key, f.Value)
	}
	set("sort", lq.Sort)
	if lq.Desc {
		v.Set("desc", "1")
	}
	return v
}

func (lq listQuery) url() string {
	if e := lq.values().Encode(); e != "" {
		return "/?" + e
	}
	return "/"
}

func (lq listQuery) filter(key string) string {
	for _, f := range lq.Set {
		if f.Key == key {
			return f.Value
		}
	}
	return ""
}

// listPage is the data of list.html.
type listPage struct {
	common
	Q           listQuery
	Error       string
	Experiments []expSummary
	ExpNames    []string
	Statuses    []option
	Filters     []filterSelect
	Columns     []column
	Rows        []listRow
	Shown       int // rows after filtering
	Total       int // runs in view before the status, where and setting filters
	SortFields  []hidden
	ResetURL    string
	MaxCompare  int
}

// expSummary is a line of the experiments table.
type expSummary struct {
	Name, Description, URL string
	Runs                   int
	ByStatus               []option // Text: "12 finished"
	Best                   *float64
	BestRun                int64
	BestLabel              string
	Selected               bool
}

type option struct {
	Value, Text string
	Selected    bool
}

// filterSelect is the drop-down of one setting.
type filterSelect struct {
	Key     string
	Name    string // the query parameter
	Options []option
	Active  bool
}

type hidden struct{ Name, Value string }

// column of the run table.
type column struct {
	Key, Title, Tip string
	Num             bool
	SortURL         string
	Sorted, Desc    bool
}

type listRow struct {
	ID               int64
	Experiment       string
	Label            string
	Status           string
	Error            string
	Cells            []cell
	sortVal          sortVal
	linearF1         *float64
	bestInExperiment bool
}

// cell of the run table. Kind selects how it is drawn: "run" (a link to
// the run), "status" (a badge), "setting", "score", "" plain text.
type cell struct {
	Text, Tip, Kind string
	Dim, Best       bool // Dim: a setting that does not vary in the run's experiment
}

// sortVal orders a cell: missing values last, numbers before text.
type sortVal struct {
	ok    bool
	isNum bool
	num   float64
	str   string
}

func numVal(v *float64) sortVal {
	if v == nil || *v != *v {
		return sortVal{}
	}
	return sortVal{ok: true, isNum: true, num: *v}
}

func strVal(s string) sortVal { return sortVal{ok: s != "", str: s} }

func settingVal(p store.Param, ok bool) sortVal {
	if !ok {
		return sortVal{}
	}
	if p.Num != nil {
		return numVal(p.Num)
	}
	return strVal(p.Value)
}

// compareVals orders a before b ascending; missing values sort last
// whatever the direction, so callers pass desc.
func compareVals(a, b sortVal, desc bool) int {
	switch {
	case !a.ok && !b.ok:
		return 0
	case !a.ok:
		return 1
	case !b.ok:
		return -1
	}
	var c int
	switch {
	case a.isNum && b.isNum:
		c = cmp.Compare(a.num, b.num)
	case a.isNum:
		c = -1
	case b.isNum:
		c = 1
	default:
		c = strings.Compare(a.str, b.str)
	}
	if desc {
		c = -c
	}
	return c
}

// fixedColumns are the run table's columns around the settings.
var (
	leadColumns = []column{
		{Key: "id", Title: "Run", Num: true},
		{Key: "experiment", Title: "Experiment"},
		{Key: "label", Title: "Label", Tip: "the grid row's label"},
	}
	// sortOnly are columns the list can be sorted by without showing them.
	sortOnly    = []string{"settings", "finetune_acc"}
	tailColumns = []column{
		{Key: "status", Title: "Status"},
		{Key: "seed", Title: "Seed", Num: true},
		{Key: "linear_f1", Title: "Linear F1", Num: true, Tip: "macro F1 of the linear evaluation on h (else on pixels, else the first)"},
		{Key: "linear_acc", Title: "Linear acc", Num: true, Tip: "accuracy of the linear evaluation on h (else on pixels, else the first)"},
		{Key: "finetune_f1", Title: "Fine-tune F1", Num: true, Tip: "macro F1 of fine-tuning with the largest label fraction"},
		{Key: "final_loss", Title: "Final loss", Num: true, Tip: "training loss of the last epoch"},
		{Key: "duration", Title: "Duration", Num: true, Tip: "wall time of the run"},
		{Key: "started", Title: "Started", Tip: "UTC"},
	}
)

// sortKeys lists the valid sort columns, for messages.
func sortKeys() []string {
	var out []string
	for _, c := range leadColumns {
		out = append(out, c.Key)
	}
	for _, c := range tailColumns {
		out = append(out, c.Key)
	}
	out = append(out, sortOnly...)
	return append(out, settingPrefix+"KEY")
}

// configKeys are the setting names.
var configKeys = func() map[string]bool {
	m := map[string]bool{}
	for _, k := range config.Names() {
		m[k] = true
	}
	return m
}()

func (s *Server) list(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	lq := parseListQuery(r.URL.Query())
	page := listPage{common: s.common("Runs"), Q: lq, ResetURL: "/", MaxCompare: MaxCompare}
	status := http.StatusOK
	fail := func(format string, args ...any) {
		if page.Error == "" {
			page.Error = fmt.Sprintf(format, args...)
		}
		status = http.StatusBadRequest
	}

	exps, err := s.db.ListExperiments(ctx)
	if err != nil {
		return err
	}
	axes, err := s.db.Axes(ctx)
	if err != nil {
		return err
	}
	all, err := s.db.ListRuns(ctx, store.RunFilter{})
	if err != nil {
		return err
	}
	known := false
	for _, e := range exps {
		page.ExpNames = append(page.ExpNames, e.Name)
		known = known || e.Name == lq.Experiment
	}
	if lq.Experiment != "" && !known {
		fail("unknown experiment %q (known: %s)", lq.Experiment, strings.Join(page.ExpNames, ", "))
		lq.Experiment = ""
	}
	page.Experiments = summarize(exps, all, lq.Experiment)

	// The runs in view before filtering: their statuses, the settings
	// that vary among them and the values of those.
	var inView []store.RunRow
	for _, r := range all {
		if lq.Experiment == "" || r.Experiment == lq.Experiment {
			inView = append(inView, r)
		}
	}
	page.Total = len(inView)
	page.Statuses = statusOptions(inView, lq.Status)
	if lq.Status != "" && !slices.Contains(store.Statuses, lq.Status) {
		fail("unknown status %q (valid: %s)", lq.Status, strings.Join(store.Statuses, ", "))
		lq.Status = ""
	}
	// One experiment: a column and a drop-down per setting that varies
	// in it. All experiments: a column of each run's varying settings.
	axisOf := map[string]map[string]bool{} // experiment → its axes
	for exp, ks := range axes {
		axisOf[exp] = map[string]bool{}
		for _, k := range ks {
			axisOf[exp][k] = true
		}
	}
	var keys []string
	if lq.Experiment != "" {
		keys = slices.Clone(axes[lq.Experiment])
	}
	var filterKeys []string
	for _, f := range lq.Set {
		if !configKeys[f.Key] {
			fail("unknown setting %q in %s%s (valid: %s)", f.Key, settingPrefix, f.Key, strings.Join(sortedKeys(configKeys), ", "))
			continue
		}
		filterKeys = append(filterKeys, f.Key)
	}
	sortKey, isSetting := strings.CutPrefix(lq.Sort, settingPrefix)
	if lq.Sort != "" && (isSetting && !configKeys[sortKey] || !isSetting && !slices.Contains(sortKeys(), lq.Sort)) {
		fail("unknown sort column %q (valid: %s)", lq.Sort, strings.Join(sortKeys(), ", "))
		lq.Sort, isSetting = "", false
	}
	keys = uniqueSorted(keys)
	readKeys := uniqueSorted(append(append(slices.Clone(keys), filterKeys...), sortKeyIf(isSetting, sortKey)...))
	settings, err := s.db.RunSettings(ctx, lq.Experiment, readKeys)
	if err != nil {
		return err
	}
	page.Filters = filterSelects(keys, inView, settings, lq)

	// The filtered runs.
	var rows []store.RunRow
	if page.Error == "" {
		rows, err = s.db.ListRuns(ctx, store.RunFilter{Experiment: lq.Experiment, Status: lq.Status, Where: lq.Where})
		var we *store.WhereError
		switch {
		case errors.As(err, &we):
			fail("where %s: at character %d: %s", strconv.Quote(we.Expr), we.Pos+1, we.Msg)
		case err != nil:
			return err
		}
	}
	rows = slices.DeleteFunc(rows, func(r store.RunRow) bool {
		for _, f := range lq.Set {
			if p, ok := settings[r.ID][f.Key]; !ok || p.Value != f.Value {
				return true
			}
		}
		return false
	})

	// Columns and cells.
	cols := slices.Clone(leadColumns)
	if lq.Experiment != "" {
		cols = slices.DeleteFunc(cols, func(c column) bool { return c.Key == "experiment" })
	}
	for _, k := range keys {
		cols = append(cols, column{Key: settingPrefix + k, Title: k, Tip: "setting " + k})
	}
	if lq.Experiment == "" {
		cols = append(cols, column{Key: "settings", Title: "Settings", Tip: "the settings that vary in the run's experiment; pick an experiment for a column each"})
	}
	hasFinetune := false
	for _, r := range inView {
		hasFinetune = hasFinetune || r.FinetuneF1 != nil
	}
	for _, c := range tailColumns {
		if !hasFinetune && strings.HasPrefix(c.Key, "finetune") {
			continue
		}
		cols = append(cols, c)
	}
	for i := range cols {
		c := &cols[i]
		q := lq
		q.Sort = c.Key
		// The first click sorts scores best first, names A to Z.
		q.Desc = c.Num && c.Key != "id" && c.Key != "seed" && c.Key != "final_loss" && c.Key != "duration"
		if lq.Sort == c.Key {
			c.Sorted, c.Desc = true, lq.Desc
			q.Desc = !lq.Desc
		}
		c.SortURL = q.url()
	}
	page.Columns = cols
	list := make([]listRow, len(rows))
	for i, r := range rows {
		list[i] = listRow{ID: r.ID, Experiment: r.Experiment, Label: r.Label, Status: r.Status, Error: r.Error, linearF1: r.LinearF1}
		for _, c := range cols {
			ce, _ := cellOf(r, c.Key, settings[r.ID], axisOf[r.Experiment])
			list[i].Cells = append(list[i].Cells, ce)
		}
		if lq.Sort != "" {
			_, list[i].sortVal = cellOf(r, lq.Sort, settings[r.ID], axisOf[r.Experiment])
		}
	}
	markBest(list)
	if lq.Sort != "" {
		slices.SortStableFunc(list, func(a, b listRow) int { return compareVals(a.sortVal, b.sortVal, lq.Desc) })
	}
	for i := range list {
		for j := range list[i].Cells {
			if list[i].Cells[j].Kind == "score" && cols[j].Key == "linear_f1" {
				list[i].Cells[j].Best = list[i].bestInExperiment
			}
		}
	}
	page.Rows = list
	page.Shown = len(list)
	page.Q = lq
	if lq.Sort != "" {
		page.SortFields = append(page.SortFields, hidden{"sort", lq.Sort})
		if lq.Desc {
			page.SortFields = append(page.SortFields, hidden{"desc", "1"})
		}
	}
	if lq.Experiment != "" {
		page.Title = lq.Experiment
	}
	s.render(w, "list", status, page)
	return nil
}

func sortKeyIf(ok bool, k string) []string {
	if ok {
		return []string{k}
	}
	return nil
}

func uniqueSorted(ks []string) []string {
	slices.Sort(ks)
	return slices.Compact(ks)
}

func sortedKeys(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// cellOf returns the cell of run r in the column key and its sort value;
// settings are the run's, axes those of its experiment.
func cellOf(r store.RunRow, key string, settings map[string]store.Param, axes map[string]bool) (ce cell, sv sortVal) {
	switch key {
	case "id":
		ce, sv = cell{Text: strconv.FormatInt(r.ID, 10), Kind: "run"}, sortVal{ok: true, isNum: true, num: float64(r.ID)}
	case "experiment":
		ce, sv = cell{Text: r.Experiment}, strVal(r.Experiment)
	case "settings":
		ce, sv = cell{Text: formatSettings(r.Settings), Kind: "settings", Tip: r.Settings}, strVal(r.Settings)
	case "label":
		ce, sv = cell{Text: r.Label, Kind: "label"}, strVal(r.Label)
	case "status":
		ce, sv = cell{Text: r.Status, Kind: "status", Tip: r.Error}, strVal(r.Status)
	case "seed":
		ce, sv = cell{Text: strconv.FormatInt(r.Seed, 10)}, sortVal{ok: true, isNum: true, num: float64(r.Seed)}
	case "linear_f1":
		ce, sv = cell{Text: formatScore(r.LinearF1), Kind: "score"}, numVal(r.LinearF1)
	case "linear_acc":
		ce, sv = cell{Text: formatScore(r.LinearAcc), Kind: "score"}, numVal(r.LinearAcc)
	case "finetune_acc":
		ce, sv = cell{Text: formatScore(r.FinetuneAcc), Kind: "score"}, numVal(r.FinetuneAcc)
	case "finetune_f1":
		ce, sv = cell{Text: formatScore(r.FinetuneF1), Kind: "score"}, numVal(r.FinetuneF1)
	case "final_loss":
		text := missing
		if r.FinalLoss != nil {
			text = formatNum(*r.FinalLoss)
		}
		ce, sv = cell{Text: text, Kind: "score"}, numVal(r.FinalLoss)
	case "duration":
		d := r.Duration.Seconds()
		ce, sv = cell{Text: formatDuration(r.Duration), Kind: "score"}, numVal(&d)
		if r.Duration <= 0 {
			sv = sortVal{}
		}
	case "started":
		ce, sv = cell{Text: shortTime(r.StartedAt), Tip: formatTime(r.StartedAt)}, strVal(r.StartedAt.UTC().Format("2006-01-02T15:04:05.000000"))
		if r.StartedAt.IsZero() {
			sv = sortVal{}
		}
	default:
		key := strings.TrimPrefix(key, settingPrefix)
		p, ok := settings[key]
		ce = cell{Text: missing, Kind: "setting", Dim: !axes[key]}
		if ok {
			ce.Text, ce.Tip = formatSetting(p.Value), p.Value
		}
		if ce.Dim {
			ce.Tip = "the same in every run of " + r.Experiment
		}
		sv = settingVal(p, ok)
	}
	return ce, sv
}

// markBest marks, per experiment, the finished run with the highest
// linear F1 among the rows.
func markBest(rows []listRow) {
	best := map[string]int{}
	for i, r := range rows {
		if r.Status != store.StatusFinished || r.linearF1 == nil || *r.linearF1 != *r.linearF1 {
			continue
		}
		if j, ok := best[r.Experiment]; !ok || *r.linearF1 > *rows[j].linearF1 {
			best[r.Experiment] = i
		}
	}
	for _, i := range best {
		rows[i].bestInExperiment = true
	}
}

// summarize makes the experiments table.
func summarize(exps []store.Experiment, runs []store.RunRow, selected string) []expSummary {
	out := make([]expSummary, len(exps))
	index := map[string]int{}
	counts := make([]map[string]int, len(exps))
	for i, e := range exps {
		out[i] = expSummary{Name: e.Name, Description: e.Description, Selected: e.Name == selected,
			URL: listQuery{Experiment: e.Name}.url()}
		index[e.Name] = i
		counts[i] = map[string]int{}
	}
	for _, r := range runs {
		i, ok := index[r.Experiment]
		if !ok {
			continue
		}
		out[i].Runs++
		counts[i][r.Status]++
		if r.Status == store.StatusFinished && r.LinearF1 != nil && (out[i].Best == nil || *r.LinearF1 > *out[i].Best) {
			out[i].Best, out[i].BestRun, out[i].BestLabel = r.LinearF1, r.ID, r.Label
		}
	}
	for i := range out {
		for _, st := range store.Statuses {
			if n := counts[i][st]; n > 0 {
				q := listQuery{Experiment: out[i].Name, Status: st}
				out[i].ByStatus = append(out[i].ByStatus, option{Value: q.url(), Text: fmt.Sprintf("%d %s", n, st)})
			}
		}
	}
	return out
}

// statusOptions are the status drop-down's entries with their counts.
func statusOptions(runs []store.RunRow, selected string) []option {
	n := map[string]int{}
	for _, r := range runs {
		n[r.Status]++
	}
	out := []option{{Value: "", Text: fmt.Sprintf("any status (%d)", len(runs)), Selected: selected == ""}}
	for _, st := range store.Statuses {
		out = append(out, option{Value: st, Text: fmt.Sprintf("%s (%d)", st, n[st]), Selected: st == selected})
	}
	return out
}

// filterSelects makes a drop-down per setting column with the values the
// runs in view have, numbers in numeric order, and keeps a filter on a
// setting that is not a column.
func filterSelects(keys []string, runs []store.RunRow, settings map[int64]map[string]store.Param, lq listQuery) []filterSelect {
	var out []filterSelect
	add := func(key string) {
		type val struct {
			p store.Param
			n int
		}
		vals := map[string]*val{}
		for _, r := range runs {
			if p, ok := settings[r.ID][key]; ok {
				if vals[p.Value] == nil {
					vals[p.Value] = &val{p: p}
				}
				vals[p.Value].n++
			}
		}
		var list []*val
		for _, v := range vals {
			list = append(list, v)
		}
		slices.SortFunc(list, func(a, b *val) int {
			return compareVals(settingVal(a.p, true), settingVal(b.p, true), false)
		})
		sel := lq.filter(key)
		fs := filterSelect{Key: key, Name: settingPrefix + key, Active: sel != ""}
		fs.Options = append(fs.Options, option{Value: "", Text: key + ": any", Selected: sel == ""})
		found := sel == ""
		for _, v := range list {
			o := option{Value: v.p.Value, Text: fmt.Sprintf("%s = %s (%d)", key, formatSetting(v.p.Value), v.n), Selected: v.p.Value == sel}
			found = found || o.Selected
			fs.Options = append(fs.Options, o)
		}
		if !found {
			fs.Options = append(fs.Options, option{Value: sel, Text: fmt.Sprintf("%s = %s (0)", key, formatSetting(sel)), Selected: true})
		}
		out = append(out, fs)
	}
	for _, k := range keys {
		add(k)
	}
	for _, f := range lq.Set {
		if configKeys[f.Key] && !slices.Contains(keys, f.Key) {
			add(f.Key)
		}
	}
	return out
}
