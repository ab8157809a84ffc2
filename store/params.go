package store

import (
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"strconv"

	"github.com/simclr-ablate/simclr-ablate/simclr/config"
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

// configKeys are the setting names of config.Config, sorted.
var configKeys = func() []string {
	keys := config.Names()
	sort.Strings(keys)
	return keys
}()

// FlattenConfig returns the config as one Param a setting, sorted by key,
// every setting present (empty lists as "[]"). This is what the params
// table holds for a run.
func FlattenConfig(cfg config.Config) ([]Param, error) {
	settings := config.Settings()
	out := make([]Param, 0, len(settings))
	for _, s := range settings {
		p, err := flattenValue(s.Name, s.Field(&cfg))
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
