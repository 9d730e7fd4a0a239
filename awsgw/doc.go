// Package awsgw is Junction's AWS face: one HTTP endpoint (default port
// 4566) that speaks the SQS API over core queues, in both of SQS's wire
// protocols, AWS JSON 1.0 (X-Amz-Target: AmazonSQS.*, current SDKs) and
// Query with XML responses (Action=…&Version=2012-11-05, older CLIs and
// boto3). SNS (Version 2010-03-31, Query only) serves topics as core
// fanout exchanges and subscriptions as bindings (sns*.go; filter policies
// in package snsfilter; signature verification: SNSSigningCertPath).
//
// Every request is verified with SigV4 (Authorization header or presigned
// query) against the access keys of the core's user store, unless
// Config.AcceptAnyKey is set. The account id in a queue URL maps to a vhost
// (000000000000 ↔ "/" by default) and the key's user needs RabbitMQ
// permissions there: configure for CreateQueue, DeleteQueue and the
// attribute, tag and permission actions; write for SendMessage; read for
// ReceiveMessage, DeleteMessage, ChangeMessageVisibility and PurgeQueue.
//
// An SQS queue is a durable core queue: a receive is a lease whose deadline
// is the visibility timeout, ApproximateReceiveCount is the delivery count,
// redrive is the core's MaxReceiveCount/RedriveTarget, DelaySeconds the
// queue's DefaultDelay (so messages published over AMQP or MQTT are delayed
// too) and MessageRetentionPeriod its Retention; SetQueueAttributes changes
// them on the live queue (core Vhost.SetQueueOptions). The receive time
// behind ApproximateFirstReceiveTimestamp is kept by the queue, in the store
// entry, so it survives restarts. PurgeQueue drops in-flight and delayed
// messages too (AMQP's queue.purge drops only ready ones). SQS metadata the
// core does not hold (attributes, tags, permissions, timestamps) is a
// definition record of kind "sqs-queue" in the store. Queues declared over
// AMQP are listed and usable with default attributes.
//
// Bodies from other faces: SQS bodies are text in a restricted character
// set. A message whose body is not valid there (a binary AMQP body) is
// delivered base64-encoded with the String message attribute
// "junction.body-encoding" = "base64" (BodyEncodingAttribute), which is
// always returned and covered by MD5OfMessageAttributes. AMQP headers of
// string, number and byte types appear as message attributes.
//
// Receipt handles encode (queue, sequence, message id, receive count) and
// a random nonce under an HMAC whose key is kept in the store (kind
// "sqs-key"), so they survive restarts and forged ones are refused with
// ReceiptHandleIsInvalid. A handle settles only the receive that returned
// it (core AckLease and ChangeLeaseIf compare the receive count), as AWS
// documents: DeleteMessage with an older handle of a message received again
// since succeeds on a standard queue without deleting the message, and on a
// FIFO queue fails with InvalidParameterValue "The receipt handle has
// expired." (also once the handle's visibility timeout has passed); the
// latest handle of a standard queue's message deletes it even after its
// visibility timeout, until it is received again. ChangeMessageVisibility
// with an older handle fails with the same "expired" error. A FIFO send
// deduplicated within the 5-minute window is answered with the original
// message's MessageId and SequenceNumber.
package awsgw
