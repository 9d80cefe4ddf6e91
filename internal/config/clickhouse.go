package config

import (
	"fmt"
	"net"
	"strconv"
	"strings"
)

// clickhouse reads the connection section. The password and the TLS files
// are read here, at load time, so that --config.check and a reload catch a
// missing or unreadable file rather than the first scrape.
func (l *loader) clickhouse(o *object) ClickHouse {
	ch := ClickHouse{
		Database:           DefaultDatabase,
		Username:           DefaultUsername,
		DialTimeout:        DefaultDialTimeout,
		QueryTimeout:       DefaultQueryTimeout,
		MaxParallelQueries: DefaultMaxParallelQueries,
	}

	if items, ok := l.list(o, "addr"); ok {
		if len(items) == 0 {
			f, _ := o.get("addr")
			l.add(f.val, o.join("addr"), "at least one address is required")
		}
		for i, item := range items {
			path := fmt.Sprintf("%s[%d]", o.join("addr"), i)
			s, ok := l.asString(field{val: item}, path)
			if !ok {
				continue
			}
			if msg := checkHostPort(s); msg != "" {
				l.add(item, path, "%s", msg)
				continue
			}
			ch.Addr = append(ch.Addr, s)
		}
	} else if !o.has("addr") {
		l.missing(o, "addr")
	}

	l.ident(o, "database", &ch.Database, false, false)
	l.nonEmpty(o, "username", &ch.Username, false)
	l.duration(o, "dial_timeout", &ch.DialTimeout, false)
	l.duration(o, "query_timeout", &ch.QueryTimeout, false)
	l.intRange(o, "max_parallel_queries", &ch.MaxParallelQueries, 1, 64)

	if t := l.section(o, "tls", tlsKeys, false); t != nil {
		ch.TLS = l.tls(t)
	}

	var pwFile string
	if l.str(o, "password_file", &pwFile) && pwFile != "" {
		ch.PasswordFile = l.opts.resolvePath(pwFile)
		data, err := l.opts.readFile(ch.PasswordFile)
		if err != nil {
			// err comes from opening or reading the file and names the
			// path, never the content.
			f, _ := o.get("password_file")
			l.add(f.val, o.join("password_file"), "cannot read password file: %v", err)
		} else {
			ch.Password = Secret(strings.TrimRight(string(data), "\r\n"))
		}
	} else if pw, ok := l.opts.lookupEnv(PasswordEnv); ok {
		ch.Password = Secret(pw)
	}
	return ch
}

func checkHostPort(s string) string {
	host, port, err := net.SplitHostPort(s)
	if err != nil || host == "" {
		return fmt.Sprintf("must be host:port, got %q", s)
	}
	if p, err := strconv.Atoi(port); err != nil || p < 1 || p > 65535 {
		return fmt.Sprintf("invalid port in %q", s)
	}
	return ""
}

// tls reads clickhouse.tls. File paths are relative to the configuration
// file, like password_file.
func (l *loader) tls(o *object) TLS {
	var t TLS
	l.boolean(o, "enabled", &t.Enabled)
	l.str(o, "ca_file", &t.CAFile)
	l.str(o, "cert_file", &t.CertFile)
	l.str(o, "key_file", &t.KeyFile)
	l.str(o, "server_name", &t.ServerName)
	l.boolean(o, "insecure_skip_verify", &t.InsecureSkipVerify)
	t.CAFile = l.opts.resolvePath(t.CAFile)
	t.CertFile = l.opts.resolvePath(t.CertFile)
	t.KeyFile = l.opts.resolvePath(t.KeyFile)

	if !t.Enabled {
		// Settings that only matter with TLS on, given while it is off,
		// most likely mean that enabling it was forgotten, and the
		// connection would silently go out in plain text.
		set := map[string]bool{
			"ca_file": t.CAFile != "", "cert_file": t.CertFile != "", "key_file": t.KeyFile != "",
			"server_name": t.ServerName != "", "insecure_skip_verify": t.InsecureSkipVerify,
		}
		for _, k := range o.keys {
			if set[k] {
				l.add(o.fields[k].val, o.join(k), "set, but %s is not true", o.join("enabled"))
			}
		}
		return t
	}

	switch {
	case t.CertFile != "" && t.KeyFile == "":
		l.add(o.fields["cert_file"].val, o.join("key_file"), "required when cert_file is set")
	case t.KeyFile != "" && t.CertFile == "":
		l.add(o.fields["key_file"].val, o.join("cert_file"), "required when key_file is set")
	case t.CertFile != "":
		if _, err := loadKeyPair(l.opts.readFile, t.CertFile, t.KeyFile); err != nil {
			l.add(o.fields["cert_file"].val, o.join("cert_file"), "%v", err)
		}
	}
	if t.CAFile != "" {
		if _, err := loadCAPool(l.opts.readFile, t.CAFile); err != nil {
			l.add(o.fields["ca_file"].val, o.join("ca_file"), "%v", err)
		}
	}
	return t
}
