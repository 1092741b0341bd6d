package notify

import (
	"context"
	"encoding/json"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestCommandJSON(t *testing.T) {
	path, dir := standIn(t, "")
	e := sampleNotice()
	if err := (Command{Path: path, Args: []string{"--channel", "#ops"}}).Notify(context.Background(), e); err != nil {
		t.Fatal(err)
	}
	if args := readFile(t, filepath.Join(dir, "args")); args != "--channel\n#ops\n" {
		t.Errorf("arguments %q", args)
	}
	in := readFile(t, filepath.Join(dir, "stdin"))
	if !json.Valid([]byte(in)) || strings.Count(strings.TrimSpace(in), "\n") != 0 {
		t.Fatalf("stdin is not one JSON object on one line: %q", in)
	}
	var got Notice
	if err := json.Unmarshal([]byte(in), &got); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, e) {
		t.Errorf("decoded\n%+v\nwant\n%+v", got, e)
	}
	mustContain(t, "JSON", in, `"kind":"takeover"`, `"time":"2025-03-04T05:06:07Z"`, `"duration_ns":2000000000`, `"timed_out":true`, `"last_heard":"2025-03-04T05:06:04Z"`)
}

func TestCommandFailure(t *testing.T) {
	path, _ := standIn(t, "echo 'webhook: HTTP 503' >&2; exit 2")
	err := Command{Path: path}.Notify(context.Background(), sampleNotice())
	if err == nil || !strings.Contains(err.Error(), "webhook: HTTP 503") || !strings.Contains(err.Error(), "exit status 2") {
		t.Errorf("error %v, want the exit status and the command's message", err)
	}
}
