package collector

import (
	"context"
	"fmt"
	"image/png"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	pmodel "github.com/prometheus/common/model"
	"github.com/prometheus/common/promslog"
	"golang.org/x/net/html"

	"github.com/mlmon/mlmon/internal/browser"
	"github.com/mlmon/mlmon/internal/report"
)

// Names that would run script if a page spliced them into its markup: a
// model name, a feature name and category values are user data.
const (
	xssModel    = `churn<script>document.title="pwned"</script>`
	xssFeature  = `<img src=x onerror="document.title='pwned'">`
	xssCategory = `"><script>document.title="pwned"</script>`
	boldCat     = `<b>bold</b>`
)

const pagesSchema = `CREATE TABLE IF NOT EXISTS pages_preds (ts DateTime, request_id String, model String, prediction String,
  score Float64, age Float64, income Float64, plan String) ENGINE = MergeTree ORDER BY (model, ts)`
const pagesLabels = `CREATE TABLE IF NOT EXISTS pages_labels (request_id String, label String, ts DateTime) ENGINE = MergeTree ORDER BY request_id`

const pagesConfig = `
clickhouse: {addr: [%q]}
defaults: {window: 1h, bins: 5, max_categories: 4, min_samples: 50, export_bins: true}
models:
  - name: %q
    task: binary_classification
    positive_class: "1"
    predictions: {table: pages_preds, timestamp: ts, id: request_id, model_column: model, prediction: prediction, score: score}
    ground_truth: {table: pages_labels, id: request_id, label: label, timestamp: ts}
    features:
      - {name: age, type: numeric}
      - {name: income, type: numeric}
      - {name: %q, column: plan, type: categorical}
    reference: {from: %s, to: %s}
`

// seedPages writes a reference day ending two hours ago and a current hour
// ending now, with age shifted and the plan mix changed in the current
// window, and labels for both.
func seedPages(t *testing.T, now time.Time) (refFrom, refTo time.Time) {
	ctx := context.Background()
	if err := server.Exec(ctx, "DROP TABLE IF EXISTS pages_preds", "DROP TABLE IF EXISTS pages_labels", pagesSchema, pagesLabels); err != nil {
		t.Fatal(err)
	}
	refTo = now.Add(-2 * time.Hour)
	refFrom = refTo.Add(-24 * time.Hour)
	rng := rand.New(rand.NewPCG(20, 1))
	preds, err := server.Conn().PrepareBatch(ctx, "INSERT INTO pages_preds (ts, request_id, model, prediction, score, age, income, plan)")
	if err != nil {
		t.Fatal(err)
	}
	labels, err := server.Conn().PrepareBatch(ctx, "INSERT INTO pages_labels (request_id, label, ts)")
	if err != nil {
		t.Fatal(err)
	}
	add := func(n int, from time.Time, span time.Duration, current bool) {
		plans := []string{"basic", "basic", "pro", boldCat, xssCategory}
		for i := range n {
			ts := from.Add(time.Duration(rng.Int64N(int64(span))))
			id := fmt.Sprintf("p-%t-%d", current, i)
			age := 40 + 10*rng.NormFloat64()
			plan := plans[rng.IntN(len(plans))]
			if current {
				age += 8
				if rng.Float64() < 0.4 {
					plan = xssCategory
				}
			}
			score := rng.Float64()
			label := "0"
			if rng.Float64() < score {
				label = "1"
			}
			pred := "0"
			if score >= 0.5 {
				pred = "1"
			}
			if err := preds.Append(ts, id, xssModel, pred, score, age, 1000+200*rng.NormFloat64(), plan); err != nil {
				t.Fatal(err)
			}
			if err := labels.Append(id, label, ts); err != nil {
				t.Fatal(err)
			}
		}
	}
	add(1500, refFrom, 24*time.Hour, false)
	add(600, now.Add(-55*time.Minute), 50*time.Minute, true)
	if err := preds.Send(); err != nil {
		t.Fatal(err)
	}
	if err := labels.Send(); err != nil {
		t.Fatal(err)
	}
	return refFrom, refTo
}

