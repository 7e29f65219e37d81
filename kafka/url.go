package kafka

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/sasl"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"
)

// Scheme is the scheme of a Kafka URL.
const Scheme = "kafka"

// Environment variables ParseURL reads (URL parameters take precedence).
// Secrets are read only from the environment: a URL given on a command
// line shows in ps.
const (
	EnvTLS      = "TARGETFLOW_KAFKA_TLS"      // "true": TLS with the system's roots
	EnvCA       = "TARGETFLOW_KAFKA_CA"       // PEM file of the CA to trust (implies TLS)
	EnvCert     = "TARGETFLOW_KAFKA_CERT"     // PEM file of a client certificate (implies TLS)
	EnvKey      = "TARGETFLOW_KAFKA_KEY"      // PEM file of its private key
	EnvSASL     = "TARGETFLOW_KAFKA_SASL"     // PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512
	EnvUser     = "TARGETFLOW_KAFKA_USER"     // SASL user
	EnvPassword = "TARGETFLOW_KAFKA_PASSWORD" // SASL password (default variable; see password-env)
)

// Endpoint is a parsed Kafka URL:
//
//	kafka://host1:9092,host2:9092/TOPIC?group=NAME&tls=true&sasl=SCRAM-SHA-256&user=NAME
//
// Parameters:
//
//	group             consumer group (inputs; required there)
//	tls               true/false: TLS with the system's roots (or ca)
//	ca, cert, key     PEM files: CA to trust, client certificate and key (imply tls)
//	server-name       name to verify the brokers' certificates against
//	sasl              PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512
//	user              SASL user
//	password-env      the environment variable holding the SASL password
//	                  (default TARGETFLOW_KAFKA_PASSWORD); a password in the
//	                  URL itself is refused
//	client-id         client id the brokers see
//	commit-interval   how often offsets are committed (inputs; default 1s)
//	session-timeout   group session timeout (inputs)
//	rebalance-timeout how long a rebalance waits for members (inputs)
//	isolation         read_committed (default) or read_uncommitted (inputs)
//	transactional-id  this worker's transactional id (exactly-once inputs)
//	transaction-timeout  the brokers' bound on an open transaction (exactly-once inputs; default 10s)
//	linger            how long a producer waits to fill a batch (outputs; default 20ms)
//
// CheckInput and CheckOutput refuse the parameters that a use of the
// endpoint would ignore.
type Endpoint struct {
	Brokers []string
	Topic   string
	Group   string

	TLS              *tls.Config
	SASL             sasl.Mechanism
	ClientID         string
	CommitInterval   time.Duration
	SessionTimeout   time.Duration
	RebalanceTimeout time.Duration
	ReadCommitted    bool
	// TransactionalID is the transactional-id parameter ("" when absent).
	TransactionalID string
	// TransactionTimeout is the transaction-timeout parameter (0 when
	// absent).
	TransactionTimeout time.Duration
	// Linger is the linger parameter (0 when absent).
	Linger time.Duration

	// given are the parameters the URL itself set, with their values, for
	// the role checks (CheckInput, CheckOutput).
	given url.Values
}

// The parameters of a URL: its connection's, and those of one use of it.
var (
	connParams     = []string{"tls", "ca", "cert", "key", "server-name", "sasl", "user", "password-env", "client-id"}
	consumerParams = []string{"group", "commit-interval", "session-timeout", "rebalance-timeout", "isolation", "transactional-id", "transaction-timeout"}
	producerParams = []string{"linger"}
	urlParams      = slices.Concat(connParams, consumerParams, producerParams)
)

// IsURL reports whether s is a Kafka URL (starts with kafka://).
func IsURL(s string) bool { return strings.HasPrefix(s, Scheme+"://") }

