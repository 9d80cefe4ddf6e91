package rules_test

import (
	"bufio"
	"os"
	"strings"
	"testing"
	"unicode"

	"github.com/mlmon/mlmon/rules"
)

const runbookFile = "../docs/runbooks.md"

// runbookSections maps each heading's GitHub anchor to the text under it, up
// to the next heading. Runbook sections use bold labels, not sub-headings,
// so that anchors stay unique and the whole runbook is one section.
func runbookSections(t *testing.T) map[string]string {
	t.Helper()
	f, err := os.Open(runbookFile)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sections := map[string]string{}
	var current string
	var body strings.Builder
	flush := func() {
		if current != "" {
			sections[current] = body.String()
		}
		body.Reset()
	}
	inFence := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "```") {
			inFence = !inFence
		}
		if !inFence && strings.HasPrefix(line, "#") {
			hashes := len(line) - len(strings.TrimLeft(line, "#"))
			if text, ok := strings.CutPrefix(line[hashes:], " "); ok {
				flush()
				current = githubAnchor(text)
				continue
			}
		}
		body.WriteString(line + "\n")
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	flush()
	return sections
}

// githubAnchor is the id GitHub gives a Markdown heading: lowercased,
// punctuation other than '-' and '_' dropped, spaces turned into '-'.
func githubAnchor(heading string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(strings.TrimSpace(heading)) {
		switch {
		case r == ' ':
			b.WriteRune('-')
		case r == '-' || r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r):
			b.WriteRune(r)
		}
	}
	return b.String()
}

func TestRunbooks(t *testing.T) {
	sections := runbookSections(t)
	for _, a := range alertRules(loadRuleFile(t)) {
		url := a.Annotations["runbook_url"]
		anchor, ok := strings.CutPrefix(url, rules.RunbookBase+"#")
		if !ok {
			t.Errorf("%s: runbook_url %q does not point into %s", a.Alert, url, rules.RunbookBase)
			continue
		}
		body, ok := sections[anchor]
		if !ok {
			t.Errorf("%s: %s has no heading with anchor #%s", a.Alert, runbookFile, anchor)
			continue
		}
		for _, part := range []string{"**Meaning.**", "**Impact.**", "**Diagnosis.**", "**Mitigation.**"} {
			if !strings.Contains(body, part) {
				t.Errorf("%s: runbook section lacks %s", a.Alert, part)
			}
		}
		if !strings.Contains(body, "```promql") {
			t.Errorf("%s: runbook section lacks PromQL to diagnose with", a.Alert)
		}
		// A version mismatch is between Prometheus and the exporter, a
		// failed reload between the exporter and its file; ClickHouse has
		// nothing to say about either.
		if a.Alert != "MLMonRulesVersionMismatch" && a.Alert != "MLMonConfigReloadFailed" && !strings.Contains(body, "```sql") && !strings.Contains(body, "As for [") {
			t.Errorf("%s: runbook section lacks ClickHouse SQL to diagnose with", a.Alert)
		}
	}
}

func TestGitHubAnchor(t *testing.T) {
	for in, want := range map[string]string{
		"MLMonAccuracyDrop":  "mlmonaccuracydrop",
		"Alerts by tier (1)": "alerts-by-tier-1",
		"a_b-c: d.":          "a_b-c-d",
	} {
		if got := githubAnchor(in); got != want {
			t.Errorf("githubAnchor(%q) = %q, want %q", in, got, want)
		}
	}
}
