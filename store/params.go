package store

import (
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"

	"github.com/simclr-ablate/simclr-ablate/simclr"
)

// Param is one setting of a run's config, as stored in the params table.
// Value is the text: strings bare ("nonlinear"), numbers in Go's shortest
// form ("0.5", "256"), lists as JSON (`["crop","color"]`). Num is set when
// the setting is a number.
type Param struct {
	Key   string
	Value string
	Num   *float64
}

// configKeys are the setting names of simclr.Config (its toml tags), sorted.
var configKeys = func() []string {
	var keys []string
	t := reflect.TypeOf(simclr.Config{})
	for i := 0; i < t.NumField(); i++ {
		if k := fieldKey(t.Field(i)); k != "" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	return keys
}()

// fieldKey is the setting name of a Config field: its toml tag, else its
// json tag, else "" (not a setting).
func fieldKey(f reflect.StructField) string {
	if !f.IsExported() {
		return ""
	}
	for _, tag := range []string{"toml", "json"} {
		name, _, _ := strings.Cut(f.Tag.Get(tag), ",")
		if name == "-" {
			return ""
		}
		if name != "" {
			return name
		}
	}
	return ""
}

// FlattenConfig returns the config as one Param a setting, sorted by key,
// every setting present (empty lists as "[]"). This is what the params
// table holds for a run.
func FlattenConfig(cfg simclr.Config) ([]Param, error) {
	v := reflect.ValueOf(cfg)
	t := v.Type()
	out := make([]Param, 0, t.NumField())
	for i := 0; i < t.NumField(); i++ {
		key := fieldKey(t.Field(i))
		if key == "" {
			continue
		}
		p, err := flattenValue(key, v.Field(i))
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out, nil
}

func flattenValue(key string, v reflect.Value) (Param, error) {
	num := func(f float64) *float64 { return &f }
	switch v.Kind() {
	case reflect.String:
		return Param{Key: key, Value: v.String()}, nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return Param{Key: key, Value: strconv.FormatInt(v.Int(), 10), Num: num(float64(v.Int()))}, nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return Param{Key: key, Value: strconv.FormatUint(v.Uint(), 10), Num: num(float64(v.Uint()))}, nil
	case reflect.Float32, reflect.Float64:
		f := v.Float()
		p := Param{Key: key, Value: strconv.FormatFloat(f, 'g', -1, 64)}
		if f == f { // NaN is stored as text only
			p.Num = num(f)
		}
		return p, nil
	case reflect.Bool:
		b := v.Bool()
		f := 0.0
		if b {
			f = 1
		}
		return Param{Key: key, Value: strconv.FormatBool(b), Num: num(f)}, nil
	case reflect.Slice, reflect.Array:
		if v.Len() == 0 {
			return Param{Key: key, Value: "[]"}, nil
		}
	}
	b, err := json.Marshal(v.Interface())
	if err != nil {
		return Param{}, fmt.Errorf("flatten config: setting %s: %w", key, err)
	}
	return Param{Key: key, Value: string(b)}, nil
}
