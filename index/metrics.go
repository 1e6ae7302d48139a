package index

import "github.com/prometheus/client_golang/prometheus"

var (
	metricStored = prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: "codetrail", Subsystem: "index", Name: "events_stored_total",
		Help: "Events stored for the first time.",
	})
	metricDuplicates = prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: "codetrail", Subsystem: "index", Name: "duplicates_total",
		Help: "Events not stored because their eventID was already stored.",
	})
	metricSearchSeconds = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: "codetrail", Subsystem: "index", Name: "search_seconds",
		Help:    "Time to answer a search, by kind: hits (a page only), facets, histogram (with facets or not), get (one event).",
		Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16),
	}, []string{"kind"})
	metricNewestWindows = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "codetrail", Subsystem: "index", Name: "newest_pages_total",
		Help: "Newest-first pages, by how they were answered: bitmaps (a query of exact terms: the sort keys of a recent window's matches, found on postings bitmaps), page (from a recent eventTime window, sorting only its matches) or all (sorting every match).",
	}, []string{"from"})
	metricNewestWindowSearches = prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: "codetrail", Subsystem: "index", Name: "newest_window_searches_total",
		Help: "Searches of an eventTime window for newest-first pages answered from one (from=\"page\"): a window that misses the page is widened and searched again, so these over those pages are the searches a page took.",
	})
	metricDictAggregations = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "codetrail", Subsystem: "index", Name: "dictionary_aggregations_total",
		Help: "Facets and histograms over all events, and totals of one-term queries, read from term dictionaries, by what: facets, histogram, count, or not_exact (a shard holds deleted events or predates the hour field, so the search counted them instead).",
	}, []string{"what"})
	metricSegCounts = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "codetrail", Subsystem: "index", Name: "segment_counts_total",
		Help: "Term counts of one field in one segment wanted by a facet or histogram over all events, by result: hit (kept from an earlier search; segments never change) or miss (read from the segment's postings).",
	}, []string{"result"})
	metricBitmapAggregations = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "codetrail", Subsystem: "index", Name: "bitmap_aggregations_total",
		Help: "Facets, histograms and totals of queries made of exact terms, counted on postings bitmaps instead of per match, by what: facets, histogram, count.",
	}, []string{"what"})
	metricBlockSearches = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "codetrail", Subsystem: "index", Name: "block_searches_total",
		Help: "Searches of one block shard, by where the page's events were found and the total, facets and histogram counted: sidecar (the shard's events by value in memory, for a query of facetable terms, _exists and time ranges), word_counts (a query of one common word: its page from the blocks, its total from the word counts and the blocks before the word became common) or blocks (the candidate blocks read).",
	}, []string{"from"})
	metricBlockPagesSkipped = prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: "codetrail", Subsystem: "index", Name: "block_pages_skipped_total",
		Help: "Block shards only counted for a search in time order, not paged, their best event sorting after the last of the page the shards read before them made.",
	})
	metricSidecarFreezes = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "codetrail", Subsystem: "index", Name: "sidecar_freezes_total",
		Help: "Block shards of partitions that take no more events whose sidecar was moved from the heap to a mapped file beside them, by result: frozen, or failed (kept on the heap; logged).",
	}, []string{"result"})
	metricColumns = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "codetrail", Subsystem: "index", Name: "columns_total",
		Help: "Columns of one field in one segment wanted by a facet or histogram over a query's matches, by result: hit (kept from an earlier search), built (read from the segment's postings), none (the field has no column there: several values an event, or too many values), over_budget (counted without one: the column memory is full).",
	}, []string{"result"})
	metricEdgeTimes = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "codetrail", Subsystem: "index", Name: "edge_hour_times_total",
		Help: "Times of the events of a time range's first or last hour in one segment, by result: hit (kept from an earlier search, no sort key read), kept (read by a search that tested every one, and kept).",
	}, []string{"result"})
	metricHourSpans = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "codetrail", Subsystem: "index", Name: "hour_spans_total",
		Help: "Hours of a time range found in one segment, by where from: counts (the hour counts kept for the segment) or dictionary (its hour terms walked).",
	}, []string{"from"})
	metricTimeRanges = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "codetrail", Subsystem: "index", Name: "time_range_searches_total",
		Help: "eventTime ranges searched in one shard, by way: hours (on the hour terms and sort keys) or numeric (Bleve's date range search, in shards made before the hour terms).",
	}, []string{"way"})
	metricIDLookups = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "codetrail", Subsystem: "index", Name: "id_lookups_total",
		Help: "Event ids checked for duplicates before a batch is stored, by result: skipped (no partition's id filter may hold it) or looked_up (in the index).",
	}, []string{"result"})
	metricStoredCache = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "codetrail", Subsystem: "index", Name: "stored_cache_total",
		Help: "Reads of the stored fields of one of the newest blocks' documents (a block's, its summaries', its rare terms' index's), by result: hit (kept decompressed from an earlier read) or miss (decompressed by zapx, and kept).",
	}, []string{"result"})
	metricFrameCache = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "codetrail", Subsystem: "index", Name: "frame_cache_total",
		Help: "Reads of a frame of a block's summaries or records for a page, by result: hit (kept decoded from an earlier page) or miss (decoded, and kept).",
	}, []string{"result"})
	metricFrameCacheBytes = prometheus.NewGauge(prometheus.GaugeOpts{
		Namespace: "codetrail", Subsystem: "index", Name: "frame_cache_bytes",
		Help: "Bytes the cache of decoded frames of blocks' summaries and records holds, about.",
	})
	metricStoredCacheBytes = prometheus.NewGauge(prometheus.GaugeOpts{
		Namespace: "codetrail", Subsystem: "index", Name: "stored_cache_bytes",
		Help: "Bytes the cache of the newest blocks' stored fields holds, about.",
	})
	metricRandomReadMaps = prometheus.NewGauge(prometheus.GaugeOpts{
		Namespace: "codetrail", Subsystem: "index", Name: "random_read_maps",
		Help: "Memory maps of index files advised for random reads (no read-ahead on a page fault), as of the last look, about a second ago.",
	})
	metricDiskFull = prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: "codetrail", Subsystem: "index", Name: "disk_full_total",
		Help: "Puts refused because the disk was nearly full (see --min-free-disk).",
	})
	metricDroppedEvents = prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: "codetrail", Subsystem: "index", Name: "retention_dropped_events_total",
		Help: "Events removed by retention (whole partitions dropped).",
	})
	metricDeliverySeconds = prometheus.NewHistogram(prometheus.HistogramOpts{
		Namespace: "codetrail", Subsystem: "subscribe", Name: "delivery_seconds",
		Help:    "Time from an event being stored to its delivery to a live subscriber.",
		Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16),
	})
	metricDispatchSeconds = prometheus.NewHistogram(prometheus.HistogramOpts{
		Namespace: "codetrail", Subsystem: "subscribe", Name: "dispatch_seconds",
		Help:    "Time from an event being stored to the dispatcher leaving it in the inboxes of the live subscribers it matches (the rest of delivery_seconds is the subscribers' own sending).",
		Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16),
	})
)

