package config

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// FuzzParse checks that Parse never panics and returns exactly one of a
// configuration or an error, and that what it returns is self-consistent.
func FuzzParse(f *testing.F) {
	files, err := filepath.Glob("testdata/*.yml")
	if err != nil {
		f.Fatal(err)
	}
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	for _, s := range []string{
		"",
		"{}",
		"[]",
		"~",
		"a: &a [*a]",
		"clickhouse: &c {<<: *c}",
		"models: [*m]\nm: &m {}",
		"models:\n  - name: x\n    task: regression\n    <<: {bins: 3}\n",
		"---\n---\n",
	} {
		f.Add([]byte(s))
	}

	// Generated paths must not touch the file system: every file (password,
	// CA, client certificate) reads as the same short text, which is a fine
	// password and an invalid certificate.
	fakeFile := func(string) ([]byte, error) { return []byte("fuzz-password\n"), nil }

	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := Parse(data, WithLookupEnv(noEnv), withReadFile(fakeFile))
		if (cfg == nil) == (err == nil) {
			t.Fatalf("Parse returned config %v and error %v", cfg != nil, err)
		}
		if err != nil {
			var cerr *Error
			if !errors.As(err, &cerr) || len(cerr.Problems) == 0 {
				t.Fatalf("error %v (%T) is not an *Error with problems", err, err)
			}
			for _, p := range cerr.Problems {
				if p.Msg == "" {
					t.Fatalf("problem without a message: %+v", p)
				}
			}
			return
		}
		if len(cfg.Models) == 0 || len(cfg.ClickHouse.Addr) == 0 {
			t.Fatalf("valid config without models or addresses: %+v", cfg)
		}
		for _, m := range cfg.Models {
			if m.Name == "" || m.Settings.Window <= 0 || m.Thresholds == nil {
				t.Fatalf("invalid model accepted: %+v", m)
			}
			if !ValidTable(m.Predictions.Table) {
				t.Fatalf("invalid table accepted: %q", m.Predictions.Table)
			}
			for _, ft := range m.Features {
				if !ValidIdentifier(ft.Column) {
					t.Fatalf("invalid column accepted: %q", ft.Column)
				}
			}
		}
	})
}
