// Command e2e-outputs stands in for Argo's wait container on the simulated
// nodes of the test cluster (scripts/cluster.sh). kwok moves pod phases along
// but runs no container, so nothing would report a step's outputs and Argo
// would keep every task that declares outputs Running. e2e-outputs watches the
// workflow pods of one namespace and, when one finishes, writes the
// WorkflowTaskResult the executor would have written: named by the node id,
// labelled complete, with the template's declared output parameters (a value
// naming the pod and the parameter) and output artifacts (located under the
// template's S3 archive location; no data moves) and the main container's
// exit code.
//
//	e2e-outputs --kubeconfig FILE --namespace argo
package main
