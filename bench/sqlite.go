package main

// The SQLite FTS5 side of the search benchmark (issue #5): the same trail
// files and the same questions as codetrail, asked of a tuned but plain
// SQLite setup like the peer measured in PERF-NOTES.md. The work runs in a
// child process (this binary re-executed with -sqlite-child) so that the
// peak RSS it reports is SQLite's alone, not the parent's plus the
// generator's.

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	_ "github.com/mattn/go-sqlite3" // the "sqlite3" driver; FTS5 needs -tags sqlite_fts5

	"github.com/codetrail/codetrail/index/record"
	"github.com/codetrail/codetrail/ingest/decode"
	"github.com/codetrail/codetrail/ingest/gen"
)

// sqliteBatch is the rows per transaction: the setup the peer measured.
// Fewer rows pay an fsync-free but still costly commit (WAL append and
// index page writes) more often; more rows gain little and delay visibility.
const sqliteBatch = 5000

// sqliteDecoders read and decode trail files in parallel with the single
// writer. Two match the machine: SQLite's own work (B-trees, FTS tokenising)
// keeps the writer busy on one core.
const sqliteDecoders = 2

// sqliteCacheKiB is the page cache per connection (default 2 MiB). 64 MiB
// keeps the hot index pages of a million events in memory, as a tuned
// deployment would.
const sqliteCacheKiB = 64 << 10

// sqlitePageSize is codetrail's page size in the benchmark.
const sqlitePageSize = 50

// The hidden flags of the child process, registered by sqliteChildFlags.
// Its -events and -runs are main's own flags, read with flag.Lookup.
var (
	sqliteChildTrail *string
	sqliteChildDB    *string
)

// sqliteChildFlags registers the hidden flags of the SQLite child process on
// the default FlagSet. Call it before flag.Parse.
func sqliteChildFlags() {
	sqliteChildTrail = flag.String("sqlite-child", "", "internal: run the SQLite FTS5 side of the benchmark on this trail directory and print its result as JSON")
	sqliteChildDB = flag.String("sqlite-db", "", "internal: the SQLite database file of -sqlite-child")
}

// sqliteChildRequested says whether this process is the SQLite child.
func sqliteChildRequested() bool {
	return sqliteChildTrail != nil && *sqliteChildTrail != ""
}

// runSQLite measures SQLite FTS5 on the trail files under trail: ingest, the
// benchmark queries, each run runs times, paging, disk and peak RSS. n is
// the number of distinct events the trail holds. The database goes in
// work/sqlite. The work happens in a child process; its log lines go to
// stderr.
func runSQLite(trail string, n, runs int, work string) (measure, error) {
	exe, err := os.Executable()
	if err != nil {
		return measure{}, fmt.Errorf("sqlite: find own binary: %w", err)
	}
	dir := filepath.Join(work, "sqlite")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return measure{}, fmt.Errorf("sqlite: %w", err)
	}
	db := filepath.Join(dir, "events.db")
	// A kept -dir may hold the database of an earlier run.
	for _, suffix := range []string{"", "-wal", "-shm"} {
		if err := os.Remove(db + suffix); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return measure{}, fmt.Errorf("sqlite: remove old database: %w", err)
		}
	}
	cmd := exec.Command(exe, "-sqlite-child", trail, "-sqlite-db", db,
		"-events", strconv.Itoa(n), "-runs", strconv.Itoa(runs))
	var tail sqliteTail
	cmd.Stderr = io.MultiWriter(os.Stderr, &tail)
	out, err := cmd.Output()
	if err != nil {
		return measure{}, fmt.Errorf("sqlite child: %w: %s", err, tail.lastLine())
	}
	var m measure
	if err := json.Unmarshal(out, &m); err != nil {
		return measure{}, fmt.Errorf("sqlite child: decode its result: %w", err)
	}
	return m, nil
}

// sqliteTail keeps the last few KB written to it: the child's error is its
// last line of stderr.
type sqliteTail struct{ b []byte }

