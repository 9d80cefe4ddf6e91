package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

func TestSecretNeverPrints(t *testing.T) {
	const raw = "hunter2"
	s := Secret(raw)
	type holder struct {
		Name     string
		Password Secret
	}
	h := holder{Name: "x", Password: s}
	cfg := &Config{ClickHouse: ClickHouse{Password: s}}

	render := map[string]func() string{
		"%v":          func() string { return fmt.Sprintf("%v", s) },
		"%s":          func() string { return fmt.Sprintf("%s", s) },
		"%+v":         func() string { return fmt.Sprintf("%+v", s) },
		"%#v":         func() string { return fmt.Sprintf("%#v", s) },
		"%q":          func() string { return fmt.Sprintf("%q", s) },
		"%x":          func() string { return fmt.Sprintf("%x", s) },
		"%X":          func() string { return fmt.Sprintf("%X", s) },
		"%d":          func() string { return fmt.Sprintf("%d", s) },
		"%10.3s":      func() string { return fmt.Sprintf("%10.3s", s) },
		"Sprint":      func() string { return fmt.Sprint(s) },
		"Sprintln":    func() string { return fmt.Sprintln(s) },
		"String":      func() string { return s.String() },
		"GoString":    func() string { return s.GoString() },
		"struct %v":   func() string { return fmt.Sprintf("%v", h) },
		"struct %+v":  func() string { return fmt.Sprintf("%+v", h) },
		"struct %#v":  func() string { return fmt.Sprintf("%#v", h) },
		"pointer %+v": func() string { return fmt.Sprintf("%+v", &h) },
		"config %+v":  func() string { return fmt.Sprintf("%+v", *cfg) },
		"config %#v":  func() string { return fmt.Sprintf("%#v", *cfg) },
		"slice %v":    func() string { return fmt.Sprintf("%v", []Secret{s}) },
		"map %v":      func() string { return fmt.Sprintf("%v", map[string]Secret{"k": s}) },
		"wrapped err": func() string { return fmt.Errorf("connect: %v", s).Error() },
		"errors.New":  func() string { return errors.New(fmt.Sprint("pw=", s)).Error() },
		"json":        func() string { b, _ := json.Marshal(h); return string(b) },
		"yaml":        func() string { b, _ := yaml.Marshal(h); return string(b) },
		"text":        func() string { b, _ := s.MarshalText(); return string(b) },
		"slog text": func() string {
			var buf bytes.Buffer
			slog.New(slog.NewTextHandler(&buf, nil)).Info("msg", "password", s, "holder", h)
			return buf.String()
		},
		"slog json": func() string {
			var buf bytes.Buffer
			slog.New(slog.NewJSONHandler(&buf, nil)).Info("msg", "password", s, "holder", h)
			return buf.String()
		},
	}
	for name, f := range render {
		t.Run(name, func(t *testing.T) {
			out := f()
			if strings.Contains(out, raw) || strings.Contains(out, fmt.Sprintf("%x", raw)) {
				t.Errorf("leaked: %s", out)
			}
			// encoding/json escapes < and > by default.
			if !strings.Contains(out, "<secret>") && !strings.Contains(out, `\u003csecret\u003e`) {
				t.Errorf("no redaction marker: %s", out)
			}
		})
	}

	if got := s.Reveal(); got != raw {
		t.Errorf("Reveal() = %q, want %q", got, raw)
	}
}
