package awsgw

import (
	"errors"

	"github.com/junctionmq/junction/core"
)

// SNS errors, with AWS's codes and texts as recorded from AWS. SNS speaks
// only the Query protocol, so Type and Code are the same.

func snsErr(status int, code, format string, args ...any) *apiError {
	return newErr(status, code, code, format, args...)
}

// errSNSParam is InvalidParameter with AWS's "Invalid parameter: " prefix.
func errSNSParam(format string, args ...any) *apiError {
	e := snsErr(400, "InvalidParameter", format, args...)
	e.Message = "Invalid parameter: " + e.Message
	e.Type = e.Code
	return e
}

// errSNSInvalid is InvalidParameter without the prefix ("Invalid token").
func errSNSInvalid(format string, args ...any) *apiError {
	return snsErr(400, "InvalidParameter", format, args...)
}

func errTopicNotFound() *apiError { return snsErr(404, "NotFound", "Topic does not exist") }

func errSubscriptionNotFound() *apiError {
	return snsErr(404, "NotFound", "Subscription does not exist")
}

func errSNSAttrValue(msg string) *apiError { return snsErr(400, "ParameterValueInvalid", "%s", msg) }

func errSNSValidation(format string, args ...any) *apiError {
	return snsErr(400, "ValidationError", format, args...)
}

func errSNSAuthorization(resource string) *apiError {
	return snsErr(403, "AuthorizationError", "User is not authorized to perform this action on %s", resource)
}

func errSNSMissing(name string) *apiError {
	return errSNSParam("%s Reason: no value for required parameter", name)
}

// snsAPIError maps an error of the core or the store to SNS's answer: the
// one place where SNS translates core errors.
func snsAPIError(err error) *apiError {
	var ae *apiError
	if errors.As(err, &ae) {
		return ae
	}
	switch {
	case errors.Is(err, core.ErrNotFound):
		return errTopicNotFound()
	case errors.Is(err, core.ErrAccessRefused), errors.Is(err, core.ErrNotAllowed), errors.Is(err, core.ErrLocked):
		return snsErr(403, "AuthorizationError", "%s", coreText(err))
	case errors.Is(err, core.ErrPrecondition), errors.Is(err, core.ErrInvalid):
		return errSNSParam("%s", coreText(err))
	}
	return errInternal()
}
