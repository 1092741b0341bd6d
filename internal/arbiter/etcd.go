package arbiter

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"math"
	"net"
	"net/url"
	"os"
	"sync"
	"syscall"
	"time"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
)

// EtcdConfig says how to reach an etcd cluster.
type EtcdConfig struct {
	// Endpoints are the members' client URLs (http://host:2379, or
	// https:// with TLS).
	Endpoints []string
	// DialTimeout bounds what the etcd client does on its own (fetching
	// an auth token); each operation is bounded by its context.
	DialTimeout time.Duration
	// Reconnect is the longest wait between two attempts to connect to a
	// member that refused the connection or dropped it; DefaultReconnect
	// when zero. The daemons use the arbiter's round, TTL/6: a holder
	// that keeps its addresses while etcd is down (KeepPastDeadline) must
	// renew its lease within a TTL less the margin after etcd's return, and
	// gRPC's own backoff, which grows by 1.6 with each refused attempt up
	// to 2 minutes, had 5 to 8 s between attempts after 10 s down.
	//
	// Half of it is also how long a connection may leave what it sent
	// unacknowledged (TCP_USER_TIMEOUT, on Linux) before it is dropped
	// and made again. A connection that a silent cut left hanging
	// otherwise resumes only at TCP's next retransmission, whose gaps
	// double through the cut: 0.6 to 1.1 s after the heal of a 1.5 s cut
	// in the lab, and a holder whose deadline fell in between removed
	// its addresses for a cut it would have outlived. An attempt to
	// connect into the cut lasts until TCP's first SYN retransmission, a
	// second, which the user timeout does not shorten.
	Reconnect time.Duration
	// CAFile, CertFile and KeyFile are PEM files: the CA that signed the
	// members' certificates, and this host's client certificate and key.
	// Any of them set turns TLS on; CertFile and KeyFile go together.
	CAFile, CertFile, KeyFile string
}

// DefaultReconnect is EtcdConfig.Reconnect when zero: the round of the
// default TTL.
const DefaultReconnect = DefaultTTL / 6

// Etcd is the Backend over a real etcd cluster (the v3 API).
type Etcd struct {
	cli *clientv3.Client
	// one client per endpoint, kept open, to ask each member its status
	// without dialling a connection every round; hosts are their
	// host:port, to tell a refused connection from a silent one
	each      []*clientv3.Client
	hosts     []string
	endpoints []string
}

var _ Backend = (*Etcd)(nil)

// DialEtcd makes the clients; it does not wait for a connection (the
// first operation does, within its context).
func DialEtcd(cfg EtcdConfig) (*Etcd, error) {
	if len(cfg.Endpoints) == 0 {
		return nil, errors.New("arbiter: no etcd endpoints")
	}
	tc, err := tlsConfig(cfg)
	if err != nil {
		return nil, err
	}
	reconnect := cfg.Reconnect
	if reconnect <= 0 {
		reconnect = DefaultReconnect
	}
	// gRPC's backoff between attempts to connect, with its default
	// factor, jitter and connect timeout, but from at most 100 ms and up
	// to half of reconnect rather than from 1 s up to 2 minutes.
	retry := grpc.WithConnectParams(grpc.ConnectParams{
		Backoff: backoff.Config{BaseDelay: min(100*time.Millisecond, reconnect/2), Multiplier: 1.6,
			Jitter: 0.2, MaxDelay: reconnect / 2},
		MinConnectTimeout: 20 * time.Second,
	})
	tcp := grpc.WithContextDialer(tcpDialer(reconnect / 2))
	dial := func(endpoints []string) (*clientv3.Client, error) {
		return clientv3.New(clientv3.Config{
			Endpoints:   endpoints,
			DialTimeout: cfg.DialTimeout,
			DialOptions: []grpc.DialOption{retry, tcp},
			TLS:         tc,
			Logger:      zap.NewNop(), // we log through slog, in the Client
		})
	}
	e := &Etcd{}
	if e.cli, err = dial(cfg.Endpoints); err != nil {
		return nil, fmt.Errorf("arbiter: etcd client for %v: %w", cfg.Endpoints, err)
	}
	for _, ep := range cfg.Endpoints {
		c, err := dial([]string{ep})
		if err != nil {
			e.Close()
			return nil, fmt.Errorf("arbiter: etcd client for %s: %w", ep, err)
		}
		e.each = append(e.each, c)
		host := ep
		if u, err := url.Parse(ep); err == nil && u.Host != "" {
			host = u.Host
		}
		e.hosts, e.endpoints = append(e.hosts, host), append(e.endpoints, ep)
	}
	return e, nil
}

