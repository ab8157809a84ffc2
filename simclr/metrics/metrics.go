package metrics

import "fmt"

// Scores are the classification metrics of one set of predictions over
// K classes.
type Scores struct {
	Accuracy   float64   // fraction of samples with yPred == yTrue
	MacroF1    float64   // unweighted mean of PerClassF1 over all K classes
	PerClassF1 []float64 // [K]
	Confusion  [][]int   // [K][K], Confusion[true][pred] = count
}

// Compute scores predictions yPred against labels yTrue, both in
// [0, classes). For class c, with TP, FP and FN counted one-vs-rest,
//
//	precision = TP/(TP+FP)   (0 when TP+FP = 0)
//	recall    = TP/(TP+FN)   (0 when TP+FN = 0)
//	F1        = 2·precision·recall/(precision+recall)   (0 when both are 0)
//
// so a class with neither support nor predictions scores 0 and still
// counts in the macro average, as sklearn's f1_score(average="macro",
// zero_division=0). It fails when the lengths differ, when there are no
// samples or no classes, or when a label is out of range.
func Compute(yTrue, yPred []int, classes int) (Scores, error) {
	if len(yTrue) != len(yPred) {
		return Scores{}, fmt.Errorf("metrics: %d labels but %d predictions", len(yTrue), len(yPred))
	}
	if len(yTrue) == 0 {
		return Scores{}, fmt.Errorf("metrics: no samples to score")
	}
	if classes < 1 {
		return Scores{}, fmt.Errorf("metrics: %d classes, want >= 1", classes)
	}
	conf := make([][]int, classes)
	cells := make([]int, classes*classes)
	for i := range conf {
		conf[i] = cells[i*classes : (i+1)*classes : (i+1)*classes]
	}
	correct := 0
	for i, t := range yTrue {
		p := yPred[i]
		if t < 0 || t >= classes {
			return Scores{}, fmt.Errorf("metrics: label %d of sample %d out of range [0, %d)", t, i, classes)
		}
		if p < 0 || p >= classes {
			return Scores{}, fmt.Errorf("metrics: prediction %d of sample %d out of range [0, %d)", p, i, classes)
		}
		conf[t][p]++
		if t == p {
			correct++
		}
	}
	s := Scores{
		Accuracy:   float64(correct) / float64(len(yTrue)),
		PerClassF1: make([]float64, classes),
		Confusion:  conf,
	}
	for c := range classes {
		tp := conf[c][c]
		support, predicted := 0, 0
		for k := range classes {
			support += conf[c][k]
			predicted += conf[k][c]
		}
		s.PerClassF1[c] = f1(tp, predicted-tp, support-tp)
		s.MacroF1 += s.PerClassF1[c]
	}
	s.MacroF1 /= float64(classes)
	return s, nil
}

// f1 is the F1 score from true positives, false positives and false
// negatives, 0 where precision or recall is undefined.
func f1(tp, fp, fn int) float64 {
	var p, r float64
	if tp+fp > 0 {
		p = float64(tp) / float64(tp+fp)
	}
	if tp+fn > 0 {
		r = float64(tp) / float64(tp+fn)
	}
	if p+r == 0 {
		return 0
	}
	return 2 * p * r / (p + r)
}
