package templates

import (
	"slices"
	"testing"

	"parak8s.dev/parak8s/runtime/step"
)

// TestTrainCheckpoints: with a claim, train mounts the whole claim (no subPath,
// which the kubelet would create as root) and is told the trial's folder in it;
// without one, an emptyDir at the plain path.
func TestTrainCheckpoints(t *testing.T) {
	for _, tc := range []struct{ claim, dir string }{
		{"ckpt", step.PathCheckpoint + "/x/{{inputs.parameters.trial}}"},
		{"", step.PathCheckpoint},
	} {
		t.Run("claim="+tc.claim, func(t *testing.T) {
			exp := experiment()
			exp.Workflow.CheckpointClaim = tc.claim
			tpl, err := Template(step.Train, Input{Experiment: exp, StepImage: "r/step:1", TrainImage: "r/step:1"})
			if err != nil {
				t.Fatal(err)
			}
			args := tpl.Container.Args
			if i := slices.Index(args, step.FlagCheckpoint); i < 0 || args[i+1] != tc.dir {
				t.Errorf("args %v: want %s %s", args, step.FlagCheckpoint, tc.dir)
			}
			if len(tpl.Volumes) != 1 || len(tpl.Container.VolumeMounts) != 1 {
				t.Fatalf("volumes %v, mounts %v: want one of each", tpl.Volumes, tpl.Container.VolumeMounts)
			}
			m, v := tpl.Container.VolumeMounts[0], tpl.Volumes[0]
			if m.MountPath != step.PathCheckpoint || m.SubPath != "" || m.Name != v.Name {
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
