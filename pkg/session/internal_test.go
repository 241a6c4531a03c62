package session

import (
	"testing"

	"golang.org/x/crypto/bcrypt"
)

// An unknown user costs as much as a wrong password only if the dummy hash has the real hashes' cost.
func TestDummyHashHasTheRealCost(t *testing.T) {
	t.Parallel()
	cost, err := bcrypt.Cost([]byte(dummyHash))
	if err != nil {
		t.Fatal(err)
	}
	if cost != bcryptCost {
		t.Errorf("dummy hash cost = %d, want %d", cost, bcryptCost)
	}
}
