// Package publish pushes trained models and prepared data sets to an OCI
// registry as artifacts, and pulls them back into directories (pretrained
// weights given as `oci://repo:tag`, data set versions). It is built on
// go-containerregistry.
//
// # Artifact layout
//
// A directory (or, for a data set, a list of files, each under its base name,
// which gives the same artifact as a folder of just those files) becomes one
// OCI image manifest (application/vnd.oci.image.manifest.v1+json)
// with:
//
//   - artifactType = config media type: ModelConfigMediaType
//     (application/vnd.parak8s.model.config.v1+json) or DatasetConfigMediaType;
//   - a small JSON config (Config) listing every file with its size, mode
//     and sha256, which Pull checks after extracting;
//   - exactly ONE layer, a tar+gzip of the whole directory, media type
//     ModelLayerMediaType (application/vnd.parak8s.model.layer.v1.tar+gzip)
//     or DatasetLayerMediaType.
//
// One layer rather than one per file: a model directory is a handful of
// files that change together every trial, so per-file blobs would buy no
// deduplication; a single tar keeps nested directories, empty files and the
// executable bit, needs one blob upload, and the file list in the config
// still lets a reader check every file. The price is that a data set
// version that changes one file uploads the whole directory again.
//
// # Reproducibility
//
// Pushing the same directory with the same metadata twice gives the same
// manifest digest, on any machine: entries are in lexical order, tar headers
// carry no owner, times (all 1970-01-01) or modes other than 0644/0755 (0755
// when any executable bit is set) and directories are 0755; gzip runs at a
// fixed level with an empty header; and `org.opencontainers.image.created`
// comes from the inputs (Model.Created, Dataset.Created), 1970-01-01T00:00:00Z
// when not given — never the clock. Only regular files and directories are
// published; a symlink or device is an error. The digest depends on Go's
// compress/flate output, which has been stable for years but is not
// promised across Go releases.
//
// # Tags
//
// A model is tagged with its trial id (64 hex characters; the OCI tag limit
// is 128) and, when asked, with extra moving tags (Model.Tags), re-pointed by
// later pushes. The step program moves the experiment's tags otherwise: a
// model that met the push condition carries its value of the ranking metric
// (AnnotationRank), Candidates lists such models of an experiment from the
// trial tags, Best picks the winner (ties: the smaller trial id) and
// PointTags points the experiment's name and alias at it, so the tags end on
// the best model whatever order trials are pushed in.
// A data set is pushed to the tag its reference names, and its manifest
// digest is the data set version.
//
// # Registries and authentication
//
// Credentials come from Options.Keychain (authn.DefaultKeychain: the Docker
// config at $DOCKER_CONFIG or ~/.docker, and its credential helpers). Plain
// HTTP is asked for only for loopback registries (localhost, 127.0.0.0/8,
// ::1) with name.Insecure; note that go-containerregistry itself also falls
// back to HTTP for RFC 1918 addresses and *.local names.
package publish
