// Package dataset is the prepared data set of a trial: what the prepare step
// makes from a trial's data config (schema.Data) and what train and evaluate
// read. It also reads raw data (a WFDB record folder, a Kaggle-style beat CSV
// or an image folder) with a model's own preprocessing, for
// `parak8s evaluate --data PATH`. It needs no cgo.
//
// # Prepared directory
//
// Prepare writes a self-contained directory (Argo passes it between steps as
// an artifact):
//
//	manifest.json        Manifest: classes, input shape, splits with their
//	                     sizes and class counts, the source and its digest
//	source.manifest      runtime/data/digest's canonical list of the source
//	                     files used (sha256, size, path); its digest is
//	                     Manifest.Digest, the dataset digest of every trial
//	SPLIT.safetensors    signals (wfdb, csv): tensors "x" F32 [N, L+F] (each
//	                     sample is the beat window of L samples followed by F
//	                     RR features), "y" I64 [N] labels, "sample" I64 [N]
//	                     (the R peak at the record's own rate, or the CSV
//	                     line) and, for WFDB, "record" I64 [N] (index into
//	                     SplitInfo.Records)
//	SPLIT/CLASS/*.png    images: the original files, bytes unchanged
//
// manifest.json is written last and a marker file (.incomplete) is present
// while Prepare runs, so Inspect tells an interrupted directory from a
// complete one. The same config and source give byte-identical output: no
// times are recorded and every list is in a fixed order.
//
// # Sources
//
// data.source.kind "wfdb" reads the records named in data.source.records (or
// every record of the folder's RECORDS file, or every *.hea) and cuts beats
// with runtime/data/ecg as data.signal says; split.by "record" takes explicit
// record lists, "fraction" assigns whole records (patients) to splits with
// ecg.SplitByRecord, never single beats. "csv" reads the Kaggle layout (187
// samples and an AAMI label per line) and splits by fraction, stratified by
// class. "images" reads the Kermany layout: split.by "folder" reads
// PATH/FOLDER/CLASS/*.png|jpg|jpeg, "fraction" reads PATH/CLASS/* and splits
// it stratified by class.
//
// A path "oci://repo@sha256:…" (or a tag with data.source.digest; pushed with
// `parac data push`) is pulled with runtime/publish into a temporary folder,
// its manifest digest checked, and then read as a local path. A path
// "pvc://CLAIM/PATH" is read from PATH below Options.ClaimDir, where the
// compiled workflow mounts the claim in prepare's pod (step.PathSource).
// http(s) URLs are refused. For a local or claim path, data.source.digest,
// when set, must equal the digest of the source files used (Manifest.Digest).
// A source that does not give what the config asks for (a missing path or
// artifact, another digest) fails with an error wrapping ErrSource.
//
// # Splits
//
// Set.Split returns a loader.Source. Image splits apply data.image.augment
// (the trial's, since augmentation is not part of the data key) only when
// asked to for training; signal splits have no augmentation.
package dataset
