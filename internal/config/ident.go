package config

import "gopkg.in/yaml.v3"

// ValidIdentifier reports whether s is a plain SQL identifier:
// [A-Za-z_][A-Za-z0-9_]*. It is the one identifier rule of mlmon: the
// configuration checks names with it at load time, and chquery checks every
// name again with it before quoting it into SQL.
func ValidIdentifier(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '_', 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z':
		case '0' <= c && c <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}

// ValidTable reports whether s is a table name: an identifier, optionally
// qualified by a database identifier as "db.table".
func ValidTable(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == '.' {
			return ValidIdentifier(s[:i]) && ValidIdentifier(s[i+1:])
		}
	}
	return ValidIdentifier(s)
}

// ident reads an identifier (or, with table, a possibly qualified table
// name).
func (l *loader) ident(o *object, key string, dst *string, required, table bool) {
	f, ok := o.get(key)
	if !ok {
		if required && o != nil {
			l.missing(o, key)
		}
		return
	}
	s, ok := l.asString(f, o.join(key))
	if !ok {
		return
	}
	l.checkIdent(f.val, o.join(key), s, table)
	*dst = s
}

func (l *loader) checkIdent(n *yaml.Node, path, s string, table bool) {
	switch {
	case table && !ValidTable(s):
		l.add(n, path, "invalid identifier %q (want table or db.table, each matching [A-Za-z_][A-Za-z0-9_]*)", s)
	case !table && !ValidIdentifier(s):
		l.add(n, path, "invalid identifier %q (want [A-Za-z_][A-Za-z0-9_]*)", s)
	}
}
