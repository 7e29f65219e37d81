package kafka

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sourcegraph/conc"
	"github.com/targetflow/targetflow/pipeline"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"go.uber.org/zap"
)

// DecodeFunc turns one consumed message into an item's payload. An error
// makes the item a failed one (its Err a *RecordError naming the topic,
// partition and offset), which flows on to be dead-lettered; the payload
// returned with it is kept (e.g. the raw text for the dead letter).
type DecodeFunc[T any] func(r *kgo.Record) (T, error)

// ErrAlreadyRun is returned by a consumer's source run a second time: a
// consumer is one worker's membership of its group, used once.
var ErrAlreadyRun = errors.New("kafka: the consumer has already run")

// Consumer is one worker of a consumer group reading one topic, as a
// pipeline source (Source). It commits an offset only once every record
// before it has been acknowledged by the sinks, at least every
// CommitInterval, when partitions are revoked and when it stops; with
// ExactlyOnce it commits offsets and results in one transaction instead.
//
// NewConsumer does not block, but its kgo client starts at once, in the
// background: it connects and joins the group (it may be assigned
// partitions before the pipeline runs; nothing is polled or committed
// until then). The client is closed, and the worker leaves its group, when
// the source ends, or by Close if the source never ran.
type Consumer[T any] struct {
	topic  string
	decode DecodeFunc[T]
	cfg    sourceConfig
	cl     *kgo.Client
	sess   *kgo.GroupTransactSession
	src    *pipeline.Source[T]
	log    *zap.Logger

	mu      sync.Mutex
	parts   map[int32]*partition // the current assignment
	retired []*partition         // revoked or lost, with records in flight
	// commitMu serialises commits, so that offsets never go back.
	commitMu sync.Mutex

	seq      atomic.Int64
	inflight atomic.Int64
	drained  chan struct{}
	nacked   atomic.Bool // a record was given back since the transaction began
	blocked  atomic.Bool // a rebalance waits for the transaction to end
	caughtUp atomic.Bool
	// poison is the first produce failure of the open transaction.
	poison atomic.Pointer[error]

	// targets are, with UntilCaughtUp, where each partition ended when the
	// consumer started, and starts where it began.
	targets, starts map[int32]int64

	// ready is closed once NewConsumer has set the client.
	ready    chan struct{}
	stopCtx  context.Context
	stopFn   context.CancelFunc
	ran      atomic.Bool
	closed   sync.Once
	counters consumerCounters
}

