package main

import (
	"fmt"
	"math"
	"math/rand/v2"
	"time"
)

// Rows destined for the demo tables of deploy/clickhouse/schema.sql.
type (
	prediction struct {
		ts             time.Time
		id, model      string
		version        string
		prediction     string
		score          *float64
		latencyMS      float64
		isError        uint8
		age            float64
		tenureMonths   uint16
		monthlyCharges *float64
		plan           string
		region         *string
		intentScores   []float64 // the intent model's probability of each of intents
	}
	etaPrediction struct {
		ts         time.Time
		id         string
		prediction float64
		latencyMS  float64
		isError    uint8
		distanceKM float64
		hour       uint8
		city       string
	}
	label struct {
		id    string
		value string
		ts    time.Time
	}
	etaLabel struct {
		id    string
		value float64
		ts    time.Time
	}
	batch struct {
		predictions []prediction
		eta         []etaPrediction
		labels      []label
		etaLabels   []etaLabel
	}
)

type generator struct {
	rng     *rand.Rand
	seq     uint64
	pending []label // labels whose arrival time has not come yet
	pendEta []etaLabel
}

func newGenerator(rng *rand.Rand) *generator { return &generator{rng: rng} }

var (
	plans   = []string{"basic", "standard", "premium"}
	regions = []string{"north", "south", "east", "west"}
	intents = []string{"billing", "tech_support", "sales", "cancel"}
	cities  = []string{"berlin", "paris", "madrid", "rome", "vienna"}
)

// span writes rate predictions per second per model with event times in
// [from, to). Labels arrive 1 to 60 minutes after their prediction, for 85%
// of predictions; those not yet due at cutoff are held back for due (a zero
// cutoff delivers every label at once, as for the reference period).
func (g *generator) span(from, to time.Time, rate float64, drift schedule, cutoff time.Time) batch {
	var b batch
	n := int(to.Sub(from).Seconds() * rate)
	for i := range n {
		ts := from.Add(time.Duration(float64(i) / rate * float64(time.Second)))
		d := drift.at(ts)
		g.churn(&b, ts, d)
		g.intent(&b, ts, d)
		g.eta(&b, ts, d)
	}
	if !cutoff.IsZero() {
		b.labels, g.pending = splitDue(append(g.pending, b.labels...), cutoff, func(l label) time.Time { return l.ts })
		b.etaLabels, g.pendEta = splitDue(append(g.pendEta, b.etaLabels...), cutoff, func(l etaLabel) time.Time { return l.ts })
	}
	return b
}

// due releases the held-back labels that have arrived by t.
func (g *generator) due(t time.Time) []label {
	var out []label
	out, g.pending = splitDue(g.pending, t, func(l label) time.Time { return l.ts })
	return out
}

func splitDue[T any](xs []T, t time.Time, at func(T) time.Time) (due, later []T) {
	for _, x := range xs {
		if at(x).After(t) {
			later = append(later, x)
		} else {
			due = append(due, x)
		}
	}
	return due, later
}

func (g *generator) id() string {
	g.seq++
	return fmt.Sprintf("%x-%08x", g.rng.Uint32(), g.seq)
}

func (g *generator) labelDelay() (time.Duration, bool) {
	if g.rng.Float64() > 0.85 {
		return 0, false
	}
	return time.Duration(60+g.rng.IntN(3540)) * time.Second, true
}

func (g *generator) latency() (float64, uint8) {
	lat := math.Exp(math.Log(40) + 0.5*g.rng.NormFloat64())
	var isErr uint8
	if g.rng.Float64() < 0.005 {
		isErr = 1
	}
	return lat, isErr
}