// tcpDialer connects to a member's host:port (FAILOVER_ARBITER takes
// http:// and https:// URLs only), its connection dropped once what it
// sent stays unacknowledged for unacked (userTimeout). It dials the
// member directly: with a dialer of its own, gRPC no longer goes through
// HTTPS_PROXY, which would put one more host between a holder and its
// lease.
func tcpDialer(unacked time.Duration) func(context.Context, string) (net.Conn, error) {
	d := net.Dialer{Control: func(_, _ string, c syscall.RawConn) error {
		var serr error
		if err := c.Control(func(fd uintptr) { serr = userTimeout(fd, unacked) }); err != nil {
			return err
		}
		return serr
	}}
	return func(ctx context.Context, addr string) (net.Conn, error) {
		return d.DialContext(ctx, "tcp", addr)
	}
}

// tlsConfig reads the CA, certificate and key; nil when none is set.
func tlsConfig(cfg EtcdConfig) (*tls.Config, error) {
	if cfg.CAFile == "" && cfg.CertFile == "" && cfg.KeyFile == "" {
		return nil, nil
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	if cfg.CAFile != "" {
		pem, err := os.ReadFile(cfg.CAFile)
		if err != nil {
			return nil, fmt.Errorf("arbiter: etcd CA: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("arbiter: etcd CA %s: no PEM certificate in it", cfg.CAFile)
		}
		tc.RootCAs = pool
	}
	if (cfg.CertFile == "") != (cfg.KeyFile == "") {
		return nil, errors.New("arbiter: etcd client certificate and key go together: set both or neither")
	}
	if cfg.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(cfg.CertFile, cfg.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("arbiter: etcd client certificate: %w", err)
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	return tc, nil
}

// Close closes every connection.
func (e *Etcd) Close() error {
	var errs []error
	if e.cli != nil {
		errs = append(errs, e.cli.Close())
	}
	for _, c := range e.each {
		errs = append(errs, c.Close())
	}
	return errors.Join(errs...)
}

// leader makes a member that has lost its leader refuse at once rather
// than hold the call until the context ends.
func leader(ctx context.Context) context.Context { return clientv3.WithRequireLeader(ctx) }

// notFound turns etcd's "lease not found" into ours.
func notFound(err error) error {
	if errors.Is(err, rpctypes.ErrLeaseNotFound) {
		return fmt.Errorf("%w (%w)", ErrLeaseNotFound, err)
	}
	return err
}

func (e *Etcd) Grant(ctx context.Context, ttl time.Duration) (LeaseID, time.Duration, error) {
	secs := max(int64(math.Ceil(ttl.Seconds())), 1)
	r, err := e.cli.Grant(leader(ctx), secs)
	if err != nil {
		return 0, 0, err
	}
	if r.Error != "" {
		return 0, 0, errors.New(r.Error)
	}
	return LeaseID(r.ID), time.Duration(r.TTL) * time.Second, nil
}

// KeepAlive sends a single renewal on a stream of its own (the client's
// background KeepAlive would hide when each renewal was sent).
func (e *Etcd) KeepAlive(ctx context.Context, id LeaseID) (time.Duration, error) {
	r, err := e.cli.KeepAliveOnce(leader(ctx), clientv3.LeaseID(id))
	if err != nil {
		return 0, notFound(err)
	}
	return time.Duration(r.TTL) * time.Second, nil
}

func (e *Etcd) Revoke(ctx context.Context, id LeaseID) error {
	_, err := e.cli.Revoke(leader(ctx), clientv3.LeaseID(id))
	return notFound(err)
}

// Claim: if the key was never created (CreateRevision 0) put; else if it
// holds value under lease, nothing to write; else if it holds value
// under from, put again (under lease); else read it. The nested
// transactions keep it one atomic step; the lease is compared
// (LeaseValue), not the value alone, which another host of the same name
// would match.
func (e *Etcd) Claim(ctx context.Context, key, value string, lease, from LeaseID) (KV, error) {
	put := clientv3.OpPut(key, value, clientv3.WithLease(clientv3.LeaseID(lease)))
	under := func(l LeaseID) []clientv3.Cmp {
		return []clientv3.Cmp{
			clientv3.Compare(clientv3.Value(key), "=", value),
			clientv3.Compare(clientv3.LeaseValue(key), "=", clientv3.LeaseID(l)),
		}
	}
	otherwise := clientv3.OpGet(key)
	if from != 0 {
		otherwise = clientv3.OpTxn(under(from), []clientv3.Op{put}, []clientv3.Op{clientv3.OpGet(key)})
	}
	r, err := e.cli.Txn(leader(ctx)).
		If(clientv3.Compare(clientv3.CreateRevision(key), "=", 0)).
		Then(put).
		Else(clientv3.OpTxn(under(lease), nil, []clientv3.Op{otherwise})).
		Commit()
	if err != nil {
		return KV{}, notFound(err)
	}
	claimed := KV{Key: key, Value: value, Lease: lease}
	if r.Succeeded {
		return claimed, nil
	}
	inner := r.Responses[0].GetResponseTxn()
	if inner.Succeeded {
		return claimed, nil
	}
	read := inner.Responses[0]
	if from != 0 {
		moved := read.GetResponseTxn()
		if moved.Succeeded {
			return claimed, nil
		}
		read = moved.Responses[0]
	}
	kvs := read.GetResponseRange().Kvs
	if len(kvs) == 0 { // cannot happen: the key existed within this transaction
		return KV{}, fmt.Errorf("arbiter: claim %s: the key vanished within the transaction", key)
	}
	return KV{Key: key, Value: string(kvs[0].Value), Lease: LeaseID(kvs[0].Lease)}, nil
}

// Release: delete if the key holds value under lease, else read it.
func (e *Etcd) Release(ctx context.Context, key, value string, lease LeaseID) (KV, bool, error) {
	var found KV
	if lease == 0 {
		r, err := e.cli.Get(leader(ctx), key)
		if err != nil {
			return KV{}, false, err
		}
		if len(r.Kvs) > 0 {
			found = KV{Key: key, Value: string(r.Kvs[0].Value), Lease: LeaseID(r.Kvs[0].Lease)}
		}
		return found, false, nil
	}
	r, err := e.cli.Txn(leader(ctx)).
		If(clientv3.Compare(clientv3.Value(key), "=", value),
			clientv3.Compare(clientv3.LeaseValue(key), "=", clientv3.LeaseID(lease))).
		Then(clientv3.OpDelete(key)).
		Else(clientv3.OpGet(key)).
		Commit()
	if err != nil {
		return KV{}, false, err
	}
	if r.Succeeded {
		return KV{Key: key, Value: value, Lease: lease}, true, nil
	}
	if kvs := r.Responses[0].GetResponseRange().Kvs; len(kvs) > 0 {
		found = KV{Key: key, Value: string(kvs[0].Value), Lease: LeaseID(kvs[0].Lease)}
	}
	return found, false, nil
}

func (e *Etcd) Put(ctx context.Context, key, value string, lease LeaseID) error {
	_, err := e.cli.Put(leader(ctx), key, value, clientv3.WithLease(clientv3.LeaseID(lease)))
	return notFound(err)
}

// List is a linearizable Get (the client's default): the member asks the
// leader, which confirms with the majority, before it answers.
func (e *Etcd) List(ctx context.Context, prefix string) ([]KV, error) {
	r, err := e.cli.Get(leader(ctx), prefix, clientv3.WithPrefix())
	if err != nil {
		return nil, err
	}
	kvs := make([]KV, 0, len(r.Kvs))
	for _, kv := range r.Kvs {
		kvs = append(kvs, KV{Key: string(kv.Key), Value: string(kv.Value), Lease: LeaseID(kv.Lease)})
	}
	return kvs, nil
}

// Members asks every endpoint's status at once (MemberStates) and
// counts them.
func (e *Etcd) Members(ctx context.Context) MemberCount {
	n := MemberCount{Total: len(e.each)}
	for _, m := range e.MemberStates(ctx) {
		switch m.State {
		case Answering:
			n.Answering++
		case Leaderless:
			n.Leaderless++
		case Refusing:
			n.Refusing++
		}
	}
	return n
}

// MemberState is how one member stood when asked.
type MemberState struct {
	Endpoint string
	State    Standing
	Err      error // why it did not answer; nil when it did
}

// Standing is a member's answer to a status request.
type Standing string

const (
	Answering  Standing = "answering"  // replied, with a leader in view
	Leaderless Standing = "leaderless" // replied, with no leader in view
	Refusing   Standing = "refusing"   // the connection refused: no etcd listens there
	Silent     Standing = "silent"     // no reply within the time (a cut, a hung host), or one without a leader
)

// MemberStates asks every endpoint's status at once; a member answers
// when it replies within the context and names a leader. One that does
// not is dialled over TCP: a refused connection says no etcd listens
// there (a host whose etcd is down), where silence may be a cut.
func (e *Etcd) MemberStates(ctx context.Context) []MemberState {
	out := make([]MemberState, len(e.each))
	var wg sync.WaitGroup
	for i, c := range e.each {
		wg.Go(func() {
			r, err := pb.NewMaintenanceClient(c.ActiveConnection()).Status(ctx, &pb.StatusRequest{})
			st := MemberState{Endpoint: e.endpoints[i], State: Answering}
			switch {
			case err == nil && r.Leader == 0:
				st.State, st.Err = Leaderless, errors.New("it has no leader in view")
			case err != nil && refused(ctx, e.hosts[i]):
				st.State, st.Err = Refusing, err
			case err != nil:
				st.State, st.Err = Silent, err
			}
			out[i] = st
		})
	}
	wg.Wait()
	return out
}

// refused says a TCP connection to host was refused: nothing listens.
func refused(ctx context.Context, host string) bool {
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", host)
	if err == nil {
		c.Close()
		return false
	}
	return errors.Is(err, syscall.ECONNREFUSED)
}
