// Command hello is the smallest aws-lambda-go function, built like deploystep's bootstrap: the
// bench's yardstick for init time, memory and zip size.
package main

import (
	"context"

	"github.com/aws/aws-lambda-go/lambda"
)

func main() {
	lambda.Start(func(ctx context.Context, ev map[string]any) (string, error) { return "hello", nil })
}