// NewConsumer returns a consumer of topic in the group given by the Group
// option, decoding each message with decode. It validates the options and
// returns at once (see Consumer on its client).
func NewConsumer[T any](topic string, decode DecodeFunc[T], opts ...SourceOpt) (*Consumer[T], error) {
	cfg := newSourceConfig(opts)
	if err := validateTopic("topic", topic); err != nil {
		return nil, err
	}
	if decode == nil {
		return nil, &ConfigError{Field: "decode", Reason: "a consumer needs a decode function"}
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	c := &Consumer[T]{
		topic:   topic,
		decode:  decode,
		cfg:     cfg,
		log:     cfg.log.With(zap.String("topic", topic), zap.String("group", cfg.group)),
		parts:   map[int32]*partition{},
		drained: make(chan struct{}, 1),
	}
	c.stopCtx, c.stopFn = context.WithCancel(context.Background())
	// The client starts its group management at once: its callbacks wait
	// until c.cl is set.
	c.ready = make(chan struct{})
	defer close(c.ready)
	kopts := append(cfg.kgo(),
		kgo.ConsumerGroup(cfg.group),
		kgo.ConsumeTopics(topic),
		kgo.Balancers(kgo.CooperativeStickyBalancer()),
		kgo.DisableAutoCommit(),
		kgo.BlockRebalanceOnPoll(),
		kgo.OnPartitionsAssigned(c.assigned),
		kgo.OnPartitionsRevoked(c.revoked),
		kgo.OnPartitionsLost(c.lost),
		kgo.OnPartitionsCallbackBlocked(func(context.Context, *kgo.Client) { c.blocked.Store(true) }),
		// Transaction markers are handed over too, so that commits move
		// past them (the client's own position stops before a trailing
		// one, and a caught-up partition would never look caught up).
		kgo.KeepControlRecords(),
		kgo.FetchMaxBytes(cfg.fetchMaxBytes),
		kgo.FetchMaxPartitionBytes(cfg.partitionBytes),
		// A producer made from the consumer (NewProducer) produces
		// through this client: bound what it buffers too.
		kgo.MaxBufferedRecords(DefaultMaxBufferedRecords),
		kgo.MaxBufferedBytes(DefaultMaxBufferedBytes),
		kgo.RecordDeliveryTimeout(DefaultDeliveryTimeout),
		kgo.ProducerLinger(exactlyOnceLinger),
	)
	if cfg.readCommitted {
		kopts = append(kopts, kgo.FetchIsolationLevel(kgo.ReadCommitted()))
	}
	if cfg.rebalanceTimeout > 0 {
		kopts = append(kopts, kgo.RebalanceTimeout(cfg.rebalanceTimeout))
		c.cfg.revokeTimeout = min(c.cfg.revokeTimeout, cfg.rebalanceTimeout/2)
	}
	if cfg.sessionTimeout > 0 {
		kopts = append(kopts, kgo.SessionTimeout(cfg.sessionTimeout),
			kgo.HeartbeatInterval(min(3*time.Second, cfg.sessionTimeout/3)))
	}
	var err error
	if cfg.exactlyOnce {
		id := cfg.transactionalID
		if id == "" {
			var b [6]byte
			_, _ = rand.Read(b[:])
			id = cfg.group + "-" + hex.EncodeToString(b[:])
		}
		c.log = c.log.With(zap.String("transactionalId", id))
		kopts = append(kopts, kgo.TransactionalID(id), kgo.TransactionTimeout(cfg.txnTimeout))
		c.sess, err = kgo.NewGroupTransactSession(kopts...)
		if c.sess != nil {
			c.cl = c.sess.Client()
		}
	} else {
		c.cl, err = kgo.NewClient(kopts...)
	}
	if err != nil {
		return nil, &ConfigError{Field: "client", Reason: err.Error(), Err: err}
	}
	c.src = pipeline.NewSource[T]("kafka:"+topic, c.run, append(slices.Clone(cfg.sourceOpts), pipeline.OnAck(c.onAck))...)
	return c, nil
}

// Source returns the pipeline source of the consumer. Its items carry the
// topic (Pos.Stream), partition, offset and key of their message.
func (c *Consumer[T]) Source() *pipeline.Source[T] { return c.src }

// Client returns the consumer's kgo client (for admin requests; do not
// poll or commit with it).
func (c *Consumer[T]) Client() *kgo.Client { return c.cl }

// Stop makes the source stop taking records: the records taken are
// finished and committed, the worker leaves the group, and the source
// ends, so that the run ends without error. It does not wait.
func (c *Consumer[T]) Stop() { c.stopFn() }

// Close closes the client if the source never ran (the source closes it
// when it ends). It is safe to call more than once.
func (c *Consumer[T]) Close() {
	c.stopFn()
	if !c.ran.Load() {
		c.close()
	}
}

func (c *Consumer[T]) close() {
	c.closed.Do(func() {
		// The source has allowed every rebalance; leaving the group
		// revokes everything, which is committed by then.
		c.cl.CloseAllowingRebalance()
	})
}

// run is the pipeline source function.
func (c *Consumer[T]) run(ctx context.Context, emit pipeline.Emit[T]) error {
	if !c.ran.CompareAndSwap(false, true) {
		return ErrAlreadyRun
	}
	defer c.close()
	pollCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer context.AfterFunc(c.stopCtx, cancel)()
	if err := c.ping(pollCtx); err != nil {
		return err
	}
	if c.cfg.untilCaughtUp {
		if err := c.listTargets(pollCtx); err != nil {
			return err
		}
	}
	c.log.Info("kafka consumer starting", zap.Bool("exactlyOnce", c.sess != nil), zap.Bool("untilCaughtUp", c.cfg.untilCaughtUp))
	if c.sess != nil {
		return c.runTransactions(ctx, pollCtx, cancel, emit)
	}
	return c.runAtLeastOnce(pollCtx, cancel, emit)
}

// ping waits until a broker answers, at most ConnectTimeout.
func (c *Consumer[T]) ping(ctx context.Context) error {
	deadline := time.Now().Add(c.cfg.connectTimeout)
	for {
		pctx, cancel := context.WithTimeout(ctx, min(time.Until(deadline), 5*time.Second))
		err := c.cl.Ping(pctx)
		cancel()
		switch {
		case err == nil, ctx.Err() != nil:
			return nil
		case time.Now().After(deadline):
			// The last ping's error as text: wrapped, its ping's
			// context.DeadlineExceeded would read as the run's own.
			return fmt.Errorf("kafka: no broker of %v answered within %v (addresses, TLS, SASL credentials?): %v",
				c.cfg.brokers, c.cfg.connectTimeout, err)
		}
		select {
		case <-time.After(250 * time.Millisecond):
		case <-ctx.Done():
			return nil
		}
	}
}

// runAtLeastOnce polls and emits until the poll context ends, then waits
// for the records in flight and commits what is done.
func (c *Consumer[T]) runAtLeastOnce(pollCtx context.Context, stop context.CancelFunc, emit pipeline.Emit[T]) error {
	var committer conc.WaitGroup
	quit := make(chan struct{})
	committer.Go(func() {
		// Commits every CommitInterval; until caught up, also as soon as
		// this worker's partitions are done up to their targets, so that
		// the run ends when the work does.
		every := c.cfg.commitInterval
		if c.cfg.untilCaughtUp {
			every = min(every, 20*time.Millisecond)
		}
		// A worker done with its own partitions asks the coordinator
		// whether the group is, at once and then less and less often (up
		// to every CommitInterval) while the others still work: a group
		// of many workers done early would otherwise ask 50 times a
		// second each.
		tick := time.NewTicker(every)
		defer tick.Stop()
		last := time.Now()
		var groupWait time.Duration // since the last ask, while done locally
		for {
			select {
			case <-tick.C:
			case <-quit:
				return
			}
			local := c.cfg.untilCaughtUp && c.doneLocally(true)
			if !local {
				groupWait = 0
			}
			if since := time.Since(last); since < c.cfg.commitInterval && (!local || since < groupWait) {
				continue
			}
			last = time.Now()
			c.commitAssigned()
			if c.cfg.untilCaughtUp && c.checkCaughtUp(pollCtx) {
				stop()
			} else if local {
				groupWait = min(max(2*groupWait, every), c.cfg.commitInterval)
			}
		}
	})
	var err error
	for {
		fetches := c.cl.PollRecords(pollCtx, c.cfg.maxPollRecords)
		if err = c.fetchErrors(fetches); err != nil {
			c.cl.AllowRebalance()
			break
		}
		all := c.emitAll(fetches, emit)
		c.cl.AllowRebalance()
		if !all || pollCtx.Err() != nil {
			break
		}
	}
	close(quit)
	committer.Wait()
	if !c.waitInflight(c.cfg.drainTimeout) {
		c.log.Warn("kafka consumer stopping with records still in flight: what is done is committed, the rest will be read again",
			zap.Int64("inFlight", c.inflight.Load()), zap.Duration("waited", c.cfg.drainTimeout))
	}
	c.commitAssigned()
	c.log.Info("kafka consumer stopped", zap.Int64("consumed", c.counters.consumed.Load()), zap.Int64("commits", c.counters.commits.Load()))
	return err
}

// runTransactions polls, emits and ends a transaction every commit
// interval (earlier when a rebalance waits): once every record polled in
// it has been acknowledged by the sinks, whose results are in the
// transaction, the consumed offsets are committed with them.
func (c *Consumer[T]) runTransactions(ctx, pollCtx context.Context, stop context.CancelFunc, emit pipeline.Emit[T]) error {
	failures := 0 // transactions aborted in a row because a record was refused
	for pollCtx.Err() == nil {
		if err := c.sess.Begin(); err != nil {
			return fmt.Errorf("kafka: beginning a transaction: %w", err)
		}
		c.nacked.Store(false)
		deadline := time.Now().Add(c.cfg.commitInterval)
		polled := c.counters.consumed.Load()
		all := true
		var fatal error
		for all && !c.blocked.Load() && time.Now().Before(deadline) {
			tctx, cancel := context.WithDeadline(pollCtx, deadline)
			fetches := c.sess.PollRecords(tctx, c.cfg.maxPollRecords)
			cancel()
			if fatal = c.fetchErrors(fetches); fatal != nil {
				break
			}
			all = c.emitAll(fetches, emit)
			if pollCtx.Err() != nil || (c.cfg.untilCaughtUp && c.counters.consumed.Load() > polled && c.doneLocally(false)) {
				break // end the transaction now: this worker has taken all there is
			}
		}
		drained := c.waitInflight(c.cfg.drainTimeout)
		poisoned := c.poison.Swap(nil)
		commit := drained && all && fatal == nil && !c.nacked.Load() && poisoned == nil
		committed, err := c.end(ctx, commit)
		switch {
		case err != nil:
			c.sess.AllowRebalance()
			return errors.Join(fatal, fmt.Errorf("kafka: ending a transaction: %w", err))
		case !drained:
			c.sess.AllowRebalance()
			return fmt.Errorf("kafka: %d records still in flight after %v: transaction aborted", c.inflight.Load(), c.cfg.drainTimeout)
		case committed:
			c.counters.txnCommitted.Add(1)
			c.noteCommitted()
		default:
			c.counters.txnAborted.Add(1)
			if commit {
				c.log.Info("kafka transaction aborted by a rebalance: its records will be processed again")
			}
		}
		if poisoned != nil {
			// A record of the transaction was refused: the transaction is
			// aborted and its records done again, a few times; a refusal
			// that keeps coming is fatal.
			failures++
			c.log.Warn("kafka transaction aborted: the brokers refused a record of it; its records will be processed again",
				zap.Int("attempt", failures), zap.Error(*poisoned))
			if failures >= maxPoisonedTransactions {
				c.sess.AllowRebalance()
				return fmt.Errorf("kafka: %d transactions in a row aborted because the brokers refused a record: %w", failures, *poisoned)
			}
		} else if committed {
			failures = 0
		}
		c.blocked.Store(false)
		c.sess.AllowRebalance()
		if fatal != nil || !all {
			return fatal
		}
		if c.cfg.untilCaughtUp && c.checkCaughtUp(pollCtx) {
			stop()
		}
	}
	return nil
}

// end ends the transaction. A rebalance that waits for the transaction
// (the poll blocks it) is let go on: End asks the group for a heartbeat
// that a rebalance in progress answers only once its callbacks ran.
// The transaction then aborts if the rebalance revoked partitions of it.
func (c *Consumer[T]) end(ctx context.Context, commit bool) (bool, error) {
	endCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	ended := make(chan struct{})
	var watcher conc.WaitGroup
	watcher.Go(func() {
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-ended:
				return
			case <-tick.C:
				if c.blocked.Load() {
					c.sess.AllowRebalance()
					return
				}
			}
		}
	})
	committed, err := c.sess.End(endCtx, kgo.TransactionEndTry(commit))
	close(ended)
	watcher.Wait()
	return committed, err
}