func (t *sqliteTail) Write(p []byte) (int, error) {
	t.b = append(t.b, p...)
	if len(t.b) > 4096 {
		t.b = t.b[len(t.b)-4096:]
	}
	return len(p), nil
}

func (t *sqliteTail) lastLine() string {
	s := strings.TrimSpace(string(t.b))
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		s = s[i+1:]
	}
	return s
}

// runSQLiteChild is the child process: it ingests the -sqlite-child trail
// into the -sqlite-db database, runs the queries and writes its measure as
// JSON on stdout.
func runSQLiteChild() error {
	n, err := sqliteIntFlag("events")
	if err != nil {
		return err
	}
	runs, err := sqliteIntFlag("runs")
	if err != nil {
		return err
	}
	if *sqliteChildDB == "" {
		return errors.New("sqlite child: -sqlite-db is required")
	}
	m, err := sqliteBench(context.Background(), *sqliteChildTrail, *sqliteChildDB, n, max(runs, 1))
	if err != nil {
		return err
	}
	return json.NewEncoder(os.Stdout).Encode(m)
}

// sqliteIntFlag reads an int flag that main registered.
func sqliteIntFlag(name string) (int, error) {
	f := flag.Lookup(name)
	if f == nil {
		return 0, fmt.Errorf("sqlite child: flag -%s is not registered", name)
	}
	g, ok := f.Value.(flag.Getter)
	if !ok {
		return 0, fmt.Errorf("sqlite child: flag -%s is not an int", name)
	}
	v, ok := g.Get().(int)
	if !ok {
		return 0, fmt.Errorf("sqlite child: flag -%s is not an int", name)
	}
	return v, nil
}

// sqliteSchema is the database. Choices:
//   - seq is the rowid (store order, like codetrail's sequence number); the
//     FTS table shares it.
//   - event_time is unix nanoseconds UTC, NULL when the record has none, so
//     it sorts last newest-first as codetrail's no-time events do.
//   - user_arn and error_code are NULL when absent: "errorCode:*" is then
//     "error_code IS NOT NULL".
//   - service is stored because codetrail derives it from more than
//     eventSource (invokedBy, sourceIPAddress, userAgent), so the boolean
//     query's service:codepipeline means the same on both.
//   - record is the original JSON as received, a BLOB so its bytes come back
//     unchanged; kind says which schema it follows.
//   - B-tree indexes on the filter and sort fields; each ends with the rowid,
//     so "event_time DESC, seq DESC" needs no sort step. events_service_time
//     lets the one-service histogram read the index alone.
//   - events_error holds only failed calls (a few percent of rows): every
//     errorCode filter implies error_code IS NOT NULL, so all can use it,
//     and with event_name in it the errors-only facet reads the index alone.
//     A plain index on error_code led the planner (which has no histogram
//     of values without SQLITE_ENABLE_STAT4) to read every row through
//     events_name_time for that facet: 345 ms instead of ~2 ms at 100k
//     events. It also keeps "error_code IS NULL" from picking this index.
//   - events_fts is contentless (its content option is empty): it only maps
//     words to rowids. External content would need the flattened text
//     stored a second time as a column of events, for nothing: pages come
//     from events and the lossless copy is record. contentless_delete=1
//     lets retention delete rows, which a plain contentless table cannot.
//     Columns: text (user agent, error code, error message, request
//     parameters) for a word anywhere, and resources for resource: lookups.
//     The default unicode61 tokenizer splits on what is not a letter or
//     digit and folds case, as codetrail's text analyser does.
const sqliteSchema = `
CREATE TABLE events (
	seq          INTEGER PRIMARY KEY,
	event_id     TEXT NOT NULL UNIQUE,
	event_time   INTEGER,
	event_source TEXT NOT NULL,
	event_name   TEXT NOT NULL,
	service      TEXT NOT NULL,
	aws_region   TEXT NOT NULL,
	account      TEXT NOT NULL,
	user_arn     TEXT,
	error_code   TEXT,
	resources    TEXT NOT NULL,
	kind         INTEGER NOT NULL,
	record       BLOB NOT NULL
);
CREATE INDEX events_name_time ON events(event_name, event_time);
CREATE INDEX events_source_name_time ON events(event_source, event_name, event_time);
CREATE INDEX events_time ON events(event_time);
CREATE INDEX events_error ON events(error_code, event_name) WHERE error_code IS NOT NULL;
CREATE INDEX events_user ON events(user_arn);
CREATE INDEX events_service_time ON events(service, event_time);
CREATE VIRTUAL TABLE events_fts USING fts5(text, resources, content='', contentless_delete=1);
`

