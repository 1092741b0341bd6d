package linksock

import "time"

// FollowEvery is how often FollowUntil looks for a link's interface made
// again.
const FollowEvery = time.Second

// FollowUntil calls Follow every FollowEvery until read delivers the
// readers' error, which it returns. moved is told of the links bound
// again each time; failed of an error once, until it changes.
func FollowUntil(read <-chan error, cfg Config, socks []*Socket, moved func(links []string), failed func(error)) error {
	t := time.NewTicker(FollowEvery)
	defer t.Stop()
	var said string
	for {
		select {
		case err := <-read:
			return err
		case <-t.C:
		}
		links, err := Follow(cfg, socks)
		if len(links) > 0 {
			moved(links)
		}
		if err != nil && err.Error() != said {
			failed(err)
		}
		said = ""
		if err != nil {
			said = err.Error()
		}
	}
}
