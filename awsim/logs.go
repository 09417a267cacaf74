package awsim

// CloudWatch Logs, as far as a standalone task's logs go: the lines its container writes to its
// awslogs stream, and GetLogEvents (awsJson1.1, target Logs_20140328; CloudWatch Logs API
// reference 2014-03-28).
//
//   - A group or stream that does not exist is ResourceNotFoundException ("The specified
//     resource does not exist."): a task's stream exists once its container has written.
//   - GetLogEvents pages forward with nextForwardToken when startFromHead is true; "If you have
//     reached the end of the stream, it returns the same token you passed in", and "The returned
//     tokens are never null". limit is at most 10,000 events (the contract's row); without it a
//     page is "as many log events as can fit in a response size of 1 MB (up to 10,000 log
//     events)".
//   - Events come oldest first with startFromHead, newest first without it.

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

type logEvent struct {
	at      time.Time
	message string
}

type logsWorld struct {
	streams map[string][]logEvent // "group\x00stream" -> events, oldest first
	groups  map[string]bool
}

func newLogs() *logsWorld {
	return &logsWorld{streams: map[string][]logEvent{}, groups: map[string]bool{}}
}

// put appends a line to a stream (made on the first line); no group, no line.
func (w *logsWorld) put(group, stream string, at time.Time, msg string) {
	if group == "" || stream == "" {
		return
	}
	w.groups[group] = true
	k := group + "\x00" + stream
	w.streams[k] = append(w.streams[k], logEvent{at: at, message: msg})
}

type getLogEventsIn struct {
	LogGroupName       string `json:"logGroupName"`
	LogGroupIdentifier string `json:"logGroupIdentifier"`
	LogStreamName      string `json:"logStreamName"`
	NextToken          string `json:"nextToken"`
	Limit              int    `json:"limit"`
	StartFromHead      bool   `json:"startFromHead"`
}

// handle answers a CloudWatch Logs call; ecs is the world whose tasks write the lines.
func (w *logsWorld) handle(ecs *ecsWorld, op string, body []byte, call *Call) (any, *apiError) {
	if op != "GetLogEvents" {
		return nil, errf(400, "UnknownOperationException", "awsim does not implement CloudWatch Logs %s", op)
	}
	var in getLogEventsIn
	if err := json.Unmarshal(body, &in); err != nil {
		return nil, errf(400, "SerializationException", "%v", err)
	}
	now := time.Now()
	ecs.advanceRuns(now)
	group := in.LogGroupName
	if group == "" {
		group = in.LogGroupIdentifier
		if i := strings.Index(group, ":log-group:"); i >= 0 {
			group = strings.TrimSuffix(group[i+len(":log-group:"):], ":*")
		}
	}
	call.Params = map[string]string{"logGroupName": group, "logStreamName": in.LogStreamName, "nextToken": in.NextToken}
	events, ok := w.streams[group+"\x00"+in.LogStreamName]
	if !w.groups[group] || !ok {
		return nil, errf(400, "ResourceNotFoundException", "The specified log stream does not exist.")
	}
	limit := in.Limit
	if limit == 0 {
		limit = 10000
	}
	from := 0
	if in.NextToken != "" {
		var dir string
		if _, err := fmt.Sscanf(in.NextToken, "%1s/%d", &dir, &from); err != nil || from < 0 || from > len(events) || dir != "f" && dir != "b" {
			return nil, errf(400, "InvalidParameterException", "The specified nextToken is invalid.")
		}
	}
	type eventOut struct {
		Timestamp     int64  `json:"timestamp"`
		Message       string `json:"message"`
		IngestionTime int64  `json:"ingestionTime"`
	}
	out := struct {
		Events            []eventOut `json:"events"`
		NextForwardToken  string     `json:"nextForwardToken"`
		NextBackwardToken string     `json:"nextBackwardToken"`
	}{Events: []eventOut{}}
	if !in.StartFromHead && in.NextToken == "" { // the newest page, newest last as AWS lists them
		from = max(0, len(events)-limit)
	}
	to := min(len(events), from+limit)
	for _, e := range events[from:to] {
		ms := e.at.UnixMilli()
		out.Events = append(out.Events, eventOut{Timestamp: ms, Message: e.message, IngestionTime: ms + 200})
	}
	out.NextForwardToken = logToken("f", to)
	out.NextBackwardToken = logToken("b", from)
	if in.NextToken != "" && to == from { // the end: the same token back
		out.NextForwardToken = in.NextToken
	}
	return out, nil
}

// logToken is a page token in the shape AWS's have ("f/<56 digits>/s").
func logToken(dir string, at int) string { return fmt.Sprintf("%s/%056d/s", dir, at) }
