package persist

import (
	"fmt"
	"log/slog"
	"strings"
)

// slogLogger routes Badger's log to slog: errors and warnings only, info
// and debug are dropped.
type slogLogger struct{ l *slog.Logger }

func (s slogLogger) Errorf(f string, v ...any) {
	s.l.Error(strings.TrimSpace(fmt.Sprintf(f, v...)))
}

func (s slogLogger) Warningf(f string, v ...any) {
	s.l.Warn(strings.TrimSpace(fmt.Sprintf(f, v...)))
}

func (slogLogger) Infof(string, ...any)  {}
func (slogLogger) Debugf(string, ...any) {}
