package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

func TestCgroupMemory(t *testing.T) {
	tests := []struct {
		name        string
		files       map[string]string
		limit, peak int64
	}{
		{"v1", map[string]string{"memory.limit_in_bytes": "1073741824\n", "memory.max_usage_in_bytes": "1000000\n"}, 1 << 30, 1000000},
		{"v2", map[string]string{"memory.max": "536870912\n", "memory.peak": "42\n"}, 1 << 29, 42},
		{"v2 without a limit reads as none", map[string]string{"memory.max": "max\n", "memory.peak": "42\n"}, 0, 42},
		{"not a cgroup", nil, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			for n, v := range tt.files {
				if err := os.WriteFile(filepath.Join(dir, n), []byte(v), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if limit, peak := cgroupMemory(dir); limit != tt.limit || peak != tt.peak {
				t.Errorf("cgroupMemory = %d, %d; want %d, %d", limit, peak, tt.limit, tt.peak)
			}
		})
	}
}

func TestAlive(t *testing.T) {
	if !alive(os.Getpid()) {
		t.Error("this process is not alive")
	}
	cmd := exec.Command("true")
	if err := cmd.Start(); err != nil {
		t.Skip("no true(1):", err)
	}
	pid := cmd.Process.Pid
	// Exited but not waited for: a zombie, which is not running.
	for range 1000 {
		if !alive(pid) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if alive(pid) {
		t.Errorf("process %d exited and is still alive", pid)
	}
	cmd.Wait()
	if alive(pid) {
		t.Errorf("process %d reaped and is still alive", pid)
	}
}

func TestStatField(t *testing.T) {
	// The command name may hold spaces and parentheses.
	const stat = "4242 (co) de) S 1 4242 4242 0 -1 4194560 1500 0 7 0 12 3"
	tests := []struct {
		n    int
		want int64
	}{{3, 0}, {4, 1}, {10, 1500}, {12, 7}, {14, 12}, {15, 3}, {16, 0}, {2, 0}}
	for _, tt := range tests {
		if got := statField(stat, tt.n); got != tt.want {
			t.Errorf("statField(%d) = %d, want %d", tt.n, got, tt.want)
		}
	}
	if got := statField("no parenthesis", 12); got != 0 {
		t.Errorf("statField without a command = %d, want 0", got)
	}
}

func TestDiskWaits(t *testing.T) {
	if _, err := os.Stat("/proc/self/io"); err != nil {
		t.Skip("no /proc/self/io:", err)
	}
	if f, r := diskWaits(0); f != 0 || r != 0 {
		t.Errorf("diskWaits(0) = %d, %d; want zeros", f, r)
	}
	// A process that has run has faulted in at least its own pages; its
	// counters never go back.
	f1, r1 := diskWaits(os.Getpid())
	b, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		t.Fatal(err)
	}
	if minflt := statField(string(b), 10); minflt <= 0 {
		t.Errorf("minor faults of this process = %d, want > 0", minflt)
	}
	f2, r2 := diskWaits(os.Getpid())
	if f1 < 0 || r1 < 0 || f2 < f1 || r2 < r1 {
		t.Errorf("diskWaits went %d, %d then %d, %d", f1, r1, f2, r2)
	}
}

// TestWaitQuiet: a process using a core never goes quiet within the bound;
// an idle one does at once. The test's own process is both in turn.
func TestWaitQuiet(t *testing.T) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("no /proc/self/stat:", err)
	}
	pid := os.Getpid()
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-stop:
				return
			default:
			}
		}
	}()
	busy := waitQuiet(pid, 600*time.Millisecond, 300*time.Millisecond)
	close(stop)
	<-done
	if busy {
		t.Error("waitQuiet saw a process spinning a core as quiet")
	}
	start := time.Now()
	if !waitQuiet(pid, 5*time.Second, 300*time.Millisecond) {
		t.Error("waitQuiet never saw the idle process quiet")
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("waitQuiet took %s to see an idle process quiet", took)
	}
}
