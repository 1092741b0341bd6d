package wire

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
)

// MinKeyLen is the shortest secret a key file may hold.
const MinKeyLen = 16

// Key is one shared secret and the id that names it on the wire.
type Key struct {
	ID     uint32
	Secret []byte
	Source string // where it came from, for messages
}

// NewKey derives the key id from the secret, so both ends agree on it
// without configuring ids: the first four bytes of
// SHA-256("ipfailover key id\x00" || secret).
func NewKey(secret []byte, source string) (Key, error) {
	if len(secret) < MinKeyLen {
		return Key{}, &ShortKeyError{Source: source, Len: len(secret)}
	}
	h := sha256.New()
	h.Write([]byte("ipfailover key id\x00"))
	h.Write(secret)
	sum := h.Sum(nil)
	return Key{ID: binary.BigEndian.Uint32(sum[:4]), Secret: bytes.Clone(secret), Source: source}, nil
}

// ShortKeyError is a secret shorter than MinKeyLen; its text says the fix.
type ShortKeyError struct {
	Source string // where the secret came from
	Len    int    // its length in bytes
}

func (e *ShortKeyError) Error() string {
	// failoverctl keygen, not a shell recipe: a file made with a
	// redirection gets the umask's mode (0644), which is then refused.
	return fmt.Sprintf("%s: key is %d bytes; it must hold at least %d bytes of secret: make a new key with failoverctl keygen NEWFILE (32 random bytes, mode 0600), copy it to the other server with the same mode, and set FAILOVER_AUTH_KEY_FILE to it on both",
		e.Source, e.Len, MinKeyLen)
}

// ErrKeyPermissions says a key file can be read by group or others.
var ErrKeyPermissions = errors.New("key file is readable by group or others")

// LoadKeyFile reads a key file. The whole file is the secret, less one
// trailing newline (so `openssl rand -hex 32 > key` works as well as raw
// bytes). It refuses a file that group or others may read.
func LoadKeyFile(path string) (Key, error) {
	f, err := os.Open(path)
	if err != nil {
		return Key{}, fmt.Errorf("auth key file: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return Key{}, fmt.Errorf("auth key file: %w", err)
	}
	if !st.Mode().IsRegular() {
		return Key{}, fmt.Errorf("auth key file %s: not a regular file", path)
	}
	if perm := st.Mode().Perm(); perm&0o077 != 0 {
		return Key{}, fmt.Errorf("%s: %w (mode %04o); run: chmod 600 %s", path, ErrKeyPermissions, perm, path)
	}
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(f); err != nil {
		return Key{}, fmt.Errorf("auth key file %s: %w", path, err)
	}
	secret := buf.Bytes()
	secret = bytes.TrimSuffix(secret, []byte("\n"))
	secret = bytes.TrimSuffix(secret, []byte("\r"))
	return NewKey(secret, path)
}

// Keyring signs with its first key and accepts any of its keys, so a key
// can be rotated: add the new key second on the receiver, switch the
// sender, then drop the old key. An empty Keyring neither signs nor
// requires authentication.
type Keyring struct {
	keys []Key
}

// NewKeyring returns a keyring over keys; the first one signs.
func NewKeyring(keys ...Key) *Keyring {
	return &Keyring{keys: keys}
}

// Enabled reports whether the keyring holds a key.
func (k *Keyring) Enabled() bool { return k != nil && len(k.keys) > 0 }

// Seal encodes p and, when the keyring holds a key, appends the key id and
// the HMAC-SHA256 tag of the first key.
func (k *Keyring) Seal(p *Packet) ([]byte, error) {
	if !k.Enabled() {
		return Encode(p)
	}
	key := k.keys[0]
	b, err := appendBody(make([]byte, 0, bodyLen(p)+TrailerLen), p, true)
	if err != nil {
		return nil, err
	}
	b = binary.BigEndian.AppendUint32(b, key.ID)
	return appendTag(b, key.Secret), nil
}

func appendTag(b, secret []byte) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write(b)
	return m.Sum(b)
}

// Open decodes b and checks its authentication. With keys configured, a
// packet without a trailer, with an unknown key id, or with a wrong tag is
// rejected. Without keys, a trailer is ignored (its tag cannot be checked).
func (k *Keyring) Open(b []byte) (Packet, error) {
	p, err := Decode(b)
	if err != nil {
		return p, err
	}
	if !k.Enabled() {
		return p, nil
	}
	if !p.Authenticated {
		return p, k.errAuth(ErrNoAuth, p)
	}
	for _, key := range k.keys {
		if key.ID != p.KeyID {
			continue
		}
		body := b[:len(b)-TagLen]
		m := hmac.New(sha256.New, key.Secret)
		m.Write(body)
		if !hmac.Equal(m.Sum(nil), b[len(b)-TagLen:]) {
			return p, k.errAuth(ErrBadTag, p)
		}
		return p, nil
	}
	return p, k.errAuth(ErrUnknownKey, p)
}
