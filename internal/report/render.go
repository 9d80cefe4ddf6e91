package report

import (
	"embed"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"math"
	"net/url"
	"strconv"
	"strings"
)

// Formats a report renders to (mlmontool report --format).
var Formats = []string{"markdown", "json", "html"}

// Render writes the report of one model (model != "") or of every model
// in the format.
func Render(w io.Writer, r Report, model, format string) error {
	if model != "" {
		m := r.Model(model)
		if m == nil {
			return fmt.Errorf("no model %q in the report", model)
		}
		r.Models = []Model{*m}
	}
	switch format {
	case "json":
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(r)
	case "markdown":
		return Markdown(w, r)
	case "html":
		if model != "" {
			return ModelPage(w, r, model, "")
		}
		return IndexPage(w, r, "")
	}
	return fmt.Errorf("unknown format %q (one of %s)", format, strings.Join(Formats, ", "))
}

// Model returns the named model's report, nil when there is none.
func (r Report) Model(name string) *Model {
	for i := range r.Models {
		if r.Models[i].Name == name {
			return &r.Models[i]
		}
	}
	return nil
}

// Num formats a value for reading: 4 significant digits, "–" when the
// scrape did not emit it. Tests format the scrape's values the same way.
func Num(v *float64) string {
	if v == nil {
		return "–"
	}
	return strconv.FormatFloat(*v, 'g', 4, 64)
}

//go:embed templates/*.html
var templateFS embed.FS

var pages = template.Must(template.New("").Funcs(template.FuncMap{
	"num":        Num,
	"histogram":  histogram,
	"pathEscape": url.PathEscape,
	"count":      func(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) },
}).ParseFS(templateFS, "templates/*.html"))

// IndexPage writes the page listing every model with its health; base is
// the path prefix of the model pages' links ("" for relative links).
func IndexPage(w io.Writer, r Report, base string) error {
	return pages.ExecuteTemplate(w, "index.html", map[string]any{"Report": r, "Base": base})
}

// ModelPage writes one model's page.
func ModelPage(w io.Writer, r Report, model, base string) error {
	m := r.Model(model)
	if m == nil {
		return fmt.Errorf("no model %q in the report", model)
	}
	return pages.ExecuteTemplate(w, "model.html", map[string]any{"At": r.At, "Model": m, "Base": base})
}

// svgHistogram is a feature's two histograms as bars, reference beside
// current, scaled to the tallest bar.
type svgHistogram struct {
	Width, Height int
	Bars          []svgBar
	Empty         bool
}

type svgBar struct {
	Label                 string
	X, Width              float64
	RefY, RefHeight       float64
	CurX, CurY, CurHeight float64
	Ref, Cur              string
}

const (
	histWidth  = 420
	histHeight = 120
)

func histogram(d *Distribution) svgHistogram {
	h := svgHistogram{Width: histWidth, Height: histHeight}
	if d == nil || len(d.Bins) == 0 {
		h.Empty = true
		return h
	}
	peak := 0.0
	for _, b := range d.Bins {
		for _, v := range []*float64{b.Reference, b.Current} {
			if v != nil {
				peak = math.Max(peak, *v)
			}
		}
	}
	if peak == 0 {
		h.Empty = true
		return h
	}
	slot := float64(histWidth) / float64(len(d.Bins))
	bar := slot * 0.4
	scale := func(v *float64) float64 {
		if v == nil {
			return 0
		}
		return *v / peak * (histHeight - 4)
	}
	for i, b := range d.Bins {
		x := float64(i)*slot + slot*0.1
		rh, ch := scale(b.Reference), scale(b.Current)
		h.Bars = append(h.Bars, svgBar{Label: b.Label, X: x, Width: bar,
			RefY: histHeight - rh, RefHeight: rh, CurX: x + bar, CurY: histHeight - ch, CurHeight: ch,
			Ref: Num(b.Reference), Cur: Num(b.Current)})
	}
	return h
}

// Markdown writes the report as Markdown, for a ticket or a postmortem.
func Markdown(w io.Writer, r Report) error {
	var b strings.Builder
	cell := func(s string) string { return strings.NewReplacer("|", `\|`, "\n", " ", "`", "'").Replace(s) }
	for _, m := range r.Models {
		fmt.Fprintf(&b, "# Model %s\n\n", cell(m.Name))
		fmt.Fprintf(&b, "Evaluated at %s. Task %s, version %q, scrape success %t.\n\n", r.At.Format("2006-01-02T15:04:05Z07:00"), m.Task, m.Version, m.ScrapeSuccess)
		fmt.Fprintf(&b, "Predictions: current %s, reference %s. Labelled: %s (coverage %s).\n\n",
			Num(m.Predictions.Current), Num(m.Predictions.Reference), Num(m.Labeled), Num(m.LabelCoverage))
		if len(m.Performance) > 0 {
			b.WriteString("## Performance\n\n| metric | average | current | reference | estimated |\n|---|---|---|---|---|\n")
			for _, p := range m.Performance {
				fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", p.Metric, p.Average, Num(p.Current), Num(p.Reference), Num(p.Estimated))
			}
			b.WriteString("\n")
		}
		if c := m.Confusion; c != nil {
			b.WriteString("## Confusion matrix (rows: actual, columns: predicted)\n\n| |")
			for _, p := range c.Classes {
				fmt.Fprintf(&b, " %s |", cell(p))
			}
			b.WriteString("\n|---|" + strings.Repeat("---|", len(c.Classes)) + "\n")
			for i, a := range c.Classes {
				fmt.Fprintf(&b, "| %s |", cell(a))
				for j := range c.Classes {
					fmt.Fprintf(&b, " %s |", strconv.FormatFloat(c.Counts[i][j], 'f', -1, 64))
				}
				b.WriteString("\n")
			}
			b.WriteString("\n")
		}
		fmt.Fprintf(&b, "## Features ranked by PSI (%d drifting: PSI above %s and its critical value)\n\n", m.Drifting, Num(&m.PSIMax))
		b.WriteString("| feature | type | PSI | PSI critical | JS | KS | Wasserstein | chi² p | missing (cur) | missing (ref) | out of range | unseen |\n")
		b.WriteString("|---|---|---|---|---|---|---|---|---|---|---|---|\n")
		for _, f := range m.Features {
			name := cell(f.Name)
			if f.Drifting {
				name = "**" + name + "** (drifting)"
			}
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", name, f.Type,
				Num(f.PSI), Num(f.PSICritical), Num(f.JS), Num(f.KS), Num(f.Wasserstein), Num(f.Chi2P),
				Num(f.Missing.Current), Num(f.Missing.Reference), Num(f.OutOfRange), Num(f.Unseen))
		}
		b.WriteString("\n")
		if o := m.Output; o != nil {
			fmt.Fprintf(&b, "Model output: PSI %s, JS %s.\n\n", Num(o.PSI), Num(o.JS))
		}
		for _, f := range append(append([]Feature{}, m.Features...), outputs(m)...) {
			if f.Distribution == nil {
				continue
			}
			fmt.Fprintf(&b, "### %s: share of values per bin\n\n| bin | reference | current |\n|---|---|---|\n", cell(f.Name))
			for _, bin := range f.Distribution.Bins {
				fmt.Fprintf(&b, "| %s | %s | %s |\n", cell(bin.Label), Num(bin.Reference), Num(bin.Current))
			}
			b.WriteString("\n")
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func outputs(m Model) []Feature {
	if m.Output == nil {
		return nil
	}
	return []Feature{*m.Output}
}
