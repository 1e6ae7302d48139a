package index

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestDiskFull: on a full disk Put fails with an error (no hang, no
// panic), searches keep working, nothing reported stored is lost, and once
// space returns Put works again. It needs root to mount a small tmpfs.
func TestDiskFull(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to mount a tmpfs")
	}
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs: %v %s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("umount", "-l", dir).Run() })
	cfg := testConfig(dir)
	cfg.Shards = 1
	cfg.MinFreeBytes = 1 << 20
	s, err := Open(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	stored := 0
	var putErr error
	for i := 0; i < 400 && putErr == nil; i++ {
		done := make(chan struct{})
		var res PutResult
		go func() {
			res, putErr = s.Put(ctx, synthetic(t, 200, i*200), map[string][]byte{"cp": []byte{byte(i)}})
			close(done)
		}()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			t.Fatalf("Put hangs on a full disk after %d events", stored)
		}
		stored += res.Stored
	}
	if putErr == nil {
		t.Fatal("3 MiB never filled up")
	}
	// Usually the free space guard stops it first; a merge can still eat
	// the margin, and then the write itself fails with ENOSPC.
	if !errors.Is(putErr, ErrDiskFull) && !errors.Is(putErr, syscall.ENOSPC) && !strings.Contains(putErr.Error(), syscall.ENOSPC.Error()) {
		t.Fatalf("full disk error: %v, want ErrDiskFull or ENOSPC", putErr)
	}
	t.Logf("%d events stored before the disk filled: %v", stored, putErr)
	if got := len(searchIDs(t, s, "*")); got != stored {
		t.Fatalf("%d events searchable on a full disk, %d reported stored", got, stored)
	}
	// Space returns.
	if out, err := exec.Command("mount", "-o", "remount,size=64m", dir).CombinedOutput(); err != nil {
		t.Fatalf("grow tmpfs: %v %s", err, out)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		res, err := s.Put(ctx, synthetic(t, 200, 100000), nil)
		if err == nil {
			stored += res.Stored
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Put still fails after space returned: %v", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if got := len(searchIDs(t, s, "*")); got != stored {
		t.Fatalf("%d events searchable, %d stored", got, stored)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err = Open(cfg, nil)
	if err != nil {
		t.Fatalf("reopen after a full disk: %v", err)
	}
	defer s.Close()
	if got := s.Stats().Events; got != uint64(stored) {
		t.Fatalf("%d events after reopen, %d stored", got, stored)
	}
}
