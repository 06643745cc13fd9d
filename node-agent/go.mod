module github.com/flotilla/node-agent

go 1.26.8

require (
	github.com/cilium/ebpf v0.22.0
	golang.org/x/sys v0.43.0
	gopkg.in/yaml.v3 v3.0.1
)