var (
	metricSubscribers = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: "codetrail", Subsystem: "subscribe", Name: "subscribers",
		Help: "Open subscriptions by state: active (all), caught_up (live), lagging (reading the index after having been live).",
	}, []string{"state"})
	metricEndedForLag = prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: "codetrail", Subsystem: "subscribe", Name: "ended_for_lag_total",
		Help: "Subscriptions ended because they stayed too far behind.",
	})
	metricCompactions = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "codetrail", Subsystem: "index", Name: "compactions_total",
		Help: "Shard compactions (segments merged while ingest was idle), by result (done, error, canceled).",
	}, []string{"result"})
	metricCompactionSeconds = prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: "codetrail", Subsystem: "index", Name: "compaction_seconds_total",
		Help: "Time spent compacting shards.",
	})
	metricLagPages = prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: "codetrail", Subsystem: "subscribe", Name: "lag_pages_read_total",
		Help: "Pages of stored events read from the index for live subscribers that fell out of the ring (each shared by all of them).",
	})
	metricHitReads = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "codetrail", Subsystem: "index", Name: "hit_reads_total",
		Help: "Hits of pages searched Bleve's way read from the index, by way: number (by the search's document number, checked against the id) or id (looked up by id: a merge renumbered the shard in between, or the shard is gone).",
	}, []string{"by"})
	metricSummaryFallbacks = prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: "codetrail", Subsystem: "index", Name: "summary_fallbacks_total",
		Help: "Summary-view hits whose stored summary did not decode, read from their record instead.",
	})
)