// maxPoisonedTransactions bounds the transactions aborted in a row because
// the brokers refused one of their records before the run fails.
const maxPoisonedTransactions = 3

// poisonTransaction makes the open transaction abort: a producer of the
// consumer could not produce one of its records. The records are done
// again in the next transaction.
func (c *Consumer[T]) poisonTransaction(err error) { c.poison.CompareAndSwap(nil, &err) }

// noteCommitted records the offsets a transaction committed.
func (c *Consumer[T]) noteCommitted() {
	committed := c.cl.CommittedOffsets()[c.topic]
	c.mu.Lock()
	defer c.mu.Unlock()
	for id, p := range c.parts {
		if o, ok := committed[id]; ok {
			p.committed.Store(o.Offset)
		}
	}
	c.counters.commits.Add(1)
}

// fetchErrors handles the errors of a poll: the end of the poll context is
// no error; errors the client cannot retry past are fatal; the others are
// counted and logged (the client retries them).
func (c *Consumer[T]) fetchErrors(fetches kgo.Fetches) error {
	for _, fe := range fetches.Errors() {
		switch {
		case errors.Is(fe.Err, context.Canceled), errors.Is(fe.Err, context.DeadlineExceeded), errors.Is(fe.Err, kgo.ErrClientClosed):
			continue
		}
		c.counters.fetchErrors.Add(1)
		if fatalFetchError(fe.Err) {
			return fmt.Errorf("kafka: fetching topic %s partition %d: %w", fe.Topic, fe.Partition, fe.Err)
		}
		c.log.Warn("kafka fetch error", zap.String("topic", fe.Topic), zap.Int32("partition", fe.Partition), zap.Error(fe.Err))
	}
	return nil
}

