package sync

import (
	"errors"
	"fmt"

	"github.com/moorcd/moor/pkg/apis/application/v1alpha1"
)

// ErrRollbackAutomated refuses a rollback while automated sync would undo it at once.
var ErrRollbackAutomated = errors.New("rollback cannot be initiated when auto-sync is enabled: " +
	"disable automated sync (spec.syncPolicy.automated) first")

// RollbackOperation builds the operation that syncs an app back to history entry id: its revision(s) and
// source(s). The api-server and the CLI write it as the app's operation; the controller runs it like any sync.
func RollbackOperation(app *v1alpha1.Application, id int64, prune, dryRun bool, by *v1alpha1.OperationInitiator) (*v1alpha1.Operation, error) {
	if p := app.Spec.SyncPolicy; p != nil && p.Automated != nil && (p.Automated.Enabled == nil || *p.Automated.Enabled) {
		return nil, ErrRollbackAutomated
	}
	if app.Operation != nil {
		return nil, errors.New("another operation is already in progress")
	}
	for _, h := range app.Status.History {
		if h.ID != id {
			continue
		}
		op := &v1alpha1.Operation{
			Sync:        &v1alpha1.SyncOperation{Prune: prune, DryRun: dryRun},
			InitiatedBy: by,
		}
		if len(h.Sources) > 0 {
			op.Sync.Sources, op.Sync.Revisions = h.Sources.DeepCopy(), append([]string(nil), h.Revisions...)
		} else {
			if h.Source == nil {
				return nil, fmt.Errorf("history entry %d records no source", id)
			}
			op.Sync.Source, op.Sync.Revision = h.Source.DeepCopy(), h.Revision
		}
		return op, nil
	}
	return nil, fmt.Errorf("application %s has no history entry with id %d", app.Name, id)
}
