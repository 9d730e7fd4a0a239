package awsgw

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1" //nolint:gosec // SignatureVersion 1 is SHA1withRSA, as AWS signs it
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"math/big"
	"sync"
	"time"

	"github.com/junctionmq/junction/core/store"
)

// SNSSigningCertPath is where the gateway serves the PEM certificate of the
// key that signs SNS messages (the SigningCertURL of every notification and
// confirmation).
//
// How a subscriber verifies a message from Junction: the AWS SDKs'
// validators (sns-validator, aws-sdk-go's sns message verifiers) refuse a
// SigningCertURL that is not https on an amazonaws.com host, so do what
// they do by hand. Fetch SigningCertURL from the gateway you configured
// (and only from it: pin its host), parse the certificate, build the
// string to sign — for Notification the fields Message, MessageId,
// Subject (only when present), Timestamp, TopicArn and Type; for
// SubscriptionConfirmation and UnsubscribeConfirmation the fields
// Message, MessageId, SubscribeURL, Timestamp, Token, TopicArn and Type;
// each written as "Name\nvalue\n" in that order — and check the base64
// Signature over it with RSA PKCS#1 v1.5: SHA1 for SignatureVersion 1,
// SHA256 for SignatureVersion 2 (the topic attribute SignatureVersion).
// The key pair and its self-signed certificate (CN sns.junction.local)
// are generated at first use and kept in the store, so they survive
// restarts.
const SNSSigningCertPath = "/_junction/sns/SimpleNotificationService.pem"

// signer holds the SNS signing key, created on first use.
type signer struct {
	st  store.Store
	now func() time.Time

	mu      sync.Mutex // guards key and certPEM
	key     *rsa.PrivateKey
	certPEM []byte
}

func loadSigner(st store.Store, now func() time.Time) (*signer, error) {
	return &signer{st: st, now: now}, nil
}

// ensure loads the key pair from the store or generates it.
func (g *signer) ensure() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.key != nil {
		return nil
	}
	var stored []byte
	err := g.st.Defs(defKindSNS, func(key string, val []byte) error {
		if key == "signing" {
			stored = append([]byte(nil), val...)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if stored == nil {
		if stored, err = g.generate(); err != nil {
			return err
		}
		if err := g.st.PutDef(defKindSNS, "signing", stored); err != nil {
			return err
		}
	}
	keyBlock, rest := pem.Decode(stored)
	if keyBlock == nil {
		return errors.New("sns signing key: bad PEM")
	}
	key, err := x509.ParsePKCS1PrivateKey(keyBlock.Bytes)
	if err != nil {
		return err
	}
	g.key, g.certPEM = key, bytes.TrimSpace(rest)
	return nil
}

// generate makes a key pair and a self-signed certificate, as PEM.
func (g *signer) generate() ([]byte, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	now := g.now()
	tmpl := &x509.Certificate{SerialNumber: serial, Subject: pkix.Name{CommonName: "sns.junction.local",
		Organization: []string{"Junction"}}, NotBefore: now.Add(-time.Hour), NotAfter: now.AddDate(20, 0, 0),
		KeyUsage: x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	out := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
	return append(out, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})...), nil
}

// cert returns the certificate as PEM.
func (g *signer) cert() ([]byte, error) {
	if err := g.ensure(); err != nil {
		return nil, err
	}
	return g.certPEM, nil
}

// signString signs text with SHA1 (version "1") or SHA256 (version "2").
func (g *signer) signString(text, version string) (string, error) {
	if err := g.ensure(); err != nil {
		return "", err
	}
	var sum []byte
	h := crypto.SHA1
	if version == "2" {
		s := sha256.Sum256([]byte(text))
		sum, h = s[:], crypto.SHA256
	} else {
		s := sha1.Sum([]byte(text)) //nolint:gosec // SignatureVersion 1
		sum = s[:]
	}
	sig, err := rsa.SignPKCS1v15(nil, g.key, h, sum)
	if err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(sig), nil
}

// stringToSign builds AWS's canonical text of an SNS message.
func stringToSign(e *snsEnvelope) string {
	var b bytes.Buffer
	add := func(k, v string) { b.WriteString(k + "\n" + v + "\n") }
	add("Message", e.Message)
	add("MessageId", e.MessageId)
	if e.Type == "Notification" {
		if e.Subject != "" {
			add("Subject", e.Subject)
		}
		add("Timestamp", e.Timestamp)
		add("TopicArn", e.TopicArn)
		add("Type", e.Type)
		return b.String()
	}
	add("SubscribeURL", e.SubscribeURL)
	add("Timestamp", e.Timestamp)
	add("Token", e.Token)
	add("TopicArn", e.TopicArn)
	add("Type", e.Type)
	return b.String()
}
