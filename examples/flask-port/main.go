package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"syscall"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stderr)
	stop()
	os.Exit(code)
}

// run is the whole program: parse the flags, serve until ctx ends (SIGINT
// or SIGTERM), shut down gracefully. It returns the exit code: 0, 1 for a
// failure while running, 2 for bad flags.
func run(ctx context.Context, args []string, stderr io.Writer) int {
	cfg, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, "flask-port:", err)
		return 2
	}
	logger := newLogger(stderr)
	defer func() { _ = logger.Sync() }()
	if err := runServer(ctx, cfg, logger, nil); err != nil {
		logger.Error("flask-port stopped", zap.Error(err))
		return 1
	}
	return 0
}

// runServer listens on cfg.Addr, builds the app and serves it until ctx
// ends. listening, when not nil, is told the bound address (useful with
// port 0).
func runServer(ctx context.Context, cfg config, logger *zap.Logger, listening func(net.Addr)) error {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("--addr %s: %w", cfg.Addr, err)
	}
	a, err := newApp(ctx, cfg, logger)
	if err != nil {
		_ = ln.Close()
		return err
	}
	defer func() {
		if err := a.Close(); err != nil {
			logger.Warn("closing the app", zap.Error(err))
		}
	}()
	limit := connectionLimit(cfg.MaxConnections)
	logger.Info("listening",
		zap.String("url", "http://"+ln.Addr().String()+"/"),
		zap.Int("maxConnections", limit),
		zap.String("decisioning", string(cfg.Decisioning)),
		zap.String("target", a.targetDescription()))
	if listening != nil {
		listening(ln.Addr())
	}
	return serve(ctx, newHTTPServer(a.Handler(), cfg, logger), limitListener(ln, limit), logger)
}

// newLogger is a human-readable logger on w, at info level.
func newLogger(w io.Writer) *zap.Logger {
	enc := zap.NewDevelopmentEncoderConfig()
	enc.EncodeTime = zapcore.ISO8601TimeEncoder
	core := zapcore.NewCore(zapcore.NewConsoleEncoder(enc), zapcore.Lock(zapcore.AddSync(w)), zap.InfoLevel)
	return zap.New(core)
}
