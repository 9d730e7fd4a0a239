package awsgw

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/junctionmq/junction/core"
	"github.com/junctionmq/junction/core/auth"
	"github.com/junctionmq/junction/core/queue"
)

// Store kinds of the SQS face's definition records.
const (
	defKindQueue = "sqs-queue" // key vhost "\x00" name → queueMeta JSON
	defKindKey   = "sqs-key"   // "receipt" → the receipt-handle HMAC key
)

// queueMeta is what SQS knows of a queue beyond the core: its attributes,
// tags, permissions and timestamps. It is persisted as a definition record.
type queueMeta struct {
	Vhost       string                `json:"vhost"`
	Name        string                `json:"name"`
	Attrs       map[string]string     `json:"attrs"`
	Tags        map[string]string     `json:"tags,omitempty"`
	Permissions map[string]permission `json:"permissions,omitempty"`
	Created     int64                 `json:"created"`  // unix seconds
	Modified    int64                 `json:"modified"` // unix seconds
	synthetic   bool                  // made up for a queue declared by another face
}

// permission is one AddPermission statement (stored, not enforced).
type permission struct {
	Accounts []string `json:"accounts"`
	Actions  []string `json:"actions"`
}

func (m *queueMeta) fifo() bool { return m.Attrs["FifoQueue"] == "true" }

func (m *queueMeta) intAttr(name string) int64 {
	var n int64
	for _, c := range m.Attrs[name] {
		n = n*10 + int64(c-'0')
	}
	return n
}

func (m *queueMeta) clone() *queueMeta {
	c := *m
	c.Attrs = cloneMap(m.Attrs)
	c.Tags = cloneMap(m.Tags)
	c.Permissions = make(map[string]permission, len(m.Permissions))
	for k, v := range m.Permissions {
		c.Permissions[k] = v
	}
	return &c
}

