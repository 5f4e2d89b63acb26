// Command parac compiles ParaK8s experiment specs into Argo Workflows:
//
//	parac vet exp.cue                  # every problem as file:line:col: message
//	parac compile exp.cue | argo submit -
//	parac trials exp.cue               # trial ids and their swept values
//	parac schema [--vendor DIR]        # the schema, or vendor it for cue vet
//
// It is a thin shell over the compiler library.
package main
