// Package sqssrc is the sqs:// source of ingest: it long-polls an SQS queue
// for CloudTrail delivery notices (the SNS envelope CloudTrail publishes,
// raw message delivery of the same notice, or S3 ObjectCreated event
// notifications), fetches the log files they name from S3 and stores their
// events through an ingest.Ingester, deleting a message only once every
// object it names is stored.
//
// The queue is the checkpoint: a message that is not deleted comes back
// after its visibility timeout, so nothing is lost on a crash, and a file
// stored twice is deduplicated by eventID in the index. Several replicas may
// read one queue; they coordinate only through SQS visibility.
package sqssrc
