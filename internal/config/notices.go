package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
)

// checkNotices checks that failoverd's notices have somewhere to go: the
// sendmail program and the notify command exist and can be run. Mail is
// the only way a notice reaches the administrator by default, so a
// missing sendmail is an error unless a notify command carries them.
func checkNotices(c *Config) []Finding {
	var out []Finding
	add := func(l Level, key, value, problem, hint string) {
		out = append(out, Finding{l, &Error{Origin: c.origins[key], Key: key, Value: value, Problem: problem, Hint: hint}})
	}
	if c.Sendmail != "" {
		if problem := notRunnable(c.Sendmail); problem != "" {
			level, hint := Fatal, "install a mail transfer agent that provides it (such as postfix, exim or msmtp-mta), set "+KeySendmail+"= to send no mail, or set "+KeyNotifyCommand+" to a program that passes notices on"
			if c.NotifyCommand != "" {
				level, hint = Warning, "install a mail transfer agent that provides it, or set "+KeySendmail+"= so that notices go to "+KeyNotifyCommand+" only"
			}
			add(level, KeySendmail, c.Sendmail, problem+", so no notice would be mailed", hint)
		} else {
			add(OK, KeySendmail, c.Sendmail, "notices are mailed to "+c.EmailRecipient, "")
		}
	}
	if c.NotifyCommand != "" {
		if problem := notRunnable(c.NotifyCommand); problem != "" {
			add(Fatal, KeyNotifyCommand, c.NotifyCommand, problem+", so no notice would reach it", "install the program there, make it executable (chmod 755), or correct the path")
		} else {
			add(OK, KeyNotifyCommand, c.NotifyCommand, "notices are passed to this program", "")
		}
	}
	if c.Sendmail == "" && c.NotifyCommand == "" {
		add(Warning, KeySendmail, "", "mail is off and "+KeyNotifyCommand+" is not set, so takeovers and anomalies are only logged",
			"set "+KeySendmail+" to a sendmail program or "+KeyNotifyCommand+" to a program that passes notices on")
	}
	return out
}

// notRunnable says why path is not a program that can be run; empty when
// it is one.
func notRunnable(path string) string {
	st, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return "no such file"
	case err != nil:
		return err.Error()
	case st.IsDir():
		return "a folder, not a program"
	case !st.Mode().IsRegular():
		return "not a regular file"
	case st.Mode().Perm()&0o111 == 0:
		return fmt.Sprintf("not executable (mode %04o)", st.Mode().Perm())
	}
	return ""
}