// sqliteRow is one decoded event, ready to insert.
type sqliteRow struct {
	id                    string
	time                  sql.NullInt64
	source, name, service string
	region, account       string
	userARN, errorCode    sql.NullString
	resources, text       string
	kind                  int
	raw                   []byte
}

func newSQLiteRow(ev *record.Event) sqliteRow {
	r := sqliteRow{
		id: ev.ID, source: ev.Source, name: ev.Name, service: ev.Service,
		region: ev.Region, account: ev.Account,
		userARN:   sql.NullString{String: ev.UserARN, Valid: ev.UserARN != ""},
		errorCode: sql.NullString{String: ev.ErrorCode, Valid: ev.ErrorCode != ""},
		resources: strings.Join(ev.Resources, "\n"),
		kind:      int(ev.Kind),
		raw:       ev.Raw,
	}
	if !ev.Time.IsZero() {
		r.time = sql.NullInt64{Int64: ev.Time.UnixNano(), Valid: true}
	}
	var b strings.Builder
	for _, s := range []string{ev.UserAgent, ev.ErrorCode, ev.ErrorMessage} {
		if s != "" {
			b.WriteString(s)
			b.WriteByte('\n')
		}
	}
	// The words of the request: every scalar under requestParameters.
	for l := range ev.Leaves.All() {
		if l.Path == "requestParameters" || strings.HasPrefix(l.Path, "requestParameters.") {
			b.WriteString(l.Value)
			b.WriteByte('\n')
		}
	}
	r.text = b.String()
	return r
}

// sqliteBench is the whole child run.
func sqliteBench(ctx context.Context, trail, path string, n, runs int) (measure, error) {
	m := measure{Engine: "SQLite FTS5"}
	dsn := path + "?_journal_mode=WAL&_synchronous=NORMAL&_busy_timeout=5000&_cache_size=-" + strconv.Itoa(sqliteCacheKiB)
	db, err := sql.Open("sqlite3", dsn)
	if err != nil {
		return m, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	defer db.Close()
	// One connection: one writer, then one client asking, as in codetrail's
	// benchmark; it also keeps the per-connection pragmas of the DSN.
	db.SetMaxOpenConns(1)
	if _, err := db.ExecContext(ctx, sqliteSchema); err != nil {
		if strings.Contains(err.Error(), "no such module: fts5") {
			return m, fmt.Errorf("create schema: SQLite was built without FTS5: run the benchmark with `go run -tags sqlite_fts5 .` (and test with `go test -tags sqlite_fts5`): %w", err)
		}
		return m, fmt.Errorf("create schema: %w", err)
	}
	var mode string
	if err := db.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil {
		return m, fmt.Errorf("sqlite journal mode: %w", err)
	}
	if !strings.EqualFold(mode, "wal") {
		return m, fmt.Errorf("sqlite journal mode is %q, want wal", mode)
	}

	start := time.Now()
	stored, err := sqliteIngest(ctx, db, trail)
	if err != nil {
		return m, err
	}
	m.Ingest = time.Since(start)
	m.Events = int(stored)
	fmt.Fprintf(os.Stderr, "sqlite: ingested %d events in %s = %.0f events/s\n", stored, m.Ingest.Round(time.Millisecond), m.rate())
	if stored == 0 {
		return m, fmt.Errorf("sqlite: no events stored from %s", trail)
	}
	if int(stored) != n {
		fmt.Fprintf(os.Stderr, "sqlite: warning: stored %d events, the trail was generated with %d\n", stored, n)
	}
	// A tuned deployment runs ANALYZE (or PRAGMA optimize) after a bulk
	// load so the planner knows how selective each index is. It is not
	// needed for searchability, so it is timed apart.
	t0 := time.Now()
	if _, err := db.ExecContext(ctx, "ANALYZE"); err != nil {
		return m, fmt.Errorf("sqlite analyze: %w", err)
	}
	fmt.Fprintf(os.Stderr, "sqlite: ANALYZE took %s (not counted in ingest)\n", time.Since(t0).Round(time.Millisecond))

	for _, q := range sqliteQueries() {
		t, err := sqliteTime(ctx, db, q, runs)
		if err != nil {
			return m, err
		}
		m.Queries = append(m.Queries, t)
	}
	if m.Page1, m.Page100, err = sqlitePaging(ctx, db, runs); err != nil {
		return m, err
	}

	if _, err := db.ExecContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)"); err != nil {
		return m, fmt.Errorf("sqlite checkpoint: %w", err)
	}
	for _, suffix := range []string{"", "-wal", "-shm"} {
		if st, err := os.Stat(path + suffix); err == nil {
			m.Disk += st.Size()
		}
	}
	m.PeakRSS = procStatus(os.Getpid(), "VmHWM:")
	return m, nil
}

