package broker

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"
)

// redisLog is where go-redis's own lines go: at debug level, to the logger
// of the broker made last. go-redis writes a line per failed dial, which
// would be many per outage; the broker logs the outage once itself.
type redisLog struct{ to atomic.Pointer[zap.Logger] }

var (
	goRedisLog     redisLog
	goRedisLogOnce sync.Once
)

// Printf writes one go-redis line.
func (l *redisLog) Printf(_ context.Context, format string, v ...any) {
	if z := l.to.Load(); z != nil {
		z.Debug(fmt.Sprintf(format, v...))
	}
}

// routeRedisLog sends go-redis's lines to log.
func routeRedisLog(log *zap.Logger) {
	goRedisLog.to.Store(log.Named("go-redis"))
	goRedisLogOnce.Do(func() { redis.SetLogger(&goRedisLog) })
}
