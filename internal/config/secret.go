package config

import (
	"fmt"
	"io"
	"log/slog"
)

const redacted = "<secret>"

// Secret holds a credential. Every way of printing or serialising it (fmt
// with any verb, JSON, YAML, text, slog) yields "<secret>", so that logging
// a Config or dumping it for debugging can never leak the value. Use Reveal
// where the raw value is actually needed. (The one exception is beyond its
// control: encoding/json writes string-kinded map keys verbatim, so never
// use a Secret as a map key.)
type Secret string

// Reveal returns the raw value. It is deliberately a method with an
// unmistakable name so that uses are easy to find in review.
func (s Secret) Reveal() string { return string(s) }

// String implements fmt.Stringer.
func (s Secret) String() string { return redacted }

// GoString implements fmt.GoStringer, which %#v would otherwise bypass.
func (s Secret) GoString() string { return redacted }

// Format implements fmt.Formatter. Without it, verbs such as %x or %d
// would format the underlying string and print the value in hex or inside
// an error annotation.
func (s Secret) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, redacted) }

// MarshalText implements encoding.TextMarshaler, which slog's text handler
// and many encoders fall back to.
func (s Secret) MarshalText() ([]byte, error) { return []byte(redacted), nil }

// MarshalJSON implements json.Marshaler.
func (s Secret) MarshalJSON() ([]byte, error) { return []byte(`"` + redacted + `"`), nil }

// MarshalYAML implements yaml.Marshaler.
func (s Secret) MarshalYAML() (any, error) { return redacted, nil }

// LogValue implements slog.LogValuer.
func (s Secret) LogValue() slog.Value { return slog.StringValue(redacted) }
