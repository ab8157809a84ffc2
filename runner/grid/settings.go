package grid

import (
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/simclr-ablate/simclr-ablate/simclr/config"
)

// settings are the descriptions of config.Config's settings by name;
// settingNames lists the names in field order (the order of plan
// columns).
var (
	settings     = settingsByName()
	settingNames = config.Names()
)

func settingsByName() map[string]config.Setting {
	m := make(map[string]config.Setting)
	for _, s := range config.Settings() {
		m[s.Name] = s
	}
	return m
}

// assign is one setting given a value at a place in the input.
type assign struct {
	key string        // setting name
	val reflect.Value // of the setting's type
	at  place
}

// place is where a value was written: a file and the key path inside it
// ("base.epochs", "variant[2].augment", "grid.temperature"), or a --set
// argument (file "--set epochs=1", path "epochs").
type place struct {
	file string
	path string
	line int
}

// apply sets a (a deep copy of its value) on cfg.
func (a assign) apply(cfg *config.Config) {
	settings[a.key].Field(cfg).Set(cloneValue(a.val))
}

// get returns the value of setting name in cfg.
func get(cfg *config.Config, name string) reflect.Value {
	return settings[name].Field(cfg)
}

// cloneValue copies slices so that cells never share backing arrays.
func cloneValue(v reflect.Value) reflect.Value {
	if v.Kind() != reflect.Slice || v.IsNil() {
		return v
	}
	out := reflect.MakeSlice(v.Type(), v.Len(), v.Len())
	for i := range v.Len() {
		out.Index(i).Set(cloneValue(v.Index(i)))
	}
	return out
}

// render writes a setting value as text: strings bare, numbers in their
// shortest exact form, lists as "[a,b]". Equal renders mean equal values
// (a nil and an empty list both render "[]", as they hash the same).
func render(v reflect.Value) string {
	switch v.Kind() {
	case reflect.String:
		return v.String()
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return strconv.FormatInt(v.Int(), 10)
	case reflect.Float32, reflect.Float64:
		return strconv.FormatFloat(v.Float(), 'g', -1, 64)
	case reflect.Bool:
		return strconv.FormatBool(v.Bool())
	case reflect.Slice:
		parts := make([]string, v.Len())
		for i := range parts {
			parts[i] = render(v.Index(i))
		}
		return "[" + strings.Join(parts, ",") + "]"
	}
	return fmt.Sprint(v.Interface())
}

// decodeValue decodes prim into a new value of type typ. On a type
// mismatch it returns a message naming the expected type and the value
// found, e.g. `expected an integer, got string "ten"`.
func decodeValue(md *toml.MetaData, prim toml.Primitive, typ reflect.Type) (reflect.Value, string) {
	ptr := reflect.New(typ)
	if err := md.PrimitiveDecode(prim, ptr.Interface()); err != nil {
		var raw any
		_ = md.PrimitiveDecode(prim, &raw)
		return reflect.Value{}, fmt.Sprintf("expected %s, got %s", typeName(typ), describe(raw))
	}
	return ptr.Elem(), ""
}

// typeName names a Go type the way a TOML user thinks of it.
func typeName(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Bool:
		return "a boolean"
	case reflect.Slice:
		return "a list of " + plural(t.Elem())
	case reflect.Map:
		return "a table"
	}
	return t.String()
}

func plural(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "strings"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return "integers"
	case reflect.Float32, reflect.Float64:
		return "numbers"
	case reflect.Bool:
		return "booleans"
	case reflect.Slice:
		return "lists of " + plural(t.Elem())
	case reflect.Map:
		return "tables"
	}
	return t.String()
}

// describe names a decoded TOML value and shows it, shortened, for error
// messages. Strings are quoted so that a message stays on one line.
func describe(raw any) string {
	var s string
	switch v := raw.(type) {
	case string:
		s = "string " + strconv.Quote(v)
	case int64:
		s = "integer " + strconv.FormatInt(v, 10)
	case float64:
		s = "float " + strconv.FormatFloat(v, 'g', -1, 64)
	case bool:
		s = "boolean " + strconv.FormatBool(v)
	case []any:
		parts := make([]string, len(v))
		for i, x := range v {
			parts[i] = short(x)
		}
		s = "array [" + strings.Join(parts, ", ") + "]"
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		s = "table {" + strings.Join(keys, ", ") + "}"
	case []map[string]any:
		s = "array of tables"
	case time.Time:
		s = "date-time " + v.Format(time.RFC3339)
	case nil:
		s = "nothing"
	default:
		s = fmt.Sprintf("%T", raw)
	}
	const max = 80
	if len(s) > max {
		s = s[:max-3] + "..."
	}
	return s
}

func short(x any) string {
	switch v := x.(type) {
	case string:
		return strconv.Quote(v)
	case []any:
		parts := make([]string, len(v))
		for i, y := range v {
			parts[i] = short(y)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case map[string]any:
		return "{...}"
	}
	return fmt.Sprint(x)
}
