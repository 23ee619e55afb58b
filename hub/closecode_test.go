package hub

import (
	"errors"
	"fmt"
	"testing"
)

// A route room that refuses for good closes with a "do not reconnect"
// code; one that may let the client in later closes with 1008.
func TestRefusedRoomCloseCode(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want int
	}{
		{newError(CodeForbidden, "no"), CloseForbidden},
		{fmt.Errorf("wrapped: %w", newError(CodeForbidden, "no")), CloseForbidden},
		{errInvalidRoom, CloseForbidden},
		{errRoomFull, ClosePolicy},
		{newError(CodeAuthFailed, "backend down"), ClosePolicy},
		{errClosing, ClosePolicy},
		{errors.New("something else"), ClosePolicy},
	} {
		if got := refusedRoomCloseCode(tc.err); got != tc.want {
			t.Errorf("%v: close code %d, want %d", tc.err, got, tc.want)
		}
	}
}
