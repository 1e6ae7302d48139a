package index

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/codetrail/codetrail/index/record"
)

// eventsAt returns n events with ids prefix-i at eventTime t.
func eventsAt(t *testing.T, prefix string, n int, at time.Time) []record.Event {
	t.Helper()
	var out []record.Event
	for i := range n {
		raw := fmt.Sprintf(`{"eventVersion":"1.08","eventID":"%s-%d","eventTime":%q,"eventSource":"codebuild.amazonaws.com","eventName":"StartBuild","recipientAccountId":"111122223333"}`,
			prefix, i, at.Add(time.Duration(i)*time.Second).UTC().Format(time.RFC3339))
		ev, err := record.Parse(record.KindCloudTrail, []byte(raw))
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, ev)
	}
	return out
}

// TestRetention: partitions whose events are all older than the bound are
// dropped whole, oldest first; what is left is searchable, checkpoints
// survive, cursors into dropped history are OutOfRange with the oldest
// cursor left, and a reopened store agrees.
func TestRetention(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	cfg := testConfig(dir)
	cfg.PartitionSpan = time.Nanosecond // a partition per Put
	cfg.Retention = 30 * 24 * time.Hour
	s, err := Open(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	old := now.Add(-400 * 24 * time.Hour)
	a := eventsAt(t, "a", 20, old)
	if _, err := s.Put(ctx, a, map[string][]byte{"src": []byte("a"), "only-a": []byte("kept")}); err != nil {
		t.Fatal(err)
	}
	b := eventsAt(t, "b", 10, now.Add(-time.Hour))
	if _, err := s.Put(ctx, b, map[string][]byte{"src": []byte("b")}); err != nil {
		t.Fatal(err)
	}
	c := eventsAt(t, "c", 5, old) // late old events after new ones
	if _, err := s.Put(ctx, c, map[string][]byte{"src": []byte("c")}); err != nil {
		t.Fatal(err)
	}
	if len(s.parts) != 3 {
		for _, p := range s.parts {
			t.Logf("partition %s first %d count %d", p.dir, p.firstSeq, p.count)
		}
		t.Fatalf("%d partitions, want 3", len(s.parts))
	}
	oldCursor, lastOfA := s.Cursor(a[0].Seq), s.Cursor(a[len(a)-1].Seq)

	n, err := s.ApplyRetention(now)
	if err != nil || n != 1 {
		t.Fatalf("dropped %d partitions (%v), want 1", n, err)
	}
	// b's partition is recent, so c's (newer still) stays too.
	if got := len(searchIDs(t, s, "*")); got != 15 {
		t.Fatalf("%d events searchable, want 15", got)
	}
	if st := s.Stats(); st.Events != 15 || !st.Oldest.Equal(old.Truncate(time.Second)) {
		t.Fatalf("stats %+v", st)
	}
	if _, err := os.Stat(filepath.Join(dir, "p-0000000000000001")); !os.IsNotExist(err) {
		t.Fatalf("dropped partition still on disk: %v", err)
	}
	for name, want := range map[string]string{"src": "c", "only-a": "kept"} {
		if v, err := s.Checkpoint(name); err != nil || string(v) != want {
			t.Fatalf("checkpoint %s = %q %v, want %q", name, v, err, want)
		}
	}
	// Into dropped history: OutOfRange with the oldest cursor still valid;
	// from the last dropped event: everything left.
	err = s.Subscribe(ctx, SubscribeRequest{AfterCursor: oldCursor}, func(Message) error { return nil })
	var ce *CompactedError
	if !errors.As(err, &ce) || ce.Oldest != lastOfA {
		t.Fatalf("subscribe into dropped history: %v", err)
	}
	sctx, cancel := context.WithCancel(ctx)
	var got int
	_ = s.Subscribe(sctx, SubscribeRequest{AfterCursor: ce.Oldest}, func(m Message) error {
		if m.Hit != nil {
			got++
		}
		if m.CaughtUp != "" {
			cancel()
		}
		return nil
	})
	if got != 15 {
		t.Fatalf("resumed from the oldest cursor: %d events, want 15", got)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	// Reopened: the same view, the same cursors.
	s, err = Open(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if st := s.Stats(); st.Events != 15 || s.oldestSeq() != b[0].Seq || s.Cursor(b[0].Seq) != mustCursor(t, s, b[0].Seq) {
		t.Fatalf("reopened: %+v oldest %d", st, s.oldestSeq())
	}
	if v, _ := s.Checkpoint("only-a"); string(v) != "kept" {
		t.Fatalf("checkpoint after reopen: %q", v)
	}
	if seq, err := s.ParseCursor(lastOfA); err != nil || seq != a[len(a)-1].Seq {
		t.Fatalf("cursor from before the reopen: %d %v", seq, err)
	}
}

func mustCursor(t *testing.T, s *Store, seq uint64) string {
	t.Helper()
	c := s.Cursor(seq)
	if got, err := s.ParseCursor(c); err != nil || got != seq {
		t.Fatalf("cursor round trip %d: %d %v", seq, got, err)
	}
	return c
}

// TestRetentionLegacyLayout: a data directory from before partitions
// (events.bleve in the data directory) opens as the first partition and
// is dropped like any other.
func TestRetentionLegacyLayout(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	legacy, err := openShard(filepath.Join(dir, "events.bleve"))
	if err != nil {
		t.Fatal(err)
	}
	if err := legacy.Close(); err != nil {
		t.Fatal(err)
	}
	cfg := testConfig(dir)
	cfg.PartitionSpan, cfg.Retention = time.Nanosecond, time.Hour
	s, err := Open(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.parts[0].dir != "" {
		t.Fatalf("first partition %q, want the legacy layout", s.parts[0].dir)
	}
	if _, err := s.Put(ctx, eventsAt(t, "old", 3, time.Now().Add(-48*time.Hour)), map[string][]byte{"x": []byte("1")}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Put(ctx, eventsAt(t, "new", 3, time.Now()), nil); err != nil {
		t.Fatal(err)
	}
	if n, err := s.ApplyRetention(time.Now()); err != nil || n != 1 {
		t.Fatalf("dropped %d (%v)", n, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "events.bleve")); !os.IsNotExist(err) {
		t.Fatalf("legacy shard still on disk: %v", err)
	}
	if v, _ := s.Checkpoint("x"); string(v) != "1" || len(searchIDs(t, s, "*")) != 3 {
		t.Fatalf("after dropping the legacy partition: checkpoint %q", v)
	}
}

// TestRetentionLoop: with a retention bound set, expired partitions go by
// themselves.
func TestRetentionLoop(t *testing.T) {
	ctx := context.Background()
	s := openStoreCfg(t, func(c *Config) { c.PartitionSpan, c.Retention = time.Nanosecond, 2*time.Second })
	if _, err := s.Put(ctx, eventsAt(t, "old", 4, time.Now().Add(-time.Hour)), nil); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Put(ctx, eventsAt(t, "new", 2, time.Now().Add(time.Hour)), nil); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for s.Stats().Events != 2 {
		if time.Now().After(deadline) {
			t.Fatalf("expired partition still there: %+v", s.Stats())
		}
		time.Sleep(50 * time.Millisecond)
	}
}
