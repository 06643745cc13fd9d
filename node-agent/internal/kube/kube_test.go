package kube

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const list = `{"kind":"PodList","items":[{"metadata":{"name":"p","namespace":"ns","uid":"u"},"status":{
 "containerStatuses":[{"name":"app","containerID":"containerd://abc"},{"name":"waiting"}],
 "initContainerStatuses":[{"name":"init","containerID":"cri-o://def"}]}}]}`

func TestParsePodList(t *testing.T) {
	idx, n, err := ParsePodList([]byte(list))
	if err != nil || n != 1 || len(idx) != 2 {
		t.Fatalf("%v %d %v", idx, n, err)
	}
	if idx["abc"] != (Container{"ns", "p", "app", "u"}) || idx["def"].Container != "init" {
		t.Fatalf("%+v", idx)
	}
}

func TestKubeconfigTokenAndFieldSelector(t *testing.T) {
	var gotQuery, gotAuth string
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotQuery, gotAuth = r.URL.RawQuery, r.Header.Get("Authorization")
		w.Write([]byte(list))
	}))
	defer srv.Close()
	kc := filepath.Join(t.TempDir(), "kubeconfig")
	os.WriteFile(kc, []byte(`apiVersion: v1
kind: Config
current-context: c
clusters:
- name: k
  cluster: {server: "`+srv.URL+`", insecure-skip-tls-verify: true}
contexts:
- name: c
  context: {cluster: k, user: u}
users:
- name: u
  user: {token: sekret}
`), 0o600)
	a, err := FromKubeconfig(kc, "node-1")
	if err != nil {
		t.Fatal(err)
	}
	data, err := a.PodList(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	q, err := url.ParseQuery(gotQuery)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), "abc") || gotAuth != "Bearer sekret" || len(q) != 2 ||
		q.Get("fieldSelector") != "spec.nodeName=node-1" || q.Get("resourceVersion") != "0" {
		t.Fatalf("auth %q query %q, want fieldSelector=spec.nodeName=node-1 and resourceVersion=0", gotAuth, gotQuery)
	}
}
