package templates

import (
	"slices"
	"testing"

	"parak8s.dev/parak8s/runtime/step"
)

// TestTrainCheckpoints: with a claim, train mounts the trial's folder of it
// where it writes checkpoints; without one, an emptyDir. The command is the
// same either way (the local runner's).
func TestTrainCheckpoints(t *testing.T) {
	for _, tc := range []struct{ claim, subPath string }{
		{"ckpt", "x/{{inputs.parameters.trial}}"},
		{"", ""},
	} {
		t.Run("claim="+tc.claim, func(t *testing.T) {
			exp := experiment()
			exp.Workflow.CheckpointClaim = tc.claim
			tpl, err := Template(step.Train, Input{Experiment: exp, StepImage: "r/step:1", TrainImage: "r/step:1"})
			if err != nil {
				t.Fatal(err)
			}
			args := tpl.Container.Args
			if i := slices.Index(args, step.FlagCheckpoint); i < 0 || args[i+1] != step.PathCheckpoint {
				t.Errorf("args %v: want %s %s", args, step.FlagCheckpoint, step.PathCheckpoint)
			}
			// The step's work dir comes first, then the checkpoints.
			if len(tpl.Volumes) != 2 || len(tpl.Container.VolumeMounts) != 2 {
				t.Fatalf("volumes %v, mounts %v: want the work dir and the checkpoints", tpl.Volumes, tpl.Container.VolumeMounts)
			}
			m, v := tpl.Container.VolumeMounts[1], tpl.Volumes[1]
			if m.MountPath != step.PathCheckpoint || m.SubPath != tc.subPath || m.Name != v.Name {
				t.Errorf("mount %+v of volume %s", m, v.Name)
			}
			switch pvc := v.PersistentVolumeClaim; {
			case tc.claim != "" && (pvc == nil || pvc.ClaimName != tc.claim):
				t.Errorf("volume %+v, want claim %s", v.VolumeSource, tc.claim)
			case tc.claim == "" && v.EmptyDir == nil:
				t.Errorf("volume %+v, want an emptyDir", v.VolumeSource)
			}
		})
	}
}
