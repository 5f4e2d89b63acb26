// Package compiler is the pure library behind `parac compile`: it loads an
// experiment spec (package spec), expands its sweep into a plan of trials
// (package plan) and emits Argo Workflows (package argo). It does no I/O
// beyond reading specs and never imports the runtime except its contract,
// runtime/step.
package compiler
