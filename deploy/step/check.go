package step

// Check is one verified precondition.
type Check struct {
	OK      bool
	Message string
}