// The model page as Chromium renders it: every feature, ranked by the
// scrape's PSI, with the scrape's numbers, names that carry markup shown as
// text, and no scan of ClickHouse beyond the scrape's own.
func TestModelPageInChromium(t *testing.T) {
	if _, err := browser.Find(); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC().Truncate(time.Second)
	refFrom, refTo := seedPages(t, now)
	yml := fmt.Sprintf(pagesConfig, server.Addr(), xssModel, xssFeature, refFrom.Format(time.RFC3339), refTo.Format(time.RFC3339))
	h := NewHandler(promslog.NewNopLogger(), 500*time.Millisecond, nil)
	h.SetTarget(loadTarget(t, yml))
	mux := http.NewServeMux()
	mux.Handle("/metrics", h)
	mux.Handle("/models", h.Pages(time.Minute))
	mux.Handle("/models/", h.Pages(time.Minute))
	srv := httptest.NewServer(mux)
	defer srv.Close()

	scraped := scrapeText(t, srv.URL+"/metrics")
	if scraped[fmt.Sprintf(`mlmon_scrape_success{model=%q}`, xssModel)] != 1 {
		t.Fatalf("scrape failed: %v", scraped)
	}
	pageURL := srv.URL + "/models/" + url.PathEscape(xssModel)
	ctx := context.Background()
	dom, err := browser.DumpDOM(ctx, pageURL)
	if err != nil {
		t.Fatal(err)
	}
	// MLMON_SCREENSHOT_DIR keeps the screenshot (for a CI artifact).
	dir := os.Getenv("MLMON_SCREENSHOT_DIR")
	if dir == "" {
		dir = t.TempDir()
	}
	shot := filepath.Join(dir, "model.png")
	if err := browser.Screenshot(ctx, pageURL, shot); err != nil {
		t.Fatal(err)
	}
	checkScreenshot(t, shot)
	index, err := browser.DumpDOM(ctx, srv.URL+"/models")
	if err != nil {
		t.Fatal(err)
	}
	if n := h.scrapes.Load(); n != 1 {
		t.Errorf("%d scrapes for one /metrics and three page views, want 1: the pages must reuse the scrape", n)
	}

	doc, err := html.Parse(strings.NewReader(dom))
	if err != nil {
		t.Fatal(err)
	}
	// Markup in the names stays text: no element came from them, no script
	// ran, and the text reads as the name.
	for _, tag := range []string{"script", "img", "b"} {
		if n := findAll(doc, func(n *html.Node) bool { return n.Type == html.ElementNode && n.Data == tag }); len(n) > 0 {
			t.Errorf("the page has a <%s> element: a name was spliced into the markup", tag)
		}
	}
	if title := text(first(doc, "title")); title != "mlmon model "+xssModel {
		t.Errorf("document title %q: a script ran or the name was mangled", title)
	}
	if got := text(byID(doc, "model-name")); got != xssModel {
		t.Errorf("model name shown as %q, want %q", got, xssModel)
	}
	if !strings.Contains(textOf(doc), "03: "+boldCat) && !strings.Contains(textOf(doc), ": "+boldCat) {
		t.Errorf("the category %q is not shown as text", boldCat)
	}
	if !strings.Contains(textOf(doc), xssCategory) {
		t.Errorf("the category %q is not shown as text", xssCategory)
	}

	// Every feature, ranked by the scrape's PSI, with the scrape's numbers.
	features := []string{"age", "income", xssFeature}
	slices.SortFunc(features, func(a, b string) int {
		pa, pb := scraped[featureKey("mlmon_feature_psi", a)], scraped[featureKey("mlmon_feature_psi", b)]
		switch {
		case pa > pb:
			return -1
		case pa < pb:
			return 1
		}
		return 0
	})
	rows := findAll(byID(doc, "features"), func(n *html.Node) bool { return n.Type == html.ElementNode && n.Data == "tr" && attr(n, "class") != "" })
	var names []string
	for _, r := range rows {
		cells := findAll(r, func(n *html.Node) bool { return n.Type == html.ElementNode && n.Data == "td" })
		if len(cells) != 12 {
			t.Fatalf("a feature row has %d cells, want 12", len(cells))
		}
		f := text(cells[0])
		names = append(names, f)
		for i, metric := range []string{"mlmon_feature_psi", "mlmon_feature_psi_critical_value", "mlmon_feature_js_divergence",
			"mlmon_feature_ks_statistic", "mlmon_feature_wasserstein", "mlmon_feature_chi2_p_value"} {
			want := pageNum(scraped, featureKey(metric, f))
			if got := text(cells[2+i]); got != want {
				t.Errorf("%s of %q: page %q, scrape %q", metric, f, got, want)
			}
		}
		for i, w := range []string{"current", "reference"} {
			k := fmt.Sprintf(`mlmon_feature_missing_ratio{feature=%q,model=%q,window=%q}`, f, xssModel, w)
			if got, want := text(cells[8+i]), pageNum(scraped, k); got != want {
				t.Errorf("missing ratio (%s) of %q: page %q, scrape %q", w, f, got, want)
			}
		}
		for i, metric := range []string{"mlmon_feature_out_of_range_ratio", "mlmon_feature_unseen_category_ratio"} {
			if got, want := text(cells[10+i]), pageNum(scraped, featureKey(metric, f)); got != want {
				t.Errorf("%s of %q: page %q, scrape %q", metric, f, got, want)
			}
		}
	}
	if !slices.Equal(names, features) {
		t.Errorf("features on the page %q, want every feature ranked by the scrape's PSI %q", names, features)
	}
	if pa := scraped[featureKey("mlmon_feature_psi", "age")]; pa < 0.2 || names[len(names)-1] != "income" {
		t.Errorf("age was shifted by 0.8 standard deviations, income not: age's PSI %g, ranked %q", pa, names)
	}
	// Each feature and the output is drawn: an inline SVG with two bars per bin.
	svgs := findAll(doc, func(n *html.Node) bool { return n.Type == html.ElementNode && n.Data == "svg" })
	if len(svgs) != 4 {
		t.Errorf("%d histograms, want one per feature and the output", len(svgs))
	}
	// Each histogram's table shows the scrape's bin ratios (categories
	// other than __other__ are not exported without export_categories).
	compared := 0
	for _, sec := range findAll(doc, func(n *html.Node) bool { return n.Type == html.ElementNode && n.Data == "section" }) {
		feature := text(first(sec, "h3"))
		for _, r := range findAll(first(sec, "tbody"), func(n *html.Node) bool { return n.Type == html.ElementNode && n.Data == "tr" }) {
			cells := findAll(r, func(n *html.Node) bool { return n.Type == html.ElementNode && n.Data == "td" })
			bin := text(cells[0])
			for i, w := range []string{"reference", "current"} {
				k := fmt.Sprintf(`mlmon_feature_bin_ratio{bin=%q,feature=%q,model=%q,window=%q}`, bin, feature, xssModel, w)
				if _, ok := scraped[k]; !ok && feature == xssFeature && bin != "__other__" {
					continue
				}
				compared++
				if got, want := text(cells[1+i]), pageNum(scraped, k); got != want {
					t.Errorf("bin %q of %q (%s): page %q, scrape %q", bin, feature, w, got, want)
				}
			}
		}
	}
	if compared < 30 {
		t.Errorf("%d bin ratios compared with the scrape, want every bin of three numeric columns and __other__", compared)
	}

	// The accuracy row shows the scrape's value.
	perf := findAll(byID(doc, "performance"), func(n *html.Node) bool { return n.Type == html.ElementNode && n.Data == "td" })
	k := fmt.Sprintf(`mlmon_accuracy_ratio{model=%q,window="current"}`, xssModel)
	if len(perf) < 3 || text(perf[0]) != "accuracy" || text(perf[2]) != pageNum(scraped, k) {
		t.Errorf("performance table does not start with the scrape's accuracy %s", pageNum(scraped, k))
	}
	if byID(doc, "confusion") == nil {
		t.Error("no confusion matrix")
	}

	// The index lists the model, linked, as text.
	idx, err := html.Parse(strings.NewReader(index))
	if err != nil {
		t.Fatal(err)
	}
	links := findAll(byID(idx, "models"), func(n *html.Node) bool { return n.Type == html.ElementNode && n.Data == "a" })
	if len(links) != 1 || text(links[0]) != xssModel || attr(links[0], "href") != "models/"+url.PathEscape(xssModel) {
		for _, l := range links {
			t.Logf("link %q to %q", text(l), attr(l, "href"))
		}
		t.Errorf("index links %d models; want one link to the model", len(links))
	}
}

