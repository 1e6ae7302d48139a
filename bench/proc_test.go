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
