package tracking

import (
	"errors"
	"fmt"
	"net/http"
)

// MLflow error codes the client looks at (mlflow/protos/databricks.proto).
const (
	CodeResourceDoesNotExist  = "RESOURCE_DOES_NOT_EXIST"
	CodeResourceAlreadyExists = "RESOURCE_ALREADY_EXISTS"
	CodeInvalidParameterValue = "INVALID_PARAMETER_VALUE"
	CodeInternalError         = "INTERNAL_ERROR"
)

// APIError is an answer of the server that was not a success: its HTTP
// status and, when the body was MLflow's JSON error, its error_code and
// message.
type APIError struct {
	Method     string // HTTP method
	URL        string // the request URL without query or credentials
	StatusCode int    // HTTP status
	Code       string // MLflow error_code, e.g. RESOURCE_DOES_NOT_EXIST; empty when the body was not MLflow's JSON
	Message    string // MLflow message, or the start of the body
}

func (e *APIError) Error() string {
	return fmt.Sprintf("mlflow %s %s: %s", e.Method, e.URL, e.status())
}

// status is the error without the request: "http 404 CODE: message".
func (e *APIError) status() string {
	code := e.Code
	if code == "" {
		code = http.StatusText(e.StatusCode)
	}
	msg := e.Message
	if msg == "" {
		msg = "(no message)"
	}
	return fmt.Sprintf("http %d %s: %s", e.StatusCode, code, msg)
}

// RetryError is returned after the last attempt of a request that failed
// with a transient error (connection error, timeout, HTTP 5xx or 429).
type RetryError struct {
	Method   string
	URL      string
	Attempts int
	Err      error // the error of the last attempt
}

func (e *RetryError) Error() string {
	last := e.Err
	var ae *APIError
	if errors.As(last, &ae) {
		// The request is named once.
		return fmt.Sprintf("mlflow %s %s: giving up after %d attempts: last: %s", e.Method, e.URL, e.Attempts, ae.status())
	}
	return fmt.Sprintf("mlflow %s %s: giving up after %d attempts: last: %v", e.Method, e.URL, e.Attempts, last)
}

func (e *RetryError) Unwrap() error { return e.Err }

// ErrNotFound marks errors of things that do not exist where the server
// answers with another code (a missing alias is INVALID_PARAMETER_VALUE).
var ErrNotFound = errors.New("not found")

// IsNotFound reports whether err is (or wraps) MLflow's
// RESOURCE_DOES_NOT_EXIST, an HTTP 404 without an MLflow error code, or
// ErrNotFound.
func IsNotFound(err error) bool {
	if errors.Is(err, ErrNotFound) {
		return true
	}
	var ae *APIError
	if !errors.As(err, &ae) {
		return false
	}
	return ae.Code == CodeResourceDoesNotExist || (ae.Code == "" && ae.StatusCode == http.StatusNotFound)
}

// IsAlreadyExists reports whether err is (or wraps) MLflow's
// RESOURCE_ALREADY_EXISTS.
func IsAlreadyExists(err error) bool {
	var ae *APIError
	return errors.As(err, &ae) && ae.Code == CodeResourceAlreadyExists
}

// IsTransient reports whether err comes from a request that kept failing
// with transient errors until its attempts ran out: the server was
// unreachable or overloaded, and the same call may succeed later.
func IsTransient(err error) bool {
	var re *RetryError
	return errors.As(err, &re)
}