// sqliteIngest reads every *.json.gz under trail with sqliteDecoders
// goroutines and inserts the events in transactions of sqliteBatch rows. It
// returns once the last transaction has committed: in WAL mode every later
// query sees all rows. It returns the number of events stored.
func sqliteIngest(ctx context.Context, db *sql.DB, trail string) (int64, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var files []string
	// A trail kept elsewhere and linked into -dir: WalkDir does not follow
	// a link, even as its root.
	root, err := filepath.EvalSymlinks(trail)
	if err != nil {
		return 0, fmt.Errorf("list trail: %w", err)
	}
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && strings.HasSuffix(p, ".json.gz") {
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("list trail %s: %w", trail, err)
	}

	paths := make(chan string)
	// Room for a few files per decoder so the writer never waits on one.
	batches := make(chan []sqliteRow, 4*sqliteDecoders)
	var (
		wg      sync.WaitGroup
		errOnce sync.Once
		decErr  error
	)
	fail := func(err error) {
		errOnce.Do(func() { decErr = err; cancel() })
	}
	go func() {
		defer close(paths)
		for _, f := range files {
			select {
			case paths <- f:
			case <-ctx.Done():
				return
			}
		}
	}()
	for range sqliteDecoders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for p := range paths {
				rows, err := sqliteDecodeFile(p)
				if err != nil {
					fail(err)
					return
				}
				select {
				case batches <- rows:
				case <-ctx.Done():
					return
				}
			}
		}()
	}
	go func() { wg.Wait(); close(batches) }()

	stored, werr := sqliteWrite(ctx, db, batches)
	if werr != nil {
		cancel()
	}
	for range batches { // let the decoders see the cancel and end
	}
	// The writer fails with the cancel when a decoder failed first: report
	// the cause.
	if decErr != nil {
		return 0, decErr
	}
	if werr != nil {
		return 0, werr
	}
	return stored, nil
}

// sqliteDecodeFile decodes one trail file as codetrail's file source does:
// the whole file, then record.Parse for every record.
func sqliteDecodeFile(path string) ([]sqliteRow, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read trail file: %w", err)
	}
	var rows []sqliteRow
	_, err = decode.Decode(path, data, decode.DefaultOptions(), func(r decode.Record) error {
		ev, err := record.Parse(r.Kind, r.Raw)
		if err != nil {
			return fmt.Errorf("%s: %w", r.Pos, err)
		}
		rows = append(rows, newSQLiteRow(&ev))
		return nil
	}, nil)
	if err != nil {
		return nil, fmt.Errorf("sqlite ingest: %w", err)
	}
	return rows, nil
}

