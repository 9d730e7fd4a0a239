package awsgw

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/junctionmq/junction/core"
	"github.com/junctionmq/junction/core/queue"
)

// apiError is an error as AWS returns it. Every error a handler returns is
// turned into one by toAPIError, the one place that maps core errors to AWS
// codes. Codes, messages and statuses follow responses recorded from AWS.
type apiError struct {
	Status int
	// Type is the AWS JSON 1.0 error shape name (the "__type" without its
	// namespace), e.g. "QueueDoesNotExist".
	Type string
	// Code is the Query protocol code, also sent in x-amzn-query-error,
	// e.g. "AWS.SimpleQueueService.NonExistentQueue".
	Code string
	// Message is the text; QueryMessage overrides it for the Query protocol
	// where AWS words it differently.
	Message      string
	QueryMessage string
	// Receiver marks a server fault (Type Receiver rather than Sender).
	Receiver bool
}

func (e *apiError) Error() string { return e.Code + ": " + e.Message }

func newErr(status int, typ, code, format string, args ...any) *apiError {
	return &apiError{Status: status, Type: typ, Code: code, Message: fmt.Sprintf(format, args...)}
}

// Generic errors shared by the services.

func errInternal() *apiError {
	return &apiError{Status: http.StatusInternalServerError, Type: "InternalFailure", Code: "InternalFailure",
		Message: "The request processing has failed because of an unknown error, exception or failure.", Receiver: true}
}

func errInvalidAction(action string) *apiError {
	return newErr(400, "InvalidAction", "InvalidAction",
		"The action or operation requested is invalid. Verify that the action is typed correctly.")
}

func errUnknownOperation() *apiError {
	return newErr(400, "UnknownOperationException", "UnknownOperationException", "")
}

func errSerialization(reason string) *apiError {
	return newErr(400, "SerializationException", "SerializationException", "%s", reason)
}

func errNotImplemented(service string) *apiError {
	return &apiError{Status: http.StatusNotImplemented, Type: "NotImplemented", Code: "NotImplemented",
		Message: "The " + service + " API is not implemented yet by Junction.", Receiver: true}
}

func errTooLarge(limit int64) *apiError {
	return newErr(http.StatusRequestEntityTooLarge, "RequestEntityTooLarge", "RequestEntityTooLarge",
		"Request body must be at most %d bytes.", limit)
}

func errAccessDenied(resource string) *apiError {
	return newErr(403, "AccessDeniedException", "AccessDenied", "Access to the resource %s is denied.", resource)
}

// SigV4 errors.

func errMissingAuth() *apiError {
	return newErr(403, "MissingAuthenticationTokenException", "MissingAuthenticationToken",
		"Request is missing Authentication Token")
}

func errIncompleteSignature(format string, args ...any) *apiError {
	return newErr(400, "IncompleteSignatureException", "IncompleteSignature", format, args...)
}

func errSignatureMismatch() *apiError {
	return newErr(403, "InvalidSignatureException", "SignatureDoesNotMatch",
		"The request signature we calculated does not match the signature you provided. "+
			"Check your AWS Secret Access Key and signing method. Consult the service documentation for details.")
}

func errSignatureExpired(signed, earliest, now string) *apiError {
	return newErr(403, "InvalidSignatureException", "SignatureDoesNotMatch",
		"Signature expired: %s is now earlier than %s (%s - 15 min.)", signed, earliest, now)
}

func errSignatureNotYetValid(signed, latest, now string) *apiError {
	return newErr(403, "InvalidSignatureException", "SignatureDoesNotMatch",
		"Signature not yet current: %s is still later than %s (%s + 15 min.)", signed, latest, now)
}

func errRequestExpired() *apiError {
	return newErr(400, "RequestExpired", "RequestExpired", "Request has expired.")
}

func errInvalidClientTokenID() *apiError {
	return newErr(403, "UnrecognizedClientException", "InvalidClientTokenId",
		"The security token included in the request is invalid.")
}

// SQS errors (shape names and query codes from the SQS service model).

func errNonExistentQueue() *apiError {
	return &apiError{Status: 400, Type: "QueueDoesNotExist", Code: "AWS.SimpleQueueService.NonExistentQueue",
		Message:      "The specified queue does not exist.",
		QueryMessage: "The specified queue does not exist for this wsdl version."}
}

func errInvalidParameterValue(format string, args ...any) *apiError {
	return newErr(400, "InvalidParameterValueException", "InvalidParameterValue", format, args...)
}

func errInvalidParam(value any, param, reason string) *apiError {
	return errInvalidParameterValue("Value %v for parameter %s is invalid. Reason: %s", value, param, reason)
}

func errMissingParameter(name string) *apiError {
	return newErr(400, "MissingRequiredParameterException", "MissingParameter",
		"The request must contain the parameter %s.", name)
}

