package redistest_test

import (
	"bufio"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/moorcd/moor/test/redistest"
)

func TestStartServesAndStops(t *testing.T) {
	t.Parallel()
	s := redistest.Start(t)
	if got := roundTrip(t, s.Addr, "SET k v\r\nGET k\r\n", 3); !strings.Contains(got, "$1\r\nv\r\n") {
		t.Fatalf("GET after SET: got %q", got)
	}
	s.Stop()
	if conn, err := net.DialTimeout("tcp", s.Addr, time.Second); err == nil {
		conn.Close()
		t.Fatalf("server still accepts connections after Stop")
	}
	s.Stop() // idempotent
}

func TestServersAreIsolated(t *testing.T) {
	t.Parallel()
	a, b := redistest.Start(t), redistest.Start(t)
	if a.Addr == b.Addr {
		t.Fatalf("two servers share %s", a.Addr)
	}
	roundTrip(t, a.Addr, "SET k v\r\n", 1)
	if got := roundTrip(t, b.Addr, "EXISTS k\r\n", 1); got != ":0\r\n" {
		t.Fatalf("EXISTS on the other server: got %q", got)
	}
}

// roundTrip sends inline commands and reads the given number of reply lines.
func roundTrip(t *testing.T, addr, cmds string, lines int) string {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := conn.Write([]byte(cmds)); err != nil {
		t.Fatal(err)
	}
	r := bufio.NewReader(conn)
	var sb strings.Builder
	for range lines {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("read reply: %v (so far %q)", err, sb.String())
		}
		sb.WriteString(line)
	}
	return sb.String()
}