// ParseURL parses a Kafka URL, reading TLS and SASL settings the URL does
// not give from the environment through getenv (os.Getenv when nil). A
// *ConfigError names the parameter at fault.
func ParseURL(raw string, getenv func(string) string) (*Endpoint, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	if !IsURL(raw) {
		return nil, &ConfigError{Field: "url", Value: raw, Reason: "not a kafka:// URL"}
	}
	rest := strings.TrimPrefix(raw, Scheme+"://")
	hosts, rest, _ := strings.Cut(rest, "/")
	path, query, _ := strings.Cut(rest, "?")
	e := &Endpoint{ReadCommitted: true}
	for _, h := range strings.Split(hosts, ",") {
		h = strings.TrimSpace(h)
		if h == "" {
			continue
		}
		if _, port, err := net.SplitHostPort(h); err != nil || port == "" {
			return nil, &ConfigError{Field: "broker", Value: h, Reason: "must be host:port"}
		}
		e.Brokers = append(e.Brokers, h)
	}
	if len(e.Brokers) == 0 {
		return nil, &ConfigError{Field: "brokers", Value: raw, Reason: "the URL names no broker (kafka://host:9092/TOPIC)"}
	}
	topic, err := url.PathUnescape(path)
	if err != nil {
		return nil, &ConfigError{Field: "topic", Value: path, Reason: err.Error(), Err: err}
	}
	if err := validateTopic("topic", topic); err != nil {
		return nil, err
	}
	e.Topic = topic
	q, err := url.ParseQuery(query)
	if err != nil {
		return nil, &ConfigError{Field: "query", Value: query, Reason: err.Error(), Err: err}
	}
	for k := range q {
		if k == "password" {
			return nil, &ConfigError{Field: "password", Reason: "a password in a URL shows in ps: put it in $" + EnvPassword + " (or the variable password-env names)"}
		}
		if !slices.Contains(urlParams, k) {
			return nil, &ConfigError{Field: k, Value: q.Get(k), Reason: "unknown parameter (known: " + strings.Join(urlParams, ", ") + ")"}
		}
	}
	param := func(name, env string) string {
		if v := q.Get(name); v != "" {
			return v
		}
		if env != "" {
			return getenv(env)
		}
		return ""
	}
	e.given = q
	e.Group = q.Get("group")
	e.ClientID = q.Get("client-id")
	e.TransactionalID = q.Get("transactional-id")
	for _, d := range []struct {
		name string
		to   *time.Duration
	}{{"commit-interval", &e.CommitInterval}, {"session-timeout", &e.SessionTimeout}, {"rebalance-timeout", &e.RebalanceTimeout}, {"transaction-timeout", &e.TransactionTimeout}, {"linger", &e.Linger}} {
		if v := q.Get(d.name); v != "" {
			if *d.to, err = time.ParseDuration(v); err != nil || *d.to <= 0 {
				return nil, &ConfigError{Field: d.name, Value: v, Reason: "must be a positive duration such as 1s"}
			}
		}
	}
	switch v := q.Get("isolation"); v {
	case "", "read_committed":
	case "read_uncommitted":
		e.ReadCommitted = false
	default:
		return nil, &ConfigError{Field: "isolation", Value: v, Reason: "must be read_committed or read_uncommitted"}
	}
	if e.TLS, err = tlsConfig(param, q.Get("server-name")); err != nil {
		return nil, err
	}
	if e.SASL, err = saslMechanism(param, q.Get("password-env"), getenv); err != nil {
		return nil, err
	}
	return e, nil
}

func tlsConfig(param func(name, env string) string, serverName string) (*tls.Config, error) {
	on := false
	if v := param("tls", EnvTLS); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return nil, &ConfigError{Field: "tls", Value: v, Reason: "must be true or false"}
		}
		on = b
	}
	ca, cert, key := param("ca", EnvCA), param("cert", EnvCert), param("key", EnvKey)
	if !on && ca == "" && cert == "" {
		return nil, nil
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: serverName}
	if ca != "" {
		pem, err := os.ReadFile(ca)
		if err != nil {
			return nil, &ConfigError{Field: "ca", Value: ca, Reason: err.Error(), Err: err}
		}
		cfg.RootCAs = x509.NewCertPool()
		if !cfg.RootCAs.AppendCertsFromPEM(pem) {
			return nil, &ConfigError{Field: "ca", Value: ca, Reason: "no PEM certificate in the file"}
		}
	}
	if cert != "" || key != "" {
		if cert == "" || key == "" {
			return nil, &ConfigError{Field: "cert", Value: cert + "," + key, Reason: "a client certificate needs both cert and key"}
		}
		pair, err := tls.LoadX509KeyPair(cert, key)
		if err != nil {
			return nil, &ConfigError{Field: "cert", Value: cert, Reason: err.Error(), Err: err}
		}
		cfg.Certificates = []tls.Certificate{pair}
	}
	return cfg, nil
}

func saslMechanism(param func(name, env string) string, passwordEnv string, getenv func(string) string) (sasl.Mechanism, error) {
	mech := strings.ToUpper(param("sasl", EnvSASL))
	if mech == "" {
		return nil, nil
	}
	user := param("user", EnvUser)
	if passwordEnv == "" {
		passwordEnv = EnvPassword
	}
	pass := getenv(passwordEnv)
	if user == "" {
		return nil, &ConfigError{Field: "user", Reason: "SASL " + mech + " needs a user (user= or $" + EnvUser + ")"}
	}
	if pass == "" {
		return nil, &ConfigError{Field: "password-env", Value: passwordEnv, Reason: "SASL " + mech + " needs a password in $" + passwordEnv}
	}
	switch mech {
	case "PLAIN":
		return plain.Auth{User: user, Pass: pass}.AsMechanism(), nil
	case "SCRAM-SHA-256":
		return scram.Auth{User: user, Pass: pass}.AsSha256Mechanism(), nil
	case "SCRAM-SHA-512":
		return scram.Auth{User: user, Pass: pass}.AsSha512Mechanism(), nil
	}
	return nil, &ConfigError{Field: "sasl", Value: mech, Reason: "must be PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512"}
}