// The frame cache's counters, looked up once: a page reads up to 50 frames.
var metricFrameHits, metricFrameMisses = metricFrameCache.WithLabelValues("hit"), metricFrameCache.WithLabelValues("miss")

// Collectors returns the package's metrics for registration by main.
func Collectors() []prometheus.Collector {
	return []prometheus.Collector{metricStored, metricDuplicates, metricSearchSeconds, metricNewestWindows, metricNewestWindowSearches, metricDictAggregations, metricSegCounts, metricBitmapAggregations, metricColumns, metricBlockSearches, metricBlockPagesSkipped, metricSidecarFreezes, metricEdgeTimes, metricHourSpans, metricTimeRanges, metricSubscribers, metricEndedForLag, metricLagPages, metricDeliverySeconds, metricDispatchSeconds, metricDroppedEvents, metricDiskFull, metricIDLookups, metricCompactions, metricCompactionSeconds, metricHitReads, metricSummaryFallbacks, metricRandomReadMaps, metricStoredCache, metricStoredCacheBytes, metricFrameCache, metricFrameCacheBytes}
}

var (
	descDocuments = prometheus.NewDesc("codetrail_index_documents", "Events stored in the index.", nil, nil)
	descDiskBytes = prometheus.NewDesc("codetrail_index_disk_bytes", "Bytes of the index on disk, all shards.", nil, nil)
	descLastSeq   = prometheus.NewDesc("codetrail_index_last_sequence", "Sequence number of the newest stored event.", nil, nil)
	descSegments  = prometheus.NewDesc("codetrail_index_segments", "Bleve segments searches read, over all shards (fewer is faster; compaction merges them when ingest is idle).", nil, nil)
	descColumns   = prometheus.NewDesc("codetrail_index_column_bytes", "Memory taken by the columns kept for facets and histograms over a query's matches (at most the configured column memory).", nil, nil)
	descEdgeTimes = prometheus.NewDesc("codetrail_index_edge_hour_times_bytes", "Memory taken by the times kept of the events of time ranges' first and last hours (at most a quarter of the configured column memory).", nil, nil)
)

// storeCollector reports a Store's size when scraped.
type storeCollector struct{ s *Store }

// Collector returns the metrics of this store's size, read when scraped.
func (s *Store) Collector() prometheus.Collector { return storeCollector{s} }

func (c storeCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- descDocuments
	ch <- descDiskBytes
	ch <- descLastSeq
	ch <- descSegments
	ch <- descColumns
	ch <- descEdgeTimes
}

func (c storeCollector) Collect(ch chan<- prometheus.Metric) {
	st := c.s.Stats()
	ch <- prometheus.MustNewConstMetric(descDocuments, prometheus.GaugeValue, float64(st.Events))
	ch <- prometheus.MustNewConstMetric(descDiskBytes, prometheus.GaugeValue, float64(st.DiskBytes))
	ch <- prometheus.MustNewConstMetric(descLastSeq, prometheus.GaugeValue, float64(st.LastSeq))
	ch <- prometheus.MustNewConstMetric(descSegments, prometheus.GaugeValue, float64(st.Segments))
	ch <- prometheus.MustNewConstMetric(descColumns, prometheus.GaugeValue, float64(c.s.columns.size()))
	ch <- prometheus.MustNewConstMetric(descEdgeTimes, prometheus.GaugeValue, float64(c.s.edges.size()))
}