// A page view scrapes when the last scrape is older than the maximum age,
// and reuses it otherwise.
func TestPagesScrapeOnlyWhenStale(t *testing.T) {
	now := time.Now().UTC().Truncate(time.Second)
	refFrom, refTo := seedPages(t, now)
	yml := fmt.Sprintf(pagesConfig, server.Addr(), xssModel, xssFeature, refFrom.Format(time.RFC3339), refTo.Format(time.RFC3339))
	for _, tc := range []struct {
		maxAge time.Duration
		want   uint64
	}{{time.Minute, 1}, {0, 3}} {
		h := NewHandler(promslog.NewNopLogger(), 500*time.Millisecond, nil)
		h.SetTarget(loadTarget(t, yml))
		for _, path := range []string{"/models", "/models/" + url.PathEscape(xssModel), "/models"} {
			rec := httptest.NewRecorder()
			h.Pages(tc.maxAge).ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
			if rec.Code != 200 {
				t.Fatalf("GET %s: %d %s", path, rec.Code, rec.Body.String())
			}
		}
		if n := h.scrapes.Load(); n != tc.want {
			t.Errorf("max age %s: %d scrapes for three page views, want %d", tc.maxAge, n, tc.want)
		}
		rec := httptest.NewRecorder()
		h.Pages(tc.maxAge).ServeHTTP(rec, httptest.NewRequest("GET", "/models/nope", nil))
		if rec.Code != http.StatusNotFound {
			t.Errorf("unknown model: %d, want 404", rec.Code)
		}
	}
}

