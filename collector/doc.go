// Package collector turns one scrape into ClickHouse queries and const
// metrics. Models are collected in parallel, max_parallel_queries of them
// at a time, each by the metric families in family.go, in order:
// operations, performance, drift and the label-free estimate, one file
// each, owning its descriptors, queries and collection. A failing query
// becomes mlmon_scrape_success 0 and mlmon_query_errors_total, never a
// failed scrape. The reference of each
// model is computed in the background and cached (reference.go, cache.go);
// counters.go holds the only state that outlives a scrape.
package collector