func (g *generator) churn(b *batch, ts time.Time, drift float64) {
	age := clamp(45+12*g.rng.NormFloat64()-15*drift, 18, 90)
	tenure := uint16(g.rng.ExpFloat64() * 24 * (1 - 0.5*drift))
	var charges *float64
	if g.rng.Float64() > 0.02 {
		c := math.Max(10, 70+20*g.rng.NormFloat64()+25*drift)
		charges = &c
	}
	plan := pick(g.rng, plans, []float64{0.5 - 0.3*drift, 0.35, 0.15 + 0.3*drift})
	var region *string
	if g.rng.Float64() > 0.03 {
		r := regions[g.rng.IntN(len(regions))]
		region = &r
	}
	c := 70.0
	if charges != nil {
		c = *charges
	}
	logit := -1.2 + 0.04*(45-age) - 0.05*float64(tenure) + 0.03*(c-70)
	// The model's view of the customer: the features' logit through noise.
	// The outcome follows the model's view by a fixed law, P(churn | score)
	// = σ(1.5·logit(score)) (the scores are under-confident), with or
	// without drift: drift moves the features, and with them the scores,
	// toward where the model is unsure (covariate shift), so accuracy falls
	// and the label-free estimate, calibrated on the reference, sees the
	// fall before the labels arrive.
	view := logit + 0.6*g.rng.NormFloat64()
	score := 1 / (1 + math.Exp(-view))
	actual := "0"
	if g.rng.Float64() < 1/(1+math.Exp(-1.5*view)) {
		actual = "1"
	}
	pred := "0"
	if score >= 0.3 {
		pred = "1"
	}
	lat, isErr := g.latency()
	id := g.id()
	b.predictions = append(b.predictions, prediction{ts: ts, id: id, model: "churn", version: "2026.11.1",
		prediction: pred, score: &score, latencyMS: lat, isError: isErr, age: age, tenureMonths: tenure,
		monthlyCharges: charges, plan: plan, region: region})
	if d, ok := g.labelDelay(); ok {
		b.labels = append(b.labels, label{id: id, value: actual, ts: ts.Add(d)})
	}
}

func (g *generator) intent(b *batch, ts time.Time, drift float64) {
	weights := []float64{0.4, 0.3, 0.2, 0.1}
	if drift > 0 {
		weights = []float64{0.4 - 0.2*drift, 0.3, 0.2, 0.1 + 0.2*drift}
	}
	// The model's view of the request: a softmax of logits that single out
	// the class the request leans to, by less under drift (the requests
	// grow ambiguous). It predicts the most probable class, and the true
	// intent follows its view by a fixed law, P(intent = k | scores) ∝
	// p_k^1.5 (the scores are under-confident), with or without drift:
	// drift moves the scores toward where the model is unsure (covariate
	// shift), so accuracy falls (about 0.84 to 0.66) and the multiclass
	// label-free estimate, calibrated on the reference, sees the fall before
	// the labels arrive. The classes' shares move with drift too.
	lean := pickIndex(g.rng, weights)
	scores := make([]float64, len(intents))
	var sum float64
	for k := range scores {
		z := g.rng.NormFloat64()
		if k == lean {
			z += 2.6 * (1 - 0.6*drift)
		}
		scores[k] = math.Exp(z)
		sum += scores[k]
	}
	law := make([]float64, len(intents))
	best := 0
	for k := range scores {
		scores[k] /= sum
		law[k] = math.Pow(scores[k], 1.5)
		if scores[k] > scores[best] {
			best = k
		}
	}
	pred, actual := intents[best], intents[pickIndex(g.rng, law)]
	lat, isErr := g.latency()
	id := g.id()
	age := clamp(40+15*g.rng.NormFloat64(), 18, 90)
	b.predictions = append(b.predictions, prediction{ts: ts, id: id, model: "intent", version: "v3",
		prediction: pred, latencyMS: lat * 1.5, isError: isErr, age: age, tenureMonths: uint16(g.rng.IntN(120)),
		plan: plans[g.rng.IntN(len(plans))], intentScores: scores})
	if d, ok := g.labelDelay(); ok {
		b.labels = append(b.labels, label{id: id, value: actual, ts: ts.Add(d)})
	}
}

func (g *generator) eta(b *batch, ts time.Time, drift float64) {
	dist := g.rng.ExpFloat64()*6 + 0.5 + 4*drift
	city := pick(g.rng, cities, []float64{0.3, 0.25, 0.2, 0.15, 0.1})
	actual := 4 + 2.2*dist + 2*g.rng.NormFloat64()
	pred := 4 + 2.2*dist + (1.5+6*drift)*g.rng.NormFloat64()
	lat, isErr := g.latency()
	id := g.id()
	b.eta = append(b.eta, etaPrediction{ts: ts, id: id, prediction: pred, latencyMS: lat / 2, isError: isErr,
		distanceKM: dist, hour: uint8(ts.UTC().Hour()), city: city})
	if d, ok := g.labelDelay(); ok {
		b.etaLabels = append(b.etaLabels, etaLabel{id: id, value: math.Max(1, actual), ts: ts.Add(d)})
	}
}

func pick(rng *rand.Rand, xs []string, weights []float64) string {
	return xs[pickIndex(rng, weights)]
}

// pickIndex draws an index with probability proportional to its weight.
func pickIndex(rng *rand.Rand, weights []float64) int {
	var total float64
	for _, w := range weights {
		total += w
	}
	u := rng.Float64() * total
	for i, w := range weights {
		if u < w {
			return i
		}
		u -= w
	}
	return len(weights) - 1
}

func clamp(x, lo, hi float64) float64 { return math.Max(lo, math.Min(hi, x)) }