// fatalFetchError reports whether a fetch error needs an operator: no
// retry can fix a missing permission or a failed authentication.
func fatalFetchError(err error) bool {
	for _, e := range []error{kerr.TopicAuthorizationFailed, kerr.GroupAuthorizationFailed,
		kerr.ClusterAuthorizationFailed, kerr.SaslAuthenticationFailed, kerr.TransactionalIDAuthorizationFailed} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// emitAll emits the records of a poll in partition order and reports
// whether all were emitted (false: the run is stopping).
func (c *Consumer[T]) emitAll(fetches kgo.Fetches, emit pipeline.Emit[T]) bool {
	all := true
	fetches.EachPartition(func(fp kgo.FetchTopicPartition) {
		if !all || fp.Topic != c.topic {
			return
		}
		c.mu.Lock()
		p := c.parts[fp.Partition]
		c.mu.Unlock()
		if p == nil || p.isRevoked() {
			c.counters.skipped.Add(int64(len(fp.Records)))
			return
		}
		if fp.HighWatermark >= 0 {
			p.hwm.Store(fp.HighWatermark)
		}
		for _, r := range fp.Records {
			// The key is copied: it points into the fetched batch, which it
			// would keep alive as long as the item.
			pos := pipeline.Position{Seq: c.seq.Add(1), Stream: r.Topic, Partition: r.Partition, Offset: r.Offset, Key: bytes.Clone(r.Key)}
			p.next.Store(r.Offset + 1)
			if r.Attrs.IsControl() {
				p.skip(pos)
				continue
			}
			it := &pipeline.Item[T]{Pos: pos}
			v, err := c.decode(r)
			it.Value = v
			if err != nil {
				it.Err = &RecordError{Op: "decode", Topic: r.Topic, Partition: r.Partition, Offset: r.Offset, Err: err}
				c.counters.undecodable.Add(1)
			}
			p.add(pos)
			c.inflight.Add(1)
			c.counters.consumed.Add(1)
			if !emit(it) {
				all = false
				return
			}
		}
	})
	return all
}

// onAck is told the outcome of every emitted record.
func (c *Consumer[T]) onAck(pos pipeline.Position, err error) {
	p := c.owner(pos)
	if p != nil {
		if err == nil {
			if p.tracker != nil {
				p.tracker.Done(pos.Seq)
			}
		} else {
			c.nacked.Store(true)
			c.counters.givenBack.Add(1)
		}
		p.outstanding.Add(-1)
	}
	if c.inflight.Add(-1) == 0 {
		select {
		case c.drained <- struct{}{}:
		default:
		}
	}
}

// owner returns the assignment of the partition that emitted pos.
func (c *Consumer[T]) owner(pos pipeline.Position) *partition {
	c.mu.Lock()
	defer c.mu.Unlock()
	if p := c.parts[pos.Partition]; p != nil && pos.Seq > p.firstSeq {
		return p
	}
	for i := len(c.retired) - 1; i >= 0; i-- {
		if p := c.retired[i]; p.id == pos.Partition && pos.Seq > p.firstSeq {
			return p
		}
	}
	return nil
}

// waitInflight waits until every emitted record has been acknowledged or
// given back, at most timeout, and reports whether they all were.
func (c *Consumer[T]) waitInflight(timeout time.Duration) bool {
	t := time.NewTimer(timeout)
	defer t.Stop()
	for c.inflight.Load() > 0 {
		select {
		case <-c.drained:
		case <-t.C:
			return c.inflight.Load() == 0
		}
	}
	return true
}

// assignment returns the partitions currently assigned and not revoked.
func (c *Consumer[T]) assignment() []*partition {
	c.mu.Lock()
	defer c.mu.Unlock()
	parts := make([]*partition, 0, len(c.parts))
	for _, p := range c.parts {
		parts = append(parts, p)
	}
	return parts
}

// commitAssigned commits the partitions assigned when it takes the commit
// lock: a partition a rebalance took away while it waited (revoked commits
// its own, then lets the rebalance go on) is not committed again for an
// owner it no longer is.
func (c *Consumer[T]) commitAssigned() {
	c.commitMu.Lock()
	defer c.commitMu.Unlock()
	c.commitLocked(c.assignment())
}

// commit commits parts (revoked's, taken from the assignment).
func (c *Consumer[T]) commit(parts []*partition) {
	c.commitMu.Lock()
	defer c.commitMu.Unlock()
	c.commitLocked(parts)
}

// commitLocked commits, for each partition, the offset after its done
// prefix when it moved; the caller holds commitMu. A failed commit is
// logged and tried again at the next one; it is never fatal (what is not
// committed is read again).
func (c *Consumer[T]) commitLocked(parts []*partition) {
	// What the group had committed when the partitions were assigned
	// (another worker's commits) counts as committed.
	known := c.cl.CommittedOffsets()[c.topic]
	for _, p := range parts {
		if o, ok := known[p.id]; ok && o.Offset > p.committed.Load() {
			p.committed.Store(o.Offset)
		}
	}
	offsets := map[int32]kgo.EpochOffset{}
	for _, p := range parts {
		if at := p.commitPoint(); at > p.committed.Load() {
			offsets[p.id] = kgo.EpochOffset{Epoch: -1, Offset: at}
		}
	}
	if len(offsets) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	byID := map[int32]*partition{}
	for _, p := range parts {
		byID[p.id] = p
	}
	var failed error
	c.cl.CommitOffsetsSync(ctx, map[string]map[int32]kgo.EpochOffset{c.topic: offsets},
		func(_ *kgo.Client, _ *kmsg.OffsetCommitRequest, resp *kmsg.OffsetCommitResponse, err error) {
			if err != nil {
				failed = err
				return
			}
			for _, t := range resp.Topics {
				for _, rp := range t.Partitions {
					if e := kerr.ErrorForCode(rp.ErrorCode); e != nil {
						failed = fmt.Errorf("partition %d: %w", rp.Partition, e)
						continue
					}
					if p := byID[rp.Partition]; p != nil {
						at := offsets[rp.Partition].Offset
						from := p.committed.Load()
						if from < 0 {
							from = p.first.Load()
						}
						c.counters.committedRecords.Add(max(at-from, 0))
						p.committed.Store(at)
					}
				}
			}
		})
	if failed != nil {
		c.counters.commitErrors.Add(1)
		c.log.Warn("kafka commit failed: retried at the next commit", zap.Error(failed))
		return
	}
	c.counters.commits.Add(1)
	if ce := c.log.Check(zap.DebugLevel, "kafka offsets committed"); ce != nil {
		ce.Write(zap.Any("offsets", offsets))
	}
}

// assigned starts tracking newly assigned partitions.
func (c *Consumer[T]) assigned(_ context.Context, _ *kgo.Client, assigned map[string][]int32) {
	<-c.ready
	ids := assigned[c.topic]
	c.counters.assigned.Add(int64(len(ids)))
	c.counters.rebalances.Add(1)
	c.mu.Lock()
	for _, id := range ids {
		c.parts[id] = newPartition(id, c.seq.Load(), !c.cfg.exactlyOnce)
	}
	c.mu.Unlock()
	c.log.Info("kafka partitions assigned", zap.Int32s("partitions", ids))
}

// revoked lets a rebalance take partitions away: it stops taking their
// records, waits for those in flight (at most RevokeTimeout), commits what
// is done and returns, which lets the rebalance go on. Exactly-once the
// transaction that polled them has ended before (the rebalance waits for
// it), so nothing is in flight and nothing is left to commit.
func (c *Consumer[T]) revoked(_ context.Context, _ *kgo.Client, revoked map[string][]int32) {
	<-c.ready
	parts := c.retire(revoked[c.topic])
	if len(parts) == 0 {
		return
	}
	c.counters.revoked.Add(int64(len(parts)))
	if !c.cfg.exactlyOnce {
		deadline := time.Now().Add(c.cfg.revokeTimeout)
		for busy(parts) && time.Now().Before(deadline) {
			time.Sleep(2 * time.Millisecond)
		}
		if busy(parts) {
			c.log.Warn("kafka revocation: records still in flight after the revoke timeout; their partitions' new owner reads them again",
				zap.Duration("revokeTimeout", c.cfg.revokeTimeout))
		}
		c.commit(parts)
	}
	c.log.Info("kafka partitions revoked", zap.Int32s("partitions", revoked[c.topic]))
}

// lost drops partitions the group took away without a revocation: what
// they had in flight is not committed (the new owner reads it again).
func (c *Consumer[T]) lost(_ context.Context, _ *kgo.Client, lost map[string][]int32) {
	<-c.ready
	parts := c.retire(lost[c.topic])
	c.counters.lost.Add(int64(len(parts)))
	if len(parts) > 0 {
		c.log.Warn("kafka partitions lost: nothing of theirs is committed", zap.Int32s("partitions", lost[c.topic]))
	}
}

// retire removes partitions from the assignment, keeping them while they
// have records in flight.
func (c *Consumer[T]) retire(ids []int32) []*partition {
	c.mu.Lock()
	defer c.mu.Unlock()
	var parts []*partition
	for _, id := range ids {
		p := c.parts[id]
		if p == nil {
			continue
		}
		p.mu.Lock()
		p.revoked = true
		p.mu.Unlock()
		delete(c.parts, id)
		parts = append(parts, p)
	}
	kept := c.retired[:0]
	for _, p := range c.retired {
		if p.outstanding.Load() > 0 {
			kept = append(kept, p)
		}
	}
	c.retired = append(kept, parts...)
	return parts
}

func (p *partition) isRevoked() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.revoked
}

