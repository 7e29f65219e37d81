// Package kafka moves pipeline items in and out of Kafka with franz-go
// (kgo): a consumer-group source whose commits follow the sinks'
// acknowledgments, a producer sink whose items are confirmed only when the
// brokers have acknowledged their records, and exactly-once runs in which
// results and consumed offsets are committed in one transaction.
//
// N workers with the same group share a topic's partitions with no
// coordinator of their own: the group's cooperative-sticky balancer moves
// the partitions of a worker that leaves or dies to the others, and the
// committed offsets are the checkpoint.
//
// At least once (the default), a Consumer commits for each partition the
// offset after the contiguous prefix of its records that every sink has
// confirmed (a pipeline.Tracker per partition fed by pipeline.OnAck), at
// least every CommitInterval, when partitions are revoked (after the
// records of those partitions in flight are done; the rebalance waits), and
// when it stops. A crash repeats what was in flight and what was done
// after the last commit; nothing is lost. Lost partitions (the group gave
// them away without a revocation) are dropped without a commit.
//
// With ExactlyOnce the consumer is a kgo.GroupTransactSession: every
// CommitInterval it stops polling, waits until the sinks have confirmed
// every record polled in the transaction (their results are produced in
// it, through Consumer.NewProducer), and commits the results and the
// consumed offsets together. A read_committed reader of the output sees
// each input record's result once, whatever crashes and rebalances happen;
// the work of a record in flight at a crash (a Target call) is done again,
// only its output is not repeated.
//
// The package is generic: a DecodeFunc makes an item's payload from a
// message, an EncodeFunc a message from an item. Items carry the topic,
// partition, offset and key of their message in their pipeline.Position; a
// message that cannot be decoded becomes a failed item whose *RecordError
// names them, to be dead-lettered. ParseURL reads the kafka:// URLs of the
// command line, with TLS and SASL (PLAIN, SCRAM-SHA-256/512) settings from
// URL parameters and the environment, never a password from the URL.
//
// A user of package target or pipeline alone compiles none of this.
package kafka
