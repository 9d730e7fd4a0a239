// Package auth is Junction's one user store: users and their password
// hashes, virtual hosts, permissions, topic permissions, policies, AWS access
// keys and the AWS account ↔ vhost mapping. Every face (AMQP, MQTT, AWS,
// management) authenticates and authorises through a *Store.
//
// # Reads and writes
//
// The whole state is an immutable snapshot behind an atomic pointer: reads
// (CheckPassword, CheckWrite, LookupAccessKey, EffectivePolicy, …) take no
// lock. Mutations are serialised by one writer mutex, build a new snapshot,
// persist the changed records synchronously through DefStore.PutDef and
// DeleteDef and only then publish the snapshot. The writer mutex is held
// across that store write on purpose (so two administrators' writes reach
// the disk in the order they are applied); readers never wait for it.
//
// # RabbitMQ compatibility
//
//   - Password hashes use RabbitMQ's format: base64(salt ‖ H(salt ‖ utf8
//     password)) with a 4-byte random salt and H = SHA-256 for new hashes
//     (rabbit_password_hashing_sha256); SHA-512 and MD5 hashes from
//     definitions files are verified too.
//   - Permissions are unanchored regular expressions matched against the
//     resource name; the empty string means "^$" (rabbit_auth_backend_internal).
//     The default exchange "" is checked as "amq.default"
//     (rabbit_access_control:check_resource_access). Server-named queues
//     ("amq.gen-…") get no exemption: since RabbitMQ 2.0 they are checked
//     like any other name, so a user who declares them needs configure
//     permission matching "^amq\.gen.*".
//   - Topic permissions (per user, vhost and exchange) are regular expressions
//     on the routing key with {username}, {vhost} and {client_id} expanded
//     before matching; no topic permission for an exchange means allowed.
//   - Policies: the matching policy with the highest priority wins; queue
//     arguments override policy keys except expires, message-ttl, max-length,
//     max-length-bytes and delivery-limit, where the lower value wins
//     (EffectiveArguments). Operator policies merge the same way.
//   - Patterns are compiled with Go's regexp (RE2), not PCRE: look-arounds and
//     back-references are rejected when a permission or policy is set.
//
// # AWS secrets at rest
//
// SigV4 needs the secret access key itself, so secrets cannot be hashed.
// They are encrypted with AES-256-GCM under a 32-byte key kept in
// Options.KeyFile (hex, created with mode 0600 on first use, normally
// <data-dir>/auth.key). Each record's nonce is random and its additional data
// binds the ciphertext to the access key id and user, so records cannot be
// swapped. Back the key file up with the data directory: without it the
// stored secrets cannot be read and Open fails with ErrKeyFile. Deleting the
// key file and the "awskey" records resets the keys. Secrets never appear in
// String or MarshalJSON output, errors or logs.
package auth
