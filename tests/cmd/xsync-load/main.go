// Command xsync-load fills a Redis deployment with sample data of every type and
// drives a write workload against it: the application that keeps writing during the
// demo and the benchmarks.
//
//	xsync-load fill  --addr 127.0.0.1:7001 [--keys 10000] [--big-keys 0 --big-len 100000]
//	xsync-load write --addr 127.0.0.1:7001 [--duration 30s] [--rate 0] [--clients 4]
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/xsync/xsync/tests/loadgen"
)

func main() {
	if len(os.Args) < 2 || (os.Args[1] != "fill" && os.Args[1] != "write") {
		fmt.Fprintln(os.Stderr, "usage: xsync-load fill|write --addr HOST:PORT[,HOST:PORT...] [flags]  (--help for flags)")
		os.Exit(2)
	}
	mode := os.Args[1]
	fs := flag.NewFlagSet(mode, flag.ExitOnError)
	addr := fs.String("addr", "127.0.0.1:6379", "seed address(es), comma-separated; cluster or standalone is detected")
	password := fs.String("password", "", "password")
	keys := fs.Int("keys", 10000, "fill: number of keys")
	bigKeys := fs.Int("big-keys", 0, "fill: number of big-key sets (a list, hash, set and zset each)")
	bigLen := fs.Int("big-len", 100000, "fill: elements per big key")
	prefix := fs.String("prefix", "", "key prefix (default d: for fill, w: for write)")
	duration := fs.Duration("duration", 30*time.Second, "write: how long to write (0 = until interrupted)")
	rate := fs.Int("rate", 0, "write: commands per second in total (0 = as fast as possible)")
	clients := fs.Int("clients", 4, "write: concurrent writers")
	cross := fs.Bool("cross-slot", false, "write: multi-key commands across slots (standalone targets only)")
	db := fs.Int("db", 0, "database (standalone only)")
	_ = fs.Parse(os.Args[2:])

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	c, err := connect(ctx, strings.Split(*addr, ","), *password, *db)
	if err != nil {
		fmt.Fprintln(os.Stderr, "xsync-load:", err)
		os.Exit(1)
	}
	defer c.Close()
	switch mode {
	case "fill":
		start := time.Now()
		err = loadgen.Fill(ctx, c, loadgen.FillOptions{Keys: *keys, Prefix: *prefix, BigKeys: *bigKeys, BigLen: *bigLen})
		if err == nil {
			fmt.Fprintf(os.Stderr, "xsync-load: filled %d keys in %s\n", *keys, time.Since(start).Round(time.Millisecond))
		}
	case "write":
		if *duration > 0 {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, *duration)
			defer cancel()
		}
		var st *loadgen.Stats
		st, err = loadgen.Run(ctx, c, loadgen.WorkOptions{Prefix: *prefix, Rate: *rate, Clients: *clients, CrossSlot: *cross})
		fmt.Fprintf(os.Stderr, "xsync-load: %d writes acknowledged, %d errors\n", st.Ops.Load(), st.Errors.Load())
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "xsync-load:", err)
		os.Exit(1)
	}
}

func connect(ctx context.Context, addrs []string, password string, db int) (redis.UniversalClient, error) {
	one := redis.NewClient(&redis.Options{Addr: addrs[0], Password: password})
	info, err := one.Info(ctx, "cluster").Result()
	if err != nil {
		one.Close()
		return nil, fmt.Errorf("%s: %w", addrs[0], err)
	}
	if !strings.Contains(info, "cluster_enabled:1") {
		one.Close()
		return redis.NewClient(&redis.Options{Addr: addrs[0], Password: password, DB: db}), nil
	}
	one.Close()
	return redis.NewClusterClient(&redis.ClusterOptions{Addrs: addrs, Password: password}), nil
}
