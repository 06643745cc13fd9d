// Command etcd is a thin entry point around go.etcd.io/etcd/server/v3,
// built by ../../build.sh for the kube-apiserver test backend.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