func cloneMap(m map[string]string) map[string]string {
	c := make(map[string]string, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}

type qkey struct{ vhost, name string }

// sqsService serves the SQS API over core queues.
type sqsService struct {
	b   *core.Broker
	now func() time.Time
	key []byte // receipt-handle HMAC key

	mu        sync.Mutex // guards the maps below
	metas     map[qkey]*queueMeta
	deleted   map[qkey]time.Time // QueueDeletedRecently
	purged    map[qkey]time.Time // PurgeQueueInProgress
	moveTasks map[string]*moveTask
}

func newSQSService(b *core.Broker, now func() time.Time) (*sqsService, error) {
	s := &sqsService{b: b, now: now, metas: map[qkey]*queueMeta{}, deleted: map[qkey]time.Time{},
		purged: map[qkey]time.Time{}, moveTasks: map[string]*moveTask{}}
	st := b.Store()
	err := st.Defs(defKindKey, func(key string, val []byte) error {
		if key == "receipt" {
			s.key = append([]byte(nil), val...)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(s.key) == 0 {
		s.key = make([]byte, 32)
		_, _ = rand.Read(s.key)
		if err := st.PutDef(defKindKey, "receipt", s.key); err != nil {
			return nil, err
		}
	}
	err = st.Defs(defKindQueue, func(key string, val []byte) error {
		var m queueMeta
		if json.Unmarshal(val, &m) == nil && m.Attrs != nil {
			s.metas[qkey{m.Vhost, m.Name}] = &m
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	s.syncOptions()
	return s, nil
}

// syncOptions gives every queue the core options its stored attributes
// imply: queues created by releases that kept DelaySeconds in the gateway
// get it as the queue's default delay.
func (s *sqsService) syncOptions() {
	for k, m := range s.metas {
		v, err := s.b.Vhost(k.vhost)
		if err != nil {
			continue
		}
		q, err := v.Queue(k.name)
		if err != nil {
			continue
		}
		cfg := q.Config()
		if o := queueOptions(m.Attrs, cfg.Options.FIFO); o != cfg.Options {
			_ = v.SetQueueOptions(k.name, o)
		}
	}
}

func (s *sqsService) saveMeta(m *queueMeta) error {
	data, err := json.Marshal(m)
	if err != nil {
		return err
	}
	if err := s.b.Store().PutDef(defKindQueue, m.Vhost+"\x00"+m.Name, data); err != nil {
		return &core.Error{Kind: core.ErrStore, Text: "store failure", Err: err}
	}
	return nil
}

func (s *sqsService) dropMeta(k qkey) {
	delete(s.metas, k)
	_ = s.b.Store().DeleteDef(defKindQueue, k.vhost+"\x00"+k.name)
}

// metaFor returns the metadata of an existing core queue (s.mu held): the
// stored record, or defaults for a queue another face declared.
func (s *sqsService) metaFor(vhost string, q *queue.Queue) *queueMeta {
	k := qkey{vhost, q.Name()}
	if m := s.metas[k]; m != nil {
		return m
	}
	attrs := cloneMap(standardDefaults)
	if q.Config().Options.FIFO {
		for k, v := range fifoDefaults {
			attrs[k] = v
		}
	}
	now := s.now().Unix()
	return &queueMeta{Vhost: vhost, Name: q.Name(), Attrs: attrs, Created: now, Modified: now, synthetic: true}
}

// target is a resolved queue of a request.
type target struct {
	vhost   *core.Vhost
	q       *queue.Queue
	meta    *queueMeta // a snapshot; change through updateMeta
	account string
	url     string
}

// accountFor picks the account of requests that name no queue: the
// default account if the user may use "/", else the first mapped vhost
// the user has permissions on.
func (s *sqsService) accountFor(req *request) string { return requestAccount(s.b.Users(), req) }

// vhostFor maps an account to its vhost in the request's region.
func (s *sqsService) vhostFor(req *request, account string) (*core.Vhost, *apiError) {
	name, ok := s.b.Users().VhostForAccount(account, req.id4.region)
	if !ok {
		return nil, errNonExistentQueue()
	}
	v, err := s.b.Vhost(name)
	if err != nil {
		return nil, errNonExistentQueue()
	}
	if !req.id4.anyKey && s.b.Users().CheckVhostAccess(req.id4.user, name) != nil {
		return nil, errAccessDenied(queueURL(req, account, ""))
	}
	return v, nil
}

// queueURL is the URL of a queue as this endpoint serves it.
func queueURL(req *request, account, name string) string {
	return baseURL(req) + "/" + account + "/" + name
}

// queueArn is a queue's ARN.
func queueArn(req *request, account, name string) string {
	return "arn:aws:sqs:" + req.id4.region + ":" + account + ":" + name
}

// parseQueueURL takes the account and name from a queue URL (or the
// request path when the URL is empty).
func parseQueueURL(raw, path string) (account, name string, ok bool) {
	p := path
	if raw != "" {
		if p, ok = plainURLPath(raw); !ok {
			u, err := url.Parse(raw)
			if err != nil {
				return "", "", false
			}
			p = u.Path
		}
	}
	account, name, ok = strings.Cut(strings.Trim(p, "/"), "/")
	if !ok || account == "" || name == "" || strings.Contains(name, "/") {
		return "", "", false
	}
	return account, name, true
}

// plainURLPath returns the path of an http(s) URL made only of a host
// name, an optional port and a path of unreserved characters and slashes
// (every queue URL the gateway hands out), which url.Parse would return
// unchanged; ok=false for anything else, which url.Parse then parses.
func plainURLPath(raw string) (string, bool) {
	rest, ok := strings.CutPrefix(raw, "http://")
	if !ok {
		if rest, ok = strings.CutPrefix(raw, "https://"); !ok {
			return "", false
		}
	}
	host, path, slash := strings.Cut(rest, "/")
	name, port, hasPort := strings.Cut(host, ":")
	if name == "" || hasPort && port == "" {
		return "", false
	}
	for i := 0; i < len(name); i++ {
		if c := name[i]; !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '.') {
			return "", false
		}
	}
	for i := 0; i < len(port); i++ {
		if c := port[i]; c < '0' || c > '9' {
			return "", false
		}
	}
	for i := 0; i < len(path); i++ {
		if c := path[i]; !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
			c == '-' || c == '.' || c == '_' || c == '~' || c == '/') {
			return "", false
		}
	}
	if !slash {
		return "", true
	}
	return rest[len(host):], true
}

// resolve finds the queue a request names and checks the user's
// permission on it (perm: 'c' configure, 'w' write, 'r' read, 0 vhost
// access only). t.meta is a copy the handler may change.
func (s *sqsService) resolve(req *request, queueURLParam string, perm byte) (*target, *apiError) {
	return s.resolveMeta(req, queueURLParam, perm, true)
}

// resolveShared is resolve for handlers that only read t.meta (the
// message actions): t.meta is then the stored record itself, which
// updateMeta replaces rather than changes, so no copy of its maps is
// made per request.
func (s *sqsService) resolveShared(req *request, queueURLParam string, perm byte) (*target, *apiError) {
	return s.resolveMeta(req, queueURLParam, perm, false)
}

func (s *sqsService) resolveMeta(req *request, queueURLParam string, perm byte, clone bool) (*target, *apiError) {
	account, name, ok := parseQueueURL(queueURLParam, req.path)
	if !ok {
		if queueURLParam == "" && (req.path == "/" || req.path == "") {
			return nil, errMissingParameter("QueueUrl")
		}
		return nil, errNonExistentQueue()
	}
	v, aerr := s.vhostFor(req, account)
	if aerr != nil {
		return nil, aerr
	}
	q, err := v.Queue(name)
	if err != nil {
		return nil, errNonExistentQueue()
	}
	t := &target{vhost: v, q: q, account: account, url: queueURL(req, account, name)}
	if aerr := s.checkPerm(req, t, perm); aerr != nil {
		return nil, aerr
	}
	s.mu.Lock()
	t.meta = s.metaFor(v.Name(), q)
	if clone {
		t.meta = t.meta.clone()
	}
	s.mu.Unlock()
	return t, nil
}

func (s *sqsService) checkPerm(req *request, t *target, perm byte) *apiError {
	if req.id4.anyKey || perm == 0 {
		return nil
	}
	users, vh, name := s.b.Users(), t.vhost.Name(), t.q.Name()
	var err error
	switch perm {
	case 'c':
		err = users.CheckConfigure(req.id4.user, vh, auth.ResourceQueue, name)
	case 'w':
		err = users.CheckWrite(req.id4.user, vh, auth.ResourceQueue, name)
	case 'r':
		err = users.CheckRead(req.id4.user, vh, auth.ResourceQueue, name)
	}
	if err != nil {
		return errAccessDenied(t.url)
	}
	return nil
}

// updateMeta applies fn to a queue's metadata under the lock and persists
// the result.
func (s *sqsService) updateMeta(t *target, fn func(m *queueMeta) *apiError) *apiError {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.metaFor(t.vhost.Name(), t.q).clone()
	if aerr := fn(m); aerr != nil {
		return aerr
	}
	m.synthetic = false
	if err := s.saveMeta(m); err != nil {
		return toAPIError(err)
	}
	s.metas[qkey{m.Vhost, m.Name}] = m
	t.meta = m.clone()
	return nil
}

// handle dispatches an SQS action.
func (s *sqsService) handle(req *request) (any, *apiError) {
	h, ok := sqsActions[req.action]
	if !ok {
		if req.proto == protoJSON {
			return nil, errUnknownOperation()
		}
		return nil, errInvalidAction(req.action)
	}
	return h(s, req)
}

// sqsActions maps action names to handlers.
var sqsActions map[string]func(*sqsService, *request) (any, *apiError)

func init() {
	sqsActions = map[string]func(*sqsService, *request) (any, *apiError){
		"CreateQueue":                  (*sqsService).createQueue,
		"GetQueueUrl":                  (*sqsService).getQueueURL,
		"ListQueues":                   (*sqsService).listQueues,
		"DeleteQueue":                  (*sqsService).deleteQueue,
		"GetQueueAttributes":           (*sqsService).getQueueAttributes,
		"SetQueueAttributes":           (*sqsService).setQueueAttributes,
		"PurgeQueue":                   (*sqsService).purgeQueue,
		"TagQueue":                     (*sqsService).tagQueue,
		"UntagQueue":                   (*sqsService).untagQueue,
		"ListQueueTags":                (*sqsService).listQueueTags,
		"ListDeadLetterSourceQueues":   (*sqsService).listDeadLetterSourceQueues,
		"AddPermission":                (*sqsService).addPermission,
		"RemovePermission":             (*sqsService).removePermission,
		"SendMessage":                  (*sqsService).sendMessage,
		"SendMessageBatch":             (*sqsService).sendMessageBatch,
		"ReceiveMessage":               (*sqsService).receiveMessage,
		"DeleteMessage":                (*sqsService).deleteMessage,
		"DeleteMessageBatch":           (*sqsService).deleteMessageBatch,
		"ChangeMessageVisibility":      (*sqsService).changeMessageVisibility,
		"ChangeMessageVisibilityBatch": (*sqsService).changeMessageVisibilityBatch,
		"StartMessageMoveTask":         (*sqsService).startMessageMoveTask,
		"CancelMessageMoveTask":        (*sqsService).cancelMessageMoveTask,
		"ListMessageMoveTasks":         (*sqsService).listMessageMoveTasks,
	}
}

// errIsNotFound reports a core "no such queue".
func errIsNotFound(err error) bool {
	return errors.Is(err, core.ErrNotFound) || errors.Is(err, queue.ErrDeleted)
}
