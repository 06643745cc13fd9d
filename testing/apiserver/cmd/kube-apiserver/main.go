// Command kube-apiserver is a thin entry point around the upstream
// k8s.io/kubernetes kube-apiserver command, built by ../../build.sh so that
// tests get a real API server without downloading release binaries.
package main

import (
	"os"
	_ "time/tzdata" // CronJob time zones need the embedded tz database

	"k8s.io/component-base/cli"
	_ "k8s.io/component-base/logs/json/register"          // --logging-format=json
	_ "k8s.io/component-base/metrics/prometheus/clientgo" // client-go metrics
	_ "k8s.io/component-base/metrics/prometheus/version"  // version metric
	"k8s.io/kubernetes/cmd/kube-apiserver/app"
)

func main() {
	os.Exit(cli.Run(app.NewAPIServerCommand()))
}
