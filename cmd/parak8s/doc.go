// Command parak8s is the step program inside the ParaK8s images: one
// subcommand per step kind of a compiled workflow (prepare, train, evaluate,
// track, publish, record). Compiled workflows and `parac run` call it with the
// flags and environment of the runtime/step contract; users call train and
// evaluate directly too:
//
//	parak8s train --config TRIAL.json --out MODEL_DIR
//	parak8s evaluate --model MODEL_DIR --data PATH --out METRICS.json
//
// The steps themselves are the runtime/steps library; this command is their
// flags, their long help (help/*.txt) and the exit code steps.ExitCode gives:
// 0 ok, 1 failure, 2 usage, 3 the config does not match the trial id or data
// key given, 75 a server was unreachable (outputs are kept).
package main
