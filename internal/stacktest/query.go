package stacktest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Sample is one element of an instant query's result.
type Sample struct {
	Metric map[string]string
	Value  float64
	Time   time.Time
}

// Vector is an instant query's result. A scalar result is a Vector of one
// Sample without labels.
type Vector []Sample

// String renders the vector as Prometheus's console does, sorted, for
// error messages.
func (v Vector) String() string {
	lines := make([]string, len(v))
	for i, s := range v {
		keys := make([]string, 0, len(s.Metric))
		for k := range s.Metric {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		pairs := make([]string, len(keys))
		for j, k := range keys {
			pairs[j] = k + "=" + strconv.Quote(s.Metric[k])
		}
		lines[i] = "{" + strings.Join(pairs, ", ") + "} " + strconv.FormatFloat(s.Value, 'g', -1, 64)
	}
	sort.Strings(lines)
	return "[" + strings.Join(lines, "; ") + "]"
}

// Query evaluates expr at the current time through Prometheus's HTTP API.
func (s *Stack) Query(expr string) (Vector, error) {
	return QueryPrometheus(s.PrometheusURL(), expr)
}

// QueryPrometheus evaluates expr with the instant query API of the
// Prometheus at baseURL.
func QueryPrometheus(baseURL, expr string) (Vector, error) {
	resp, err := client.PostForm(baseURL+"/api/v1/query", url.Values{"query": {expr}})
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	var r struct {
		Status    string `json:"status"`
		ErrorType string `json:"errorType"`
		Error     string `json:"error"`
		Data      struct {
			ResultType string          `json:"resultType"`
			Result     json.RawMessage `json:"result"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &r); err != nil {
		return nil, fmt.Errorf("query %q: %s: %s", expr, resp.Status, body)
	}
	if r.Status != "success" {
		return nil, fmt.Errorf("query %q: %s: %s", expr, r.ErrorType, r.Error)
	}
	switch r.Data.ResultType {
	case "vector":
		var raw []struct {
			Metric map[string]string `json:"metric"`
			Value  [2]any            `json:"value"`
		}
		if err := json.Unmarshal(r.Data.Result, &raw); err != nil {
			return nil, fmt.Errorf("query %q: %w", expr, err)
		}
		v := make(Vector, 0, len(raw))
		for _, e := range raw {
			smp, err := parsePoint(e.Value)
			if err != nil {
				return nil, fmt.Errorf("query %q: %w", expr, err)
			}
			smp.Metric = e.Metric
			v = append(v, smp)
		}
		return v, nil
	case "scalar":
		var raw [2]any
		if err := json.Unmarshal(r.Data.Result, &raw); err != nil {
			return nil, fmt.Errorf("query %q: %w", expr, err)
		}
		smp, err := parsePoint(raw)
		if err != nil {
			return nil, fmt.Errorf("query %q: %w", expr, err)
		}
		smp.Metric = map[string]string{}
		return Vector{smp}, nil
	default:
		return nil, fmt.Errorf("query %q: result type %q is neither vector nor scalar", expr, r.Data.ResultType)
	}
}

// parsePoint reads the API's [unix seconds, "value"] pair.
func parsePoint(p [2]any) (Sample, error) {
	ts, ok := p[0].(float64)
	str, ok2 := p[1].(string)
	if !ok || !ok2 {
		return Sample{}, fmt.Errorf("malformed sample %v", p)
	}
	val, err := strconv.ParseFloat(str, 64)
	if err != nil {
		return Sample{}, err
	}
	sec := int64(ts)
	return Sample{Value: val, Time: time.Unix(sec, int64((ts-float64(sec))*1e9))}, nil
}
