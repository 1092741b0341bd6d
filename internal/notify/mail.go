package notify

import (
	"context"
	"errors"
	"fmt"
	"mime"
	"os"
	"strings"
	"time"
	"unicode/utf8"
)

// Mail sends the notice through the local MTA with `sendmail -t`, as the
// original NotifyFailover did, so relaying, aliases and retries stay the
// MTA's job and the mail reaches root when no recipient is configured.
type Mail struct {
	Sendmail string        // default "/usr/sbin/sendmail"
	To       string        // FAILOVER_EMAIL_RECIPIENT; default "root"
	From     string        // default "ipfailover@<hostname>"
	Timeout  time.Duration // default 30s
}

var _ Notifier = Mail{}

// ErrHeader means a configured address would break the mail's header.
var ErrHeader = errors.New("unsafe mail header value")

// maxSubject keeps the Subject header far inside RFC 5322's 998-byte line.
const maxSubject = 200

func (m Mail) sendmail() string {
	if m.Sendmail == "" {
		return "/usr/sbin/sendmail"
	}
	return m.Sendmail
}

func (m Mail) to() string {
	if m.To == "" {
		return "root"
	}
	return m.To
}

func (m Mail) String() string { return "mail to " + m.to() + " via " + m.sendmail() }

// Notify mails e. The error carries sendmail's own output when it fails.
func (m Mail) Notify(ctx context.Context, e Notice) error {
	msg, err := m.message(e, time.Now())
	if err != nil {
		return err
	}
	// -t: recipients come from the header; -i: a line holding a lone "."
	// in the body does not end the message.
	if err := run(ctx, m.Timeout, m.sendmail(), []string{"-t", "-i"}, msg); err != nil {
		return fmt.Errorf("mail %s notice to %s: %w", e.Kind, m.to(), err)
	}
	return nil
}

// message is the complete RFC 5322 message for sendmail's standard input.
func (m Mail) message(e Notice, now time.Time) ([]byte, error) {
	from := m.From
	if from == "" {
		host, err := os.Hostname()
		if err != nil || host == "" {
			host = "localhost"
		}
		from = "ipfailover@" + host
	}
	for _, h := range [][2]string{{"To", m.to()}, {"From", from}} {
		if strings.ContainsFunc(h[1], breaksLine) {
			return nil, fmt.Errorf("mail %s %q: %w: remove control characters and line breaks from it", h[0], h[1], ErrHeader)
		}
	}
	date := e.At
	if date.IsZero() {
		date = now
	}

	var b strings.Builder
	header := func(name, value string) { b.WriteString(name + ": " + value + "\n") }
	header("From", from)
	header("To", m.to())
	header("Subject", subjectHeader(e.Subject()))
	header("Date", date.Format(time.RFC1123Z))
	header("MIME-Version", "1.0")
	header("Content-Type", "text/plain; charset=utf-8")
	header("Content-Transfer-Encoding", "8bit")
	// RFC 3834: keeps vacation responders from answering a machine.
	header("Auto-Submitted", "auto-generated")
	b.WriteString("\n")
	b.WriteString(e.Body())
	return []byte(b.String()), nil
}

// subjectHeader makes s a safe header value: one line, not too long, and
// MIME-encoded when it is not ASCII (a hook or host name may not be).
func subjectHeader(s string) string {
	s = oneLine(s)
	if utf8.RuneCountInString(s) > maxSubject {
		s = string([]rune(s)[:maxSubject-1]) + "…"
	}
	return mime.QEncoding.Encode("utf-8", s)
}
