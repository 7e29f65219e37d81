package kafka_test

import (
	"errors"
	"io/fs"
	"strings"
	"testing"
	"time"

	"github.com/targetflow/targetflow/kafka"
	"github.com/targetflow/targetflow/pipeline"
)

func TestParseURL(t *testing.T) {
	t.Parallel()
	env := map[string]string{"TARGETFLOW_KAFKA_PASSWORD": "pw", "OTHER_PW": "pw2", "TARGETFLOW_KAFKA_SASL": "PLAIN", "TARGETFLOW_KAFKA_USER": "envuser"}
	noSASL := map[string]string{}
	tests := []struct {
		url     string
		env     map[string]string
		check   func(*kafka.Endpoint) bool
		wantErr string
	}{
		{"kafka://h1:9092,h2:9092/visitors?group=workers", noSASL, func(e *kafka.Endpoint) bool {
			return len(e.Brokers) == 2 && e.Topic == "visitors" && e.Group == "workers" && e.TLS == nil && e.SASL == nil && e.ReadCommitted
		}, ""},
		{"kafka://h:9092/out", noSASL, func(e *kafka.Endpoint) bool { return e.Group == "" && e.String() == "kafka://h:9092/out" }, ""},
		{"kafka://h:9092/t?tls=true&server-name=kafka.internal", noSASL, func(e *kafka.Endpoint) bool {
			return e.TLS != nil && e.TLS.ServerName == "kafka.internal"
		}, ""},
		{"kafka://h:9092/t?sasl=SCRAM-SHA-512&user=u", env, func(e *kafka.Endpoint) bool { return e.SASL != nil && e.SASL.Name() == "SCRAM-SHA-512" }, ""},
		{"kafka://h:9092/t?sasl=scram-sha-256&user=u&password-env=OTHER_PW", env, func(e *kafka.Endpoint) bool { return e.SASL.Name() == "SCRAM-SHA-256" }, ""},
		{"kafka://h:9092/t", env, func(e *kafka.Endpoint) bool { return e.SASL != nil && e.SASL.Name() == "PLAIN" }, ""},
		{"kafka://h:9092/t?group=g&commit-interval=250ms&session-timeout=10s&isolation=read_uncommitted&transactional-id=w-1", noSASL,
			func(e *kafka.Endpoint) bool {
				return e.CommitInterval == 250*time.Millisecond && e.SessionTimeout == 10*time.Second && !e.ReadCommitted && e.TransactionalID == "w-1"
			}, ""},
		{"http://h:9092/t", noSASL, nil, "not a kafka:// URL"},
		{"kafka://h/t", noSASL, nil, "must be host:port"},
		{"kafka://h:9092/", noSASL, nil, "a topic is required"},
		{"kafka://h:9092/a b", noSASL, nil, "not allowed in a topic name"},
		{"kafka://h:9092/t?password=x", noSASL, nil, "shows in ps"},
		{"kafka://h:9092/t?gruop=g", noSASL, nil, `gruop "g": unknown parameter`},
		{"kafka://h:9092/t?sasl=GSSAPI&user=u", env, nil, "must be PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512"},
		{"kafka://h:9092/t?sasl=PLAIN", noSASL, nil, "needs a user"},
		{"kafka://h:9092/t?sasl=PLAIN&user=u", noSASL, nil, "needs a password in $TARGETFLOW_KAFKA_PASSWORD"},
		{"kafka://h:9092/t?tls=maybe", noSASL, nil, "must be true or false"},
		{"kafka://h:9092/t?ca=/no/such/file.pem", noSASL, nil, "no such file"},
		{"kafka://h:9092/t?cert=/x.pem", noSASL, nil, "needs both cert and key"},
		{"kafka://h:9092/t?commit-interval=soon", noSASL, nil, "positive duration"},
		{"kafka://h:9092/t?isolation=dirty", noSASL, nil, "read_committed or read_uncommitted"},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			t.Parallel()
			e, err := kafka.ParseURL(tt.url, func(k string) string { return tt.env[k] })
			if tt.wantErr != "" {
				var ce *kafka.ConfigError
				if err == nil || !errors.As(err, &ce) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v; want a *ConfigError with %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || !tt.check(e) {
				t.Fatalf("%+v, %v", e, err)
			}
		})
	}
}

func TestConstructorsValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"no brokers", second(kafka.NewConsumer("in", decodeRec, kafka.Group("g"))), "at least one seed broker"},
		{"no group", second(kafka.NewConsumer("in", decodeRec, kafka.Brokers("h:1"))), "needs a group"},
		{"bad topic", second(kafka.NewConsumer("in/x", decodeRec, kafka.Brokers("h:1"), kafka.Group("g"))), "not allowed"},
		{"no decode", second(kafka.NewConsumer[rec]("in", nil, kafka.Brokers("h:1"), kafka.Group("g"))), "decode function"},
		{"zero commit interval", second(kafka.NewConsumer("in", decodeRec, kafka.Brokers("h:1"), kafka.Group("g"), kafka.CommitInterval(0))), "commit interval"},
		{"producer without brokers", second(kafka.NewProducer("out", encodeFor("w"))), "at least one seed broker"},
		{"producer buffers", second(kafka.NewProducer("out", encodeFor("w"), kafka.Brokers("h:1"), kafka.MaxBuffered(0, 1))), "max buffered records"},
	}
	for _, tt := range tests {
		var ce *kafka.ConfigError
		if !errors.As(tt.err, &ce) || !strings.Contains(tt.err.Error(), tt.want) {
			t.Errorf("%s: %v; want a *ConfigError with %q", tt.name, tt.err, tt.want)
		}
	}
	// A producer of a consumer takes pipeline sink options alone (its
	// client's options do not compile there), and validates as any.
	c, err := kafka.NewConsumer("in", decodeRec, kafka.Brokers("127.0.0.1:1"), kafka.Group("g"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.NewProducer("out", encodeFor("w"), pipeline.DeadLetter()); err != nil {
		t.Error(err)
	}
	for name, err := range map[string]error{
		"bad topic": second(c.NewProducer("a/b", encodeFor("w"))),
		"no encode": second(c.NewProducer("out", nil)),
	} {
		var ce *kafka.ConfigError
		if !errors.As(err, &ce) {
			t.Errorf("%s through a consumer: %v; want a *ConfigError", name, err)
		}
	}
}

func second[A any](_ A, err error) error { return err }

func TestTestEncodersMarkTheOrigin(t *testing.T) {
	t.Parallel()
	pos := pipeline.Position{Stream: "visitors", Partition: 3, Offset: 42}
	tests := []struct{ in, want string }{
		{`{"seq":1}`, `{"seq":1,"kafka":{"topic":"visitors","partition":3,"offset":42}}`},
		{"{\"a\":1}\n", "{\"a\":1,\"kafka\":{\"topic\":\"visitors\",\"partition\":3,\"offset\":42}}\n"},
		{`{}`, `{"kafka":{"topic":"visitors","partition":3,"offset":42}}`},
		{`[1]`, `[1]`},
	}
	for _, tt := range tests {
		if got := string(withOrigin([]byte(tt.in), pos)); got != tt.want {
			t.Errorf("withOrigin(%s) = %s; want %s", tt.in, got, tt.want)
		}
	}
	if got := string(withOrigin([]byte(`{"a":1}`), pipeline.Position{Seq: 1})); got != `{"a":1}` {
		t.Errorf("no topic: %s", got)
	}
}

// A ParseURL refusal caused by a file keeps the file's error: errors.Is
// finds fs.ErrNotExist in it.
func TestConfigErrorKeepsItsCause(t *testing.T) {
	t.Parallel()
	_, err := kafka.ParseURL("kafka://127.0.0.1:9092/topic?ca=/nonexistent/ca.pem", func(string) string { return "" })
	var ce *kafka.ConfigError
	if !errors.As(err, &ce) || ce.Field != "ca" || !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("ParseURL: %v (%T); want a ConfigError for ca wrapping fs.ErrNotExist", err, err)
	}
}

// TestEndpointRoles: a parameter that the endpoint's use would ignore is
// refused, naming it; the connection's own, and what the environment
// sets, are not; through the input's client (exactly-once) an output
// takes no linger, and connection parameters only as the input has them.
func TestEndpointRoles(t *testing.T) {
	t.Parallel()
	env := map[string]string{"TARGETFLOW_KAFKA_TLS": "true"}
	parse := func(raw string) *kafka.Endpoint {
		e, err := kafka.ParseURL(raw, func(k string) string {
			if k == "TARGETFLOW_KAFKA_PASSWORD" {
				return "pw"
			}
			return env[k]
		})
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	input := parse("kafka://h:9092/in?group=g&tls=true&client-id=w")
	tests := []struct {
		url     string
		check   func(*kafka.Endpoint) error
		wantErr string // "" when accepted
	}{
		{"kafka://h:9092/t?group=g&commit-interval=1s&isolation=read_committed&client-id=w&tls=true", (*kafka.Endpoint).CheckInput, ""},
		{"kafka://h:9092/t?group=g&linger=5ms", (*kafka.Endpoint).CheckInput, `linger "5ms": a producer's parameter`},
		{"kafka://h:9092/t?linger=50ms&client-id=w&tls=true", func(e *kafka.Endpoint) error { return e.CheckOutput(nil) }, ""},
		{"kafka://h:9092/t?group=g", func(e *kafka.Endpoint) error { return e.CheckOutput(nil) }, `group "g": a consumer's parameter`},
		{"kafka://h:9092/t?transactional-id=w-1", func(e *kafka.Endpoint) error { return e.CheckOutput(nil) }, `transactional-id "w-1": a consumer's parameter`},
		{"kafka://h:9092/t?session-timeout=3s", func(e *kafka.Endpoint) error { return e.CheckOutput(input) }, `session-timeout "3s": a consumer's parameter`},
		{"kafka://h:9092/t", func(e *kafka.Endpoint) error { return e.CheckOutput(input) }, ""},                      // TLS from the environment only
		{"kafka://h:9092/t?tls=true&client-id=w", func(e *kafka.Endpoint) error { return e.CheckOutput(input) }, ""}, // the input's own
		{"kafka://h:9092/t?linger=50ms", func(e *kafka.Endpoint) error { return e.CheckOutput(input) }, `linger "50ms": exactly-once produces through the input's client`},
		{"kafka://h:9092/t?client-id=other", func(e *kafka.Endpoint) error { return e.CheckOutput(input) }, `client-id "other": exactly-once produces through the input's client`},
		{"kafka://h:9092/t?sasl=PLAIN&user=u", func(e *kafka.Endpoint) error { return e.CheckOutput(input) }, `sasl "PLAIN": exactly-once produces through the input's client`},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			t.Parallel()
			err := tt.check(parse(tt.url))
			var ce *kafka.ConfigError
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("refused: %v", err)
			case tt.wantErr != "" && (!errors.As(err, &ce) || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("error %v; want a *ConfigError with %q", err, tt.wantErr)
			}
		})
	}
}
