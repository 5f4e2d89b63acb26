package ecg

// AAMI classes (ANSI/AAMI EC57, de Chazal et al. 2004 Table I), in the
// order the Kaggle CSV labels use (0 N … 4 Q).
const (
	ClassN = iota // normal and bundle branch block: N L R e j
	ClassS        // supraventricular ectopic: A a J S
	ClassV        // ventricular ectopic: V E
	ClassF        // fusion of ventricular and normal: F
	ClassQ        // paced, fusion of paced and normal, unclassifiable: / f Q
	NumClasses
)

// AAMIClasses returns the class names indexed by class number:
// N, S, V, F, Q (a new slice on every call).
func AAMIClasses() []string { return []string{"N", "S", "V", "F", "Q"} }

// AAMIClass maps a WFDB beat symbol to its AAMI class. Symbols outside
// the mapping (rhythm changes, noise, artifacts, flutter waves, …) are not
// beats: ok is false.
func AAMIClass(symbol string) (class int, ok bool) {
	switch symbol {
	case "N", "L", "R", "e", "j":
		return ClassN, true
	case "A", "a", "J", "S":
		return ClassS, true
	case "V", "E":
		return ClassV, true
	case "F":
		return ClassF, true
	case "/", "f", "Q":
		return ClassQ, true
	}
	return 0, false
}

// DS1Records returns de Chazal's training records (inter-patient split).
func DS1Records() []string {
	return []string{"101", "106", "108", "109", "112", "114", "115", "116", "118", "119", "122",
		"124", "201", "203", "205", "207", "208", "209", "215", "220", "223", "230"}
}

// DS2Records returns de Chazal's test records (inter-patient split).
func DS2Records() []string {
	return []string{"100", "103", "105", "111", "113", "117", "121", "123", "200", "202", "210",
		"212", "213", "214", "219", "221", "222", "228", "231", "232", "233", "234"}
}
