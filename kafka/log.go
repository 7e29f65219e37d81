package kafka

import (
	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// kgoLogger hands kgo's logs to a zap logger, one level lower than kgo's
// own (kgo logs every connection at info; a worker's info log is for
// rebalances and commits).
type kgoLogger struct{ l *zap.Logger }

func (k kgoLogger) Level() kgo.LogLevel {
	switch {
	case k.l.Core().Enabled(zapcore.DebugLevel):
		return kgo.LogLevelInfo
	case k.l.Core().Enabled(zapcore.WarnLevel):
		return kgo.LogLevelWarn
	case k.l.Core().Enabled(zapcore.ErrorLevel):
		return kgo.LogLevelError
	}
	return kgo.LogLevelNone
}

func (k kgoLogger) Log(level kgo.LogLevel, msg string, keyvals ...any) {
	lvl := zapcore.DebugLevel
	switch level {
	case kgo.LogLevelError:
		lvl = zapcore.ErrorLevel
	case kgo.LogLevelWarn:
		lvl = zapcore.WarnLevel
	}
	ce := k.l.Check(lvl, "kgo: "+msg)
	if ce == nil {
		return
	}
	fields := make([]zap.Field, 0, len(keyvals)/2)
	for i := 0; i+1 < len(keyvals); i += 2 {
		key, _ := keyvals[i].(string)
		fields = append(fields, zap.Any(key, keyvals[i+1]))
	}
	ce.Write(fields...)
}
