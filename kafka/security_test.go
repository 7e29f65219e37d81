package kafka_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"

	"github.com/targetflow/targetflow/kafka"
)

// selfSigned makes a certificate for 127.0.0.1 and writes it, as the CA to
// trust, to a PEM file.
func selfSigned(t *testing.T) (tls.Certificate, string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "kfake"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, BasicConstraintsValid: true, IsCA: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, path
}

// runThrough runs one worker from "in" to "out" with the connection
// options of endpoint e, and checks that all n records came through.
func runThrough(t *testing.T, addrs []string, e *kafka.Endpoint, n int, client ...kgo.Opt) {
	t.Helper()
	produceInputs(t, addrs, "in", 0, n, 10, nil, client...)
	var src []kafka.SourceOpt
	var snk []kafka.SinkOpt
	src = append(src, e.SourceOptions()...)
	snk = append(snk, e.SinkOptions()...)
	w := newWorker(t, "w", workerConfig{addrs: addrs, in: "in", out: "out", dlq: "dlq", group: e.Group, concurrency: 4,
		source: append(src, kafka.UntilCaughtUp()), sink: snk})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var wg sync.WaitGroup
	w.start(ctx, &wg)
	wg.Wait()
	if w.err != nil {
		t.Fatal(w.err)
	}
	if got := len(readAll(t, addrs, "out", true, client...)); got != n {
		t.Fatalf("%d results of %d", got, n)
	}
}

// TLS from URL parameters: the brokers' certificate verified against the
// CA file the URL names.
func TestTLSFromURL(t *testing.T) {
	t.Parallel()
	cert, caFile := selfSigned(t)
	_, addrs := cluster(t, 2, inOutDLQ, kfake.TLS(&tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}))
	e, err := kafka.ParseURL("kafka://"+strings.Join(addrs, ",")+"/in?group=g&ca="+caFile, func(string) string { return "" })
	if err != nil || e.TLS == nil {
		t.Fatalf("%v %+v", err, e)
	}
	runThrough(t, addrs, e, 50, kgo.DialTLSConfig(e.TLS.Clone()))
}

// SASL PLAIN and SCRAM from URL parameters, with the password from the
// environment variable the URL names; a wrong password ends the run with
// an authentication error instead of retrying forever.
func TestSASLFromURLAndEnvironment(t *testing.T) {
	t.Parallel()
	for _, mech := range []string{"PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"} {
		t.Run(mech, func(t *testing.T) {
			t.Parallel()
			_, addrs := cluster(t, 2, inOutDLQ, kfake.EnableSASL(), kfake.Superuser(mech, "worker", "s3cret"))
			env := map[string]string{"KAFKA_SECRET": "s3cret"}
			e, err := kafka.ParseURL("kafka://"+strings.Join(addrs, ",")+"/in?group=g&sasl="+mech+"&user=worker&password-env=KAFKA_SECRET",
				func(k string) string { return env[k] })
			if err != nil {
				t.Fatal(err)
			}
			var admin kgo.Opt
			switch mech {
			case "PLAIN":
				admin = kgo.SASL(plain.Auth{User: "worker", Pass: "s3cret"}.AsMechanism())
			case "SCRAM-SHA-256":
				admin = kgo.SASL(scram.Auth{User: "worker", Pass: "s3cret"}.AsSha256Mechanism())
			default:
				admin = kgo.SASL(scram.Auth{User: "worker", Pass: "s3cret"}.AsSha512Mechanism())
			}
			runThrough(t, addrs, e, 30, admin)

			env["KAFKA_SECRET"] = "wrong"
			bad, err := kafka.ParseURL("kafka://"+strings.Join(addrs, ",")+"/in?group=g2&sasl="+mech+"&user=worker&password-env=KAFKA_SECRET",
				func(k string) string { return env[k] })
			if err != nil {
				t.Fatal(err)
			}
			w := newWorker(t, "bad", workerConfig{addrs: addrs, in: "in", out: "out", dlq: "dlq", group: "g2",
				source: append(bad.SourceOptions(), kafka.ConnectTimeout(2*time.Second)), sink: bad.SinkOptions()})
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			var wg sync.WaitGroup
			w.start(ctx, &wg)
			wg.Wait()
			if w.err == nil || errors.Is(w.err, context.DeadlineExceeded) || !strings.Contains(w.err.Error(), "no broker of") {
				t.Fatalf("a wrong password: run error %v", w.err)
			}
		})
	}
}