func busy(parts []*partition) bool {
	for _, p := range parts {
		if p.outstanding.Load() > 0 {
			return true
		}
	}
	return false
}

// listTargets records where each partition of the topic ends and begins
// now (UntilCaughtUp).
func (c *Consumer[T]) listTargets(ctx context.Context) error {
	adm := kadm.NewClient(c.cl)
	list := adm.ListEndOffsets
	if c.cfg.readCommitted {
		list = adm.ListCommittedOffsets
	}
	ends, err := list(ctx, c.topic)
	if err == nil {
		err = ends.Error()
	}
	if err != nil {
		return fmt.Errorf("kafka: listing the end offsets of topic %s: %w", c.topic, err)
	}
	starts, err := adm.ListStartOffsets(ctx, c.topic)
	if err == nil {
		err = starts.Error()
	}
	if err != nil {
		return fmt.Errorf("kafka: listing the start offsets of topic %s: %w", c.topic, err)
	}
	if len(ends[c.topic]) == 0 {
		return fmt.Errorf("kafka: topic %s has no partitions (does it exist?)", c.topic)
	}
	c.targets, c.starts = map[int32]int64{}, map[int32]int64{}
	for p, o := range ends[c.topic] {
		c.targets[p] = o.Offset
	}
	for p, o := range starts[c.topic] {
		c.starts[p] = o.Offset
	}
	c.log.Info("kafka consumer runs until the group has caught up", zap.Any("endOffsets", c.targets))
	return nil
}

