package testtool

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/deploystep/deploystep/awsim"
)

// Sim starts the simulator on 127.0.0.1 for the test and closes it when the test ends.
func Sim(t testing.TB, cfg awsim.Config) *awsim.Server {
	t.Helper()
	sim, err := awsim.Start(cfg, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sim.Close() })
	return sim
}

// CLIPath returns a PATH on which "aws" is the AWS CLI v2 pointed at sim.
func CLIPath(t testing.TB, sim *awsim.Server) string {
	t.Helper()
	dir, err := sim.CLIShim(t.TempDir(), AWSCLI(t))
	if err != nil {
		t.Fatal(err)
	}
	return dir + ":" + os.Getenv("PATH")
}

var (
	buildOnce sync.Once
	built     string
	buildErr  error
)

// Binary builds deploystep once per test process (CGO off, as released) and returns its path;
// a failed build ends the test. From a goroutine, use BuildBinary.
func Binary(t testing.TB) string {
	t.Helper()
	p, err := BuildBinary()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// BuildBinary is Binary without a test: safe from any goroutine.
func BuildBinary() (string, error) {
	buildOnce.Do(func() {
		root, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}").Output()
		if err != nil {
			buildErr = fmt.Errorf("finding the module: %v", err)
			return
		}
		dir, err := os.MkdirTemp("", "deploystep-bin")
		if err != nil {
			buildErr = err
			return
		}
		built = filepath.Join(dir, "deploystep")
		cmd := exec.Command("go", "build", "-o", built, ".")
		cmd.Dir = strings.TrimSpace(string(root))
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("building deploystep: %v\n%s", err, out)
		}
	})
	return built, buildErr
}

// SyncBuffer is a bytes.Buffer that a process and a test may use at once.
type SyncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *SyncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *SyncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// RIEProcess is a running aws-lambda-rie with a function.
type RIEProcess struct {
	Driver *awsim.Driver // plays CodePipeline toward the function
	Logs   *SyncBuffer   // RIE's and the function's output
	Cmd    *exec.Cmd     // the RIE process; the function is its child
	done   chan struct{} // closed when RIE has exited
}

// Stop kills RIE and the function.
func (r *RIEProcess) Stop() {
	r.Cmd.Process.Kill() //nolint:errcheck
	<-r.done
}

// LaunchRIE starts aws-lambda-rie on two free loopback ports with bootstrap as the function.
// env comes after sim's environment and may override it. It needs no testing.T, so the bench
// uses it too.
func LaunchRIE(rie, bootstrap string, sim *awsim.Server, timeoutSeconds int, env ...string) (*RIEProcess, error) {
	// Free ports are found by listening and closing; a launch beside others can lose its port
	// to another RIE, which then exits: start again on new ports.
	var err error
	for try := 0; try < 3; try++ {
		var r *RIEProcess
		if r, err = launchRIE(rie, bootstrap, sim, timeoutSeconds, env...); err == nil {
			return r, nil
		}
	}
	return nil, err
}

func launchRIE(rie, bootstrap string, sim *awsim.Server, timeoutSeconds int, env ...string) (*RIEProcess, error) {
	ports := make([]int, 2)
	for i := range ports {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		ports[i] = ln.Addr().(*net.TCPAddr).Port
		ln.Close()
	}
	cmd := exec.Command(rie, "--runtime-interface-emulator-address", fmt.Sprintf("127.0.0.1:%d", ports[0]),
		"--runtime-api-address", fmt.Sprintf("127.0.0.1:%d", ports[1]), bootstrap)
	cmd.Env = append(append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.TempDir(),
		fmt.Sprintf("AWS_LAMBDA_FUNCTION_TIMEOUT=%d", timeoutSeconds)}, sim.Env()...), env...)
	logs := &SyncBuffer{}
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	addr := fmt.Sprintf("127.0.0.1:%d", ports[0])
	r := &RIEProcess{Driver: &awsim.Driver{Sim: sim, InvokeURL: "http://" + addr + "/2015-03-31/functions/function/invocations"},
		Logs: logs, Cmd: cmd, done: make(chan struct{})}
	go func() { cmd.Wait(); close(r.done) }() //nolint:errcheck // exit is seen through done
	for deadline := time.Now().Add(10 * time.Second); ; {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			// Listening is not proof that it is ours: an RIE that lost its port exits at once.
			select {
			case <-r.done:
				return nil, fmt.Errorf("aws-lambda-rie exited (its port was taken?):\n%s", logs)
			case <-time.After(150 * time.Millisecond):
			}
			select {
			case <-r.done:
				return nil, fmt.Errorf("aws-lambda-rie exited (its port was taken?):\n%s", logs)
			default:
				return r, nil
			}
		}
		select {
		case <-r.done:
			return nil, fmt.Errorf("aws-lambda-rie exited before listening on %s:\n%s", addr, logs)
		default:
		}
		if time.Now().After(deadline) {
			r.Stop()
			return nil, fmt.Errorf("aws-lambda-rie did not listen on %s:\n%s", addr, logs)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
