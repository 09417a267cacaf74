package awsim

import (
	"os"
	"path/filepath"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
)

// Placeholder credentials: awsim signs nothing and checks no signature.
const (
	AccessKeyID     = "AKIDSIMULATOR"
	SecretAccessKey = "simulator-secret"
)

// Env is the environment a process needs to talk to s, like httptest's Server.URL: the endpoint
// (AWS_ENDPOINT_URL), the region, placeholder credentials, and nothing of the developer's own
// AWS configuration (no shared config or credentials files, no instance metadata).
func (s *Server) Env() []string {
	return []string{
		"AWS_ENDPOINT_URL=" + s.url, "AWS_REGION=" + s.cfg.Region,
		"AWS_ACCESS_KEY_ID=" + AccessKeyID, "AWS_SECRET_ACCESS_KEY=" + SecretAccessKey,
		"AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null", "AWS_EC2_METADATA_DISABLED=true",
	}
}

// AWSConfig is an aws.Config whose SDK clients talk to s, like httptest's Server.Client.
func (s *Server) AWSConfig() aws.Config {
	return aws.Config{Region: s.cfg.Region, BaseEndpoint: aws.String(s.url),
		Credentials: credentials.NewStaticCredentialsProvider(AccessKeyID, SecretAccessKey, "")}
}

// CLIShim writes into dir an executable "aws" that runs the AWS CLI at cli against s, and
// returns dir for PATH. Debian's CLI 2.9 predates AWS_ENDPOINT_URL, so the shim passes
// --endpoint-url.
func (s *Server) CLIShim(dir, cli string) (string, error) {
	shim := "#!/bin/sh\nexec " + cli + " --endpoint-url " + s.url + " \"$@\"\n"
	return dir, os.WriteFile(filepath.Join(dir, "aws"), []byte(shim), 0o755)
}