// CheckInput refuses, with a *ConfigError naming it, a parameter of the
// URL that only an output uses: an input would ignore it.
func (e *Endpoint) CheckInput() error {
	return e.refuse(producerParams, "a producer's parameter: an input does not use it")
}

// CheckOutput refuses, with a *ConfigError naming it, a parameter of the
// URL that the output would ignore: one of an input's. With a through
// endpoint (exactly-once: that input's client produces the output, in its
// transactions) linger is refused too, and so is a connection parameter
// that differs from the input URL's: the connection is the input's.
func (e *Endpoint) CheckOutput(through *Endpoint) error {
	if err := e.refuse(consumerParams, "a consumer's parameter: an output does not use it"); err != nil || through == nil {
		return err
	}
	const reason = "exactly-once produces through the input's client, in its transactions"
	if err := e.refuse(producerParams, reason+": it lingers "+exactlyOnceLinger.String()); err != nil {
		return err
	}
	for _, name := range connParams {
		if e.given.Has(name) && e.given.Get(name) != through.given.Get(name) {
			return &ConfigError{Field: name, Value: e.given.Get(name), Reason: reason + ", on the input URL's connection: give the parameter there (the same on both, or on the input only)"}
		}
	}
	return nil
}

// refuse returns a *ConfigError for the first of names that the URL set.
func (e *Endpoint) refuse(names []string, reason string) error {
	for _, name := range names {
		if e.given.Has(name) {
			return &ConfigError{Field: name, Value: e.given.Get(name), Reason: reason}
		}
	}
	return nil
}

// Options returns the connection options of the endpoint: brokers, TLS,
// SASL, client id.
func (e *Endpoint) Options() []Opt {
	opts := []Opt{Brokers(e.Brokers...)}
	if e.TLS != nil {
		opts = append(opts, TLS(e.TLS))
	}
	if e.SASL != nil {
		opts = append(opts, SASL(e.SASL))
	}
	if e.ClientID != "" {
		opts = append(opts, ClientID(e.ClientID))
	}
	return opts
}

// SourceOptions returns the consumer options of the endpoint: its
// connection, group, commit interval, session timeout and isolation.
func (e *Endpoint) SourceOptions() []SourceOpt {
	var opts []SourceOpt
	for _, o := range e.Options() {
		opts = append(opts, o)
	}
	opts = append(opts, Group(e.Group), ReadCommitted(e.ReadCommitted))
	if e.CommitInterval > 0 {
		opts = append(opts, CommitInterval(e.CommitInterval))
	}
	if e.SessionTimeout > 0 {
		opts = append(opts, SessionTimeout(e.SessionTimeout))
	}
	if e.RebalanceTimeout > 0 {
		opts = append(opts, RebalanceTimeout(e.RebalanceTimeout))
	}
	if e.TransactionTimeout > 0 {
		opts = append(opts, TransactionTimeout(e.TransactionTimeout))
	}
	return opts
}

// SinkOptions returns the producer options of the endpoint: its
// connection and linger.
func (e *Endpoint) SinkOptions() []SinkOpt {
	var opts []SinkOpt
	for _, o := range e.Options() {
		opts = append(opts, o)
	}
	if e.Linger > 0 {
		opts = append(opts, Linger(e.Linger))
	}
	return opts
}

// SameCluster reports whether two endpoints name the same brokers.
func (e *Endpoint) SameCluster(o *Endpoint) bool {
	a, b := slices.Clone(e.Brokers), slices.Clone(o.Brokers)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

// String returns the URL without its query (no secrets are ever in it).
func (e *Endpoint) String() string {
	return fmt.Sprintf("%s://%s/%s", Scheme, strings.Join(e.Brokers, ","), e.Topic)
}

// validateTopic checks a topic name as the brokers do.
func validateTopic(field, topic string) error {
	switch {
	case topic == "":
		return &ConfigError{Field: field, Reason: "a topic is required (kafka://host:9092/TOPIC)"}
	case len(topic) > 249:
		return &ConfigError{Field: field, Value: topic[:32] + "…", Reason: "longer than 249 characters"}
	case topic == "." || topic == "..":
		return &ConfigError{Field: field, Value: topic, Reason: "not a valid topic name"}
	}
	for _, r := range topic {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-') {
			return &ConfigError{Field: field, Value: topic, Reason: fmt.Sprintf("%q is not allowed in a topic name (letters, digits, '.', '_', '-')", r)}
		}
	}
	return nil
}
