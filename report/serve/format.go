package serve

import (
	"encoding/json"
	"fmt"
	"html/template"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/simclr-ablate/simclr-ablate/store"
)

// funcs are the templates' formatting functions. A missing value prints
// as an em dash.
var funcs = template.FuncMap{
	"score":    formatScore,
	"scoreOf":  func(v float64) string { return formatScore(&v) },
	"num":      formatNum,
	"duration": formatDuration,
	"time":     formatTime,
	"setting":  formatSetting,
	"fraction": formatFraction,
	"evalName": evalName,
	"short":    func(s string, n int) string { return shorten(s, n) },
	"add":      func(a, b int) int { return a + b },
}

const missing = "—"

// formatScore prints a score in [0, 1] with three decimals.
func formatScore(v *float64) string {
	if v == nil || math.IsNaN(*v) {
		return missing
	}
	return strconv.FormatFloat(*v, 'f', 3, 64)
}

// formatNum prints a measured number with four significant digits.
func formatNum(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return missing
	}
	switch a := math.Abs(v); {
	case a == 0:
		return "0"
	case a >= 1e4 || a < 1e-3:
		return strconv.FormatFloat(v, 'g', 4, 64)
	case a >= 100:
		return strconv.FormatFloat(v, 'f', 1, 64)
	}
	return strconv.FormatFloat(v, 'f', 4-int(math.Floor(math.Log10(math.Abs(v))))-1, 64)
}

// formatDuration prints a wall time to the second (to the millisecond
// under ten seconds).
func formatDuration(d time.Duration) string {
	switch {
	case d <= 0:
		return missing
	case d < 10*time.Second:
		return d.Round(time.Millisecond).String()
	case d < time.Hour:
		return d.Round(time.Second).String()
	}
	return d.Round(time.Minute).String()
}

// formatTime prints a stored (UTC) time to the second.
func formatTime(t time.Time) string {
	if t.IsZero() {
		return missing
	}
	return t.UTC().Format("2006-01-02 15:04:05") + " UTC"
}

// shortTime prints a stored time to the minute, UTC.
func shortTime(t time.Time) string {
	if t.IsZero() {
		return missing
	}
	return t.UTC().Format("2006-01-02 15:04")
}

// formatSetting prints a setting as stored ("256", "nonlinear",
// `["crop","color"]`) for reading: lists without JSON's quotes and
// brackets ("crop, color"; an empty list is "none").
func formatSetting(v string) string {
	if !strings.HasPrefix(v, "[") {
		return v
	}
	var list []any
	if err := json.Unmarshal([]byte(v), &list); err != nil {
		return v
	}
	if len(list) == 0 {
		return "none"
	}
	parts := make([]string, len(list))
	for i, x := range list {
		parts[i] = fmt.Sprint(x)
	}
	return strings.Join(parts, ", ")
}

// formatFraction prints a label fraction as a percentage ("10%").
func formatFraction(f float64) string {
	return strconv.FormatFloat(f*100, 'g', 4, 64) + "%"
}

// evalName names an evaluation: "linear on h", "fine-tune on h, 10% of labels".
func evalName(protocol, features string, fraction float64) string {
	name := protocol
	if protocol == "finetune" {
		name = "fine-tune"
	}
	if features != "" {
		name += " on " + features
	}
	if fraction != 1 {
		name += ", " + formatFraction(fraction) + " of labels"
	}
	return name
}

// shorten cuts s to n runes with "…".
func shorten(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

// paramValue returns the stored text of a setting of params, and whether
// it is there.
func paramValue(params []store.Param, key string) (string, bool) {
	for _, p := range params {
		if p.Key == key {
			return p.Value, true
		}
	}
	return "", false
}

// formatSettings prints a run's varying settings as stored in
// run_summary.settings ("augment=[\"crop\",\"color\"] epochs=20") for
// reading: "augment=crop, color; epochs=20". A value may hold spaces: a
// new setting starts only where a setting name and "=" follow a space.
func formatSettings(s string) string {
	var parts []string
	for _, f := range strings.Split(s, " ") {
		key, _, ok := strings.Cut(f, "=")
		if ok && configKeys[key] || len(parts) == 0 {
			parts = append(parts, f)
			continue
		}
		parts[len(parts)-1] += " " + f
	}
	for i, p := range parts {
		if key, val, ok := strings.Cut(p, "="); ok {
			parts[i] = key + "=" + formatSetting(val)
		}
	}
	return strings.Join(parts, "; ")
}
