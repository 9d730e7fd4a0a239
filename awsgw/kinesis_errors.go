package awsgw

import (
	"errors"
	"time"

	"github.com/junctionmq/junction/core"
	"github.com/junctionmq/junction/core/stream"
)

// Kinesis errors. Kinesis answers every client error with HTTP 400 and a
// bare "__type" (no namespace). Texts are AWS's, as kinesalite records
// them.

func kerr(typ, format string, args ...any) *apiError {
	return newErr(400, typ, typ, format, args...)
}

func errValidation(format string, args ...any) *apiError {
	return kerr("ValidationException", format, args...)
}

func errKinesisInvalidArg(format string, args ...any) *apiError {
	return kerr("InvalidArgumentException", format, args...)
}

func errStreamNotFound(name, account string) *apiError {
	return kerr("ResourceNotFoundException", "Stream %s under account %s not found.", name, account)
}

func errStreamExists(name, account string) *apiError {
	return kerr("ResourceInUseException", "Stream %s under account %s already exists.", name, account)
}

func errShardNotFound(shard, name, account string) *apiError {
	return kerr("ResourceNotFoundException", "Could not find shard %s in stream %s under account %s.", shard, name, account)
}

func errShardNotExist(shard, name, account string) *apiError {
	return kerr("ResourceNotFoundException", "Shard %s in stream %s under account %s does not exist", shard, name, account)
}

func errShardClosed(shard, name, account string) *apiError {
	return kerr("InvalidArgumentException",
		"Shard %s in stream %s under account %s has already been merged or split, and thus is not eligible for merging or splitting.",
		shard, name, account)
}

func errShardLimit(account, region string, current, limit, more int) *apiError {
	return kerr("LimitExceededException", "This request would exceed the shard limit for the account %s in %s. "+
		"Current shard count for the account: %d. Limit: %d. Number of additional shards that would have resulted "+
		"from this request: %d. Refer to the AWS Service Limits page "+
		"(http://docs.aws.amazon.com/general/latest/gr/aws_service_limits.html) for current limits and how to request higher limits.",
		account, region, current, limit, more)
}

func errInvalidIterator() *apiError {
	return errKinesisInvalidArg("Invalid ShardIterator.")
}

func errExpiredIterator(created, now time.Time) *apiError {
	return kerr("ExpiredIteratorException", "Iterator expired. The iterator was created at time %s while right now it is %s "+
		"which is further in the future than the tolerated delay of %d milliseconds.",
		amzUTC(created), amzUTC(now), iteratorTTL.Milliseconds())
}

// amzUTC formats a time as Java's Date.toString in UTC ("Thu Jan 22 01:22:02 UTC 2015").
func amzUTC(t time.Time) string { return t.UTC().Format("Mon Jan 02 15:04:05 UTC 2006") }

func errThroughput(shard, name, account string) *apiError {
	return kerr("ProvisionedThroughputExceededException", "%s", throughputText(shard, name, account))
}

func throughputText(shard, name, account string) string {
	return "Rate exceeded for shard " + shard + " in stream " + name + " under account " + account + "."
}

func errUnknownKinesisOp() *apiError {
	return kerr("UnknownOperationException", "")
}

// kinesisError maps a core or stream error of stream name to the Kinesis
// error sent: the one place Kinesis translates core errors.
func kinesisError(err error, name, account string) *apiError {
	var ae *apiError
	var pe *stream.PartitionError
	switch {
	case errors.As(err, &ae):
		return ae
	case errors.As(err, &pe) && errors.Is(err, stream.ErrPartitionSealed):
		return errShardClosed(pe.Partition, name, account)
	case errors.As(err, &pe) && errors.Is(err, stream.ErrPartitionNotFound):
		return errShardNotFound(pe.Partition, name, account)
	case errors.Is(err, core.ErrNotFound), errors.Is(err, stream.ErrClosed):
		return errStreamNotFound(name, account)
	case errors.Is(err, core.ErrPrecondition):
		return errStreamExists(name, account)
	case errors.Is(err, core.ErrAccessRefused), errors.Is(err, core.ErrNotAllowed):
		return newErr(400, "AccessDeniedException", "AccessDeniedException", "%s", coreText(err))
	}
	return errInternal()
}