// sqliteWrite inserts the rows it receives, committing every sqliteBatch
// rows and once more at the end. A repeated eventID is ignored (CloudTrail
// delivers some records twice); only a new row gets its words indexed.
func sqliteWrite(ctx context.Context, db *sql.DB, batches <-chan []sqliteRow) (int64, error) {
	ins, err := db.PrepareContext(ctx, `INSERT OR IGNORE INTO events
		(event_id, event_time, event_source, event_name, service, aws_region, account, user_arn, error_code, resources, kind, record)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
	if err != nil {
		return 0, fmt.Errorf("prepare insert: %w", err)
	}
	defer ins.Close()
	insFTS, err := db.PrepareContext(ctx, `INSERT INTO events_fts (rowid, text, resources) VALUES (?, ?, ?)`)
	if err != nil {
		return 0, fmt.Errorf("prepare fts insert: %w", err)
	}
	defer insFTS.Close()

	var (
		tx      *sql.Tx
		txIns   *sql.Stmt
		txFTS   *sql.Stmt
		inTx    int
		stored  int64
		pending int
	)
	commit := func() error {
		if tx == nil {
			return nil
		}
		err := tx.Commit()
		tx = nil
		if err != nil {
			return fmt.Errorf("sqlite commit: %w", err)
		}
		stored += int64(pending)
		pending, inTx = 0, 0
		return nil
	}
	defer func() {
		if tx != nil {
			_ = tx.Rollback()
		}
	}()
	for rows := range batches {
		for i := range rows {
			r := &rows[i]
			if tx == nil {
				if tx, err = db.BeginTx(ctx, nil); err != nil {
					return 0, fmt.Errorf("sqlite begin: %w", err)
				}
				// Statements prepared once on the only connection;
				// tx.Stmt reuses them rather than preparing again.
				txIns, txFTS = tx.StmtContext(ctx, ins), tx.StmtContext(ctx, insFTS)
			}
			res, err := txIns.ExecContext(ctx, r.id, r.time, r.source, r.name, r.service, r.region, r.account,
				r.userARN, r.errorCode, r.resources, r.kind, r.raw)
			if err != nil {
				return 0, fmt.Errorf("insert event %s: %w", r.id, err)
			}
			if k, _ := res.RowsAffected(); k == 1 {
				seq, _ := res.LastInsertId()
				if _, err := txFTS.ExecContext(ctx, seq, r.text, r.resources); err != nil {
					return 0, fmt.Errorf("index words of event %s: %w", r.id, err)
				}
				pending++
			}
			if inTx++; inTx == sqliteBatch {
				if err := commit(); err != nil {
					return 0, err
				}
			}
		}
	}
	if err := commit(); err != nil {
		return 0, err
	}
	return stored, ctx.Err()
}

// sqliteQuery is one benchmark question in SQL. Each run does what
// codetrail's Search answer holds: page (up to 50 rows of summary columns,
// newest first; not the raw JSON, as codetrail's SUMMARY view) AND count
// (the total hits), plus agg for facets and the histogram, whose page is a
// single row as codetrail's PageSize 1.
type sqliteQuery struct {
	name  string
	where string // SQL condition on events, "" for all
	args  []any
	limit int
	count string // SELECT count(*) ..., the total hits
	agg   string // facet or histogram, "" for none
}

// sqliteCols are the summary columns of a page.
const sqliteCols = "seq, event_id, event_time, event_source, event_name, service, aws_region, account, user_arn, error_code, resources"

// sqliteFTSMatch narrows to the rows whose words match the argument.
const sqliteFTSMatch = "seq IN (SELECT rowid FROM events_fts WHERE events_fts MATCH ?)"

// sqliteQueries are the questions of main.go's queries slice, with the same
// names in the same order.
func sqliteQueries() []sqliteQuery {
	week := gen.DefaultEnd.Add(-7 * 24 * time.Hour).UnixNano()
	// A resource is an exact value in codetrail; the FTS match finds the
	// rows holding the word (also in ARNs and longer names such as
	// MyFirstPipeline-alerts), then the whole-line test keeps the exact ones.
	resource := sqliteFTSMatch + " AND instr(char(10) || resources || char(10), ?) > 0"
	resArgs := []any{`resources : "MyFirstPipeline"`, "\nMyFirstPipeline\n"}
	facet := func(where string) string {
		return "SELECT event_name, count(*) AS c FROM events" + where + " GROUP BY event_name ORDER BY c DESC, event_name LIMIT 10"
	}
	q := []sqliteQuery{
		{name: "term on eventName, 50 newest", where: "event_name = ?", args: []any{"StartBuild"}},
		{name: "source+name+7d range, 50 newest", where: "event_source = ? AND event_name = ? AND event_time >= ?",
			args: []any{"codepipeline.amazonaws.com", "StartPipelineExecution", week}},
		// codetrail's word anywhere looks through every string of the record;
		// in this data AccessDenied is only ever an errorCode, which the
		// text column holds.
		{name: "word anywhere, 50 newest", where: sqliteFTSMatch, args: []any{`"AccessDenied"`},
			count: "SELECT count(*) FROM events_fts WHERE events_fts MATCH ?"},
		{name: "resource lookup, 50 newest", where: resource, args: resArgs},
		{name: "boolean with NOT exists", where: "service = ? AND event_name IN (?, ?) AND error_code IS NULL",
			args: []any{"codepipeline", "UpdatePipeline", "DeletePipeline"}},
		// GLOB is case-sensitive with * as any run, as codetrail's wildcard
		// on a keyword field.
		{name: "wildcard on user arn", where: "user_arn GLOB ?", args: []any{"*JaneDoe*"}},
		{name: "terms facet eventName, all events", limit: 1, agg: facet("")},
		{name: "day histogram, all events", limit: 1,
			agg: fmt.Sprintf("SELECT event_time / %d AS day, count(*) FROM events WHERE event_time IS NOT NULL GROUP BY day ORDER BY day", int64(24*time.Hour))},
		{name: "facet over errors only", where: "error_code IS NOT NULL", limit: 1, agg: facet(" WHERE error_code IS NOT NULL")},
		{name: "day histogram, one service (~10%)", where: "service = 'codedeploy'", limit: 1,
			agg: fmt.Sprintf("SELECT event_time / %d AS day, count(*) FROM events WHERE service = 'codedeploy' AND event_time IS NOT NULL GROUP BY day ORDER BY day", int64(24*time.Hour))},
	}
	for i := range q {
		if q[i].limit == 0 {
			q[i].limit = sqlitePageSize
		}
		if q[i].count == "" {
			q[i].count = "SELECT count(*) FROM events" + sqliteWhere(q[i].where)
		}
	}
	return q
}

func sqliteWhere(cond string) string {
	if cond == "" {
		return ""
	}
	return " WHERE " + cond
}

// sqliteEvent is a page row as a client would get it.
type sqliteEvent struct {
	seq                   int64
	id                    string
	time                  sql.NullInt64
	source, name, service string
	region, account       string
	userARN, errorCode    sql.NullString
	resources             string
}

// sqlitePage reads one page of query.
func sqlitePage(ctx context.Context, db *sql.DB, query string, args ...any) ([]sqliteEvent, error) {
	rows, err := db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var page []sqliteEvent
	for rows.Next() {
		var e sqliteEvent
		if err := rows.Scan(&e.seq, &e.id, &e.time, &e.source, &e.name, &e.service, &e.region, &e.account, &e.userARN, &e.errorCode, &e.resources); err != nil {
			return nil, err
		}
		page = append(page, e)
	}
	return page, rows.Err()
}

// sqliteAgg reads a facet or histogram: (key, count) rows, as "key=count",
// and the sum of the counts.
func sqliteAgg(ctx context.Context, db *sql.DB, query string) ([]string, int64, error) {
	rows, err := db.QueryContext(ctx, query)
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	var (
		out   []string
		total int64
	)
	for rows.Next() {
		var key any
		var c int64
		if err := rows.Scan(&key, &c); err != nil {
			return nil, 0, err
		}
		out = append(out, fmt.Sprintf("%v=%d", key, c))
		total += c
	}
	return out, total, rows.Err()
}

// sqliteTime runs q runs times. The SQL text is sent each time, as a front
// end translating users' queries would: SQLite parses and plans it per call,
// as codetrail parses and compiles its query per call.
func sqliteTime(ctx context.Context, db *sql.DB, q sqliteQuery, runs int) (timing, error) {
	pageSQL := "SELECT " + sqliteCols + " FROM events" + sqliteWhere(q.where) +
		" ORDER BY event_time DESC, seq DESC LIMIT " + strconv.Itoa(q.limit)
	lat := make([]time.Duration, 0, runs)
	var hits int64
	for range runs {
		t := time.Now()
		if _, err := sqlitePage(ctx, db, pageSQL, q.args...); err != nil {
			return timing{}, fmt.Errorf("%s: page: %w", q.name, err)
		}
		if err := db.QueryRowContext(ctx, q.count, q.args...).Scan(&hits); err != nil {
			return timing{}, fmt.Errorf("%s: count: %w", q.name, err)
		}
		var buckets []string
		var sum int64
		if q.agg != "" {
			var err error
			if buckets, sum, err = sqliteAgg(ctx, db, q.agg); err != nil {
				return timing{}, fmt.Errorf("%s: aggregate: %w", q.name, err)
			}
		}
		lat = append(lat, time.Since(t))
		if len(lat) == 1 && q.agg != "" {
			// For comparing with codetrail's facets and histogram by eye.
			fmt.Fprintf(os.Stderr, "sqlite: %s: %d hits, %d in %d buckets: %s\n", q.name, hits, sum, len(buckets), strings.Join(buckets, " "))
		}
	}
	slices.Sort(lat)
	return timing{
		Name: q.name,
		P50:  lat[min(len(lat)-1, len(lat)*50/100)],
		P99:  lat[min(len(lat)-1, len(lat)*99/100)],
		Max:  lat[len(lat)-1],
		Hits: hits,
	}, nil
}

// sqlitePaging times page 1 and page 100 of 50 over all events, newest
// first. codetrail pages with a search_after token, so the fair SQL is
// keyset paging (WHERE (event_time, seq) < last row's), not OFFSET, which
// reads and drops every earlier row. Like codetrail's answer, each page
// also counts the total hits. Events without a time are never reached
// after page 1; the generated trail has none.
func sqlitePaging(ctx context.Context, db *sql.DB, runs int) (first, hundredth time.Duration, err error) {
	const order = " ORDER BY event_time DESC, seq DESC LIMIT 50"
	firstSQL := "SELECT " + sqliteCols + " FROM events" + order
	nextSQL := "SELECT " + sqliteCols + " FROM events WHERE (event_time, seq) < (?, ?)" + order
	// A page is its rows and the count of all events, as codetrail's
	// carries its total; after is the last row of the page before.
	page := func(after *sqliteEvent) ([]sqliteEvent, error) {
		var rows []sqliteEvent
		var err error
		if after == nil {
			rows, err = sqlitePage(ctx, db, firstSQL)
		} else {
			rows, err = sqlitePage(ctx, db, nextSQL, after.time, after.seq)
		}
		if err != nil {
			return nil, err
		}
		var total int64
		if err := db.QueryRowContext(ctx, "SELECT count(*) FROM events").Scan(&total); err != nil {
			return nil, fmt.Errorf("count: %w", err)
		}
		return rows, nil
	}
	var last *sqliteEvent
	for n := 1; n < 100; n++ {
		rows, err := page(last)
		if err != nil {
			return 0, 0, fmt.Errorf("page %d: %w", n, err)
		}
		if len(rows) < 50 {
			break // fewer than 100 pages: the last one stands for page 100
		}
		last = &rows[len(rows)-1]
	}
	// The median of runs of each, alternated, as for codetrail. A last
	// page that is empty, ending exactly on page 99, stands as page 100.
	var firsts, hundredths []time.Duration
	for range runs {
		for _, after := range []*sqliteEvent{nil, last} {
			t := time.Now()
			if _, err := page(after); err != nil {
				return 0, 0, err
			}
			if after == nil {
				firsts = append(firsts, time.Since(t))
			} else {
				hundredths = append(hundredths, time.Since(t))
			}
		}
	}
	return pct(firsts, 50), pct(hundredths, 50), nil
}
