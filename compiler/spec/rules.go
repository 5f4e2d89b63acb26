package spec

// checkRules reports what the schema cannot say in CUE without its
// comprehensions depending on the fields they would flag: rules across
// sections of the (base) experiment. A sweep that breaks one for some
// trials is caught by that trial's step.
func checkRules(s *Spec) error {
	e := s.Experiment
	if m := e.Model.DeepCNN1D; e.Model.Kind == "deepcnn1d" && m != nil && m.RRExpert != nil {
		if sig := e.Data.Signal; sig == nil || !(sig.RRFeatures || sig.RRRelative || sig.RRIrregularity) {
			return s.Errorf("model.deepcnn1d.rrExpert", "the RR expert needs RR features: set data.signal.rrFeatures, rrRelative or rrIrregularity")
		}
	}
	return nil
}