func errQueueNameExists(attr string) *apiError {
	return newErr(400, "QueueNameExists", "QueueAlreadyExists",
		"A queue already exists with the same name and a different value for attribute %s", attr)
}

func errQueueDeletedRecently() *apiError {
	return newErr(400, "QueueDeletedRecently", "AWS.SimpleQueueService.QueueDeletedRecently",
		"You must wait 60 seconds after deleting a queue before you can create another with the same name.")
}

func errInvalidAttributeName(format string, args ...any) *apiError {
	return newErr(400, "InvalidAttributeName", "InvalidAttributeName", format, args...)
}

func errUnknownAttribute(name string) *apiError {
	return errInvalidAttributeName("Unknown Attribute %s.", name)
}

func errInvalidAttributeValue(name, reason string) *apiError {
	if reason == "" {
		return newErr(400, "InvalidAttributeValue", "InvalidAttributeValue",
			"Invalid value for the parameter %s.", name)
	}
	return newErr(400, "InvalidAttributeValue", "InvalidAttributeValue",
		"Invalid value for the parameter %s. Reason: %s.", name, reason)
}

func errTooManyEntries(n int) *apiError {
	return newErr(400, "TooManyEntriesInBatchRequest", "AWS.SimpleQueueService.TooManyEntriesInBatchRequest",
		"Maximum number of entries per request are 10. You have sent %d.", n)
}

func errEmptyBatch(entry string) *apiError {
	return newErr(400, "EmptyBatchRequest", "AWS.SimpleQueueService.EmptyBatchRequest",
		"There should be at least one %s in the request.", entry)
}

func errInvalidBatchEntryID() *apiError {
	return newErr(400, "InvalidBatchEntryId", "AWS.SimpleQueueService.InvalidBatchEntryId",
		"A batch entry id can only contain alphanumeric characters, hyphens and underscores. It can be at most 80 letters long.")
}

func errBatchIDsNotDistinct(id string) *apiError {
	return newErr(400, "BatchEntryIdsNotDistinct", "AWS.SimpleQueueService.BatchEntryIdsNotDistinct",
		"Id %s repeated.", id)
}

func errBatchTooLong(n int) *apiError {
	return newErr(400, "BatchRequestTooLong", "AWS.SimpleQueueService.BatchRequestTooLong",
		"Batch requests cannot be longer than %d bytes. You have sent %d bytes.", maxMessageSize, n)
}

func errReceiptHandleInvalid(h string) *apiError {
	return newErr(404, "ReceiptHandleIsInvalid", "ReceiptHandleIsInvalid",
		"The input receipt handle \"%s\" is not a valid receipt handle.", h)
}

func errReceiptHandleExpired(h string) *apiError {
	return errInvalidParam(h, "ReceiptHandle", "The receipt handle has expired.")
}

func errMessageNotInflight() *apiError {
	return newErr(400, "MessageNotInflight", "AWS.SimpleQueueService.MessageNotInflight",
		"Message does not exist or is not available for visibility timeout change.")
}

func errPurgeInProgress(name string) *apiError {
	return newErr(403, "PurgeQueueInProgress", "AWS.SimpleQueueService.PurgeQueueInProgress",
		"Only one PurgeQueue operation on %s is allowed every 60 seconds.", name)
}

func errResourceNotFound(format string, args ...any) *apiError {
	return newErr(404, "ResourceNotFoundException", "ResourceNotFoundException", format, args...)
}

func errUnsupportedOperation(format string, args ...any) *apiError {
	return newErr(400, "UnsupportedOperation", "AWS.SimpleQueueService.UnsupportedOperation", format, args...)
}

// toAPIError maps any error a handler returns to the AWS error sent: API
// errors pass through, core errors map by kind, anything else is an
// internal failure.
func toAPIError(err error) *apiError {
	var ae *apiError
	if errors.As(err, &ae) {
		return ae
	}
	switch {
	case errors.Is(err, core.ErrNotFound), errors.Is(err, queue.ErrDeleted):
		return errNonExistentQueue()
	case errors.Is(err, core.ErrAccessRefused), errors.Is(err, core.ErrNotAllowed), errors.Is(err, core.ErrLocked):
		return newErr(403, "AccessDeniedException", "AccessDenied", "%s", coreText(err))
	case errors.Is(err, core.ErrQueueLimit):
		return newErr(403, "OverLimit", "OverLimit", "%s", coreText(err))
	case errors.Is(err, core.ErrPrecondition), errors.Is(err, core.ErrInvalid):
		return errInvalidParameterValue("%s", coreText(err))
	}
	return errInternal()
}

// coreText is the client-facing text of a core error.
func coreText(err error) string {
	var ce *core.Error
	if errors.As(err, &ce) {
		return ce.Text
	}
	return err.Error()
}
