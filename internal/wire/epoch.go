package wire

import (
	"fmt"
	"strconv"
	"strings"
)

// epochPrefix opens the message of a released or holding packet that
// names the primary's epoch it is meant for.
const epochPrefix = "epoch="

// EpochMessage is the message that names the primary's epoch: "epoch="
// and 16 lower-case hex digits.
func EpochMessage(epoch uint64) string { return fmt.Sprintf("%s%016x", epochPrefix, epoch) }

// MessageEpoch reads the epoch a released or holding packet names. An
// empty message names none (named false): a released from a failoverd
// older than the field. Any other message that is not EpochMessage's
// form is an error (ErrMessage).
func MessageEpoch(msg string) (epoch uint64, named bool, err error) {
	if msg == "" {
		return 0, false, nil
	}
	hex, ok := strings.CutPrefix(msg, epochPrefix)
	if !ok || len(hex) != 16 || strings.ToLower(hex) != hex {
		return 0, false, fmt.Errorf("%w: %q names no epoch", ErrMessage, msg)
	}
	e, err := strconv.ParseUint(hex, 16, 64)
	if err != nil {
		return 0, false, fmt.Errorf("%w: %q names no epoch", ErrMessage, msg)
	}
	return e, true, nil
}