func featureKey(metric, feature string) string {
	return fmt.Sprintf(`%s{feature=%q,model=%q}`, metric, feature, xssModel)
}

// pageNum is how the page writes the scrape's value of key ("–" absent).
func pageNum(scraped map[string]float64, key string) string {
	v, ok := scraped[key]
	if !ok {
		return report.Num(nil)
	}
	return report.Num(&v)
}

// scrapeText GETs a /metrics page and flattens it to "name{labels}" → value.
func scrapeText(t *testing.T, u string) map[string]float64 {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	parser := expfmt.NewTextParser(pmodel.UTF8Validation)
	mfs, err := parser.TextToMetricFamilies(strings.NewReader(string(body)))
	if err != nil {
		t.Fatalf("%v\n%s", err, body)
	}
	out := map[string]float64{}
	for name, mf := range mfs {
		for _, m := range mf.GetMetric() {
			if m.Gauge != nil || m.Counter != nil {
				out[seriesKey(name, m)] = metricValue(m)
			}
		}
	}
	return out
}

// checkScreenshot decodes the PNG and requires a page-sized image that is
// not blank.
func checkScreenshot(t *testing.T, path string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	b := img.Bounds()
	colours := map[[3]uint32]bool{}
	for y := b.Min.Y; y < b.Max.Y; y += 7 {
		for x := b.Min.X; x < b.Max.X; x += 7 {
			r, g, bl, _ := img.At(x, y).RGBA()
			colours[[3]uint32{r, g, bl}] = true
		}
	}
	if b.Dx() < 800 || len(colours) < 4 {
		t.Errorf("screenshot %s: %dx%d with %d colours: not a rendered page", path, b.Dx(), b.Dy(), len(colours))
	}
	// The bars' colours are on it: the SVG histograms were drawn.
	if !colours[[3]uint32{0x1f1f, 0x7777, 0xb4b4}] || !colours[[3]uint32{0x9e9e, 0x9e9e, 0x9e9e}] {
		t.Errorf("screenshot %s: no current (#1f77b4) or reference (#9e9e9e) bars", path)
	}
	t.Logf("screenshot: %s (%dx%d)", path, b.Dx(), b.Dy())
}

func findAll(n *html.Node, match func(*html.Node) bool) []*html.Node {
	if n == nil {
		return nil
	}
	var out []*html.Node
	for c := range n.Descendants() {
		if match(c) {
			out = append(out, c)
		}
	}
	return out
}

func first(n *html.Node, tag string) *html.Node {
	all := findAll(n, func(c *html.Node) bool { return c.Type == html.ElementNode && c.Data == tag })
	if len(all) == 0 {
		return nil
	}
	return all[0]
}

func byID(n *html.Node, id string) *html.Node {
	all := findAll(n, func(c *html.Node) bool { return c.Type == html.ElementNode && attr(c, "id") == id })
	if len(all) == 0 {
		return nil
	}
	return all[0]
}

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

// text is the text content of n, trimmed.
func text(n *html.Node) string {
	if n == nil {
		return ""
	}
	return strings.TrimSpace(textOf(n))
}

func textOf(n *html.Node) string {
	var b strings.Builder
	for c := range n.Descendants() {
		if c.Type == html.TextNode {
			b.WriteString(c.Data)
		}
	}
	return b.String()
}