// doneLocally reports whether this worker has partitions and every one is
// done up to its target (committable, or only taken: polled).
func (c *Consumer[T]) doneLocally(committable bool) bool {
	parts := c.assignment()
	if len(parts) == 0 {
		return false
	}
	for _, p := range parts {
		t := c.targets[p.id]
		if t <= c.starts[p.id] {
			continue
		}
		at := p.next.Load()
		if committable {
			at = max(p.commitPoint(), p.committed.Load())
		}
		if at < t {
			return false
		}
	}
	return true
}

// checkCaughtUp reports whether the group has committed every partition up
// to its target. It asks the group's coordinator only once this worker's
// own partitions are caught up.
func (c *Consumer[T]) checkCaughtUp(ctx context.Context) bool {
	if c.caughtUp.Load() {
		return true
	}
	for _, p := range c.assignment() {
		if t := c.targets[p.id]; t > c.starts[p.id] && p.committed.Load() < t {
			return false
		}
	}
	offsets, err := kadm.NewClient(c.cl).FetchOffsets(ctx, c.cfg.group)
	if err != nil {
		if ctx.Err() == nil {
			c.log.Warn("kafka: fetching the group's offsets", zap.Error(err))
		}
		return false
	}
	for p, t := range c.targets {
		if t <= c.starts[p] {
			continue
		}
		o, ok := offsets.Lookup(c.topic, p)
		if !ok || o.Err != nil || o.At < t {
			return false
		}
	}
	c.caughtUp.Store(true)
	c.log.Info("kafka: the group has caught up with the topic as it was at the start")
	return true
}

// CaughtUp reports whether the consumer ended because the group caught up
// (UntilCaughtUp).
func (c *Consumer[T]) CaughtUp() bool { return c.caughtUp.Load() }
