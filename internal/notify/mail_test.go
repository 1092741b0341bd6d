package notify

import (
	"github.com/ipfailover/ipfailover/internal/notice"

	"context"
	"errors"
	"mime"
	"net/mail"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// sendMail runs m with a sendmail stand-in and returns what it received.
func sendMail(t *testing.T, m Mail, e Notice) (args []string, msg string) {
	t.Helper()
	path, dir := standIn(t, "")
	m.Sendmail = path
	if err := m.Notify(context.Background(), e); err != nil {
		t.Fatalf("Notify: %v", err)
	}
	args = strings.Fields(readFile(t, filepath.Join(dir, "args")))
	return args, readFile(t, filepath.Join(dir, "stdin"))
}

func TestMailMessage(t *testing.T) {
	e := sampleNotice()
	args, raw := sendMail(t, Mail{}, e)
	if len(args) == 0 || args[0] != "-t" {
		t.Errorf("sendmail arguments %q, want -t first (recipients from the header)", args)
	}
	msg, err := mail.ReadMessage(strings.NewReader(raw))
	if err != nil {
		t.Fatalf("not a mail message: %v\n%s", err, raw)
	}
	host, _ := os.Hostname()
	for name, want := range map[string]string{
		"To":           "root",
		"From":         "ipfailover@" + host,
		"Subject":      "ipfailover: server2 took over 198.51.100.1 from 192.0.2.1",
		"Content-Type": "text/plain; charset=utf-8",
	} {
		if got := msg.Header.Get(name); got != want {
			t.Errorf("%s: %q, want %q", name, got, want)
		}
	}
	if date, err := msg.Header.Date(); err != nil || !date.Equal(e.At) {
		t.Errorf("Date: %v (%v), want %v", date, err, e.At)
	}
	body := raw[strings.Index(raw, "\n\n")+2:]
	mustContain(t, "mail body", body, "eth0", "eth1", "silent since", "eth0:198.51.100.1/32",
		"PreAcq10.StopDIP", "PostAcq20.StartApache", "exit 3", "timed out", e.Detail)
}

func TestMailConfiguredAddresses(t *testing.T) {
	_, raw := sendMail(t, Mail{To: "ops@example.com, admin@example.com", From: "failover@example.com"}, sampleNotice())
	msg, err := mail.ReadMessage(strings.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	if to, from := msg.Header.Get("To"), msg.Header.Get("From"); to != "ops@example.com, admin@example.com" || from != "failover@example.com" {
		t.Errorf("To %q From %q", to, from)
	}
}

func TestMailHeaderInjection(t *testing.T) {
	e := sampleNotice()
	e.Kind = notice.HookFailure // puts the failed hook's name in the subject
	e.Node = "server2\nBcc: node@example.com"
	e.Hooks[2].Name = "PostAcq20\r\nBcc: x@example.com"
	e.Detail = "bad\r\nBcc: x@example.com\r\n\r\nforged body"
	_, raw := sendMail(t, Mail{}, e)

	msg, err := mail.ReadMessage(strings.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	if len(msg.Header["Bcc"]) != 0 {
		t.Errorf("injected Bcc header %q", msg.Header["Bcc"])
	}
	for _, l := range strings.Split(raw, "\n") {
		if strings.HasPrefix(strings.TrimLeft(l, " "), "Bcc:") || strings.HasSuffix(l, "\r") {
			t.Errorf("injected line %q in\n%s", l, raw)
		}
	}
	if s := msg.Header.Get("Subject"); !strings.Contains(s, "hook PostAcq20  Bcc: x@example.com failed") {
		t.Errorf("Subject %q does not keep the flattened hook name", s)
	}

	for _, m := range []Mail{{To: "root\r\nBcc: x@example.com"}, {From: "a@example.com\nBcc: x@example.com"}} {
		path, dir := standIn(t, "")
		m.Sendmail = path
		if err := m.Notify(context.Background(), e); !errors.Is(err, ErrHeader) {
			t.Errorf("%+v: error %v, want ErrHeader", m, err)
		}
		if _, err := os.Stat(filepath.Join(dir, "stdin")); err == nil {
			t.Errorf("%+v: sendmail ran with an unsafe header", m)
		}
	}
}

func TestMailNonASCIISubject(t *testing.T) {
	e := sampleNotice()
	e.Node = "sérveur-2"
	_, raw := sendMail(t, Mail{}, e)
	msg, err := mail.ReadMessage(strings.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	raws := msg.Header.Get("Subject")
	for _, r := range raws {
		if r > 127 {
			t.Fatalf("raw Subject %q is not ASCII", raws)
		}
	}
	if got, err := new(mime.WordDecoder).DecodeHeader(raws); err != nil || got != e.Subject() {
		t.Errorf("Subject decodes to %q (%v), want %q", got, err, e.Subject())
	}
}

func TestMailFailure(t *testing.T) {
	path, _ := standIn(t, "echo 'sendmail: fatal: queue file write error' >&2; exit 1")
	err := Mail{Sendmail: path}.Notify(context.Background(), sampleNotice())
	if err == nil || !strings.Contains(err.Error(), "queue file write error") {
		t.Errorf("error %v, want one with sendmail's message", err)
	}

	err = Mail{Sendmail: filepath.Join(t.TempDir(), "no-sendmail")}.Notify(context.Background(), sampleNotice())
	if err == nil || !strings.Contains(err.Error(), "no-sendmail") {
		t.Errorf("missing sendmail: error %v", err)
	}
}

func TestMailTimeout(t *testing.T) {
	// The shell forks sleep, which holds the output pipe: only killing the
	// process group lets Notify return promptly.
	path, _ := standIn(t, "sleep 20; echo done")
	start := time.Now()
	err := Mail{Sendmail: path, Timeout: 200 * time.Millisecond}.Notify(context.Background(), sampleNotice())
	if err == nil || !strings.Contains(err.Error(), "timed out") {
		t.Errorf("error %v, want a timeout", err)
	}
	if d := time.Since(start); d > 1500*time.Millisecond {
		t.Errorf("Notify took %v after a 200ms timeout", d)
	}
}
